"""Read-only routes over the committed chain: blocks, state entries with Merkle proofs,
batches, revocations, members, governance and evidence."""

from __future__ import annotations

import json
from typing import Any
from weakref import WeakValueDictionary

from aiohttp import web

from ledger.blocks import Block
from ledger.distrust import stolen_admission, stolen_key_in_state
from ledger.errors import MalformedInput
from ledger.facts import LocalFacts
from ledger.key_events import validator_member
from ledger.light_client import MAX_SET_CHANGE_PROOFS
from ledger.offline import make_bundle
from ledger.records import Member, grant_time
from ledger.rules import all_members, load_accreditation, load_batch, load_member, load_revocation
from ledger.validator_sets import validator_set_at
from ledger.verification import when
from node.answer_pieces import send_in_pieces
from node.api_public import (
    CORE,
    MAX_PROOF_KEYS,
    MAX_STATE_KEY_BYTES,
    PROOFS_BODY_MAX,
    VERIFY_WORK,
    hex_param,
    public,
    read_json,
    within_rate,
)
from node.evidence import EVIDENCE_PAGE_MAX, chain_evidence_page, evidence_page
from node.governance_answers import GovernanceAnswer, governance_answer
from node.http_limits import json_error as error
from node.key_changes import key_change
from node.public_work import CommittedView
from node.service import NodeCore
from storage.errors import StorageError
from storage.state_tree import StateTree, state_proof_to_json


def block_json(block: Block, certificate: bytes) -> dict[str, Any]:
    header = block.header
    return {
        "height": header.height, "hash": header.block_hash.hex(),
        "previous_hash": header.previous_hash.hex(), "time_ms": header.time_ms,
        "time": when(header.time_ms), "proposer": header.proposer.hex(), "view": header.view,
        "txs_root": header.txs_root.hex(), "state_root": header.state_root.hex(),
        "validator_set_hash": header.validator_set_hash.hex(), "chain_id": header.chain_id,
        "transactions": [{"tx_id": tx.tx_id.hex(), "kind": tx.kind, "sender": tx.sender.hex()}
                         for tx in block.transactions],
        "certificate": certificate.hex(),
    }


class EncodedBlock:
    """A block's answer as sent (its JSON or its bytes), shared by every connection
    sending it while any still is (`BlockAnswers`)."""

    __slots__ = ("__weakref__", "body")

    def __init__(self, body: bytes) -> None:
        self.body = body


class BlockAnswers:
    """The block answers connections are sending, by height and form: a block of 20,000
    transactions is about 4 MB of JSON, and every connection asking for it while it is
    being sent (to a client that reads nothing, for as long as the client keeps its
    connection) shares the one copy instead of making its own. Held by the senders only:
    an answer no connection is sending is gone, so this costs nothing of its own and
    needs no limit. A committed block at a height never changes."""

    def __init__(self) -> None:
        self._sending: WeakValueDictionary[tuple[int, bool], EncodedBlock] = (
            WeakValueDictionary())

    def get(self, height: int, raw: bool) -> EncodedBlock | None:
        return self._sending.get((height, raw))

    def keep(self, height: int, raw: bool, body: bytes) -> EncodedBlock:
        """The answer to send: one that another connection began sending meanwhile
        (asked for at the same time, both were worked out), else `body`."""
        sending = self._sending.get((height, raw))
        if sending is None:
            sending = self._sending[(height, raw)] = EncodedBlock(body)
        return sending

    def __len__(self) -> int:
        return len(self._sending)


BLOCK_ANSWERS = web.AppKey("block_answers", BlockAnswers)


async def get_block(request: web.Request) -> web.StreamResponse:
    core: NodeCore = request.app[CORE]
    try:
        height = int(request.match_info["height"])
    except ValueError as exc:
        raise MalformedInput("height must be an integer") from exc
    if not 0 <= height < 2**63:
        raise MalformedInput("height must be a non-negative integer")
    raw = request.query.get("format") == "raw"
    await within_rate(request, "verify")
    answers = request.app[BLOCK_ANSWERS]
    encoded = answers.get(height, raw)
    if encoded is None:
        # Read, decoded and written out in the API's verification pool (paced, bounded,
        # 503 busy when full; the chain's reads are made for other threads, as sync
        # serving does): a block of 5,000 transactions took 50 to 90 ms of the event loop,
        # a full one far more, and two addresses asking for one over and over on two
        # validators took anchors' commits from 29 to 347 ms (median).
        answer = await public(request, _block_answer, core, height, raw,
                              pool=request.app[VERIFY_WORK])
        if answer is None and height < core.chain.base_height:
            return error(404, "block_not_held", f"block {height} is not held here: this "
                         f"node joined by state sync at block {core.chain.base_height}; ask "
                         "another node", params={"height": height,
                                                 "base_height": core.chain.base_height})
        if answer is None:
            return error(404, "no_such_block", f"no block at height {height} "
                         f"(head is {core.chain.height})",
                         params={"height": height, "head": core.chain.height})
        encoded = answers.keep(height, raw, answer)
    # In pieces, and `encoded` held until the last is written: see BlockAnswers.
    return await send_in_pieces(request, (encoded.body,), "application/octet-stream" if raw
                                else "application/json; charset=utf-8")


