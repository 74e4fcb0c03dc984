"""A validator's own commit votes, to notice its key signing in another process.

Two processes started with one validator key each sign their own commit vote for a
block, each stamped with its own clock reading (`time_ms`, part of what is signed),
so their signatures differ. A block's certificate, and the next block's last commit,
carry the votes a peer collected: when one carries this validator's vote for a block
this node voted on, stamped with a reading this node did not sign, another process
holds the key, and a validator run twice can sign two different votes and be
reported for equivocation. The peers see the same thing as connections for one key
replacing each other (`p2p.policy.KeyConflicts`); this is how the node that runs
twice learns it.

A restarted replica signs its commit vote afresh (the reading is not part of the
safety state), so the votes of the height it restarted in are not compared.
"""

from __future__ import annotations

import logging

from consensus import Commit, CommitCertificate, MalformedMessage, ValidatorId, decode_signed

OWN_VOTES_KEPT = 8  # the blocks this node voted on last
# A signed commit vote is about 150 bytes; what is larger (a proposal, a view change)
# is not decoded here.
COMMIT_VOTE_BYTES_MAX = 256

log = logging.getLogger("senim.engine")


class OwnVotes:
    def __init__(self, me: ValidatorId, started_at_height: int) -> None:
        self._me = me
        self._first_compared = started_at_height + 2
        self._times: dict[tuple[int, int, bytes], int] = {}  # (height, view, digest) -> ms

    def sent(self, broadcast: bytes) -> None:
        """This node's replica broadcast `broadcast`: remember it if it is a commit vote."""
        if len(broadcast) > COMMIT_VOTE_BYTES_MAX:
            return
        try:
            signed = decode_signed(broadcast)
        except MalformedMessage:
            return
        vote = signed.message
        if signed.sender != self._me or not isinstance(vote, Commit):
            return
        if vote.height < self._first_compared:
            return
        if len(self._times) >= OWN_VOTES_KEPT:
            del self._times[next(iter(self._times))]
        self._times[(vote.height, vote.view, bytes(vote.digest))] = vote.time_ms

    def signed_elsewhere(self, certificate: CommitCertificate) -> str | None:
        """What to tell the operator when `certificate` carries a vote of ours for a
        block this node voted on that it did not sign; said once per block."""
        key = (certificate.height, certificate.view, bytes(certificate.digest))
        ours = self._times.get(key)
        if ours is None:
            return None
        for vote in certificate.signatures:
            if vote.validator == self._me and vote.time_ms != ours:
                del self._times[key]
                return (f"the certificate of block {certificate.height} carries a commit vote "
                        f"signed with this node's key that this node did not sign (stamped "
                        f"{vote.time_ms}, ours {ours}): another node is running with this "
                        "validator's key. Stop one of them: a validator run twice can sign "
                        "two different votes and be reported for equivocation")
        return None

    def check(self, certificate: CommitCertificate) -> None:
        """Tell the operator (ERROR) if `certificate` carries a vote of ours signed
        elsewhere."""
        twin = self.signed_elsewhere(certificate)
        if twin is not None:
            log.error("%s", twin)
