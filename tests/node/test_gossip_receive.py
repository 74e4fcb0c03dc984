"""Transaction gossip from a peer is read as an array of byte strings: what else a
frame spells is refused without being built (it was decoded on the event loop, where
a member's 2 MiB frames of empty arrays held it a second each)."""

from __future__ import annotations

import logging
import os
import struct
import tracemalloc

import pytest

from ledger.chain import Chain
from ledger.codec import encode
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from ledger.transactions import decode_transaction
from node.network import Network
from storage.kv import MemoryStore
from tests.e2e.harness import free_port
from tests.node.api_server import api_core
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.test_key_rotation import rotate
from tests.node.test_state_join import config_for


async def test_gossip_of_empty_arrays_is_refused_without_building_them(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    core = api_core(net.ministry, net.genesis, MemoryStore())
    receive = network.receive_gossip_into(core)
    count = 2 * 1024 * 1024 - 16  # a frame's worth: a general decoder built 2 million lists
    frame = b"\xdd" + struct.pack(">I", count) + b"\x90" * count
    tracemalloc.start()
    try:
        await receive(net.university.public_key, frame)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    assert any("malformed transaction gossip" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)
    tx = make_tx(net.university, AnchorPayload(bytes(32)))
    await receive(net.university.public_key, encode([tx.encode()]))
    assert tx.tx_id in core.mempool
    core.worker.shutdown(wait=True)


async def test_gossip_admits_what_is_fresh_under_its_own_id(net: Consortium) -> None:
    """The ids gossip's filter works out are handed on with the transactions it keeps
    (decoding does not hash them again): each kept one is admitted under its own id,
    whether held ones and malformed ones were between them or not."""
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    core = api_core(net.ministry, net.genesis, MemoryStore())
    receive = network.receive_gossip_into(core)
    txs = [make_tx(net.university, AnchorPayload(os.urandom(32))) for _ in range(5)]
    await receive(net.university.public_key, encode([txs[1].encode(), txs[3].encode()]))
    await receive(net.university.public_key,
                  encode([tx.encode() for tx in txs] + [b"\x97junk"]))
    assert [core.mempool.take(10, 1 << 30)] == [[txs[1], txs[3], txs[0], txs[2], txs[4]]]
    assert all(core.tx_status(tx.tx_id).status == "pending" for tx in txs)
    held = core.mempool.take(10, 1 << 30)
    assert [tx.tx_id for tx in held] == [decode_transaction(tx.encode()).tx_id
                                         for tx in held]
    core.worker.shutdown(wait=True)


async def test_a_peer_sending_malformed_gossip_is_logged_once_a_while(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """Each malformed frame was a warning: 9,593 in 20 s from one member on a validator."""
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    core = api_core(net.ministry, net.genesis, MemoryStore())
    receive = network.receive_gossip_into(core)
    for _ in range(100):
        await receive(net.university.public_key, b"\xc0")
    await receive(net.employer.public_key, b"\xc0")
    said = [r.getMessage() for r in caplog.records if "malformed transaction gossip" in
            r.getMessage()]
    assert len(said) == 2 and all("more like it" not in line for line in said)
    core.worker.shutdown(wait=True)


async def test_a_peer_sending_junk_gossip_has_its_gossip_dropped_for_a_while(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """Junk (frames that are no array of byte strings, transactions that do not decode)
    past JUNK_PER_WINDOW_MAX in a window mutes that peer's gossip for GOSSIP_MUTED_S,
    with one log line; other peers', and transactions refused for what the chain holds
    (an honest relay of an expired one), are not counted. Junk cost its sender nothing."""
    from node.peer_penalty import GOSSIP_MUTED_S, JUNK_PER_WINDOW_MAX, GossipPenalties

    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    now = [1000.0]
    network.gossip_penalties = GossipPenalties(clock=lambda: now[0])
    core = api_core(net.ministry, net.genesis, MemoryStore())
    receive = network.receive_gossip_into(core)
    for _ in range(3):
        commit(core.chain, [])
    for _ in range(JUNK_PER_WINDOW_MAX + 5):  # an honest relay of what expired meanwhile
        expired = make_tx(net.employer, AnchorPayload(bytes(32)), expires_at=1)
        await receive(net.employer.public_key, encode([expired.encode()]))
        assert expired.tx_id not in core.mempool
    for _ in range(JUNK_PER_WINDOW_MAX // 2):
        await receive(net.university.public_key, b"\xc0")
    await receive(net.university.public_key,
                  encode([b"\x01junk"] * (JUNK_PER_WINDOW_MAX // 2)))
    tx = make_tx(net.university, AnchorPayload(bytes(32)))
    await receive(net.university.public_key, encode([tx.encode()]))
    assert tx.tx_id not in core.mempool  # muted
    honest = make_tx(net.employer, AnchorPayload(bytes(32)))
    await receive(net.employer.public_key, encode([honest.encode()]))
    assert honest.tx_id in core.mempool
    said = [r.getMessage() for r in caplog.records if "dropping transaction gossip" in
            r.getMessage()]
    assert len(said) == 1 and network.name_of(net.university.public_key) in said[0], said
    now[0] += GOSSIP_MUTED_S + 1
    await receive(net.university.public_key, encode([tx.encode()]))
    assert tx.tx_id in core.mempool
    core.worker.shutdown(wait=True)


def _unknown_kind_tx(keys: KeyPair, kind: str = "microcredential",
                     nonce: bytes = bytes(16)) -> bytes:
    """A version-1 transaction of a kind this release does not know, as a later release
    would send it (its payload and signature unjudged here)."""
    return encode([1, kind, keys.member_id, nonce, 10, [b"later", 7], bytes(64)])


async def test_gossip_of_a_later_release_is_no_junk_but_malformed_gossip_stays_junk(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """In a rolling upgrade the newer nodes relay kinds, versions and listed values this
    release does not know: dropped without penalty (one line a while), where a
    malformed transaction, of a known kind or not, still counts."""
    from node.peer_penalty import JUNK_PER_WINDOW_MAX

    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    core = api_core(net.ministry, net.genesis, MemoryStore())
    receive = network.receive_gossip_into(core)
    renamed = make_tx(net.university, AnchorPayload(bytes(32))).encode().replace(
        b"\xa6anchor", b"\xa6anchur")  # same length: the envelope stays canonical
    later = [_unknown_kind_tx(net.university, nonce=i.to_bytes(16, "big"))
             for i in range(JUNK_PER_WINDOW_MAX)]
    later += [encode([2, "anchor", b"anything a later version holds"])] * 3
    later.append(encode([1, "issue_batch", net.university.member_id, bytes(16), 10,
                         ["microcredential", bytes(32), 1], bytes(64)]))
    for _ in range(3):
        await receive(net.university.public_key, encode([*later, renamed]))
    tx = make_tx(net.university, AnchorPayload(bytes(32)))
    await receive(net.university.public_key, encode([tx.encode()]))
    assert tx.tx_id in core.mempool  # not muted
    said = [r.getMessage() for r in caplog.records if "cannot judge" in r.getMessage()]
    assert len(said) == 1 and network.name_of(net.university.public_key) in said[0], said

    # A malformed envelope is junk even when its kind is unknown here.
    bad_nonce = _unknown_kind_tx(net.employer, nonce=b"short")
    await receive(net.employer.public_key, encode([bad_nonce] * JUNK_PER_WINDOW_MAX))
    honest = make_tx(net.employer, AnchorPayload(bytes(32)))
    await receive(net.employer.public_key, encode([honest.encode()]))
    assert honest.tx_id not in core.mempool  # muted
    core.worker.shutdown(wait=True)


def _forged(keys: KeyPair, count: int) -> list[bytes]:
    return [make_tx(keys, AnchorPayload(os.urandom(32))).encode()[:-64] + bytes(64)
            for _ in range(count)]


def _signed(keys: KeyPair, count: int) -> list[bytes]:
    return [make_tx(keys, AnchorPayload(os.urandom(32))).encode() for _ in range(count)]


class ShownHeights:
    """`node.peer_penalty.RelayHeights` whose relays answer at once when asked, showing
    this node's height plus `ahead`."""

    def __init__(self, chain: Chain, ahead: int) -> None:
        self.chain, self.ahead = chain, ahead
        self.asked = 0
        self._shown: dict[bytes, tuple[int, int]] = {}

    def questions(self) -> int:
        return self.asked

    def shown(self, peer_key: bytes) -> tuple[int, int] | None:
        return self._shown.get(peer_key)

    def ask(self, peer_key: bytes) -> None:
        self.asked += 1
        self._shown[peer_key] = (self.asked, self.chain.height + self.ahead)


async def test_forged_signatures_in_gossip_are_junk_unless_the_relay_may_hold_another_key(
        net: Consortium) -> None:
    """A node relays only what it admitted, signatures checked against its own state's
    keys: a bad signature that no node at or behind this one would have found good (the
    sender never rotated, or none of its keys ever signed it), from a relay this node is
    not behind, is proof of a faulty relay (both the item by item answer and a submission
    cut short as forged count), once FORGED_SETTLE_S has passed and the sender's key here
    is still the one it was found bad under. One signed by a rotated sender's earlier key
    (a relay behind this node held it), any while the relay shows a height above this
    node's (it may hold a rotation not yet here), and any whose sender's rotation this node
    commits within that time (the relay was a block ahead), is not."""
    from node.peer_penalty import FORGED_SETTLE_S, JUNK_PER_WINDOW_MAX, GossipPenalties

    async def muted_after(frames: list[list[bytes]], rotations: int = 0,
                          behind: int = 0, rotated_meanwhile: bool = False,
                          settle: bool = True) -> bool:
        network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
        now = [1000.0]
        network.gossip_penalties = GossipPenalties(clock=lambda: now[0])
        core = api_core(net.ministry, net.genesis, MemoryStore())
        keys = net.employer
        for _ in range(rotations):
            keys = rotate(core.chain, keys)
        receive = network.receive_gossip_into(core, ShownHeights(core.chain, behind))
        try:
            for frame in frames:
                await receive(net.university.public_key, encode(frame))
            if rotated_meanwhile:
                rotate(core.chain, keys)
            if settle:
                now[0] += FORGED_SETTLE_S
            honest = make_tx(net.university, AnchorPayload(os.urandom(32)))
            await receive(net.university.public_key, encode([honest.encode()]))
            return honest.tx_id not in core.mempool
        finally:
            core.worker.shutdown(wait=True)

    few = JUNK_PER_WINDOW_MAX // 4  # under INVALID_SIGNATURES_PER_SUBMISSION_MAX: item by item
    assert await muted_after([_forged(net.employer, few) for _ in range(4)])
    assert not await muted_after([_forged(net.employer, few) for _ in range(3)])
    assert await muted_after([_forged(net.employer, 100) for _ in range(2)])  # cut short
    assert not await muted_after([_forged(net.employer, 100) for _ in range(2)], settle=False)
    assert not await muted_after([_forged(net.employer, 100) for _ in range(6)],
                                 rotated_meanwhile=True)
    assert not await muted_after([_forged(net.employer, few) for _ in range(8)],
                                 rotated_meanwhile=True)
    assert not await muted_after([_forged(net.employer, 100) for _ in range(6)], behind=1)
    # A sender that rotated: a forgery matches none of its keys, so it counts as well ...
    assert await muted_after([_forged(net.employer, 100) for _ in range(2)], rotations=1)
    assert await muted_after([_forged(net.employer, few) for _ in range(4)], rotations=2)
    assert not await muted_after([_forged(net.employer, 100) for _ in range(2)], rotations=1,
                                 settle=False)
    assert not await muted_after([_forged(net.employer, 100) for _ in range(6)], rotations=1,
                                 rotated_meanwhile=True)
    assert not await muted_after([_forged(net.employer, 100) for _ in range(6)], rotations=1,
                                 behind=1)
    # ... where what its earlier keys signed is what a relay behind this node admitted.
    assert not await muted_after([_signed(net.employer, 100) for _ in range(6)], rotations=2)
    assert not await muted_after([_signed(net.employer, few) for _ in range(8)], rotations=2)


def test_forged_signature_suspicions_are_bounded_and_settled_oldest_first() -> None:
    """A pair suspected again keeps its first time and adds its count; each is due
    FORGED_SETTLE_S after it was first suspected, oldest first. Past a peer's share
    (FORGED_SUSPECTS_PER_PEER_MAX distinct senders) or the whole table's bound, a new
    suspect is neither kept waiting nor dropped: it goes to the overflow, which the next
    settle judges at once, and other peers keep their room."""
    from node.peer_penalty import (
        FORGED_SETTLE_S,
        FORGED_SUSPECTS_MAX,
        FORGED_SUSPECTS_PER_PEER_MAX,
        GossipPenalties,
    )

    now = [0.0]
    penalties = GossipPenalties(clock=lambda: now[0])
    s0 = (b"s0", b"k0")
    assert penalties.suspect(b"peer", [s0, s0], 3)
    now[0] += 1
    others = [(i.to_bytes(4, "big"), b"k") for i in range(FORGED_SUSPECTS_PER_PEER_MAX + 2)]
    assert penalties.suspect(b"peer", others, 5)
    assert not penalties.suspect(b"peer", [s0], 7)  # s0 waits already: counted with it
    # s0 and the first 63 others wait; the last three are past the peer's share
    assert penalties.take_overflow() == {b"peer": {s: 1 for s in others[-3:]}}
    assert penalties.take_overflow() == {}
    assert penalties.suspect(b"other", [s0], 9)  # another peer still has room
    assert penalties.due_suspicions() == {}
    now[0] += FORGED_SETTLE_S - 1
    assert penalties.due_suspicions() == {b"peer": (3, {s0: 3})}  # the oldest only
    now[0] += 1
    due_then = penalties.due_suspicions()
    questions, due = due_then[b"peer"]
    assert questions == 5 and set(due) == set(others[:-3])
    assert due_then[b"other"] == (9, {s0: 1})
    # Put back to wait, they are due again FORGED_SETTLE_S later; past the share, they
    # go to the overflow instead (never dropped uncounted).
    penalties.wait_again(b"peer", (5, {s0: 2}))
    penalties.wait_again(b"peer", (6, dict.fromkeys(others, 1)))
    assert penalties.take_overflow() == {b"peer": {s: 1 for s in others[-3:]}}
    now[0] += FORGED_SETTLE_S
    due_now = penalties.due_suspicions()
    assert due_now == {b"peer": (6, {s0: 2, **dict.fromkeys(others[:-3], 1)})}
    assert penalties.due_suspicions() == {}
    # The whole table's bound, across peers.
    for peer in range(FORGED_SUSPECTS_MAX // FORGED_SUSPECTS_PER_PEER_MAX):
        penalties.suspect(peer.to_bytes(2, "big"), others[:FORGED_SUSPECTS_PER_PEER_MAX])
    assert penalties.take_overflow() == {}
    assert penalties.suspect(b"late", [s0]) is False
    assert penalties.take_overflow() == {b"late": {s0: 1}}


async def test_a_relay_forging_in_many_members_names_is_muted(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forged signatures past a relay's share of the suspicion table are judged at the
    next frame by the sender's key alone, without waiting on the relay's height: they were
    dropped uncounted, so a relay forging in more members' names than the table holds
    was never muted (and pushed other relays' suspicions out)."""
    import node.peer_penalty
    from node.peer_penalty import JUNK_PER_WINDOW_MAX, GossipPenalties

    monkeypatch.setattr(node.peer_penalty, "FORGED_SUSPECTS_PER_PEER_MAX", 1)
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    network.gossip_penalties = GossipPenalties(clock=lambda: 1000.0)
    core = api_core(net.ministry, net.genesis, MemoryStore())
    receive = network.receive_gossip_into(core, ShownHeights(core.chain, 1))  # never judged
    few = JUNK_PER_WINDOW_MAX // 4  # item by item, not a submission cut short
    try:
        # the employer's forgeries take the relay's one place; the university's overflow
        for _ in range(5):
            await receive(net.ministry.public_key, encode(
                _forged(net.employer, 1) + _forged(net.university, few)))
        honest = make_tx(net.university, AnchorPayload(os.urandom(32)))
        await receive(net.ministry.public_key, encode([honest.encode()]))
        assert honest.tx_id not in core.mempool
    finally:
        core.worker.shutdown(wait=True)
