"""A status list a node signs is valid for STATUS_LIST_VALIDITY_S from its signing, so
a list replayed once a revocation has come (the genuine list of before it) stops
verifying. It carried no validUntil: a list of before a revocation verified for ever.

The node's clock is pinned as the verifier's is (NOW, 2030), so that the validity
checked here is the one the node signed, not the distance between 2030 and today."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ledger.vc.export import xsd_time
from ledger.vc.verify import verify_vc
from ledger.verification import when
from node.vc_common import STATUS_LIST_VALIDITY_S, VC
from tests.vc.conftest import NOW, STATUS_BASE, VcNode
from tests.vc.test_vc_api import exported


async def _list(node: VcNode) -> dict[str, Any]:
    path = "/credentials/status/" + (node.net.university.member_id + node.batch.root).hex()
    response = await node.client.get(path)
    assert response.status == 200, await response.text()
    listed: dict[str, Any] = await response.json()
    assert listed["id"] == STATUS_BASE + path
    return listed


def _verified(vc: dict[str, Any], listed: dict[str, Any], after_s: float) -> tuple[str, str]:
    """The verdict of `vc` read against `listed` as the node reads its own lists."""
    verdict = verify_vc(vc, NOW + timedelta(seconds=after_s), None, None,
                        {listed["id"]: listed}.get, lists_vouched=True)
    return verdict.status, verdict.reason


async def test_a_status_list_is_valid_for_a_short_while_from_its_signing(
        node: VcNode) -> None:
    node.app[VC].clock = NOW.timestamp
    listed = await _list(node)
    until = NOW + timedelta(seconds=STATUS_LIST_VALIDITY_S)
    assert listed["validUntil"] == xsd_time(int(until.timestamp() * 1000))
    vc = exported(node, 1)
    assert _verified(vc, listed, 0)[0] == "valid"
    assert _verified(vc, listed, STATUS_LIST_VALIDITY_S - 1)[0] == "valid"
    status, reason = _verified(vc, listed, STATUS_LIST_VALIDITY_S + 1)
    assert status == "unknown" and "outside its validity period" in reason, reason
    # named, not only worded: "unknown" alone was said "never issued on this network"
    late = verify_vc(vc, NOW + timedelta(seconds=STATUS_LIST_VALIDITY_S + 1), None, None,
                     {listed["id"]: listed}.get, lists_vouched=True)
    assert late.facts == {"status_list_validity": "expired",
                          "status_list_valid_until": when(int(until.timestamp() * 1000))}


async def test_a_cached_list_is_signed_again_once_half_its_validity_is_gone(
        node: VcNode) -> None:
    """A list handed out from the cache has at least half its validity left."""
    clock = [NOW.timestamp()]
    node.app[VC].clock = lambda: clock[0]
    first = await _list(node)
    clock[0] += STATUS_LIST_VALIDITY_S / 2 - 1
    assert await _list(node) == first
    clock[0] += 2
    again = await _list(node)
    assert again["validUntil"] > first["validUntil"]
    assert again["credentialSubject"] == first["credentialSubject"]
