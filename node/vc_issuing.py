"""VC-API issuing anchored on chain, and the VC-API status update (revocation).

`POST /credentials/issue` anchors each credential as a one-credential batch
(`ledger.vc.anchored`): the node signs an `issue_batch` transaction with its
issuer key, waits for the commit (bounded), then returns the VC with a
`BitstringStatusListEntry` (index 0 of that batch's list) and its Senim
anchoring. One batch per request keeps the answer to one block's wait; batching
requests would save chain entries but not latency.

`POST /credentials/status` revokes on chain. The node remembers which batch holds
each credential it issued since it started (a bounded register, not persisted:
after a restart, `senim revoke` with the credential revokes it). Senim has no
un-revoke, so it offers no suspension, which is reversible by definition.
"""

from __future__ import annotations

import asyncio
import hmac
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web

from ledger.credentials import make_batch
from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, IssueBatchPayload, Payload, RevokePayload
from ledger.payloads_credentials import CREDENTIAL_TYPES, REASON_SUPERSEDED, REVOCATION_REASONS
from ledger.transactions import build_transaction
from ledger.vc.anchored import anchor_record, anchoring_section, with_senim_context
from ledger.vc.didkey import did_key
from ledger.vc.export import status_list_url, xsd_time
from ledger.vc.proofs import instant
from ledger.vc.status import STATUS_PURPOSE, status_entry
from node.service import NodeCore, TxStatus
from node.vc_common import (
    VC,
    core_of,
    in_vc_pool,
    options_of,
    read_body,
    status_base,
)
from node.vc_problems import FieldProblem, params_of, problem
from node.vc_work import sign_anchored, sign_checked

ISSUE_COMMIT_TIMEOUT_S = 10.0  # under the W3C suites' 15 s per test
MAX_ISSUES_IN_FLIGHT = 16
ISSUE_TX_EXPIRY_BLOCKS = 100
MAX_REMEMBERED_CREDENTIALS = 100_000
MAX_BATCHES_PER_CREDENTIAL_ID = 16
MAX_STATUS_UPDATES = 4
DEFAULT_CREDENTIAL_TYPE = "certificate"  # a VC-API credential that names no Senim type
DEFAULT_REVOCATION_REASON = "withdrawn_by_issuer"
STATUS_ENTRY_TYPES = ("BitstringStatusListEntry", "BitstringStatusListCredential")
SENIM_CREDENTIAL_URN = "urn:senim:credential:"
# Refusals for load: the caller may retry them shortly.
RETRY_CODES = ("busy", "mempool_full", "sender_limit")


class IssueRefused(Exception):
    """A VC-API refusal: HTTP status, error code, message, and the specifics it names
    (a chain refusal's member, type or height; a limit)."""

    def __init__(self, status: int, code: str, message: str,
                 params: Mapping[str, str | int] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.params = dict(params or {})


@dataclass
class IssuingState:
    register: OrderedDict[str, list[CredentialRef]] = field(default_factory=OrderedDict)
    in_flight: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_ISSUES_IN_FLIGHT))

    def remember(self, credential_id: str, ref: CredentialRef) -> None:
        refs = self.register.pop(credential_id, [])
        self.register[credential_id] = [*refs, ref][-MAX_BATCHES_PER_CREDENTIAL_ID:]
        while len(self.register) > MAX_REMEMBERED_CREDENTIALS:
            self.register.popitem(last=False)

    def refs_of(self, credential_id: str) -> list[CredentialRef]:
        return list(self.register.get(credential_id, []))


ISSUING = web.AppKey("vc_issuing", IssuingState)


def credential_type_of(options: dict[str, Any]) -> str:
    """The Senim type to anchor as: options.credentialType (a Senim extension)."""
    wanted = options.get("credentialType", DEFAULT_CREDENTIAL_TYPE)
    if wanted not in CREDENTIAL_TYPES:
        raise FieldProblem("options.credentialType must be one of "
                           + ", ".join(CREDENTIAL_TYPES), field="options.credentialType")
    status = options.get("credentialStatus")
    if status is not None and (not isinstance(status, dict)
                               or status.get("type") != "BitstringStatusListEntry"):
        raise FieldProblem("options.credentialStatus: only BitstringStatusListEntry is "
                           "offered (every credential gets one)",
                           field="options.credentialStatus")
    return str(wanted)


