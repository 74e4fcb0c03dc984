"""`cli.remote.RemoteFacts` asked without a command's deadline (`senim recognise`'s check
of the original, `senim export-vc`'s batch signer) still ends each request by its own
limits when a node trickles its header lines: no SIGALRM guards those commands."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from cli import node_answers, vc_verify
from cli.node_answers import RemoteFactsError
from cli.remote import RemoteFacts
from tests.cli.test_verify_deadline import Trickler, endless_headers

TIMEOUT_S = 0.5
ANSWER_S = 1.0  # ANSWER_DEADLINE_S (60 s) cut down so that the test is quick
WAIT_S = 10.0  # far past the request's own limits, far short of the trickle's 60 s


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    server = Trickler(endless_headers)
    yield server
    server.close()


def test_a_request_ends_by_its_limits_however_the_headers_trickle(
        trickler: Trickler, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_answers, "ANSWER_DEADLINE_S", ANSWER_S)
    outcome: list[BaseException | object] = []

    def ask() -> None:
        try:
            outcome.append(RemoteFacts(trickler.url, timeout_s=TIMEOUT_S).get_json(
                "/v1/status"))
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=ask, daemon=True)
    worker.start()
    worker.join(WAIT_S)
    assert not worker.is_alive(), "held by a node trickling its headers"
    assert isinstance(outcome[0], RemoteFactsError), outcome
    assert "did not answer within" in str(outcome[0])
    assert time.monotonic() - started < TIMEOUT_S + ANSWER_S + 1.0


def test_a_status_list_fetch_ends_by_its_limit_however_the_headers_trickle(
        trickler: Trickler, monkeypatch: pytest.MonkeyPatch) -> None:
    """A VC names its status list's URL, on whatever host its maker chose."""
    monkeypatch.setattr(vc_verify, "STATUS_TIMEOUT_S", ANSWER_S)
    outcome: list[object] = []
    started = time.monotonic()
    worker = threading.Thread(target=lambda: outcome.append(
        vc_verify.fetch_status_list(trickler.url + "/status/1")), daemon=True)
    worker.start()
    worker.join(WAIT_S)
    assert not worker.is_alive(), "held by a host trickling its headers"
    assert outcome == [None]
    assert time.monotonic() - started < ANSWER_S + 1.0
