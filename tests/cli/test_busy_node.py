"""Commands that ask a node through cli.client.NodeClient, against a node that is busy (its
own 503 `busy`, with Retry-After) or behind something that says so for it (a 503 or 429
with no node's error: a proxy while the node restarts): each says the node is busy and to
ask again shortly, exit 3, as `senim verify` does, in the reader's language. A transaction
only the node's own `busy` turned away is not sent (what was made for it removed); one a
proxy's 503 or 429 answered may have reached the node, and what was made for it is kept."""

from __future__ import annotations

import json
from collections.abc import Callable
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
from tests.cli.scripted_node import Answer, ScriptedNode
from tests.node.conftest import documents_of

NODE_BUSY = {"error": {"code": "busy", "message": "the ledger jobs are all taken; retry "
                       "shortly"}}
PROXY_BUSY: Answer = (503, "<h1>Service Unavailable</h1>")
STATUS_OK: Answer = (200, {"chain_id": "t", "height": 3})
TX_ID = "ab" * 32


@pytest.mark.parametrize("answer", [(503, NODE_BUSY), (503, "<h1>Service Unavailable</h1>"),
                                    (429, "")], ids=["node_busy", "proxy_503", "proxy_429"])
@pytest.mark.parametrize("lang, said, not_said", [
    ("en", "the node is busy; try again in a moment", "HTTP 503 from"),
    ("ru", "узел занят; повторите чуть позже", "отказал"),
    ("kk", "түйін қазір бос емес; сәлден соң қайталаңыз", "қабылдамады")])
def test_status_of_a_busy_node_says_to_ask_again(node_stub: ScriptedNode, answer: Answer,
                                                 lang: str, said: str, not_said: str) -> None:
    node_stub.answers = lambda _method, _path: answer
    result = CliRunner().invoke(main, ["status", "--node", node_stub.url, "--lang", lang])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert said in result.output and not_said not in result.output, result.output
    assert "Traceback" not in result.output


def test_a_404_is_still_said_as_no_answer_of_the_node(node_stub: ScriptedNode) -> None:
    """A status of no route is no busy node: not told to wait and ask again."""
    node_stub.answers = lambda _method, _path: (404, "<h1>Not Found</h1>")
    result = CliRunner().invoke(main, ["status", "--node", node_stub.url, "--lang", "en"])
    assert result.exit_code == EXIT_UNREACHABLE and "busy" not in result.output, result.output


