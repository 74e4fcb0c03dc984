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
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.credentials import make_batch
from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.payloads import (
    CREDENTIAL_TYPES,
    REVOCATION_REASONS,
    CredentialRef,
    IssueBatchPayload,
    Payload,
    RevokePayload,
)
from ledger.transactions import build_transaction
from ledger.vc.anchored import anchor_record, anchoring_section, with_senim_context
from ledger.vc.export import status_list_url
from ledger.vc.status import status_entry
from node.service import NodeCore, TxStatus

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
    """A VC-API refusal: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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


def credential_type_of(options: dict[str, Any]) -> str:
    """The Senim type to anchor as: options.credentialType (a Senim extension)."""
    wanted = options.get("credentialType", DEFAULT_CREDENTIAL_TYPE)
    if wanted not in CREDENTIAL_TYPES:
        raise InvalidDocument("options.credentialType must be one of "
                              + ", ".join(CREDENTIAL_TYPES))
    status = options.get("credentialStatus")
    if status is not None and (not isinstance(status, dict)
                               or status.get("type") != "BitstringStatusListEntry"):
        raise InvalidDocument("options.credentialStatus: only BitstringStatusListEntry is "
                              "offered (every credential gets one)")
    return str(wanted)


async def _commit(core: NodeCore, issuer: KeyPair, payload: Payload) -> TxStatus:
    """Sign, submit and wait (bounded) for `payload`; a refusal is an IssueRefused."""
    tx = build_transaction(issuer, core.chain_id, payload,
                           core.chain.height + ISSUE_TX_EXPIRY_BLOCKS)
    [(_, refusal)] = await core.submit([tx.encode()])
    if refusal is not None:
        status = 429 if refusal.code in RETRY_CODES else (
            409 if refusal.code == "already_revoked" else 403)
        raise IssueRefused(status, refusal.code, f"the chain refuses it: {refusal.message}")
    outcome = await core.wait_for(tx.tx_id, ISSUE_COMMIT_TIMEOUT_S)
    if outcome.status == "committed":
        return outcome
    if outcome.status == "rejected":
        raise IssueRefused(403, outcome.code or "rejected",
                           f"the chain refused it: {outcome.reason}")
    raise IssueRefused(503, "not_committed", f"transaction {tx.tx_id.hex()} was not committed "
                       f"within {ISSUE_COMMIT_TIMEOUT_S:g} s; it may still be")


async def issue_anchored(core: NodeCore, issuer: KeyPair, state: IssuingState,
                         credential: dict[str, Any], credential_type: str, status_base: str,
                         sign: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
                         ) -> dict[str, Any]:
    """Anchor `credential` (issuer already set) as a one-credential batch, then sign it
    with its status entry and anchoring. Only the batch root goes on chain."""
    base = with_senim_context(credential)
    batch = make_batch([anchor_record(base)], credential_type, core.chain_id,
                       issuer.member_id, "")
    committed = await _commit(core, issuer, IssueBatchPayload(credential_type, batch.root, 1))
    document = next(batch.documents())
    list_url = status_list_url(status_base, issuer.member_id, batch.root)
    ours = status_entry(list_url, 0)
    given = base.get("credentialStatus")
    entries = [] if given is None else given if isinstance(given, list) else [given]
    final = {**base, "credentialStatus": [*entries, ours] if entries else ours,
             "senim": anchoring_section(document, committed.height or 0)}
    ref = CredentialRef(batch.root, batch.target_hashes[0], 0, ())
    state.remember(SENIM_CREDENTIAL_URN + batch.target_hashes[0].hex(), ref)
    if isinstance(base.get("id"), str):
        state.remember(base["id"], ref)
    return await sign(final)


def parse_status_update(body: dict[str, Any]) -> tuple[str, str]:
    """(credential id, revocation reason) of a VC-API status update, or InvalidDocument;
    a status other than revoked is an IssueRefused."""
    credential_id, updates = body.get("credentialId"), body.get("credentialStatus")
    if not isinstance(credential_id, str) or not credential_id:
        raise InvalidDocument("credentialId must be a non-empty string")
    if not isinstance(updates, list) or not 1 <= len(updates) <= MAX_STATUS_UPDATES:
        raise InvalidDocument(f"credentialStatus must be a list of 1 to {MAX_STATUS_UPDATES} "
                              "updates")
    for update in updates:
        if not isinstance(update, dict) or update.get("type") not in STATUS_ENTRY_TYPES:
            raise InvalidDocument("each credentialStatus update needs type "
                                  "BitstringStatusListEntry")
        if update.get("status") != "revoked":
            raise IssueRefused(400, "unsupported_status", "only status \"revoked\" is "
                               "offered: Senim cannot undo a revocation, so it has no "
                               "suspension")
    reason = body.get("reason", DEFAULT_REVOCATION_REASON)
    if reason not in REVOCATION_REASONS or reason == "superseded":
        raise InvalidDocument("reason must be one of " + ", ".join(
            r for r in REVOCATION_REASONS if r != "superseded"))
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