async def _commit(core: NodeCore, issuer: KeyPair, payload: Payload) -> TxStatus:
    """Sign, submit and wait (bounded) for `payload`; a refusal is an IssueRefused."""
    tx = build_transaction(issuer, core.chain_id, payload,
                           core.chain.height + ISSUE_TX_EXPIRY_BLOCKS)
    [(_, refusal)] = await core.submit([tx.encoded])
    if refusal is not None:
        status = 429 if refusal.code in RETRY_CODES else (
            409 if refusal.code == "already_revoked" else 403)
        raise IssueRefused(status, refusal.code, f"the chain refuses it: {refusal.message}",
                           refusal.params)
    outcome = await core.wait_for(tx.tx_id, ISSUE_COMMIT_TIMEOUT_S)
    if outcome.status == "committed":
        return outcome
    if outcome.status == "rejected":  # refused in a block, as at submit: the same status
        raise IssueRefused(409 if outcome.code == "already_revoked" else 403,
                           outcome.code or "rejected",
                           f"the chain refused it: {outcome.reason}", outcome.params)
    raise IssueRefused(503, "not_committed", f"transaction {tx.tx_id.hex()} was not committed "
                       f"within {ISSUE_COMMIT_TIMEOUT_S:g} s; it may still be",
                       {"limit": int(ISSUE_COMMIT_TIMEOUT_S)})


async def issue_anchored(core: NodeCore, issuer: KeyPair, state: IssuingState,
                         credential: dict[str, Any], credential_type: str, status_base: str,
                         sign: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
                         check: Callable[[dict[str, Any]], Awaitable[object]]
                         ) -> dict[str, Any]:
    """Anchor `credential` (issuer already set) as a one-credential batch, then sign it
    with its status entry and anchoring. Only the batch root goes on chain. `check`
    raises InvalidDocument for a document the node could not sign: the one it will sign
    is checked before anything goes on chain."""
    base = with_senim_context(credential)
    batch = make_batch([anchor_record(base)], credential_type, core.chain_id,
                       issuer.member_id, "")
    document = next(batch.documents())
    list_url = status_list_url(status_base, issuer.member_id, batch.root)
    ours = status_entry(list_url, 0)
    given = base.get("credentialStatus")
    entries = [] if given is None else given if isinstance(given, list) else [given]

    def final(height: int) -> dict[str, Any]:
        return {**base, "credentialStatus": [*entries, ours] if entries else ours,
                "senim": anchoring_section(document, height)}

    # What the node adds (its context, its status entry, the senim section) can make a
    # credential that passed alone fail to sign: it was anchored, then refused 400. The
    # height stood in is the latest the transaction can commit at, as long as any.
    await check(final(core.chain.height + ISSUE_TX_EXPIRY_BLOCKS))
    committed = await _commit(core, issuer, IssueBatchPayload(credential_type, batch.root, 1))
    ref = CredentialRef(batch.root, batch.target_hashes[0], 0, ())
    state.remember(SENIM_CREDENTIAL_URN + batch.target_hashes[0].hex(), ref)
    if isinstance(base.get("id"), str):
        state.remember(base["id"], ref)
    return await sign(final(committed.height or 0))


def parse_status_update(body: dict[str, Any]) -> tuple[str, str]:
    """(credential id, revocation reason) of a VC-API status update, or InvalidDocument;
    a status other than revoked is an IssueRefused."""
    credential_id, updates = body.get("credentialId"), body.get("credentialStatus")
    if not isinstance(credential_id, str) or not credential_id:
        raise FieldProblem("credentialId must be a non-empty string", field="credentialId")
    if not isinstance(updates, list) or not 1 <= len(updates) <= MAX_STATUS_UPDATES:
        raise FieldProblem(f"credentialStatus must be a list of 1 to {MAX_STATUS_UPDATES} "
                           "updates", field="credentialStatus", limit=MAX_STATUS_UPDATES)
    for update in updates:
        if not isinstance(update, dict) or update.get("type") not in STATUS_ENTRY_TYPES:
            raise FieldProblem("each credentialStatus update needs type "
                               "BitstringStatusListEntry", field="credentialStatus.type")
        # A suspension's update revoked for good: Senim has no suspension to undo.
        if update.get("status") != "revoked" or update.get(
                "statusPurpose", STATUS_PURPOSE) != STATUS_PURPOSE:
            raise IssueRefused(400, "unsupported_status", "only status \"revoked\" is "
                               "offered: Senim cannot undo a revocation, so it has no "
                               "suspension", {"field": "credentialStatus.status"})
    reason = body.get("reason", DEFAULT_REVOCATION_REASON)
    if not isinstance(reason, str) or reason not in REVOCATION_REASONS or (
            reason == REASON_SUPERSEDED):
        raise FieldProblem("reason must be one of " + ", ".join(
            r for r in REVOCATION_REASONS if r != REASON_SUPERSEDED), field="reason")
    return credential_id, str(reason)


