"""Work on the event loop over many items, in steps with the loop free between them.

A peer's transaction gossip, and what admission does with a submission once its
checks return, costs the loop about a microsecond an item (hashing an id, the
mempool, the answer): in one step a frame of 5,000 single-credential issues held
the loop 6.6 ms before its checks and 6.7 ms after them, and one of 20,000 27 ms
each, while consensus frames from every peer waited. Public work never delays
consensus: such work goes LOOP_STEP_ITEMS at a time, and gives the loop back
between steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")
# Items handled in one step of the event loop: ~0.35 ms for a gossip frame's items
# before their checks or after them (measured in-process, at ~1.3 us an item); a
# turn of the loop between steps costs ~2 us (measured), ~0.01 us an item at this size.
LOOP_STEP_ITEMS = 256


async def steps_of(items: Sequence[T], step: int = LOOP_STEP_ITEMS
                   ) -> AsyncIterator[tuple[int, Sequence[T]]]:
    """`items` a step at a time, as (position of the first, the step's items); the loop
    runs its other callbacks between two steps, not before the first."""
    for start in range(0, len(items), step):
        if start:
            await asyncio.sleep(0)
        yield start, items[start:start + step]
