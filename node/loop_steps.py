"""Work on the event loop over many items, in steps with the loop free between them.

A peer's transaction gossip, and what admission does with a submission once its
checks return, costs the loop about a microsecond an item (hashing an id, the
mempool, the answer): in one step a frame of 5,000 single-credential issues held
the loop 6.6 ms before its checks and 6.7 ms after them, and one of 20,000 27 ms
each, while consensus frames from every peer waited. Public work never delays
consensus: such work goes LOOP_STEP_ITEMS at a time, and gives the loop back
between steps (`await asyncio.sleep(0)`; written out where it is done, as an async
generator cost ~0.6 us more a frame, which a frame of one transaction pays too).
"""

from __future__ import annotations

# Items handled in one step of the event loop: ~0.35 ms for a gossip frame's items
# before their checks or after them (measured in-process, at ~1.3 us an item); a
# turn of the loop between steps costs ~2 us (measured), ~0.01 us an item at this size.
LOOP_STEP_ITEMS = 256
