"""Which heights a proposal can meet, for `senim governance propose` to suggest and refuse.

Blocks are made only when there is work, and after a minute without a block the next
one is an empty block, whose commit votes bring the chain's time up to date
(`ledger/bft_time.py`, REFRESH_AFTER_MS): a transaction sent then lands in the block
after it. Governance is slow work between ministries, so the CLI plans for it.
Measured on an in-process node (the real engine, its clock moved on a minute and more
between transactions): from a head at height H, a proposal sent after such a pause
lands at H + 2 (H + 1 without it), and a vote sent after another pause two blocks after
the proposal, at H + 4. With votes closing MIN_PROPOSAL_LEAD_BLOCKS before the change,
an effective height of H + 3 (the earliest the ledger could take) is missed by the
proposal itself, and H + 4 leaves no room for another voter's vote.
"""

from __future__ import annotations

from dataclasses import dataclass

from cli.spoken import Sentence
from ledger.governance import MAX_PROPOSAL_BLOCKS
from ledger.payloads import MIN_PROPOSAL_LEAD_BLOCKS

# The default lead of a change over the head, in blocks: time for the other voters.
DEFAULT_LEAD_BLOCKS = 100
# Where a transaction sent after a pause lands: an empty block first, then it.
PAUSED_LANDING_BLOCKS = 2
PAUSE = "after a minute without blocks the next block is an empty one"


@dataclass(frozen=True)
class ProposalHeights:
    head: int
    threshold: int  # votes a change needs, the proposer's own included

    @property
    def landing(self) -> int:
        """The height a proposal sent after a pause lands at."""
        return self.head + PAUSED_LANDING_BLOCKS

    @property
    def earliest(self) -> int:
        """The first effective height whose voting is still open when the proposal lands."""
        return self.landing + MIN_PROPOSAL_LEAD_BLOCKS

    @property
    def roomy(self) -> int:
        """The first effective height at which each further vote may come after a pause of
        its own (each then lands two blocks after the one before)."""
        return self.earliest + PAUSED_LANDING_BLOCKS * max(0, self.threshold - 1)

    @property
    def default_effective(self) -> int:
        return max(self.head + DEFAULT_LEAD_BLOCKS, self.roomy)

    def _votes(self) -> str:
        more = self.threshold - 1
        return f"the {more} more vote{'s' if more != 1 else ''} it needs"

    @property
    def farthest(self) -> int:
        """The last effective height the ledger takes from a proposal sent now (it lands
        in a block after the head, which only moves the bound on)."""
        return self.head + MAX_PROPOSAL_BLOCKS

    def refusal(self, effective: int | None, expiry: int | None) -> Sentence | None:
        """Why these heights cannot be met even when everyone is quick, or None. (Each is
        said in words: a height past these bounds, 10**25 say, was refused by the
        payload's own check, in English.)"""
        if effective is not None and effective > self.farthest:
            return Sentence(
                "gov.heights.too_far", f"--effective-height {effective} is too far ahead: the "
                f"chain is at height {self.head}, and a change may be at most "
                f"{MAX_PROPOSAL_BLOCKS} blocks ahead, so at height {self.farthest} at the "
                "latest", effective=effective, head=self.head, blocks=MAX_PROPOSAL_BLOCKS,
                farthest=self.farthest)
        if (effective is None and expiry is not None
                and expiry + MIN_PROPOSAL_LEAD_BLOCKS > self.default_effective):
            latest = self.default_effective - MIN_PROPOSAL_LEAD_BLOCKS
            return Sentence(
                "gov.heights.expiry_past_default", f"--expiry-height {expiry} is too late "
                f"for the change's default effective height {self.default_effective}: "
                f"votes close {MIN_PROPOSAL_LEAD_BLOCKS} blocks before a change, so at "
                f"height {latest} at the latest; for a later change give --effective-height "
                "too", expiry=expiry, effective=self.default_effective,
                lead=MIN_PROPOSAL_LEAD_BLOCKS, latest=latest)
        if effective is not None and effective < self.earliest:
            roomy = (f"; {self.roomy} or later leaves {self._votes()} time to land"
                     if self.roomy > self.earliest else "")
            return Sentence(
                "gov.heights.too_soon_roomy" if roomy else "gov.heights.too_soon",
                f"--effective-height {effective} is too soon: the chain is at height "
                f"{self.head}, and {PAUSE}, so the proposal may land only at height "
                f"{self.landing}; votes close {MIN_PROPOSAL_LEAD_BLOCKS} blocks before a "
                f"change, so the earliest is {self.earliest}{roomy}", effective=effective,
                head=self.head, landing=self.landing, lead=MIN_PROPOSAL_LEAD_BLOCKS,
                earliest=self.earliest, roomy=self.roomy, more=self.threshold - 1)
        if (effective is not None and expiry is not None
                and expiry + MIN_PROPOSAL_LEAD_BLOCKS > effective):
            # Said in the heights given: it read 'the expiry height must be at least 2
            # blocks before the effective height', naming neither.
            return Sentence(
                "gov.heights.expiry_too_late",
                f"--expiry-height {expiry} is too late for --effective-height "
                f"{effective}: votes close {MIN_PROPOSAL_LEAD_BLOCKS} blocks before a "
                f"change, so at height {effective - MIN_PROPOSAL_LEAD_BLOCKS} at the "
                "latest", expiry=expiry, effective=effective, lead=MIN_PROPOSAL_LEAD_BLOCKS,
                latest=effective - MIN_PROPOSAL_LEAD_BLOCKS)
        if expiry is not None and expiry <= self.head:
            return Sentence("gov.heights.expiry_passed", f"--expiry-height {expiry} has passed: "
                            f"the chain is at height {self.head}", expiry=expiry, head=self.head)
        if expiry is not None and expiry < self.landing:
            return Sentence("gov.heights.expiry_too_soon",
                            f"--expiry-height {expiry} is too soon: the chain is at height "
                            f"{self.head}, and {PAUSE}, so the proposal may land only at "
                            f"height {self.landing}", expiry=expiry, head=self.head,
                            landing=self.landing)
        return None

    def warning(self, expiry: int) -> Sentence | None:
        """What a voting window too short for the other voters risks, or None."""
        if expiry + MIN_PROPOSAL_LEAD_BLOCKS >= self.roomy:
            return None
        return Sentence("gov.heights.short_window",
                        f"votes close at height {expiry}, and {PAUSE}: each vote sent after "
                        f"such a pause lands two blocks on, so {self._votes()} may land too "
                        f"late (an effective height of {self.roomy} or later leaves them "
                        "time)", expiry=expiry, more=self.threshold - 1, roomy=self.roomy)


def votes_may_be_late(head: int, expiry: int, needed: int) -> Sentence | str:
    """For an open proposal in `senim governance list`: a sentence when the votes it still
    needs, each sent after a pause of its own, would land after its voting closes."""
    if needed <= 0 or expiry >= head + PAUSED_LANDING_BLOCKS * needed:
        return ""
    votes = "the vote it needs" if needed == 1 else f"the {needed} votes it needs"
    return Sentence("gov.heights.late", f" Voting closes soon: {PAUSE}, and a vote sent after "
                    f"such a pause lands two blocks on, so {votes} may come too late.",
                    needed=needed)
