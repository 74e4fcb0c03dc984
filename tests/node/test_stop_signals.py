"""Which signals stop a running node (node/stop_signals.py); the whole node's stop on each
is tests/e2e/test_cli_lifecycle.py::test_node_stops_cleanly_on_signal."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import pytest

from node.stop_signals import StopSignals


@pytest.fixture
def sighup_ignored() -> Iterator[None]:
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGHUP, before)


async def test_a_node_started_under_nohup_keeps_ignoring_sighup(sighup_ignored: None) -> None:
    loop = asyncio.get_running_loop()
    signals = StopSignals()
    signals.install(loop)
    try:
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        signal.raise_signal(signal.SIGHUP)
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(signals.event.wait(), 10)
        assert signals.said() == "SIGTERM received"
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
