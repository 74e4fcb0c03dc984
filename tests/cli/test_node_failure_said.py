"""A JSON 5xx answered to the POST of a transaction (the node's own `internal` 500, a
gateway's JSON 502) is a failure, not a refusal, in every language: English said the
node's message inside "not confirmed", while Kazakh and Russian said the node refused the
request ("узел … отказал в запросе (internal)", "… сұрауды қабылдамады") inside the same
line; README says the node's own 500 is no refusal. Each now says the address, the status
and what the answer said."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.errors import EXIT_UNREACHABLE
from cli.main import main
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli.scripted_node import Answer, ScriptedNode
from tests.cli.test_busy_node import STATUS_OK, revoke_with_note

FAILED: dict[str, Answer] = {
    "node_internal": (500, {"error": {"code": "internal",
                                      "message": "internal error; see the node's log"}}),
    "gateway_502": (502, {"error": {"code": "BadGateway", "message": "upstream timed out"}}),
}
# How each language says a node refused, which a failure is not
REFUSED_WORDS = {"en": "refused", "kk": "қабылдамады", "ru": "отказал"}


def said_failed(output: str, lang: str, answer: Answer) -> None:
    status = answer[0]
    assert f"HTTP {status}" in output, output
    assert REFUSED_WORDS[lang] not in output, output
    assert "(internal)" not in output and "(BadGateway)" not in output, output


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
@pytest.mark.parametrize("answer", list(FAILED.values()), ids=list(FAILED))
def test_an_anchor_failed_on_is_not_said_refused(
        node_stub: ScriptedNode, tmp_path: Path, lang: str, answer: Answer) -> None:
    key = tmp_path / "member.key"
    save_key(key, KeyPair.from_seed(b"\x36" * 32))
    document = tmp_path / "material.txt"
    document.write_text("teaching material")
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else answer)
    result = CliRunner().invoke(main, ["anchor", str(document), "--key", str(key),
                                       "--node", node_stub.url, "--lang", lang])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    said_failed(result.output, lang, answer)


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
@pytest.mark.parametrize("answer", list(FAILED.values()), ids=list(FAILED))
def test_a_revocation_failed_on_keeps_its_note_and_is_not_said_refused(
        node_stub: ScriptedNode, tmp_path: Path, lang: str, answer: Answer) -> None:
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else answer)
    code, output, left = revoke_with_note(node_stub, tmp_path, lang)
    assert code == EXIT_UNREACHABLE, output
    said_failed(output, lang, answer)
    assert len(left) == 1 and left[0].parent.name == "revocation-notes", left
