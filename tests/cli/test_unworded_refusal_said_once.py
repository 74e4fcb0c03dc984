"""A refusal whose code this release has no words for (a later node's) names its code once
in Kazakh and Russian, as in English: `tx.refused` and `revoke.refused` said it twice, and
the node refusing twice, as their {why} was cli.node.refused ("узел URL отказал в запросе
(CODE)"), which names the code itself, and the line adds " (CODE)" after it. 1925cd98 and
dd394ff2 made `senim issue`'s refused lines name such a code once; these are said so too.

Since a 4xx with such a code answered to the POST of a transaction is no longer taken for
the node's refusal (tests/cli/test_gateway_json_refusal.py), these lines meet one when it
answers a request before the transaction is sent (its chain and height, GET /v1/status)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.errors import EXIT_REFUSED
from cli.main import main
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli.scripted_node import ScriptedNode
from tests.cli.test_busy_node import revoke_with_note

CODE = "a_new_refusal"
REFUSED = (409, {"error": {"code": CODE, "message": "a refusal of a later release"}})


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_an_anchor_refused_with_no_words_names_its_code_once(
        node_stub: ScriptedNode, tmp_path: Path, lang: str) -> None:
    key = tmp_path / "member.key"
    save_key(key, KeyPair.from_seed(b"\x35" * 32))
    document = tmp_path / "material.txt"
    document.write_text("teaching material")
    node_stub.answers = lambda method, path: REFUSED
    result = CliRunner().invoke(main, ["anchor", str(document), "--key", str(key),
                                       "--node", node_stub.url, "--lang", lang])
    assert result.exit_code == EXIT_REFUSED, result.output
    assert result.output.count(CODE) == 1, result.output


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_a_revocation_refused_with_no_words_names_its_code_once(
        node_stub: ScriptedNode, tmp_path: Path, lang: str) -> None:
    node_stub.answers = lambda method, path: REFUSED
    code, output, left = revoke_with_note(node_stub, tmp_path, lang)
    assert code == EXIT_REFUSED, output
    assert output.count(CODE) == 1, output
    assert not left, left  # nothing was sent: its note is not kept
