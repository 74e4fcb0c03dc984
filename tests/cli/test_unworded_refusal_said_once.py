"""FAILING DEMONSTRATION (session 65 review, revcli): not a fix, and expected to fail on main.

A refusal whose code this release has no words for (a later node's, or a gateway's JSON
error) is said in Kazakh and Russian by `tx.refused` and `revoke.refused` with the code twice
and the node named as refusing twice: their {why} is cli.node.refused ("узел URL отказал в
запросе (CODE)"), which names the code itself, and the line adds " (CODE)" after it:
"anchor: узел отклонил транзакцию — узел http://… отказал в запросе (a_new_refusal)
(a_new_refusal)". English says the node's message once with its code. Commits 1925cd98 and
dd394ff2 made `senim issue`'s refused lines name such a code once; these lines were left."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.errors import EXIT_REFUSED
from cli.main import main
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli.scripted_node import ScriptedNode
from tests.cli.test_busy_node import STATUS_OK

CODE = "a_new_refusal"


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_a_refusal_with_no_words_names_its_code_once(
        node_stub: ScriptedNode, tmp_path: Path, lang: str) -> None:
    key = tmp_path / "member.key"
    save_key(key, KeyPair.from_seed(b"\x35" * 32))
    document = tmp_path / "material.txt"
    document.write_text("teaching material")
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status")
        else (409, {"error": {"code": CODE, "message": "a refusal of a later release"}}))
    result = CliRunner().invoke(main, ["anchor", str(document), "--key", str(key),
                                       "--node", node_stub.url, "--lang", lang])
    assert result.exit_code == EXIT_REFUSED, result.output
    assert result.output.count(CODE) == 1, result.output
