"""Commands that ask a node through cli.client.NodeClient, against a node that is busy (its
own 503 `busy`, with Retry-After) or behind something that says so for it (a 503 or 429
with no node's error: a proxy while the node restarts).

`senim verify` said "the node is busy; try again in a moment" (cli.node_answers); the
NodeClient's commands did not. `senim status` said, in kk and ru, that the node refused the
request (exit 1, as if it had said no), and of a proxy's 503 only "HTTP 503 from ...". A
transaction sent to a busy node was said refused; and a node busy while the command asked
after a transaction it had taken ended the wait, said the transaction refused (exit 1) and
removed the credential file made for it, though it could still commit."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.client import BUSY, ClientError, NodeClient
from cli.commands import submit_and_report
from cli.errors import EXIT_PENDING, EXIT_UNREACHABLE
from cli.main import main
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from node.files import save_key
from tests.node.conftest import documents_of

NODE_BUSY = {"error": {"code": "busy", "message": "the ledger jobs are all taken; retry "
                       "shortly"}}
# What each request is answered: (status, a JSON body, or text when a str)
Answer = tuple[int, object]
Answers = Callable[[str, str], Answer]
STATUS_OK: Answer = (200, {"chain_id": "t", "height": 3})
TX_ID = "ab" * 32


class BusyNode(ThreadingHTTPServer):
    daemon_threads = True
    answers: Answers
    asked: list[str]


class Handler(BaseHTTPRequestHandler):
    server: BusyNode

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.asked.append(f"{self.command} {self.path.split('?')[0]}")
        status, body = self.server.answers(self.command, self.path)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if isinstance(body, str)
                         else "application/json")
        self.send_header("Retry-After", "1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def busy_node() -> Iterator[BusyNode]:
    server = BusyNode(("127.0.0.1", 0), Handler)
    server.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def url_of(server: BusyNode) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("answer", [(503, NODE_BUSY), (503, "<h1>Service Unavailable</h1>"),
                                    (429, "")], ids=["node_busy", "proxy_503", "proxy_429"])
@pytest.mark.parametrize("lang, said, not_said", [
    ("en", "the node is busy; try again in a moment", "HTTP 503 from"),
    ("ru", "узел занят; повторите чуть позже", "отказал"),
    ("kk", "түйін қазір бос емес; сәлден соң қайталаңыз", "қабылдамады")])
def test_status_of_a_busy_node_says_to_ask_again(busy_node: BusyNode, answer: Answer,
                                                 lang: str, said: str, not_said: str) -> None:
    busy_node.answers = lambda _method, _path: answer
    result = CliRunner().invoke(main, ["status", "--node", url_of(busy_node), "--lang", lang])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert said in result.output and not_said not in result.output, result.output
    assert "Traceback" not in result.output


def test_a_404_is_still_said_as_no_answer_of_the_node(busy_node: BusyNode) -> None:
    """A status of no route is no busy node: not told to wait and ask again."""
    busy_node.answers = lambda _method, _path: (404, "<h1>Not Found</h1>")
    result = CliRunner().invoke(main, ["status", "--node", url_of(busy_node), "--lang", "en"])
    assert result.exit_code == EXIT_UNREACHABLE and "busy" not in result.output, result.output


def anchor_with_file(server: BusyNode, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> tuple[int, str, Path]:
    """`submit_and_report` of an anchor, with a file made for it: its exit, its line, the
    file (as a credential file is made for an employment record it sends)."""
    written = tmp_path / "made-for-it.json"
    written.write_text("{}")
    keys = KeyPair.from_seed(b"\x31" * 32)
    with pytest.raises(SystemExit) as stopped:
        submit_and_report(NodeClient(url_of(server), timeout_s=5), keys,
                          AnchorPayload(b"\x07" * 32), "anchor", written=written, wait_s=1.5)
    return int(str(stopped.value.code)), capsys.readouterr().err, written


def test_a_transaction_a_busy_node_did_not_take_is_not_sent(
        busy_node: BusyNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    busy_node.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else (503, NODE_BUSY))
    code, said, written = anchor_with_file(busy_node, tmp_path, capsys)
    assert code == EXIT_UNREACHABLE, said
    assert "not sent" in said and "busy; try again in a moment" in said, said
    assert "refused" not in said, said
    assert not written.exists()  # nothing of it is on chain, as when a node refuses one


def test_a_transaction_taken_by_a_node_then_busy_is_pending_and_its_file_kept(
        busy_node: BusyNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def answers(method: str, path: str) -> Answer:
        if path.startswith("/v1/status"):
            return STATUS_OK
        if method == "POST":
            return 202, {"tx_id": TX_ID}
        return 503, "<h1>Service Unavailable</h1>"

    busy_node.answers = answers
    code, said, written = anchor_with_file(busy_node, tmp_path, capsys)
    assert code == EXIT_PENDING, said
    assert "not committed yet (pending)" in said and "refused" not in said, said
    assert written.exists()  # it may still commit: the file is what it would be valid in
    # asked after again while busy, not once
    assert busy_node.asked.count(f"GET /v1/transactions/{TX_ID}") > 1, busy_node.asked


def test_the_client_names_a_busy_answer_by_its_code(busy_node: BusyNode) -> None:
    """A proxy's 503 too: callers (a job's wait, supersede's tally) tell it by the code."""
    busy_node.answers = lambda _method, _path: (503, "<h1>Service Unavailable</h1>")
    client = NodeClient(url_of(busy_node), timeout_s=5)
    with pytest.raises(ClientError) as raised:
        client.status()
    assert (raised.value.code, raised.value.status) == (BUSY, 503)


@pytest.mark.parametrize("lang, said", [
    ("en", "revocation not sent: "), ("ru", "отзыв: транзакция не отправлена — "),
    ("kk", "кері қайтару: транзакция жіберілмеді — ")])
def test_a_revocation_a_busy_node_did_not_take_is_not_sent_and_its_note_not_kept(
        busy_node: BusyNode, tmp_path: Path, lang: str, said: str) -> None:
    """It was "revocation refused: ... (busy)", exit 1, and the note kept for it stayed, so
    that the same command, run again once the node was free, was refused for its note."""
    busy_node.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else (503, NODE_BUSY))
    keys = KeyPair.from_seed(b"\x32" * 32)
    key = tmp_path / "issuer.key"
    save_key(key, keys)
    batch = make_batch([{"full_name": "A B", "iin": "000000000001"}], "diploma", "t",
                       keys.member_id, "U")
    document = tmp_path / "diploma.json"
    document.write_text(json.dumps(documents_of(batch)[0]))
    result = CliRunner().invoke(main, [
        "revoke", str(document), "--key", str(key), "--reason", "fraud", "--note", "typo",
        "--node", url_of(busy_node), "--lang", lang])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert said in result.output and "(busy)" not in result.output, result.output
    assert not [path for path in tmp_path.rglob("*") if path.is_file()
                and path not in (key, document)], list(tmp_path.rglob("*"))