def _block_answer(core: NodeCore, height: int, raw: bool) -> bytes | None:
    """The block's bytes (raw) or its JSON, or None when this node holds no such block."""
    if raw:
        return core.chain.get_block_bytes(height)
    found = core.block_for_api(height)
    if found is None:
        return None
    return json.dumps(block_json(*found)).encode()


async def get_state(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    try:
        key = bytes.fromhex(request.match_info["key"])
    except ValueError as exc:
        raise MalformedInput("state key must be hex") from exc
    if not 0 < len(key) <= MAX_STATE_KEY_BYTES:
        raise MalformedInput(f"state key must be 1 to {MAX_STATE_KEY_BYTES} bytes")
    await within_rate(request, "verify")
    value, proof, header = await core.in_worker(_read_with_proof, core, key)
    return web.json_response({
        "chain_id": core.chain_id, "key": key.hex(),
        "value": None if value is None else value.hex(), "proof": state_proof_to_json(proof),
        "height": header.height, "block_hash": header.block_hash.hex(),
        "state_root": header.state_root.hex(),
    })


def _read_with_proof(core: NodeCore, key: bytes) -> tuple[Any, Any, Any]:
    return core.chain.state.get(key), core.chain.state.prove(key), core.chain.head_header


async def state_proofs(request: web.Request) -> web.Response:
    """Several state entries with proofs, all against one certified block (offline proofs)."""
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    body = await read_json(request, PROOFS_BODY_MAX)
    try:
        keys = [bytes.fromhex(k) for k in body["keys"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedInput('body must be {"keys": [hex, ...]}') from exc
    if not 0 < len(keys) <= MAX_PROOF_KEYS or not all(0 < len(k) <= MAX_STATE_KEY_BYTES
                                                        for k in keys):
        raise MalformedInput(f"ask for 1 to {MAX_PROOF_KEYS} keys of 1 to "
                             f"{MAX_STATE_KEY_BYTES} bytes")
    return web.json_response(await core.in_worker(_snapshot_proofs, core, keys))


def _snapshot_proofs(core: NodeCore, keys: list[bytes]) -> dict[str, Any]:
    header = core.chain.head_header
    certificate = core.chain.get_certificate(header.height) or b""
    changes = core.chain.set_change_proofs(0, MAX_SET_CHANGE_PROOFS)
    return make_bundle(core.chain.state, header, certificate, keys, changes)


async def get_batch(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    issuer_id = hex_param(request, "issuer", 20)
    root = hex_param(request, "root", 32)
    batch = load_batch(core.chain.state, issuer_id, root)
    if batch is None:
        return error(404, "no_such_batch", "this issuer has no batch with this root on chain")
    issuer = load_member(core.chain.state, batch.issuer)
    return web.json_response({
        "root": root.hex(), "issuer": batch.issuer.hex(), "issuer_name": issuer.name if issuer
        else None, "type": batch.credential_type, "count": batch.count,
        "height": batch.height, "time": when(batch.time_ms), "tx_id": batch.tx_id.hex()})


async def get_credential(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    issuer_id = hex_param(request, "issuer", 20)
    root = hex_param(request, "root", 32)
    target = hex_param(request, "target", 32)
    revocation = load_revocation(core.chain.state, issuer_id, root, target)
    if revocation is None:
        return web.json_response({"target_hash": target.hex(), "batch_root": root.hex(),
                                  "revoked": False, "height": core.chain.height})
    # Made with a key distrusted at its height: the thief's, or the issuer's own before it
    # reported the theft from earlier; the verdict calls it neither revoked nor valid.
    try:
        stolen = (None if revocation.by_consortium else stolen_key_in_state(
            core.chain.state, revocation.revoked_by, revocation.height))
    except MalformedInput as exc:  # state the chain's roots vouched for: this store's damage
        raise StorageError(f"the revoker's key history cannot be read: {exc}") from exc
    return web.json_response({
        "target_hash": target.hex(), "revoked": True, "reason": revocation.reason,
        "revocation_doubted": stolen is not None,
        "key_distrusted_from": None if stolen is None else stolen.compromised_from,
        "revoked_at_height": revocation.height, "revoked_at": when(revocation.time_ms),
        "batch_root": revocation.batch_root.hex(), "height": core.chain.height,
        # The issuer's own, or the consortium's by a governance proposal (the issuer retired)
        "revoked_by": "consortium" if revocation.by_consortium else "issuer",
        "proposal_id": None if revocation.proposal_id is None else revocation.proposal_id.hex(),
        "revoked_by_member": revocation.revoked_by.hex()})


def _admission(state: StateTree, record: Member) -> dict[str, str | int | None]:
    """Which ministry admitted the member by its own add_member (rules version 9), the
    height its key is distrusted from if that key was distrusted at the admission (what
    the member records then verifies as `admission_compromised`), and the height at which
    the consortium confirmed such an admission (rules version 10), which ends the doubt."""
    try:
        stolen = stolen_admission(LocalFacts(state, "this node"), record)
    except MalformedInput as exc:  # state the chain's roots vouched for: this store's damage
        raise StorageError(f"the admitting ministry's keys cannot be read: {exc}") from exc
    return {"added_by": None if record.added_by is None else record.added_by.hex(),
            "admission_doubted_from": None if stolen is None else stolen[1].compromised_from,
            "admission_confirmed_height": record.admission_confirmed}


def _grant_distrusted_from(state: StateTree, ministry: bytes, height: int) -> int | None:
    """The height from which the key a ministry accredited with is distrusted, when it was
    distrusted at the grant (`ledger.distrust.trusted_grant`: nothing issued under such a
    grant alone is relied on), else None."""
    try:
        stolen = stolen_key_in_state(state, ministry, height)
    except MalformedInput as exc:  # state the chain's roots vouched for: this store's damage
        raise StorageError(f"the accrediting ministry's keys cannot be read: {exc}") from exc
    return None if stolen is None else stolen.compromised_from


async def list_members(request: web.Request) -> web.Response:
    """Every member on chain: genesis members in genesis order, then those added since.
    Rated as the other reads of the chain: unrated, one address was answered 980 times a
    second, each worked out on the event loop that reads the consensus frames."""
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    state = core.chain.state
    validating = {validator_member(state, key)
                  for key in validator_set_at(state, core.chain.height + 1).public_keys}
    genesis_order = {m.member_id: i for i, m in enumerate(core.genesis.members)}
    on_chain = sorted(all_members(state), key=lambda item: (
        genesis_order.get(item[0], len(genesis_order)), item[1].added_height, item[0]))
    members = []
    for member_id, record in on_chain:
        accreditation = load_accreditation(state, member_id)
        members.append({
            "member_id": member_id.hex(), "name": record.name, "role": record.role,
            "validator": member_id in validating,
            "public_key": record.public_key.hex(), "on_chain": True,
            # rotated by the member or replaced by the ministries (`senim status`, `members`)
            "key_change": key_change(state, member_id, record.public_key),
            "added_height": record.added_height, "retired_height": record.retired_height,
            **_admission(state, record),
            "accreditations": [
                {"types": list(g.types), "from": grant_time(g.not_before_ms),
                 "until": grant_time(g.not_after_ms), "granted_by": g.granted_by.hex(),
                 "granted_height": g.granted_height, "suspended_height": g.suspended_height,
                 "suspend_reason": g.suspend_reason,
                 "key_distrusted_from": _grant_distrusted_from(state, g.granted_by,
                                                               g.granted_height)}
                for g in accreditation.grants]})
    return web.json_response({"height": core.chain.height, "members": members})


async def governance(request: web.Request) -> web.StreamResponse:
    # In the API's verification pool, over one committed view: with 32 open proposals
    # revoking 256 credentials each, working the answer out and encoding it takes about a
    # tenth of a second, which the event loop (and the consensus frames it reads) must not
    # wait for. It is kept, encoded, while what it shows holds (node.governance_answers),
    # and written in pieces, its bytes shared by every connection sending them. Rated as
    # the other reads the verification pool runs: unrated, one address asking over 48
    # connections (3,000 answers a second) took the pool's job slots from others, whose
    # POST /v1/verify was answered 503 busy (10 of 117) and 6 times slower.
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    answer = await public(request, _governance_answer, core, pool=request.app[VERIFY_WORK])
    return await send_in_pieces(request, answer.parts)


def _governance_answer(core: NodeCore) -> GovernanceAnswer:
    # A view taken before the block whose answer another request kept meanwhile is
    # renewed rather than worked out for (node.governance_answers): the client is answered
    # as of that newer head, which the answer's height says.
    with CommittedView(core.chain) as view:
        try:
            return governance_answer(view.state, view.state.root, view.height,
                                     lambda: CommittedView(core.chain))
        except MalformedInput as exc:  # state the chain's roots vouched for: store damage
            raise StorageError(f"the governance state cannot be read: {exc}") from exc


async def evidence(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    try:
        limit = int(request.query.get("limit", str(EVIDENCE_PAGE_MAX)))
        before = int(request.query["before"]) if "before" in request.query else None
    except ValueError as exc:
        raise MalformedInput("limit and before must be integers") from exc
    if limit < 1 or (before is not None and before < 0):
        raise MalformedInput("limit must be positive and before not negative")
    # up to EVIDENCE_MAX reads of the store: off the event loop, as any public work
    return web.json_response(await public(request, evidence_page, core.chain.kv, limit,
                                          before))


async def chain_evidence(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    try:
        limit = int(request.query.get("limit", str(EVIDENCE_PAGE_MAX)))
        after = bytes.fromhex(request.query["after"]) if "after" in request.query else None
    except ValueError as exc:
        raise MalformedInput("limit must be an integer and after a cursor in hex") from exc
    if limit < 1:
        raise MalformedInput("limit must be positive")
    return web.json_response(chain_evidence_page(core.chain.state, limit, after))
