"""What an attack is to the lab, and the aims its phase is judged by.

An attack may prepare the network once (before the baseline), run something in
both phases (`both_phases`, e.g. a validator restart, so the baseline carries
the same disturbance minus the attack), and run its traffic in the attack phase
only. Its own checks (a reconnection time, the real issuer still served) join
the common ones: honest p99, honest commit rate, RSS and disk growth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.attack.lab import Lab, PhaseResult

P99_AIM_RATIO = 2.0
P99_WIDE_RATIO = 5.0
# Latency on a shared two-core machine jitters by tens of milliseconds: differences
# smaller than this are noise, not the attack's doing.
P99_NOISE_MS = 150.0
RATE_AIM_RATIO = 0.5
RATE_WIDE_RATIO = 0.25
RSS_AIM_MB = 100.0  # growth of any node's RSS beyond what the baseline phase showed
RSS_WIDE_MB = 400.0
# Growth of any data directory beyond the baseline phase's, per second of attack:
# a rate, so short and long phases are judged alike.
DISK_AIM_MB_S = 1.0
DISK_WIDE_MB_S = 4.0  # 350 GB a day: a disk-filling attack, not noise


@dataclass(frozen=True)
class Check:
    attack: str
    measure: str
    baseline: str
    measured: str
    aim: str
    passed: bool
    wide_miss: bool  # missed by so much that scripts/attack and CI fail

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else ("FAIL (wide)" if self.wide_miss else "fail")


def common_checks(attack: str, base: PhaseResult, hit: PhaseResult) -> list[Check]:
    p99_aim = max(base.p99_ms * P99_AIM_RATIO, base.p99_ms + P99_NOISE_MS)
    p99_wide = max(base.p99_ms * P99_WIDE_RATIO, base.p99_ms + 10 * P99_NOISE_MS)
    rate_aim, rate_wide = base.commit_rate * RATE_AIM_RATIO, base.commit_rate * RATE_WIDE_RATIO
    rss_extra = hit.rss_growth_mb - base.rss_growth_mb
    disk_extra = hit.disk_growth_mb - base.disk_growth_mb
    disk_aim, disk_wide = DISK_AIM_MB_S * hit.seconds, DISK_WIDE_MB_S * hit.seconds
    return [
        Check(attack, "honest p50 ms", f"{base.p50_ms:.0f}", f"{hit.p50_ms:.0f}",
              "(reported)", True, False),
        Check(attack, "honest p99 ms", f"{base.p99_ms:.0f}", f"{hit.p99_ms:.0f}",
              f"<= {p99_aim:.0f} (2x, +{P99_NOISE_MS:.0f} noise)", hit.p99_ms <= p99_aim,
              hit.p99_ms > p99_wide),
        Check(attack, "honest commits tx/s", f"{base.commit_rate:.1f}",
              f"{hit.commit_rate:.1f}", f">= {rate_aim:.1f} (half)",
              hit.commit_rate >= rate_aim, hit.commit_rate < rate_wide),
        Check(attack, "RSS growth MB", f"{base.rss_growth_mb:.0f}", f"{hit.rss_growth_mb:.0f}",
              f"<= {base.rss_growth_mb + RSS_AIM_MB:.0f}", rss_extra <= RSS_AIM_MB,
              rss_extra > RSS_WIDE_MB),
        Check(attack, "disk growth MB", f"{base.disk_growth_mb:.1f}",
              f"{hit.disk_growth_mb:.1f}", f"<= {base.disk_growth_mb + disk_aim:.1f}",
              disk_extra <= disk_aim, disk_extra > disk_wide),
    ]


class Attack:
    """Base: traffic threads started by `start`, stopped (and joined) by `stop`."""

    name = "attack"
    # Some attacks prove nothing in a shorter phase (a timeout must have had time to
    # fire): their phases, baseline included, last at least this long even in --short.
    min_phase_s = 0.0

    def __init__(self, short: bool) -> None:
        self.short = short
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    # ---- hooks ---------------------------------------------------------------------
    def prepare(self, lab: Lab) -> None:
        """Once, before the baseline phase."""

    def both_phases(self, lab: Lab, seconds: float) -> dict[str, float]:
        """Runs (in a thread) during each phase; what it returns joins the phase's extra."""
        return {}

    def start(self, lab: Lab, until: float) -> None:
        """Start the attack traffic; every loop must end by `until` (monotonic)."""

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        return []

    def cleanup(self, lab: Lab) -> None:
        """Undo what `prepare` did, so a shared network serves the next attack."""

    # ---- helpers -------------------------------------------------------------------
    def spawn(self, loop: Callable[[float], None], until: float) -> None:
        thread = threading.Thread(target=loop, args=(until,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def running(self, until: float) -> bool:
        return not self._stop.is_set() and time.monotonic() < until

    def count(self, what: str, by: int = 1) -> None:
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + by

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        self._threads.clear()
        self._stop.clear()
