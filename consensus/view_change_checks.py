"""Pure checks for view changes: prepared certificates, ViewChange and NewView proofs.

Each `check_*` returns None when the value is valid, or a reason string that
says what is wrong with it (the replica reports it as evidence).
"""

from collections.abc import Iterable

from consensus.membership import Membership
from consensus.messages import (
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    SignedMessage,
    ViewChange,
)
from consensus.types import Height, ValidatorId


def check_prepared(cert: PreparedCertificate, height: Height, members: Membership) -> str | None:
    proposal = cert.proposal
    if proposal.height != height:
        return "prepared certificate is for another height"
    if cert.pre_prepare.sender != members.primary(proposal.view, height):
        return "prepared certificate's pre-prepare is not from that view's primary"
    if not members.is_authentic(cert.pre_prepare):
        return "prepared certificate's pre-prepare has a bad signature"
    signers: set[ValidatorId] = {cert.pre_prepare.sender}
    for signed in cert.prepares:
        prepare = signed.message
        assert isinstance(prepare, Prepare)  # the decoder only admits prepares here
        matches = (prepare.view, prepare.height, prepare.digest) == (
            proposal.view, proposal.height, proposal.digest)
        if not matches or signed.sender in signers:
            return "prepared certificate holds a mismatched or repeated prepare"
        if not members.is_authentic(signed):
            return "prepared certificate holds a prepare with a bad signature"
        signers.add(signed.sender)
    if len(signers) < members.quorum:
        return "prepared certificate has fewer than a quorum of votes"
    return None


def check_view_change(signed: SignedMessage, height: Height, members: Membership) -> str | None:
    """Checks the content of an already-authenticated ViewChange."""
    change = signed.message
    assert isinstance(change, ViewChange)
    if change.height != height:
        return "view change is for another height"
    if change.new_view < 1:
        return "view change to view 0"
    if change.prepared is None:
        return None
    if change.prepared.proposal.view >= change.new_view:
        return "view change carries a prepared certificate from its own or a later view"
    return check_prepared(change.prepared, height, members)


def highest_prepared(changes: Iterable[ViewChange]) -> PreparedCertificate | None:
    """The prepared certificate from the highest view: the block a new view must keep."""
    best: PreparedCertificate | None = None
    for change in changes:
        cert = change.prepared
        if cert is None:
            continue
        key = (cert.proposal.view, cert.proposal.digest)
        if best is None or key > (best.proposal.view, best.proposal.digest):
            best = cert
    return best


def check_new_view(signed: SignedMessage, members: Membership) -> str | None:
    """Checks an authenticated NewView from the right primary: its proofs and its proposal."""
    new_view = signed.message
    assert isinstance(new_view, NewView)
    senders: set[ValidatorId] = set()
    for change in new_view.view_changes:
        body = change.message
        assert isinstance(body, ViewChange)
        if body.new_view != new_view.view or change.sender in senders:
            return "new view holds a view change for another view, or a repeated one"
        if not members.is_authentic(change):
            return "new view holds a view change with a bad signature"
        reason = check_view_change(change, new_view.height, members)
        if reason is not None:
            return f"new view holds an invalid view change: {reason}"
        senders.add(change.sender)
    if len(senders) < members.quorum:
        return "new view is justified by fewer than a quorum of view changes"
    forced = highest_prepared(c.message for c in new_view.view_changes
                              if isinstance(c.message, ViewChange))
    return _check_reproposal(signed.sender, new_view, forced, members)


def _check_reproposal(primary: ValidatorId, new_view: NewView,
                      forced: PreparedCertificate | None, members: Membership) -> str | None:
    proposal = new_view.pre_prepare
    if forced is None:
        return None if proposal is None else "new view re-proposes a block no proof requires"
    if proposal is None:
        return "new view omits the prepared block its proofs require"
    body = proposal.message
    assert isinstance(body, PrePrepare)
    expected = (new_view.view, new_view.height, forced.proposal.digest, forced.proposal.block)
    if proposal.sender != primary or (body.view, body.height, body.digest, body.block) != expected:
        return "new view re-proposes a different block than its proofs require"
    if not members.is_authentic(proposal):
        return "new view's re-proposal has a bad signature"
    return None
