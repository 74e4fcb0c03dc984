"""The node's own refusals of a request to its transaction route (a body too slow, of a
type it does not read, missing; a head it cannot read, an expectation it does not meet, a
parameter that does not fit) are said as the node's, in its words, and what was made for
the transaction is removed as for any refusal (exit 1). Having no `refusal.<code>` sentence,
they were said to come "from something between this computer and the node" (exit 3):
tests/cli/test_ministry_words.route_refusal_codes now reads them from node/."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.errors import EXIT_REFUSED
from cli.language import Words
from tests.cli.scripted_node import Answers, ScriptedNode
from tests.cli.test_busy_node import STATUS_OK, anchor_with_file, revoke_with_note

# code: the status and message the node answers it with (node/http_limits.py,
# api_schema.py, media_types.py, http_server.py)
ROUTE_REFUSALS: dict[str, tuple[int, str]] = {
    "body_timeout": (408, "request body not received within 30 s"),
    "unsupported_media_type": (415, "the body is not application/json"),
    "missing_body": (400, "this request needs a body: application/json"),
    "bad_request": (400, "a header line is too long"),
    "expectation_failed": (417, "the request's Expect header asks for something other "
                                "than 100-continue, which is all this node answers"),
    "bad_parameter": (400, "wait is no number"),
}


def refused(code: str) -> Answers:
    status, message = ROUTE_REFUSALS[code]
    return lambda method, path: (STATUS_OK if path.startswith("/v1/status") else
                                 (status, {"error": {"code": code, "message": message}}))


@pytest.mark.parametrize("code", list(ROUTE_REFUSALS))
def test_the_nodes_route_refusal_is_said_as_its_own(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        code: str) -> None:
    node_stub.answers = refused(code)
    exit_code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert exit_code == EXIT_REFUSED, said
    assert f"anchor refused: {ROUTE_REFUSALS[code][1]} ({code})" in said
    assert "something between" not in said, said
    assert not written.exists(), said


@pytest.mark.parametrize("lang", ["kk", "ru"])
@pytest.mark.parametrize("code", list(ROUTE_REFUSALS))
def test_the_nodes_route_refusal_is_said_in_the_readers_language(
        node_stub: ScriptedNode, tmp_path: Path, code: str, lang: str) -> None:
    node_stub.answers = refused(code)
    exit_code, said, left = revoke_with_note(node_stub, tmp_path, lang)
    assert exit_code == EXIT_REFUSED, said
    assert Words(lang).t(f"refusal.{code}") in said, said
    assert left == [], left  # the note goes with the refused revocation
