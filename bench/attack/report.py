"""The lab's table, as text for the terminal and as a section of BENCHMARKS.md.

The section sits between two markers, so `scripts/attack --record` replaces only
its own part of the file, and `scripts/bench` (which rewrites the rest) keeps it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from bench.attack.base import (
    DISK_AIM_MB_S,
    P99_AIM_RATIO,
    RATE_AIM_RATIO,
    RSS_AIM_MB,
    Check,
)
from bench.attack.lab import GROUP_TXS, TICK_S
from bench.kept_sections import ATTACK_LAB
from node.http_limits import HEADER_TIMEOUT_S


class Reported(Protocol):
    attack: str
    checks: list[Check]
    error: str | None


def _rows(outcomes: Sequence[Reported]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for outcome in outcomes:
        if outcome.error is not None:
            rows.append((outcome.attack, "LAB ERROR", "-", outcome.error[:60], "-", "error"))
        rows += [(c.attack, c.measure, c.baseline, c.measured, c.aim, c.verdict)
                 for c in outcome.checks]
    return rows


HEADER = ("attack", "measure", "baseline", "under attack", "aim", "verdict")


def table(outcomes: Sequence[Reported]) -> str:
    rows = [HEADER, *_rows(outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown(outcomes: Sequence[Reported], command: str, seconds: float, took_s: float,
             machine: str) -> str:
    lines = [
        ATTACK_LAB.start, "## Under attack (`scripts/attack`)", "",
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {machine}",
        f"- each attack on a consortium of 4 validators and a follower: {seconds:.0f} s "
        f"of honest load alone, then {seconds:.0f} s of the same load plus the attack "
        f"({took_s:.0f} s in all); honest load is {GROUP_TXS / TICK_S:.0f} single-credential "
        "transactions/s, round-robin over the nodes (slow-loris phases last at least "
        f"the node's {HEADER_TIMEOUT_S:.0f} s header timeout + 4 s, or they prove nothing)",
        f"- aims: honest p99 within {P99_AIM_RATIO:.0f}× of the baseline; honest commit rate "
        f"at least {RATE_AIM_RATIO:.1f}× the baseline; no node's RSS growing more than "
        f"{RSS_AIM_MB:.0f} MB, nor its data directory more than {DISK_AIM_MB_S:.0f} MB per "
        "second of attack, beyond what the baseline phase grew. \"FAIL (wide)\" marks a "
        "miss by a wide margin (what CI fails on).", "",
        "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |"
              for row in _rows(outcomes)]
    lines += ["", ATTACK_LAB.end]
    return "\n".join(lines)
