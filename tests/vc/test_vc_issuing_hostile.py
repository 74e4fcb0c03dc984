"""VC-API issuing against what a hostile or careless client sends: a credential the node
could not sign once it adds its own parts is refused before anything goes on chain (it
was anchored, then refused 400); a suspension's update revokes nothing (it revoked for
good); a revocation refused as already made is 409 however it was refused; the token's
scheme is read in any case."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from ledger.vc.canon import CREDENTIALS_V2
from tests.vc.conftest import TOKEN, VcNode, post
from tests.vc.test_vc_issuing import AUTH, credential, issue


async def test_a_credential_the_node_could_not_sign_anchors_nothing(node: VcNode) -> None:
    # Its context protects "senim", which the node's own section then redefines.
    height = node.core.chain.height
    refused = await issue(node, {"credential": credential(node, **{"@context": [
        CREDENTIALS_V2, {"@protected": True, "senim": {"@id": "https://evil.example/x"}}]})},
        400)
    assert "protected term" in str(refused), refused
    assert node.core.chain.height == height and len(node.core.mempool) == 0


def _update(credential_id: str, **entry: Any) -> dict[str, Any]:
    return {"credentialId": credential_id, "reason": "fraud", "credentialStatus": [
        {"type": "BitstringStatusListEntry", "status": "revoked", **entry}]}


async def test_a_suspensions_update_revokes_nothing(node: VcNode) -> None:
    asked = credential(node, id=f"urn:uuid:{uuid.uuid4()}")
    await issue(node, {"credential": asked})
    height = node.core.chain.height
    await post(node, "/credentials/status", _update(asked["id"], statusPurpose="suspension"),
               400, AUTH)
    assert node.core.chain.height == height
    await post(node, "/credentials/status", _update(asked["id"]), 200, AUTH)


async def test_already_revoked_is_409_whichever_way_it_was_refused(node: VcNode) -> None:
    # Refused inside a block rather than at submit, it was 403.
    asked = credential(node, id=f"urn:uuid:{uuid.uuid4()}")
    await issue(node, {"credential": asked})
    answers = await asyncio.gather(*(node.client.post(
        "/credentials/status", json=_update(asked["id"]), headers=AUTH) for _ in range(3)))
    assert sorted(a.status for a in answers) == [200, 409, 409]


async def test_the_tokens_scheme_is_read_in_any_case(node: VcNode) -> None:
    lower = {"Authorization": f"bearer {TOKEN}"}
    await post(node, "/credentials/issue", {"credential": credential(node)}, 201, lower)


async def test_a_validity_that_ends_before_it_begins_is_refused(node: VcNode) -> None:
    # Issued and anchored, it verified "expired: not valid before 2031" from the first day.
    height = node.core.chain.height
    await issue(node, {"credential": credential(
        node, validFrom="2031-01-01T00:00:00Z", validUntil="2030-01-01T00:00:00Z")}, 400)
    assert node.core.chain.height == height
    await issue(node, {"credential": credential(
        node, validFrom="2030-01-01T00:00:00Z", validUntil="2031-01-01T00:00:00Z")})
