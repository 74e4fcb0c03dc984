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

From rules version BULK_REVOCATION_FROM, `revoke_credentials` does the same for up to
MAX_REVOKED_PER_PROPOSAL credentials of one retired member in one proposal, for one
reason: each is checked as `revoke_credential` checks its one, and the whole proposal is
refused, naming the credential, if any one would be (a duplicate in the list included),
so that an approved proposal revoked all it names. Each is written under the same key,
as the same record, as one revoked alone.

From rules version CONSORTIUM_REVOKES_DOUBTED_FROM, a credential the issuer revoked with
a key distrusted at that height (`ledger.distrust`: verifiers hold it in doubt) may be
revoked by the consortium over that revocation: the retired issuer can sign nothing to
settle it, and nothing else writes over a doubted record.
"""

from __future__ import annotations

from ledger.distrust import stolen_key_in_state
from ledger.errors import TxRejected
from ledger.identity import MemberId
from ledger.payloads_consortium import RevokeCredentialAction, RevokeCredentialsAction
from ledger.payloads_credentials import CredentialRef
from ledger.records import (
    Batch,
    Member,
    Revocation,
    batch_key,
    member_key,
    revocation_key,
)
from ledger.rules_version import (
    BULK_REVOCATION_FROM,
    CONSORTIUM_REVOCATION_FROM,
    CONSORTIUM_REVOKES_DOUBTED_FROM,
)
from ledger.validator_sets import StateReader, StateWriter
from storage.batch_tree import verify_inclusion

ConsortiumRevocation = RevokeCredentialAction | RevokeCredentialsAction


def require_revocation_rules(action: ConsortiumRevocation, rules_version: int) -> None:
    """Refuse the action in a block under a rules version before it was accepted."""
    if isinstance(action, RevokeCredentialsAction):
        needed, what = BULK_REVOCATION_FROM, "revoking many credentials of a retired member"
    else:
        needed, what = CONSORTIUM_REVOCATION_FROM, "revoking a retired member's credential"
    if rules_version < needed:
        raise TxRejected("rules_version_too_low", f"{what} is accepted from rules version "
                         f"{needed}; this block is under version {rules_version} (propose "
                         "set-rules-version first)", version=needed, current=rules_version)


def check_consortium_revocation(state: StateReader, action: ConsortiumRevocation,
                                height: int, rules_version: int, *,
                                paths_checked: bool = False) -> None:
    """Whether the block `height` may revoke them: the issuer retired by then, and each
    credential in one of its batches, not revoked yet (from rules version 8, save by the
    issuer with a key doubted then: a retired issuer cannot record it again itself), and
    (in a list) named once. `paths_checked`: the action is a stored proposal's, each of
    whose audit paths was checked when it was proposed (see `why_cannot_apply`), so they
    are not checked again."""
    issuer = _retired_issuer(state, action.issuer, height)
    over_doubted = rules_version >= CONSORTIUM_REVOKES_DOUBTED_FROM
    if isinstance(action, RevokeCredentialAction):
        _check_credential(state, action.issuer, issuer, action.credential, {}, paths_checked,
                          over_doubted)
        return
    batches: dict[bytes, Batch] = {}
    seen: dict[bytes, int] = {}
    total = len(action.credentials)
    for number, ref in enumerate(action.credentials, 1):
        key = ref.batch_root + ref.target_hash
        try:
            if key in seen:
                raise TxRejected("duplicate_credential", f"it is credential {seen[key]} of "
                                 "the list too; name each credential once", other=seen[key])
            seen[key] = number
            _check_credential(state, action.issuer, issuer, ref, batches, paths_checked,
                              over_doubted)
        except TxRejected as exc:
            raise TxRejected(exc.code, f"credential {number} of {total} (hash "
                             f"{ref.target_hash.hex()[:16]}…, leaf {ref.index} of batch "
                             f"{ref.batch_root.hex()[:16]}…): {exc.message}; nothing in "
                             "the list is revoked", **exc.params, number=number,
                             total=total) from None


def _retired_issuer(state: StateReader, member: MemberId, height: int) -> Member:
    raw = state.get(member_key(member))
    if raw is None:
        raise TxRejected("unknown_member", f"{member.hex()} is not a member",
                         member_id=member.hex())
    issuer = Member.decode(raw)
    if issuer.retired_height is None:
        raise TxRejected("not_retired", f"{issuer.name} is not retired: it revokes its own "
                         "credentials (a ministry may suspend or retire it first)",
                         member=issuer.name)
    if issuer.retired_height > height:
        raise TxRejected("not_retired", f"{issuer.name} is retired only from height "
                         f"{issuer.retired_height}; until then it revokes its own credentials",
                         member=issuer.name, height=issuer.retired_height)
    return issuer


def _check_credential(state: StateReader, member: MemberId, issuer: Member,
                      ref: CredentialRef, batches: dict[bytes, Batch],
                      path_checked: bool, over_doubted: bool) -> None:
    """One credential: in a batch of the issuer and not revoked (or, `over_doubted`,
    revoked by the issuer with a key doubted then). `batches` keeps the batches read so
    far (a cohort's credentials share a few)."""
    batch = batches.get(ref.batch_root)
    if batch is None:
        stored = state.get(batch_key(member, ref.batch_root))
        if stored is None:
            raise TxRejected("unknown_batch", f"{issuer.name} issued no batch with the root "
                             f"{ref.batch_root.hex()[:16]}…", member=issuer.name,
                             batch=ref.batch_root.hex()[:16])
        batch = batches[ref.batch_root] = Batch.decode(stored)
    if not path_checked and not verify_inclusion(ref.target_hash, ref.index, batch.count,
                                                 ref.path, ref.batch_root):
        raise TxRejected("not_in_batch", "the credential is not in this batch (bad audit path)")
    existing = state.get(revocation_key(member, ref.batch_root, ref.target_hash))
    if existing is not None:
        revocation = Revocation.decode(existing)
        if over_doubted and revocation.proposal_id is None and stolen_key_in_state(
                state, revocation.revoked_by, revocation.height) is not None:
            return  # the issuer's, with a key doubted then: in doubt, which this settles
        by = (f"by the consortium (proposal {revocation.proposal_id.hex()[:16]}…)"
              if revocation.proposal_id is not None else f"by {issuer.name}")
        raise TxRejected("already_revoked", f"already revoked {by} at height "
                         f"{revocation.height}", height=revocation.height)


def revoked_credentials(action: ConsortiumRevocation) -> tuple[CredentialRef, ...]:
    """The credentials the action revokes: one, or its list."""
    if isinstance(action, RevokeCredentialAction):
        return (action.credential,)
    return action.credentials


def apply_consortium_revocation(state: StateWriter, action: ConsortiumRevocation,
                                proposal_id: bytes, proposer: MemberId, height: int,
                                time_ms: int) -> None:
    for ref in revoked_credentials(action):
        revocation = Revocation(ref.batch_root, action.reason, height, time_ms, proposer,
                                proposal_id=proposal_id)
        state.set(revocation_key(action.issuer, ref.batch_root, ref.target_hash),
                  revocation.encode())
