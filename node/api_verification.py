"""The API's verification routes: a credential document (POST /v1/verify) and an anchored
document (POST /v1/verify/anchor), each checked against this node's committed state.

Each body is charged to the client's byte rate and to its kind's bytes in flight
(`node.api_public.large_body`) as it arrives, and checked in the verification pool
(`VERIFY_WORK`) over a committed view, never in the ledger worker consensus uses.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ledger.anchor_verification import verify_anchor
from ledger.errors import MalformedInput
from ledger.rules import load_member
from ledger.verification import verify_credential
from node.api_public import (
    ALONE_BUDGET,
    ANCHOR_BODY_MAX,
    ANCHOR_BYTES,
    CORE,
    VERIFY_BODY_MAX,
    VERIFY_BYTES,
    VERIFY_WORK,
    busy_refusal,
    large_body,
    public,
    within_byte_rate,
)
from node.checked_while_busy import verdict_while_busy
from node.http_limits import ArrivalCharge, read_body
from node.public_work import CommittedView, PublicWorkBusy, ViewFacts, parse_json
from node.service import NodeCore


async def verify_document(request: web.Request) -> web.Response:
    rated = await within_byte_rate(request, VERIFY_BODY_MAX)
    # As for anchored documents: ten addresses sending 256 KiB documents slowly, each
    # within its byte rate, held 640 of them (the per-address connection cap) and took
    # a validator from 113 to 316 MB.
    async with large_body(request, VERIFY_BYTES, VERIFY_BODY_MAX, "documents") as arriving:
        return await _verify_document_route(request, (arriving, rated))


async def _verify_document_route(request: web.Request,
                                 charges: tuple[ArrivalCharge, ...]) -> web.Response:
    core: NodeCore = request.app[CORE]
    body = await read_body(request, VERIFY_BODY_MAX, charges)
    try:
        verdict = await request.app[VERIFY_WORK].run(_verify_document, core, body)
    except PublicWorkBusy as exc:
        # A document altered after issue is told so at once (node.checked_while_busy);
        # one that needs the chain is busy, as before.
        verdict_source = (f"node {core.keys.member_id.hex()[:12]}, busy: the document's "
                          "own checks only, no chain fact asked")
        found = verdict_while_busy(request.app[ALONE_BUDGET], request.remote or "unknown",
                                   body, verdict_source)
        if found == "passed":
            raise busy_refusal(request, exc) from exc
        if found == "unchecked":
            raise busy_refusal(request, exc, reason="busy_unchecked") from exc
        verdict = found.to_json()
    return web.json_response(verdict)


def _verify_document(core: NodeCore, body: bytes) -> dict[str, Any]:
    document = parse_json(body)
    with CommittedView(core.chain) as view:
        described = (f"node {core.keys.member_id.hex()[:12]} at height {view.height}"
                     + _cut_off(view, core.keys.member_id))
        facts = ViewFacts(view, described, core.chain)
        return verify_credential(document, facts, core.chain_id).to_json()


def _cut_off(view: CommittedView, member_id: bytes) -> str:
    """What a verifier must know of a node whose own member governance retired: its peers
    drop it from the block before, so its chain stops there, and a revocation after it
    never reaches it, though its verdicts still read 'as of' its last block."""
    member, height = load_member(view.state, member_id), view.height
    if member is None or member.retired_height is None or member.retired_height > height + 1:
        return ""
    return (f" (this node's member, {member.name}, left the consortium at block "
            f"{member.retired_height}: its chain stops there and later revocations do not "
            "reach it; verify against another member's node)")


async def verify_anchor_hash(request: web.Request) -> web.Response:
    rated = await within_byte_rate(request, ANCHOR_BODY_MAX)
    # The byte rate is charged as a declared body starts, so a client sending slowly held each
    # second's worth until the body timeout: ten addresses, each starting two 1 MiB
    # bodies a second and holding their last byte, took a validator from 84 to 350 MB.
    async with large_body(request, ANCHOR_BYTES, ANCHOR_BODY_MAX,
                          "anchored documents") as arriving:
        return await _verify_anchor_hash(request, (arriving, rated))


async def _verify_anchor_hash(request: web.Request,
                              charges: tuple[ArrivalCharge, ...]) -> web.Response:
    core: NodeCore = request.app[CORE]
    data = await read_body(request, ANCHOR_BODY_MAX, charges)
    if not data:
        raise MalformedInput("send the anchored document's bytes as the request body")
    return web.json_response(await public(request, _verify_anchor, core, data,
                                          pool=request.app[VERIFY_WORK]))


def _verify_anchor(core: NodeCore, data: bytes) -> dict[str, Any]:
    with CommittedView(core.chain) as view:
        return verify_anchor(data, ViewFacts(view, f"height {view.height}")).to_json()
