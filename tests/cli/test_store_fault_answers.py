"""A node's 503 for its own files unreadable to it (store_unreadable) or its store damaged
(store_damaged) is said as that by every command, in the reader's language: no retry
cures it, so ask another node and tell its operator. verify's reads said 'the node is busy;
try again in a moment' of both, and the commands that ask through NodeClient said in kk
and ru only 'refused the request (store_unreadable)'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from tests.cli.scripted_node import ScriptedNode
from tests.node.conftest import documents_of

# What each language says of each code, whichever command met it
SAID = {
    "store_unreadable": {
        "en": "the node cannot read its own files",
        "kk": "түйін өз файлдарын оқи алмайды",
        "ru": "узел не может прочитать собственные файлы"},
    "store_damaged": {
        "en": "the node's chain database is damaged",
        "kk": "түйіннің тізбек дерекқоры бүлінген",
        "ru": "база данных цепочки узла повреждена"},
}
ANOTHER_NODE = {"en": "ask another node, and tell that node's operator",
                "kk": "басқа түйіннен сұраңыз және сол түйіннің операторына хабарлаңыз",
                "ru": "обратитесь к другому узлу и сообщите оператору этого узла"}
BUSY = {"en": "busy", "kk": "бос емес", "ru": "занят"}


@pytest.fixture
def document(tmp_path: Path) -> str:
    keys = KeyPair.from_seed(b"\x34" * 32)
    batch = make_batch([{"full_name": "Әлия Сәрсенбаева", "iin": "000000000001"}], "diploma",
                       "t", keys.member_id, "KazNU")
    path = tmp_path / "diploma.json"
    path.write_text(json.dumps(documents_of(batch)[0]), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
@pytest.mark.parametrize("code", list(SAID))
@pytest.mark.parametrize("command", ["status", "members", "verify"])
def test_a_store_fault_is_said_as_itself_not_as_busy(
        node_stub: ScriptedNode, document: str, command: str, code: str, lang: str) -> None:
    body = {"error": {"code": code, "message": "this node's store cannot answer this"}}
    node_stub.answers = lambda _method, _path: (503, body)
    args = ["verify", document] if command == "verify" else [command]
    result = CliRunner().invoke(main, [*args, "--node", node_stub.url, "--lang", lang])
    assert result.exit_code != 0, result.output
    assert SAID[code][lang] in result.output, result.output
    assert ANOTHER_NODE[lang] in result.output, result.output
    assert BUSY[lang] not in result.output and "Traceback" not in result.output, result.output
