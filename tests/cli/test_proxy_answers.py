"""An HTTP status with no error of a Senim node's in it (a proxy's 413, 403, 401 or 502, an
HTML page) is said by every command that asks a node in one way, in the reader's language:
that something between this computer and the node gave it, not the node, and whom to ask.
Only `senim issue` said so; status, members, governance, verify and revoke said "HTTP 413
from URL", as if the node had answered. The node's own 404 for a transaction it does not
know (its body holds no error, but the transaction's status) stays the node's word; a
proxy's 404 there is no such word. A bare 400 or 500, which a node may send too
(cli.node_answers.NODE_MAY_SEND_BARE), and a body that could not be read whole are said by
their status alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.client import ClientError, NodeClient
from cli.errors import EXIT_UNREACHABLE
from cli.main import main
from cli.node_answers import MAX_ANSWER_BYTES
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli.scripted_node import Answer, ScriptedNode
from tests.cli.test_busy_node import STATUS_OK, TX_ID, anchor_with_file
from tests.node.conftest import documents_of

PROXY_PAGES = {
    413: "<html><body><h1>413 Request Entity Too Large</h1><hr>nginx</body></html>",
    403: "<html><body><h1>403 Forbidden</h1></body></html>",
    401: "<html><body><h1>401 Authorization Required</h1></body></html>",
    502: "<html><body><h1>502 Bad Gateway</h1></body></html>",
}
# How each language opens the line, naming the status and the URL asked (url: the address
# the command was given): as the answer to a request, not as an answer "from" the node
OPENING = {
    "en": "the HTTP {status} answer to {url}/",
    "ru": "ответ HTTP {status} на запрос к {url}/",
    "kk": "сұрауына келген HTTP {status} жауабын түйін емес",
}
# What each language says of such an answer, whichever command met it
SAID = {
    "en": "came from something between this computer and the node (a proxy or gateway), "
          "not from the node itself; if it keeps coming, ask whoever runs that proxy",
    "ru": "пришёл не от узла, а от чего-то между этим компьютером и узлом (прокси или шлюза); "
          "если ответ повторяется, обратитесь к тем, кто обслуживает этот прокси",
    "kk": "жауабын түйін емес, осы компьютер мен түйіннің арасындағы бір нәрсе (прокси не "
          "шлюз) берді; жауап қайталана берсе, сол прокси",
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """A diploma and its issuer's key, for the commands that read or sign one."""
    keys = KeyPair.from_seed(b"\x33" * 32)
    key = tmp_path / "issuer.key"
    save_key(key, keys)
    batch = make_batch([{"full_name": "Әлия Сәрсенбаева", "iin": "000000000001"}], "diploma",
                       "t", keys.member_id, "KazNU")
    document = tmp_path / "diploma.json"
    document.write_text(json.dumps(documents_of(batch)[0]), encoding="utf-8")
    return {"KEY": str(key), "DOCUMENT": str(document)}


COMMANDS = {
    "status": ["status"],
    "members": ["members"],
    "governance": ["governance", "list"],
    "verify": ["verify", "DOCUMENT"],
    "revoke": ["revoke", "DOCUMENT", "--key", "KEY", "--reason", "fraud"],
}


@pytest.mark.parametrize("status", list(PROXY_PAGES))
@pytest.mark.parametrize("lang", list(SAID))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_proxys_status_is_said_alike_by_each_command(
        node_stub: ScriptedNode, files: dict[str, str], command: str, lang: str,
        status: int) -> None:
    node_stub.answers = lambda _method, _path: (status, PROXY_PAGES[status])
    args = [files.get(arg, arg) for arg in COMMANDS[command]]
    result = CliRunner().invoke(main, [*args, "--node", node_stub.url, "--lang", lang])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert OPENING[lang].format(status=status, url=node_stub.url) in result.output, result.output
    assert SAID[lang] in result.output and "Traceback" not in result.output, result.output
    assert f"from {node_stub.url}" not in result.output, result.output


