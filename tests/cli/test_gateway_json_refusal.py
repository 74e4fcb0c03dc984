"""FAILING DEMONSTRATION (session 65 review, revcli): not a fix, and expected to fail on main.

A gateway before the node that answers an error of its own in JSON shaped as the node's
(`{"error": {"code": "Forbidden", "message": "..."}}`, as Azure-style gateways word theirs)
is taken for the node's refusal: cli.client_answers.not_taken trusts any 4xx whose body
holds a string code and message, so the command removes what it made for the transaction
and says the node refused it (exit 1). A gateway may give that answer after it forwarded
the request (a response rule, an outbound policy), and the transaction then commits: tried
by hand through a proxy that forwards the batch and answers such a 403, `senim issue` said
"the node refused the batch ... its credential files were removed" while the batch was
committed at height 77. No code the node's API gives is "Forbidden", so nothing shows the
node refused; what was made for the transaction should be kept, exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.errors import EXIT_UNREACHABLE
from tests.cli.scripted_node import Answer, ScriptedNode
from tests.cli.test_busy_node import STATUS_OK, anchor_with_file

GATEWAYS_403: Answer = (403, {"error": {"code": "Forbidden",
                                        "message": "Access denied by the gateway"}})


def test_a_gateways_json_403_to_the_post_keeps_what_was_made_for_it(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else GATEWAYS_403)
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert written.exists(), said  # removed: "anchor refused: ... (Forbidden)"
    assert code == EXIT_UNREACHABLE, said
