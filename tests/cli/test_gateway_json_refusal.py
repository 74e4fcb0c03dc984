"""A gateway before the node that answers an error of its own in JSON shaped as the node's
(`{"error": {"code": "Forbidden", "message": "..."}}`, as Azure-style gateways word theirs)
is not taken for the node's refusal. cli.client_answers.not_taken trusted any 4xx whose body
held a string code and message, so a command removed what it made for the transaction and
said the node refused it (exit 1). A gateway may give that answer after it forwarded the
request (a response rule, an outbound policy), and the transaction then commits: tried by
hand through a proxy that forwards the batch and answers such a 403, `senim issue` said "the
node refused the batch ... its credential files were removed" while the batch was committed
at height 77. Only a code a node refuses a transaction with
(cli.client_answers.a_nodes_refusal_code) is its refusal; any other answered to the POST is
said as an answer from something between, and what was made for the transaction is kept
(exit 3; a job stays pending, exit 75)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.errors import EXIT_UNREACHABLE
from tests.cli.scripted_node import Answer, ScriptedNode
from tests.cli.test_busy_node import STATUS_OK, anchor_with_file, revoke_with_note
from tests.cli.test_taken_transactions import batch_kept_pending

GATEWAYS_403: Answer = (403, {"error": {"code": "Forbidden",
                                        "message": "Access denied by the gateway"}})


def test_a_gateways_json_403_to_the_post_keeps_what_was_made_for_it(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else GATEWAYS_403)
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert written.exists(), said  # removed: "anchor refused: ... (Forbidden)"
    assert code == EXIT_UNREACHABLE, said
    assert "refused" not in said and "Forbidden" not in said, said
    assert "not from the node itself" in said, said


def test_a_gateways_json_403_to_a_batch_keeps_its_credential_files(
        node_stub: ScriptedNode, tmp_path: Path) -> None:
    pending = batch_kept_pending(node_stub, tmp_path, GATEWAYS_403)
    assert "refused" not in str(pending), pending


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_a_gateways_json_403_to_a_revocation_keeps_its_note(
        node_stub: ScriptedNode, tmp_path: Path, lang: str) -> None:
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else GATEWAYS_403)
    code, output, left = revoke_with_note(node_stub, tmp_path, lang)
    assert code == EXIT_UNREACHABLE, output
    assert "Forbidden" not in output, output
    assert len(left) == 1 and left[0].parent.name == "revocation-notes", left


# A JSON `not_found` to the POST: read as no route of the API ("check --node"), it was let
# through as a --node that is no URL, and a batch's files were removed though the gateway
# may have passed the POST on.
GATEWAYS_404: Answer = (404, {"error": {"code": "not_found",
                                        "message": "upstream returned nothing"}})


def test_a_gateways_json_not_found_to_a_batch_keeps_its_credential_files(
        node_stub: ScriptedNode, tmp_path: Path) -> None:
    batch_kept_pending(node_stub, tmp_path, GATEWAYS_404)
