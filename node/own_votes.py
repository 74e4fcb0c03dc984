"""A validator's own commit votes, to notice its key signing in another process.

Two processes started with one validator key each sign their own commit vote for a
block, each stamped with its own clock reading (`time_ms`, part of what is signed),
so their signatures differ. The next block's last commit carries the votes its
proposer collected: when it carries this validator's vote for a block this node
committed, stamped with a reading this node did not sign, another process holds the
key, and a validator run twice can sign two different votes and be reported for
equivocation. The peers see the same thing as connections for one key replacing each
other (`p2p.policy.KeyConflicts`); this is how the node that runs twice learns it.

A restarted replica signs its commit vote afresh (the reading is not part of the
safety state), so the votes of the height it restarted in are not compared.
"""

from __future__ import annotations

from consensus import CommitCertificate, ValidatorId

OWN_VOTES_KEPT = 8  # the blocks this node committed last, by consensus


class OwnVotes:
    def __init__(self, me: ValidatorId, started_at_height: int) -> None:
        self._me = me
        self._first_compared = started_at_height + 2
        self._times: dict[tuple[int, int, bytes], int] = {}  # (height, view, digest) -> ms

    def committed(self, certificate: CommitCertificate) -> None:
        """Consensus committed a block with `certificate`, our own vote in it."""
        if certificate.height < self._first_compared:
            return
        for vote in certificate.signatures:
            if vote.validator == self._me:
                if len(self._times) >= OWN_VOTES_KEPT:
                    del self._times[next(iter(self._times))]
                self._times[(certificate.height, certificate.view,
                             bytes(certificate.digest))] = vote.time_ms

    def signed_elsewhere(self, certificate: CommitCertificate) -> str | None:
        """What to tell the operator when `certificate` carries a vote of ours for a
        block we committed that this node did not sign; said once per block."""
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
