"""A command waits on the transaction it signed, not on whatever id the answer to its POST
names: a proxy answering `202 {"tx_id": "00…"}` made `employment start` wait its 60 s on
that id and say the node did not know it, while its own transaction had committed. An
answer naming another transaction is said as none of the node's, and what was made for the
transaction is kept (exit 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.errors import EXIT_UNREACHABLE
from cli.main import main
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli.scripted_node import Answer, Answers, ScriptedNode
from tests.cli.test_busy_node import STATUS_OK, anchor_with_file

OTHER_ID = "00" * 32
ANSWERED_OTHER: Answer = (202, {"tx_id": OTHER_ID})
SAID = {"en": "another transaction", "kk": "басқа транзакцияның",
        "ru": "другой транзакции"}


def answering_another_id(asked: list[str]) -> Answers:
    def answers(method: str, path: str) -> Answer:
        asked.append(f"{method} {path}")
        if path.startswith("/v1/status"):
            return STATUS_OK
        if method == "POST":
            return ANSWERED_OTHER
        return 404, {"tx_id": path.split("/")[3].split("?")[0], "status": "unknown"}
    return answers


def test_an_answer_naming_another_transaction_keeps_the_file_and_is_not_waited_on(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[str] = []
    node_stub.answers = answering_another_id(asked)
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert code == EXIT_UNREACHABLE, said
    assert written.exists(), said
    assert "another transaction (0000000000000000…)" in said, said
    assert not [line for line in asked if OTHER_ID in line], asked


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_it_is_said_in_the_readers_language(node_stub: ScriptedNode, tmp_path: Path,
                                            lang: str) -> None:
    key = tmp_path / "member.key"
    save_key(key, KeyPair.from_seed(b"\x37" * 32))
    document = tmp_path / "material.txt"
    document.write_text("teaching material")
    node_stub.answers = answering_another_id([])
    result = CliRunner().invoke(main, ["anchor", str(document), "--key", str(key),
                                       "--node", node_stub.url, "--lang", lang])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert SAID[lang] in result.output and "0000000000000000…" in result.output, result.output
