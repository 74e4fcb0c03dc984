"""When the engine syncs its writes: before any frame leaves, and not otherwise."""

from __future__ import annotations

from collections import deque

import pytest

from consensus import (
    Action,
    Broadcast,
    CommitBlock,
    Height,
    Persist,
    Send,
    ValidatorId,
    decode_certificate,
)
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.test_engine import Clock, engine_for, source_chain


class SyncRecordingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.syncs: list[bool] = []

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        self.syncs.append(sync)
        super().write(puts, sync)


@pytest.mark.parametrize("frame", [None, Broadcast(b"commit vote"), "send"])
def test_a_consensus_commit_is_synced_only_when_its_step_sends(net: Consortium,
                                                              frame: object) -> None:
    """A frame must not leave before the state behind it is on disk. A step that only
    commits (the quorum reached on others' votes) leaves its batch unsynced, as a
    fetched block's: the next vote's synced write flushes it, and it is certified."""
    store = SyncRecordingStore()
    validator, _ = engine_for(net.ministry, net, Clock(net.genesis.genesis_time_ms), store)
    primary_chain = source_chain(net, 1)
    block = primary_chain.get_block(1)
    certificate = decode_certificate(primary_chain.get_certificate(1) or b"")
    assert block is not None
    actions: list[Action] = [CommitBlock(Height(1), certificate.digest, block.encode(),
                                         certificate), Persist(b"next height's safety state")]
    if frame == "send":
        actions.append(Send(ValidatorId(net.ministry.member_id), b"view change"))
    elif isinstance(frame, Broadcast):
        actions.append(frame)
    store.syncs.clear()  # genesis
    validator._perform(actions, deque())
    assert validator.chain.height == 1
    assert store.syncs == [frame is not None]
