"""A validator whose clock is far from the others' says so in its log.

Nothing else showed it. A validator whose clock ran a day ahead (a clock set in local
time as if UTC, a dead NTP) refused every proposal holding transactions with 'block
time is stale: after an idle spell the primary must propose an empty block first',
which sends its operator to look at the primary, and as primary it proposed only empty
blocks (its head always looked a minute old). One behind stamps its commit votes with a
wrong time, which the median of a block's votes keeps out of block times, unseen.

Each commit vote carries its signer's clock reading. The other validators' votes for the
height being decided are cast moments before they arrive, so the time from a vote's
reading to this node's clock as it takes the vote is the two clocks' difference (plus a
frame's latency), kept for each validator by its latest such vote. Only when most of the
others' differences exceed the bound, on one side, is this node's clock the one at fault:
one validator's wrong clock is not blamed on the rest.
"""

from __future__ import annotations

import logging

from consensus import Commit, MalformedMessage, ValidatorId, decode_signed
from ledger.bft_time import MAX_STALE_MS, REFRESH_AFTER_MS
from node.own_votes import COMMIT_VOTE_BYTES_MAX

# Past a minute a primary ahead proposes only empty blocks (REFRESH_AFTER_MS); an NTP
# synced clock is off by milliseconds, and a frame's latency is well below it.
CLOCK_SKEW_TOLD_MS = REFRESH_AFTER_MS
CLOCK_SKEW_RETOLD_MS = 10 * 60_000  # while it lasts, said again this often
VALIDATORS_HEARD_MAX = 1_024  # validators' offsets kept (a set is far smaller)
# A validator whose commit vote was heard at none of the last this many heights (removed
# from the set, or down) counts no more: its last offset, a Byzantine one's absurd time
# say, counted for good, and with one other wrong clock made the majority that blamed
# this node's.
OFFSET_HEIGHTS_KEPT = 16

log = logging.getLogger("senim.engine")


def _duration(ms: int) -> str:
    minutes, seconds = divmod(abs(ms) // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s"


class ClockSkew:
    def __init__(self) -> None:
        # this node's clock − the vote's, and the height it was heard at
        self._offsets: dict[ValidatorId, tuple[int, int]] = {}
        self._told_at_ms: int | None = None  # the last warning, by this node's clock
        self._skewed = False  # as the offsets heard last showed
        self._agreement_told = True  # since the last warning

    def heard(self, sender: ValidatorId, payload: bytes, height: int, now_ms: int) -> None:
        """A consensus frame `payload` from validator `sender` (by its connection's key)
        arrived at `now_ms`, while this node decides `height`: note it if it is that
        validator's commit vote for `height`, and tell the operator what it shows."""
        if len(payload) > COMMIT_VOTE_BYTES_MAX:
            return
        try:
            signed = decode_signed(payload)
        except MalformedMessage:
            return
        vote = signed.message
        # A vote relayed for another, or for a height decided before, is no reading of now.
        if signed.sender != sender or not isinstance(vote, Commit) or vote.height != height:
            return
        if sender not in self._offsets and len(self._offsets) >= VALIDATORS_HEARD_MAX:
            self._offsets.clear()
        self._offsets[sender] = (now_ms - vote.time_ms, height)
        for stale in [v for v, (_, at) in self._offsets.items()
                      if not 0 <= height - at < OFFSET_HEIGHTS_KEPT]:
            del self._offsets[stale]
        offsets = [offset for offset, _ in self._offsets.values()]
        ahead = sorted(offset for offset in offsets if offset > CLOCK_SKEW_TOLD_MS)
        behind = sorted(offset for offset in offsets if offset < -CLOCK_SKEW_TOLD_MS)
        # Most of the others agreeing on it, or it may be one of theirs that is wrong
        beyond = next((side for side in (ahead, behind) if 2 * len(side) > len(offsets)), [])
        # Each line at most once a CLOCK_SKEW_RETOLD_MS, whichever way the votes swing:
        # offsets at the bound, or a Byzantine validator whose vote tips the majority
        # (its clock alternately right and wrong), made a warning and an "again" line at
        # every block.
        if len(offsets) < 2 or not beyond:
            if self._skewed and not self._agreement_told:
                self._agreement_told = True
                log.info("this node's clock agrees with most other validators' again")
            self._skewed = False
            return
        self._skewed = True
        skew = beyond[(len(beyond) - 1) // 2]
        if self._told_at_ms is not None and 0 <= now_ms - self._told_at_ms < CLOCK_SKEW_RETOLD_MS:
            return
        self._told_at_ms, self._agreement_told = now_ms, False
        if skew > 0:
            effect = ("as primary it proposes only empty blocks" + (
                ", and it refuses the others' proposals holding transactions as stale"
                if skew > MAX_STALE_MS else ""))
        else:
            effect = "its commit votes carry that wrong time"
        log.warning("this node's clock is %s %s the other validators' (by the commit "
                    "votes of %d of the %d heard, for block %d): set its system clock right "
                    "(NTP); until then %s", _duration(skew),
                    "ahead of" if skew > 0 else "behind", len(beyond), len(offsets), height,
                    effect)