@pytest.mark.parametrize("status", [413, 502])
def test_a_proxys_status_to_a_sent_revocation_is_said_so_and_its_note_kept(
        node_stub: ScriptedNode, files: dict[str, str], tmp_path: Path, status: int) -> None:
    """Past the node's status, at the POST: the node may have taken it behind the proxy."""
    def answers(_method: str, path: str) -> Answer:
        return STATUS_OK if path.startswith("/v1/status") else (status, PROXY_PAGES[status])

    node_stub.answers = answers
    result = CliRunner().invoke(main, [
        "revoke", files["DOCUMENT"], "--key", files["KEY"], "--reason", "fraud", "--note",
        "typo", "--node", node_stub.url, "--lang", "en"])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert "revocation not confirmed: the HTTP" in result.output, result.output
    assert SAID["en"] in result.output and "is kept" in result.output, result.output
    assert list((tmp_path / "revocation-notes").iterdir())


def test_a_transaction_the_node_still_does_not_know_is_said_as_the_nodes_word(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its 404 to the wait is the node's own answer, not a proxy's, nor a wrong --node."""
    def answers(method: str, path: str) -> Answer:
        if path.startswith("/v1/status"):
            return STATUS_OK
        if method == "POST":
            return 202, {"tx_id": node_stub.last_tx_id(), "status": "pending"}
        return 404, {"tx_id": node_stub.last_tx_id(), "status": "unknown"}

    node_stub.answers = answers
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert code == EXIT_UNREACHABLE, said
    assert "the node does not know this transaction yet" in said, said
    assert "proxy" not in said and "check that --node" not in said, said
    assert written.exists()


PROXYS_404 = (404, "<html><body><h1>404 Not Found</h1><hr>nginx</body></html>")


def test_a_proxys_404_to_a_transactions_status_is_no_word_that_the_node_lost_it(
        node_stub: ScriptedNode) -> None:
    """Taken for "unknown", a job would send its batch again on a proxy's word."""
    node_stub.answers = lambda _method, _path: PROXYS_404
    with pytest.raises(ClientError) as raised:
        NodeClient(node_stub.url, timeout_s=5).transaction_status(TX_ID)
    assert raised.value.bare and SAID["en"] in str(raised.value), raised.value


def test_a_node_s_own_404_to_a_transactions_status_says_it_does_not_know_it(
        node_stub: ScriptedNode) -> None:
    node_stub.answers = lambda _method, _path: (404, {"tx_id": TX_ID, "status": "unknown"})
    status = NodeClient(node_stub.url, timeout_s=5).transaction_status(TX_ID)
    assert status == {"tx_id": TX_ID, "status": "unknown"}


def test_a_wait_a_proxy_answers_404_ends_at_its_first_answer_saying_so(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It was asked again every 50 ms to the wait's end, some 1,200 requests a minute, and
    then said as a wrong --node."""
    def answers(method: str, path: str) -> Answer:
        if path.startswith("/v1/status"):
            return STATUS_OK
        return (202, {"tx_id": node_stub.last_tx_id()}) if method == "POST" else PROXYS_404

    node_stub.answers = answers
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert code == EXIT_UNREACHABLE, said
    taken = node_stub.last_tx_id()
    assert node_stub.asked.count(f"GET /v1/transactions/{taken}") == 1, node_stub.asked
    assert SAID["en"] in said and "not confirmed" in said, said
    assert written.exists()  # the node took it: it may still commit


# A proxy's page past what each asker reads of an error's body: verify's 4 KiB of it
# (cli.node_answers.ERROR_BODY_BYTES_MAX), the client's 16 MiB (MAX_ANSWER_BYTES)
UNREAD_PAGES = {"verify": 5_000, "status": MAX_ANSWER_BYTES + 1}


@pytest.mark.parametrize("command", list(UNREAD_PAGES))
def test_an_error_whose_body_was_not_read_whole_is_said_by_its_status_alone(
        node_stub: ScriptedNode, files: dict[str, str], command: str) -> None:
    """Unread, it may have been the node's own error: 'not from the node itself' was said."""
    page = "<html>" + "x" * UNREAD_PAGES[command] + "</html>"
    node_stub.answers = lambda _method, _path: (413, page)
    args = [files.get(arg, arg) for arg in COMMANDS[command]]
    result = CliRunner().invoke(main, [*args, "--node", node_stub.url, "--lang", "en"])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert f"{node_stub.url}/v1/" in result.output and " answered HTTP 413" in result.output, (
        result.output)
    assert "something between" not in result.output, result.output
