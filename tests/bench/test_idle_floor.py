"""The nodes' idle CPU, subtracted from each phase's cost, is the least of its readings:
a reading taken while a just-started network still compacted once made a lone block
cost "0.00 ms" (BENCHMARKS.md, session 60)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import consortium


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_least_reading_is_the_idle_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    spent = iter([0.0, 0.8, 0.8, 1.0, 1.0, 1.3])  # 0.4, then 0.1, then 0.15 CPU-s a second
    monkeypatch.setattr("bench.consortium.time.monotonic", clock.monotonic)
    monkeypatch.setattr("bench.consortium.time.sleep", clock.sleep)
    monkeypatch.setattr(consortium, "nodes_cpu_s", lambda network: next(spent))
    network: Any = object()
    assert consortium.idle_cpu_per_s(network, seconds=2.0, readings=3) == pytest.approx(0.1)
