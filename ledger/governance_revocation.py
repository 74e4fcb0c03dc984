"""The consortium's revocation of a retired member's credential. Pure rules over the state.

A member retired by governance signs nothing from its retirement height, its own
revocations included, so a credential it issued fraudulently and found out later
could be revoked by no one. The action `revoke_credential` (a governance proposal,
voted like any other, accepted from rules version CONSORTIUM_REVOCATION_FROM) does it
for the consortium: it names the issuer, the credential (batch root, credential hash,
leaf index and audit path, as an issuer's own `revoke` does) and a reason code.

Only a retired member's credentials: a member still signing revokes its own, and the
consortium answers a failing one by suspending or retiring it. The revocation is
written when the vote that reaches the threshold is committed (its block's height and
time), not at the proposal's effective height: the effective height only closes the
voting, and a fraud found should not wait. It is written under the issuer's revocation
key like the issuer's own, so every verifier and proof that finds an issuer's
revocation finds it, naming the proposal (`Revocation.proposal_id`) and its proposer
(`revoked_by`); the VC status list, built from transactions, reads the approving vote
(`node.vc_common.RevocationIndex`).
"""

from __future__ import annotations

from ledger.errors import TxRejected
from ledger.identity import MemberId
from ledger.payloads_consortium import RevokeCredentialAction
from ledger.records import (
    Batch,
    Member,
    Revocation,
    batch_key,
    member_key,
    revocation_key,
)
from ledger.rules_version import CONSORTIUM_REVOCATION_FROM
from ledger.validator_sets import StateReader, StateWriter
from storage.batch_tree import verify_inclusion


def require_revocation_rules(rules_version: int) -> None:
    """Refuse the action in a block under a rules version before it was accepted."""
    if rules_version < CONSORTIUM_REVOCATION_FROM:
        raise TxRejected("rules_version_too_low", f"revoking a retired member's credential "
                         f"is accepted from rules version {CONSORTIUM_REVOCATION_FROM}; this "
                         f"block is under version {rules_version} (propose "
                         "set-rules-version first)")


def check_consortium_revocation(state: StateReader, action: RevokeCredentialAction,
                                height: int) -> None:
    """Whether the block `height` may revoke it: the issuer retired by then, the
    credential in one of its batches, and not revoked yet."""
    raw = state.get(member_key(action.issuer))
    if raw is None:
        raise TxRejected("unknown_member", f"{action.issuer.hex()} is not a member")
    issuer = Member.decode(raw)
    if issuer.retired_height is None:
        raise TxRejected("not_retired", f"{issuer.name} is not retired: it revokes its own "
                         "credentials (a ministry may suspend or retire it first)")
    if issuer.retired_height > height:
        raise TxRejected("not_retired", f"{issuer.name} is retired only from height "
                         f"{issuer.retired_height}; until then it revokes its own credentials")
    ref = action.credential
    stored = state.get(batch_key(action.issuer, ref.batch_root))
    if stored is None:
        raise TxRejected("unknown_batch", f"{issuer.name} issued no batch with the root "
                         f"{ref.batch_root.hex()[:16]}…")
    batch = Batch.decode(stored)
    if not verify_inclusion(ref.target_hash, ref.index, batch.count, ref.path, ref.batch_root):
        raise TxRejected("not_in_batch", "the credential is not in this batch (bad audit path)")
    existing = state.get(revocation_key(action.issuer, ref.batch_root, ref.target_hash))
    if existing is not None:
        revocation = Revocation.decode(existing)
        by = (f"by the consortium (proposal {revocation.proposal_id.hex()[:16]}…)"
              if revocation.proposal_id is not None else f"by {issuer.name}")
        raise TxRejected("already_revoked", f"already revoked {by} at height "
                         f"{revocation.height}")


def apply_consortium_revocation(state: StateWriter, action: RevokeCredentialAction,
                                proposal_id: bytes, proposer: MemberId, height: int,
                                time_ms: int) -> None:
    ref = action.credential
    revocation = Revocation(ref.batch_root, action.reason, height, time_ms, proposer,
                            proposal_id=proposal_id)
    state.set(revocation_key(action.issuer, ref.batch_root, ref.target_hash),
              revocation.encode())
