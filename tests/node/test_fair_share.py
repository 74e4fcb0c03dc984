"""The shared limits' one rule (node.fair_share.gives_way) and the VC slots that wait
fairly: a crowd of addresses cannot keep an address holding fewer out."""

from __future__ import annotations

import asyncio

import pytest

from node.fair_share import FairSlots, SlotsBusy, gives_way

DEADLINE_S = 10.0


def test_the_address_holding_most_gives_way_only_to_one_holding_two_fewer() -> None:
    assert gives_way({"a": 4, "b": 4}, 0) == "a"  # ties: the one that came first
    assert gives_way({"a": 2, "b": 5}, 3) == "b"
    assert gives_way({"a": 1, "b": 1}, 0) is None  # equal shares: the newcomer waits
    assert gives_way({"a": 3}, 2) is None
    assert gives_way({}, 0) is None


async def _until(condition: object, what: str) -> None:
    async with asyncio.timeout(DEADLINE_S):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)


async def test_a_freed_slot_goes_to_the_waiting_address_holding_fewest() -> None:
    slots = FairSlots(2, waiting_max=8, wait_s=DEADLINE_S)
    await slots.acquire("crowd1")
    await slots.acquire("crowd2")
    crowd = [asyncio.create_task(slots.acquire(f"crowd{i % 2 + 1}")) for i in range(4)]
    await _until(lambda: slots.waiting == 4, "the crowd waits")
    honest = asyncio.create_task(slots.acquire("honest"))  # came last, holds none
    await _until(lambda: slots.waiting == 5, "the honest client waits")
    slots.release("crowd1")
    await asyncio.wait_for(honest, DEADLINE_S)
    assert slots.held["honest"] == 1 and not any(t.done() for t in crowd)
    slots.release("honest")  # crowd1 now holds none: its first waiter is next
    await _until(lambda: crowd[0].done(), "crowd1's waiter is served")
    for task in crowd:
        task.cancel()
    await asyncio.gather(*crowd, return_exceptions=True)
    assert slots.waiting == 0


async def test_a_full_waiting_room_refuses_or_makes_the_heaviest_give_way() -> None:
    slots = FairSlots(1, waiting_max=2, wait_s=DEADLINE_S)
    await slots.acquire("crowd")
    crowd = [asyncio.create_task(slots.acquire("crowd")) for _ in range(2)]
    await _until(lambda: slots.waiting == 2, "the crowd fills the waiting room")
    with pytest.raises(SlotsBusy):  # the crowd holds 3: no more of it
        await slots.acquire("crowd")
    honest = asyncio.create_task(slots.acquire("honest"))
    await _until(lambda: crowd[1].done(), "the crowd's newest waiter gives way")
    with pytest.raises(SlotsBusy):
        crowd[1].result()
    slots.release("crowd")
    await asyncio.wait_for(honest, DEADLINE_S)
    crowd[0].cancel()
    await asyncio.gather(crowd[0], return_exceptions=True)
    assert slots.waiting == 0 and slots.held == {"honest": 1}


async def test_a_waiter_that_times_out_is_busy_and_leaves_nothing_behind() -> None:
    slots = FairSlots(1, waiting_max=4, wait_s=0.05)
    await slots.acquire("a")
    with pytest.raises(SlotsBusy):
        await slots.acquire("b")
    assert slots.waiting == 0
    slots.release("a")
    assert slots.free == 1 and slots.held == {}
