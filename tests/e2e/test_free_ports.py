"""The harness's free ports: never the same one twice while others remain (two nodes
of one test given one port: one node's status poll read the other's P2P greeting)."""

from __future__ import annotations

import socket

import pytest

from tests.e2e.processes import HOST, PORTS_ENV, free_port


def free_run(length: int, start: int = 21_000) -> int:
    """The first of `length` consecutive ports, below the kernel's ephemeral range,
    that nothing holds now."""
    for low in range(start, 32_000, length):
        try:
            for port in range(low, low + length):
                with socket.socket() as probe:
                    probe.bind((HOST, port))
        except OSError:
            continue
        return low
    raise AssertionError("no run of free ports")


def test_a_range_gives_each_free_port_once_then_starts_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    low = free_run(10)
    monkeypatch.setenv(PORTS_ENV, f"{low}-{low + 9}")
    first = [free_port() for _ in range(10)]
    assert sorted(first) == list(range(low, low + 10))
    again = [free_port() for _ in range(10)]  # all handed out: the range is used again
    assert sorted(again) == list(range(low, low + 10))


def test_ports_the_kernel_picks_are_not_handed_out_twice() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
