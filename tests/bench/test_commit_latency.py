"""The bench's commit-latency client (bench/commit_latency.py): what it does when a kept
connection was closed by the server, when an answer is not JSON, when a long-poll
fails, and which nodes' groups it samples."""

from __future__ import annotations

import itertools
import queue
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from bench.commit_latency import KeptConnections, Sample, _watch, arrival_times, sampled

Answer = Callable[[int], bytes]  # the answer to a connection's first request, by connection


def http_answer(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.fixture
def server() -> Iterator[tuple[str, list[Answer]]]:
    """A server on 127.0.0.1 that answers one request per connection, saying nothing of
    closing it (as a server whose keep-alive timeout passed does), then closes it.
    `answers[0]` answers every connection; a test sets it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10.0)
    answers: list[Answer] = [lambda _: http_answer("200 OK", b'{"status": "committed"}')]
    stop = threading.Event()

    def serve() -> None:
        for number in range(100):  # bounded: no test opens this many
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                if stop.is_set():
                    return
                connection.sendall(answers[0](number))
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", answers
    finally:
        stop.set()
        with socket.create_connection(listener.getsockname()):
            pass  # wakes the accept so the thread sees `stop`
        thread.join(timeout=10.0)
        listener.close()


def test_a_connection_the_server_closed_is_opened_again(
        server: tuple[str, list[Answer]]) -> None:
    api, _ = server
    connections = KeptConnections()
    try:
        for _ in range(3):
            assert connections.ask(api, "GET", "/v1/transactions/00") == {"status": "committed"}
    finally:
        connections.close()


def test_an_answer_not_in_json_is_named_by_its_status(
        server: tuple[str, list[Answer]]) -> None:
    api, answers = server
    answers[0] = lambda _: http_answer("502 Bad Gateway", b"oops", "text/plain")
    connections = KeptConnections()
    try:
        with pytest.raises(RuntimeError, match="502, not JSON: b'oops'"):
            connections.ask(api, "GET", "/v1/transactions/00")
    finally:
        connections.close()


def test_a_failed_long_poll_is_a_failure_and_the_watcher_goes_on(
        server: tuple[str, list[Answer]]) -> None:
    api, answers = server
    answers[0] = lambda number: (
        http_answer("503 Service Unavailable", b'{"error": {"code": "busy"}}') if number == 0
        else http_answer("200 OK", b'{"status": "committed"}'))
    samples: queue.Queue[Sample | None] = queue.Queue()
    for sample in ((api, b"\x01" * 32, 0.0), (api, b"\x02" * 32, 0.0), None):
        samples.put(sample)
    latencies_ms: list[float] = []
    failures: list[str] = []
    _watch(samples, latencies_ms, failures)
    assert len(failures) == 1 and "503" in failures[0] and len(latencies_ms) == 1


@pytest.mark.parametrize(("node_count", "sample_every"), [(4, 1), (4, 10), (4, 2), (7, 5)])
def test_every_node_is_sampled_alike(node_count: int, sample_every: int) -> None:
    ticks = 1000
    taken: list[int] = []
    for tick in range(ticks):
        if sampled(tick, node_count, sample_every, len(taken)):
            taken.append(tick)
    per_node = [sum(1 for tick in taken if tick % node_count == node) for node in range(node_count)]
    assert max(per_node) - min(per_node) <= 1
    assert len(taken) >= ticks // sample_every - node_count


def test_arrival_times_are_seeded_in_order_and_at_the_rate() -> None:
    times = arrival_times(500, 10.0)
    assert times == arrival_times(500, 10.0)  # the same load in every run
    assert times != arrival_times(500, 10.0, seed=1)
    assert all(0 < a < b < 10.0 for a, b in itertools.pairwise(times))
    # a Poisson count of mean 5,000 lies within ±5% but for odds of about 1 in 10^12
    assert 4_750 <= len(times) <= 5_250
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    # exponential gaps: as many below the mean's ln 2 as above it
    assert abs(gaps[len(gaps) // 2] - 0.002 * 0.6931) < 0.0002
