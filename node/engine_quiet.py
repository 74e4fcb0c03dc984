"""When the engine thread may skip ticks: an idle node need not wake 100 times a second.

Ticks drive only timed work: the replica's view timer, forwarding work a stalled
primary has not proposed, and block sync's questions, timeouts and polls. When none
of these is pending, a tick only moves the replica's clock on, so the engine thread
waits for the next input, or up to QUIET_TICKS_MAX ticks, and then hands the replica
all the ticks that passed at once (`Engine.tick`). Measured on a 2-core VM, each
timed wake-up of a thread cost 0.1–0.27 ms of CPU (BENCHMARKS.md, session 39), about
two Ed25519 checks: a hundred a second was a tenth of a core for four idle nodes.
Anything that arms a timer is an input, and the engine thread looks again after each.
"""

from __future__ import annotations

from collections.abc import Callable

from consensus import Replica
from ledger.chain import Chain
from node.mempool import Mempool
from node.sync import BlockSync

TICK_MS = 10  # the replica counts time in ticks of this length
# At most this many ticks pass without one run, when nothing is timed: how late a
# change of the connected peers reaches sync, which only a later question reads.
QUIET_TICKS_MAX = 20


class SkipsQuietTicks:
    replica: Replica | None
    mempool: Mempool
    sync: BlockSync
    chain: Chain
    _clock_ms: Callable[[], int]

    def ticks_can_wait(self) -> int:
        """How many ticks may pass before the next runs: one while anything is timed,
        else QUIET_TICKS_MAX at most, and never past the next poll for blocks."""
        if ((self.replica is not None and self.replica.timer_armed) or len(self.mempool)
                or not self.sync.quiet(self.chain.height)):
            return 1
        poll_in_ms = self.sync.poll_due_in_ms(self._clock_ms())
        if poll_in_ms is None:
            return QUIET_TICKS_MAX
        return max(1, min(QUIET_TICKS_MAX, poll_in_ms // TICK_MS))
