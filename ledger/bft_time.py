"""BFT time: a block's time comes from the validators' commit votes, not from its proposer.

Every commit vote carries its signer's clock, signed with the vote. Block h+1
carries the commit certificate of block h that its proposer collected (its
"last commit"), its header commits to that certificate, and its time must be
the median of the certificate's vote times, but at least one millisecond after
block h. Block 1 carries no last commit: its time is the genesis time + 1 ms.

Why the median is safe: a certificate holds at least 2f+1 votes, of which at
most f are Byzantine, so the (lower) median lies between the earliest and the
latest honest clock among the signers. A wild clock, or a primary choosing which
votes to include, cannot move the time outside what honest validators read.
The floor makes the time strictly increase with height.

Blocks are made only when there is work, so after an idle spell the last
commit is old, and so would be the next block's time (a university could then
issue under an accreditation that has since ended). Hence freshness: a primary
whose head is older than REFRESH_AFTER_MS by its clock proposes an empty block
first (its votes are cast now, so the block after it has a fresh time), and a
validator refuses a fresh proposal that holds transactions and whose time is
more than MAX_STALE_MS behind its own clock. An empty block is never refused for
its time (nothing is judged by it), nor is a re-proposal forced by a view
change (it may be old by then; refusing it could stall the chain).

The ledger cannot read certificates (they belong to consensus): the caller
gives `CommitTimes`, which checks one against the validators and returns the
vote times (`node.validators.ValidatorSet.commit_times`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger.blocks import Header
from ledger.errors import MalformedInput

REFRESH_AFTER_MS = 60_000
# Above REFRESH_AFTER_MS plus any honest clock skew, as the old clock window was.
MAX_STALE_MS = 5 * 60_000

# (certificate bytes, height, block hash) -> the certificate's vote times if a quorum
# of the validators in force at that height signed that block, None otherwise.
CommitTimes = Callable[[bytes, int, bytes], Sequence[int] | None]


def median_time(vote_times: Sequence[int]) -> int:
    """The lower median: with at most f of 2f+1 or more values Byzantine, an honest bound."""
    ordered = sorted(vote_times)
    return ordered[(len(ordered) - 1) // 2]


def block_time(previous_time_ms: int, vote_times: Sequence[int]) -> int:
    """The time of the block after one at `previous_time_ms`, given its last commit's votes."""
    floor = previous_time_ms + 1
    return max(floor, median_time(vote_times)) if vote_times else floor


def next_block_time(previous: Header, last_commit: bytes, commit_times: CommitTimes,
                    previous_hash: bytes | None = None) -> int:
    """The only time a block after `previous` carrying `last_commit` may have
    (`previous_hash`: its block hash, when the caller holds it already).

    Raises MalformedInput if `last_commit` does not certify `previous` (block 1
    must carry none, since genesis has no certificate)."""
    if previous.height == 0:
        if last_commit:
            raise MalformedInput("the first block must carry no last commit")
        return block_time(previous.time_ms, ())
    vote_times = commit_times(last_commit, previous.height,
                              previous.block_hash if previous_hash is None else previous_hash)
    if not vote_times:
        raise MalformedInput(f"the block's last commit does not certify block {previous.height}")
    return block_time(previous.time_ms, vote_times)