async def revoke_issued(core: NodeCore, issuer: KeyPair, state: IssuingState,
                        credential_id: str, reason: str) -> list[dict[str, Any]]:
    """Revoke on chain every batch this node issued under `credential_id`."""
    refs = state.refs_of(credential_id)
    if not refs:
        raise IssueRefused(404, "unknown_credential", "this node issued no credential with "
                           "this id since it started (revoke with `senim revoke` instead)")
    done: list[dict[str, Any]] = []
    for ref in refs:
        try:
            committed = await _commit(core, issuer, RevokePayload(ref, reason))
        except IssueRefused as refused:
            if refused.code != "already_revoked" or (ref is refs[-1] and not done):
                raise
            continue
        done.append({"batch_root": ref.batch_root.hex(), "height": committed.height})
    return done


# ---- the routes ----------------------------------------------------------------------
def _authorized(request: web.Request) -> web.Response | None:
    """None for a caller with the node's issuing token, else the refusal."""
    settings = request.app[VC]
    if settings.issuer is None:
        return problem(403, "issuing_disabled", "this node is not configured to issue")
    supplied = request.headers.get("Authorization", "").strip()
    if supplied[:7].lower() == "bearer ":  # a scheme is case-insensitive (RFC 9110)
        supplied = supplied[7:].strip()
    # aiohttp keeps a header's bytes that are not UTF-8 as lone surrogates: encoded
    # strictly, such a header was a 500 with a traceback for anyone who sent one.
    if not hmac.compare_digest(supplied.encode("utf-8", "surrogateescape"), settings.token):
        return problem(401, "unauthorized", "a valid issuing token is required")
    return None


async def issue_credential_route(request: web.Request) -> web.Response:
    settings, issuing = request.app[VC], request.app[ISSUING]
    refused = _authorized(request)
    if refused is not None or settings.issuer is None:
        return refused or problem(403, "issuing_disabled", "this node does not issue")
    try:
        body = await read_body(request)
        credential_type = credential_type_of(options_of(body))
    except InvalidDocument as exc:
        return problem(400, "malformed", str(exc), params_of(exc))
    credential = body.get("credential")
    our_did = did_key(settings.issuer.public_key)
    if not isinstance(credential, dict):
        return problem(400, "malformed", "credential must be a JSON object",
                       {"field": "credential"})
    issuer = credential.get("issuer", our_did)
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id != our_did:
        return problem(400, "wrong_issuer", f"this node issues only as {our_did}",
                       {"field": "credential.issuer"})
    if "proof" in credential or "senim" in credential:
        return problem(400, "malformed", "the credential already has a proof or anchoring",
                       {"field": "credential.proof" if "proof" in credential
                        else "credential.senim"})
    valid_from, valid_until = (instant(credential.get("validFrom")),
                               instant(credential.get("validUntil")))
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        # It could never verify; anchored, it verified "expired" from the first day.
        return problem(400, "malformed", "validUntil must be after validFrom",
                       {"field": "credential.validUntil"})
    unsigned = {**credential, "issuer": issuer}
    now = xsd_time(int(datetime.now(tz=UTC).timestamp() * 1000))
    if issuing.in_flight.locked():
        return problem(429, "busy", f"{MAX_ISSUES_IN_FLIGHT} credentials are being anchored; "
                       "retry shortly", {"limit": MAX_ISSUES_IN_FLIGHT})
    async with issuing.in_flight:
        try:
            # Checked before anything goes on chain, as the node will sign it: a malformed
            # credential anchors nothing.
            signed = await issue_anchored(
                core_of(request), settings.issuer, issuing, unsigned, credential_type,
                status_base(request),
                partial(in_vc_pool, request, sign_anchored, settings.issuer, now),
                lambda final: in_vc_pool(request, sign_checked, final, settings.issuer, now))
        except InvalidDocument as exc:
            return problem(400, "malformed", str(exc), params_of(exc))
        except IssueRefused as exc:
            return problem(exc.status, exc.code, exc.message, exc.params)
    return web.json_response({"verifiableCredential": signed}, status=201)


async def update_status_route(request: web.Request) -> web.Response:
    """VC-API status update: `revoked` revokes on chain (the list flips at that block)."""
    settings, issuing = request.app[VC], request.app[ISSUING]
    refused = _authorized(request)
    if refused is not None or settings.issuer is None:
        return refused or problem(403, "issuing_disabled", "this node does not issue")
    try:
        credential_id, reason = parse_status_update(await read_body(request))
        revoked = await revoke_issued(core_of(request), settings.issuer, issuing, credential_id,
                                      reason)
    except InvalidDocument as exc:
        return problem(400, "malformed", str(exc), params_of(exc))
    except IssueRefused as exc:
        return problem(exc.status, exc.code, exc.message, exc.params)
    return web.json_response({"credentialId": credential_id, "revoked": revoked})
