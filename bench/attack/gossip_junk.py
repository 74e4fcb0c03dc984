"""A member (not a validator) sending junk over P2P: gossip and announcement array bombs.

The lab's genesis holds a member whose node never runs (`Lab.outsider`), so its key
can be used here without displacing a running node. Connected to two validators as
that member, bounded in time and frames, it sends in turn:
- CH_TXS frames of 2 MiB of empty arrays (one byte each),
- CH_TXS frames of 4,096 byte strings that are no transaction,
- CH_BLOCK frames of 2 MiB of empty arrays (only validators announce blocks).
The nodes should drop the announcements unread and, after a few junk frames, the
member's gossip (node.peer_penalty), so honest commits go on as in the baseline.
"""

from __future__ import annotations

import asyncio
import os
import random
import struct

from bench.attack.base import Attack, Check
from bench.attack.lab import Lab, PhaseResult
from ledger.codec import encode
from node.channels import CH_BLOCK, CH_TXS, GOSSIP_BATCH_BYTES, channels_for
from node.files import load_genesis
from p2p import Limits, PeerManager

MAX_FRAMES = 100_000
PAUSE_S = 0.002  # between frames: the attack is the frames, not our CPU
GOSSIP_BOMB_BYTES = 2 * GOSSIP_BATCH_BYTES - 64  # within the channel's largest message


def _empty_arrays(size: int) -> bytes:
    count = size - 5
    return b"\xdd" + struct.pack(">I", count) + b"\x90" * count


class GossipJunk(Attack):
    name = "gossip-junk"

    def start(self, lab: Lab, until: float) -> None:
        self.spawn(lambda end: asyncio.run(self._send(lab, end)), until)

    async def _send(self, lab: Lab, until: float) -> None:
        genesis = load_genesis(lab.root / "genesis.json")
        targets = lab.validators[1:3]
        channels = channels_for(len(lab.validators))
        keys = lab.outsider.keys
        peers = PeerManager(
            keys.seed, genesis.network_id, listen=None,
            dial=[("127.0.0.1", v.p2p_port) for v in targets],
            allowed={v.keys.public_key for v in targets}, channels=channels,
            on_message=_ignore, rng=random.Random(),
            limits=Limits(max_frame_bytes=max(c.max_message_bytes for c in channels) + 1024))
        frames = [(CH_TXS, _empty_arrays(GOSSIP_BOMB_BYTES), "tx array bomb"),
                  (CH_TXS, encode([os.urandom(200) for _ in range(4096)]), "tx junk items"),
                  (CH_BLOCK, _empty_arrays(GOSSIP_BOMB_BYTES), "block array bomb")]
        await peers.start()
        try:
            sent = 0
            while self.running(until) and sent < MAX_FRAMES:
                connected = peers.connected()
                if not connected:
                    await asyncio.sleep(0.05)
                    continue
                channel, payload, what = frames[sent % len(frames)]
                for key in connected:
                    self.count(what if peers.send(key, channel, payload) else "queue full")
                sent += 1
                await asyncio.sleep(PAUSE_S)
        finally:
            await peers.close()

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        sent = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return [Check(self.name, "junk frames", "-", sent or "none", "(reported)", True, False)]


async def _ignore(peer: bytes, channel: int, payload: bytes) -> None:
    return None
