"""`senim issue --timeout` is the command's time for the node in all: a node that
answers the send or the wait a byte at a time (each within a socket timeout) no
longer holds the job past it. A real loopback server trickles; the real command runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.client import LAST_REQUEST_S, ClientError, NodeClient
from cli.errors import EXIT_PENDING, EXIT_UNREACHABLE
from cli.job_folder import load_manifest
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli.stub_requests import request_path
from tests.e2e.processes import HOST, senim_executable
from tests.e2e.test_cli_lifecycle import write_graduates_csv

TIMEOUT_S = 3.0
# Python's start, reading and hashing three rows, one last request after the time is up
# (cli.client.LAST_REQUEST_S): far below the minutes a trickle held the command for.
SLACK_S = 12.0
DEADLINE_S = 60.0  # the test's own bound on the command
DRIP_EVERY_S = 0.2
DRIP_FOR_S = 90.0  # longer than any bound the command had before --timeout was one


class TricklingNode:
    """Answers /v1/status and /v1/members at once, as a node does; anything else (the
    batch's POST, asking after it) a byte at a time, in its status line ("head") or
    in its body ("body")."""

    def __init__(self, issuer: KeyPair, where: str) -> None:
        self.issuer = issuer
        self.where = where
        self.stop = threading.Event()
        self.trickled: list[str] = []
        self.server = socket.create_server((HOST, 0))
        self.server.settimeout(0.2)  # so the accept loop sees `stop`
        self.url = f"http://{HOST}:{self.server.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _answers(self) -> dict[str, dict[str, object]]:
        return {"/v1/status": {"chain_id": "senim-trickle", "height": 5},
                "/v1/members": {"members": [{
                    "member_id": self.issuer.member_id.hex(), "name": "ENU",
                    "accreditations": [{"types": ["diploma"], "suspended_height": None,
                                        "from": "2020-01-01 00:00:00 UTC",
                                        "until": "2099-01-01 00:00:00 UTC"}]}]}}

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(DEADLINE_S)
            path = request_path(connection)
            if path is None:
                return
            known = self._answers().get(path)
            if known is not None:
                body = json.dumps(known).encode()
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                return
            self.trickled.append(path)
            drip = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 999
                    if self.where == "head" else b" " * 99_999)
            if self.where == "body":
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 100000\r\n\r\n{")
            ends = time.monotonic() + DRIP_FOR_S
            try:
                for byte in drip:
                    if self.stop.wait(DRIP_EVERY_S) or time.monotonic() > ends:
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the command gave up and closed: what the test wants


@pytest.fixture(params=["head", "body"])
def trickling(request: pytest.FixtureRequest) -> Iterator[TricklingNode]:
    node = TricklingNode(KeyPair.generate(), request.param)
    node.thread.start()
    yield node
    node.stop.set()
    node.thread.join(DEADLINE_S)
    node.server.close()


def test_a_trickling_node_holds_the_job_no_longer_than_its_timeout(
        tmp_path: Path, trickling: TricklingNode) -> None:
    save_key(tmp_path / "enu.key", trickling.issuer)
    write_graduates_csv(tmp_path / "class.csv", 3, seed=7)
    started = time.monotonic()
    process = subprocess.run(
        [senim_executable(), "issue", "--key", "enu.key", "--type", "diploma", "--input",
         "class.csv", "--out", "job", "--node", trickling.url, "--timeout", f"{TIMEOUT_S:g}"],
        cwd=tmp_path, env=dict(os.environ, NO_COLOR="1"), capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=DEADLINE_S)
    took = time.monotonic() - started
    assert process.returncode == EXIT_PENDING, (process.stdout, process.stderr)
    assert took < TIMEOUT_S + SLACK_S, (took, process.stderr)
    assert trickling.trickled and trickling.trickled[0] == "/v1/transactions"  # the send
    assert f"--timeout {TIMEOUT_S:g} s is up" in process.stderr, process.stderr
    assert f"senim issue --resume {tmp_path / 'job'}" in process.stderr.replace("\n", " ") \
        or "senim issue --resume job" in process.stderr, process.stderr
    # nothing is lost: every file is written and the batch kept, for --resume
    manifest = load_manifest(tmp_path / "job")
    assert manifest["state"] == "submitted" and manifest["count"] == 3
    assert len(list((tmp_path / "job" / "credentials").rglob("*.json"))) == 3


def test_any_request_ends_by_its_timeout_however_the_answer_trickles(
        trickling: TricklingNode) -> None:
    # urllib's timeout is per socket read: a status line a byte at a time held any
    # command for ever; the body was bounded only by cli.node_answers.read_bounded.
    client = NodeClient(trickling.url, timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(ClientError) as raised:
        client.transaction_status("00" * 32)
    assert time.monotonic() - started < 1.0 + SLACK_S / 2
    assert raised.value.exit_code == EXIT_UNREACHABLE
    assert "within 1 s" in str(raised.value)


def test_a_bounded_client_spends_its_budget_across_requests(trickling: TricklingNode
                                                            ) -> None:
    client = NodeClient(trickling.url)
    client.budget_s = 1.5
    started = time.monotonic()
    for _ in range(3):  # the first spends the budget; each later one gets the last second
        with pytest.raises(ClientError):
            client.transaction_status("00" * 32)
    assert client.budget_s is not None and client.budget_s <= 0
    assert time.monotonic() - started < 1.5 + 2 * LAST_REQUEST_S + SLACK_S / 2
