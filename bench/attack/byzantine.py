"""A Byzantine validator: one validator's key in the wrong hands, spamming evidence.

    python -m bench.attack.byzantine --key K --genesis G --status URL --peer H:P ...

It connects to the honest validators over P2P as that validator (so it is
authenticated as one) and, bounded in time and count, sends:
- prepares and commits for the current height with fresh random digests, each
  of which conflicts with the one before (evidence for every message);
- view changes carrying a large, invalid prepared certificate (evidence that
  stores the whole message).
It prints one JSON line of what it sent. Only loopback peers are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

from bench.attack.lab import http_json
from consensus import (
    Commit,
    Digest,
    Height,
    Message,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    ValidatorId,
    View,
    ViewChange,
    encode_signed,
    sign_message,
)
from ledger.genesis import Genesis
from ledger.identity import KeyPair
from node.channels import CH_CONSENSUS, channels_for
from node.files import load_genesis, load_key
from p2p import Limits, PeerManager

MAX_MESSAGES = 2_000_000
TICK_S = 0.01
ROUND_VOTES_MAX = 100
STATUS_EVERY_S = 0.25


class Spammer:
    def __init__(self, keys: KeyPair, genesis: Genesis, validator_keys: set[bytes],
                 peers: list[tuple[str, int]], status_url: str) -> None:
        self.keys, self.chain = keys, genesis.chain_id.encode()
        self.me = ValidatorId(keys.member_id)
        self.status_url = status_url
        self.height, self.view = 1, 0
        self.next_view_change = 0
        self.sent = {"votes": 0, "view_changes": 0, "dropped": 0}
        channels = channels_for(len(validator_keys))
        self.peers = PeerManager(
            keys.seed, genesis.network_id, listen=None, dial=peers,
            allowed=validator_keys - {keys.public_key}, channels=channels,
            on_message=self._ignore, rng=random.Random(),
            limits=Limits(max_frame_bytes=max(c.max_message_bytes for c in channels) + 1024))

    async def _ignore(self, peer: bytes, channel: int, payload: bytes) -> None:
        return None

    def sign(self, message: Message) -> bytes:
        return encode_signed(sign_message(self.chain, self.me, message, self.keys.sign_raw))

    def vote(self, number: int) -> bytes:
        # The height we read may already be decided: aim at it and at the next one.
        height = Height(self.height + (number // 2) % 2)
        view, digest = View(self.view), Digest(os.urandom(32))
        if number % 2:
            return self.sign(Commit(view, height, digest, int(time.time() * 1000)))
        return self.sign(Prepare(view, height, digest))

    def view_change(self, block_bytes: int) -> bytes:
        # Each one asks for a newer view, so none is dropped as a repeat; the prepared
        # certificate (our own pre-prepare, no prepares) is invalid, hence evidence.
        self.next_view_change = max(self.next_view_change, self.view) + 1
        new_view, height = View(self.next_view_change), Height(self.height)
        proposal = PrePrepare(View(new_view - 1), height, Digest(os.urandom(32)),
                              os.urandom(block_bytes))
        signed = sign_message(self.chain, self.me, proposal, self.keys.sign_raw)
        return self.sign(ViewChange(new_view, height, PreparedCertificate(signed, ())))

    def send(self, payload: bytes, what: str) -> None:
        for key in self.peers.connected():
            if self.peers.send(key, CH_CONSENSUS, payload):
                self.sent[what] += 1
            else:
                self.sent["dropped"] += 1

    async def refresh_status(self) -> None:
        status, body = await asyncio.to_thread(http_json, self.status_url, None, 2.0)
        if status == 200 and isinstance(body, dict):
            self.height = int(body["height"]) + 1
            self.view = int(body.get("consensus", {}).get("view", self.view))

    async def run(self, seconds: float, votes_per_s: float, view_changes_per_s: float,
                  block_bytes: int) -> None:
        await self.peers.start()
        started = time.monotonic()
        until = started + seconds
        next_status = 0.0
        votes = changes = 0
        try:
            while (now := time.monotonic()) < until and votes + changes < MAX_MESSAGES:
                if now >= next_status:
                    await self.refresh_status()
                    next_status = time.monotonic() + STATUS_EVERY_S
                # Paced by the clock, not by ticks: a slow loop sends more per round, but
                # never so many that the connections' writers cannot run in between.
                # View changes first: they are what fills the disks.
                if changes < view_changes_per_s * (now - started):
                    changes += 1
                    self.send(self.view_change(block_bytes), "view_changes")
                round_votes = 0
                while (votes < votes_per_s * (now - started) and round_votes < ROUND_VOTES_MAX
                       and time.monotonic() < until):
                    votes += 1
                    round_votes += 1
                    self.send(self.vote(votes), "votes")
                await asyncio.sleep(TICK_S)
        finally:
            await self.peers.close()


def _loopback(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    if not host.startswith("127."):
        raise SystemExit(f"byzantine: only loopback peers are allowed, got {address}")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--genesis", type=Path, required=True)
    parser.add_argument("--status", required=True, help="an honest node's /v1/status URL")
    parser.add_argument("--peer", action="append", required=True, type=_loopback)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--votes-per-s", type=float, default=500.0)
    parser.add_argument("--view-changes-per-s", type=float, default=5.0)
    parser.add_argument("--block-bytes", type=int, default=1024 * 1024)
    args = parser.parse_args(argv)
    if not args.status.startswith("http://127."):
        raise SystemExit("byzantine: the status URL must be on loopback")
    keys = load_key(args.key)
    genesis = load_genesis(args.genesis)
    spammer = Spammer(keys, genesis, {m.public_key for m in genesis.validators},
                      args.peer, args.status)
    asyncio.run(spammer.run(min(args.seconds, 600.0), args.votes_per_s,
                            args.view_changes_per_s, args.block_bytes))
    print(json.dumps(spammer.sent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