def anchor_with_file(server: ScriptedNode, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> tuple[int, str, Path]:
    """`submit_and_report` of an anchor, with a file made for it: its exit, its line, the
    file (as a credential file is made for an employment record it sends)."""
    written = tmp_path / "made-for-it.json"
    written.write_text("{}")
    keys = KeyPair.from_seed(b"\x31" * 32)
    with pytest.raises(SystemExit) as stopped:
        submit_and_report(NodeClient(server.url, timeout_s=5), keys,
                          AnchorPayload(b"\x07" * 32), "anchor", written=written, wait_s=1.5)
    return int(str(stopped.value.code)), capsys.readouterr().err, written


def test_a_transaction_a_busy_node_did_not_take_is_not_sent(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else (503, NODE_BUSY))
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert code == EXIT_UNREACHABLE, said
    assert "not sent" in said and "busy; try again in a moment" in said, said
    assert "refused" not in said, said
    assert not written.exists()  # nothing of it is on chain, as when a node refuses one


def test_a_transaction_taken_by_a_node_then_busy_is_pending_and_its_file_kept(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def answers(method: str, path: str) -> Answer:
        if path.startswith("/v1/status"):
            return STATUS_OK
        if method == "POST":
            return 202, {"tx_id": node_stub.last_tx_id()}
        return 503, "<h1>Service Unavailable</h1>"

    node_stub.answers = answers
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert code == EXIT_PENDING, said
    assert "not committed yet (pending)" in said and "refused" not in said, said
    assert written.exists()  # it may still commit: the file is what it would be valid in
    # asked after again while busy, not once
    taken = node_stub.last_tx_id()
    assert node_stub.asked.count(f"GET /v1/transactions/{taken}") > 1, node_stub.asked


def test_the_client_names_a_busy_answer_by_its_code(node_stub: ScriptedNode) -> None:
    """A proxy's 503 too: callers (a job's wait, supersede's tally) tell it by the code."""
    node_stub.answers = lambda _method, _path: (503, "<h1>Service Unavailable</h1>")
    client = NodeClient(node_stub.url, timeout_s=5)
    with pytest.raises(ClientError) as raised:
        client.status()
    assert (raised.value.code, raised.value.status) == (BUSY, 503)


def revoke_with_note(server: ScriptedNode, tmp_path: Path, lang: str = "en"
                     ) -> tuple[int, str, list[Path]]:
    """`senim revoke` of a credential with --note: its exit, what it said, and the files it
    left beside the credential and key (its note, while kept)."""
    keys = KeyPair.from_seed(b"\x32" * 32)
    key = tmp_path / "issuer.key"
    save_key(key, keys)
    batch = make_batch([{"full_name": "A B", "iin": "000000000001"}], "diploma", "t",
                       keys.member_id, "U")
    document = tmp_path / "diploma.json"
    document.write_text(json.dumps(documents_of(batch)[0]))
    result = CliRunner().invoke(main, [
        "revoke", str(document), "--key", str(key), "--reason", "fraud", "--note", "typo",
        "--node", server.url, "--lang", lang])
    left = [path for path in tmp_path.rglob("*") if path.is_file()
            and path not in (key, document)]
    return result.exit_code, result.output, left


@pytest.mark.parametrize("lang, said", [
    ("en", "revocation not sent: "), ("ru", "отзыв: транзакция не отправлена — "),
    ("kk", "кері қайтару: транзакция жіберілмеді — ")])
def test_a_revocation_a_busy_node_did_not_take_is_not_sent_and_its_note_not_kept(
        node_stub: ScriptedNode, tmp_path: Path, lang: str, said: str) -> None:
    """Not "revocation refused: ... (busy)", exit 1, with the note left behind, so that the
    same command, run again once the node was free, was refused for its note."""
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else (503, NODE_BUSY))
    code, output, left = revoke_with_note(node_stub, tmp_path, lang)
    assert code == EXIT_UNREACHABLE, output
    assert said in output and "(busy)" not in output, output
    assert not left, left


@pytest.mark.parametrize("answer", [PROXY_BUSY, (429, "")], ids=["proxy_503", "proxy_429"])
def test_a_transaction_a_proxy_said_busy_for_is_not_confirmed_and_its_file_kept(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        answer: Answer) -> None:
    """A proxy may say 503 or 429 after the node took the transaction: only the node's own
    `busy` shows it did not, so the file made for it stays, and the command says so."""
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else answer)
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert code == EXIT_UNREACHABLE, said
    assert "not confirmed" in said and "is kept" in said and "refused" not in said, said
    assert written.exists()


def test_a_revocation_a_proxy_said_busy_for_keeps_its_note(node_stub: ScriptedNode,
                                                           tmp_path: Path) -> None:
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else PROXY_BUSY)
    code, output, left = revoke_with_note(node_stub, tmp_path)
    assert code == EXIT_UNREACHABLE, output
    assert "revocation not confirmed" in output and "is kept" in output, output
    assert len(left) == 1 and left[0].parent.name == "revocation-notes", left


@pytest.mark.parametrize("answer", [(503, NODE_BUSY), PROXY_BUSY],
                         ids=["node_busy", "proxy_503"])
@pytest.mark.parametrize("command", [
    lambda tmp: ["key", "rotate", "--key", str(tmp / "k.key"), "--new-key",
                 str(tmp / "k2.key")],
    lambda tmp: ["key", "request-replacement", "--new-key", str(tmp / "k2.key"), "--member",
                 "cd" * 20, "--out", str(tmp / "request.json")],
], ids=["rotate", "request-replacement"])
def test_key_commands_say_a_busy_node_as_busy(node_stub: ScriptedNode, tmp_path: Path,
                                              answer: Answer,
                                              command: Callable[[Path], list[str]]) -> None:
    """Exit 3, as README says of a busy or unreachable node: not 1, a refusal."""
    node_stub.answers = lambda _method, _path: answer
    save_key(tmp_path / "k.key", KeyPair.from_seed(b"\x41" * 32))
    result = CliRunner().invoke(main, [*command(tmp_path), "--node", node_stub.url,
                                       "--lang", "en"])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert "busy; try again in a moment" in result.output, result.output
    assert not (tmp_path / "request.json").exists()
