"""Block sync: serve committed blocks with their certificates, fetch and verify them.

A lagging or restarted validator, and every non-validating follower, catches up
by asking peers for blocks after its head. It trusts nothing it is sent: each
block must carry a commit certificate signed by a quorum of the genesis
validators, hash to the certified digest, extend our head and re-execute to the
state root in its header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from consensus import CommitCertificate
from ledger.blocks import Header, decode_block
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from node.network import CH_BLOCK, CH_SYNC_REQUEST, CH_SYNC_RESPONSE, Network
from node.service import NodeCore
from node.validators import ValidatorSet

log = logging.getLogger("senim.sync")
MAX_BLOCKS_PER_RESPONSE = 64
MAX_ROUNDS_PER_WAKE = 10_000
RECHECK_MAX = 2_000  # oldest pending transactions re-checked after each synced block
MAX_RESPONSE_BYTES = 3 * 1024 * 1024  # within the sync-response channel's limit
RESPONSE_TIMEOUT_S = 5.0

OnApplied = Callable[[int, bytes, CommitCertificate], None]


class BlockSync:
    def __init__(self, core: NodeCore, network: Network, validators: ValidatorSet,
                 on_applied: OnApplied | None = None) -> None:
        self.core = core
        self.network = network
        self.validators = validators
        self.on_applied = on_applied
        self.target_height = 0
        self._responses: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue(maxsize=16)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._preferred: bytes | None = None
        self._asked: bytes | None = None
        network.handlers[CH_SYNC_REQUEST] = self._serve
        network.handlers[CH_SYNC_RESPONSE] = self._on_response
        network.handlers[CH_BLOCK] = self._on_announced

    @property
    def behind(self) -> int:
        return max(0, self.target_height - self.core.chain.height)

    def request(self, target_height: int, preferred: bytes | None = None) -> None:
        """Ask the sync loop to fetch up to `target_height` (preferring one peer)."""
        if target_height > self.target_height:
            self.target_height = target_height
        self._preferred = preferred
        self._wake.set()

    # ---- serving -----------------------------------------------------------------------
    async def _serve(self, peer_key: bytes, payload: bytes) -> None:
        request = None
        with contextlib.suppress(MalformedInput):  # junk is refused just below
            request = decode(payload)
        if not (isinstance(request, list) and len(request) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63
                        for v in request)):
            log.warning("malformed sync request from %s", self.network.name_of(peer_key))
            return
        start, count = request
        blocks: list[list[bytes]] = []
        size = 0
        for height in range(max(1, start), max(1, start) + min(count, MAX_BLOCKS_PER_RESPONSE)):
            data = self.core.chain.get_block_bytes(height)
            cert = self.core.chain.get_certificate(height)
            if data is None or cert is None or (blocks and size + len(data) > MAX_RESPONSE_BYTES):
                break
            blocks.append([data, cert])
            size += len(data) + len(cert)
        self.network.peers.send(peer_key, CH_SYNC_RESPONSE,
                                encode([self.core.chain.height, blocks]))

    async def _on_response(self, peer_key: bytes, payload: bytes) -> None:
        if peer_key != self._asked or self._responses.full():
            return  # an answer to a question we did not put to this peer
        self._responses.put_nowait((peer_key, payload))

    # ---- fetching ----------------------------------------------------------------------
    async def run(self, poll_s: float | None = None) -> None:
        """Fetch whenever asked; followers also poll every `poll_s` seconds."""
        while True:
            if poll_s is None:
                await self._wake.wait()
            else:
                try:
                    await asyncio.wait_for(self._wake.wait(), poll_s)
                except TimeoutError:
                    self.target_height = max(self.target_height, self.core.chain.height + 1)
            self._wake.clear()
            rounds = 0
            while self.core.chain.height < self.target_height and rounds < MAX_ROUNDS_PER_WAKE:
                rounds += 1
                try:
                    progressed = await self._fetch_round()
                except Exception:  # a peer's bytes must never end our catch-up for good
                    log.exception("sync: round failed; will retry")
                    progressed = False
                if not progressed:
                    self._preferred = None  # whoever we leaned on did not help: ask others
                    break

    def _pick_peer(self) -> bytes | None:
        connected = self.network.peers.connected()
        if self._preferred in connected:
            return self._preferred
        validators = [k for k in connected if k in self.network.validator_keys]
        pool = validators or list(connected)
        if not pool:
            return None
        return sorted(pool)[int(time.monotonic() * 10) % len(pool)]

    async def _fetch_round(self) -> bool:
        peer = self._pick_peer()
        if peer is None:
            return False
        while not self._responses.empty():
            self._responses.get_nowait()
        start = self.core.chain.height + 1
        self._asked = peer
        self.network.peers.send(peer, CH_SYNC_REQUEST, encode([start, MAX_BLOCKS_PER_RESPONSE]))
        try:
            sender, payload = await asyncio.wait_for(self._responses.get(), RESPONSE_TIMEOUT_S)
        except TimeoutError:
            log.info("sync: no answer from %s", self.network.name_of(peer))
            return False
        finally:
            self._asked = None
        answer = None
        with contextlib.suppress(MalformedInput):
            answer = decode(payload)
        if not (isinstance(answer, list) and len(answer) == 2 and isinstance(answer[0], int)
                and isinstance(answer[1], list)):
            log.warning("malformed sync response from %s", self.network.name_of(sender))
            return False
        peer_height, blocks = answer
        self.target_height = max(self.target_height, min(peer_height, start + 100_000))
        if not blocks:
            self.target_height = min(self.target_height, self.core.chain.height)
            return False
        for item in blocks:
            if not await self.apply(sender, item):
                return False
        return True

    async def _on_announced(self, peer_key: bytes, payload: bytes) -> None:
        """A validator pushed a freshly committed block to us (followers)."""
        try:
            item = decode(payload)
        except MalformedInput:
            return
        height = self._certified_height(item)
        if height is None:
            log.warning("announced block from %s has no valid certificate; ignored",
                        self.network.name_of(peer_key))
        elif height == self.core.chain.height + 1 and not self._lock.locked():
            await self.apply(peer_key, item)
        elif height > self.core.chain.height + 1:
            self.request(height, peer_key)  # only a certified claim may steer our sync

    def _certified_height(self, item: Any) -> int | None:
        """The height of an announced [block, certificate], if a quorum certified it."""
        try:
            data, cert_bytes = item
            if not (isinstance(data, bytes) and isinstance(cert_bytes, bytes)):
                return None
            header = Header.from_array(decode(data)[0])
        except (MalformedInput, ValueError, TypeError, IndexError, KeyError):
            return None
        if self.validators.certificate_for(cert_bytes, header.height, header.block_hash) is None:
            return None
        return header.height

    async def apply(self, sender: bytes, item: Any) -> bool:
        """Verify one fetched block with its certificate and commit it."""
        async with self._lock:
            try:
                data, cert_bytes = item
                if not (isinstance(data, bytes) and isinstance(cert_bytes, bytes)):
                    raise MalformedInput("a synced item must be [block bytes, certificate bytes]")
                block = decode_block(data)
            except (MalformedInput, ValueError, TypeError) as exc:
                log.warning("sync: bad block from %s: %s", self.network.name_of(sender), exc)
                return False
            height = block.header.height
            if height <= self.core.chain.height:
                return True
            cert = self.validators.certificate_for(cert_bytes, height, block.block_hash)
            if cert is None:
                log.warning("sync: block %d from %s has no valid commit certificate; ignored",
                            height, self.network.name_of(sender))
                return False
            started = time.monotonic()
            verified = self.core.mempool.already_verified(block.transactions)
            try:
                execution = await self.core.in_worker(self.core.chain.validate, block, verified)
            except MalformedInput as exc:
                if height <= self.core.chain.height:
                    return True  # consensus committed it meanwhile
                log.error("sync: certified block %d does not execute here: %s", height, exc)
                return False
            if not await self.core.in_worker(self.core.chain.commit, execution, cert_bytes):
                return True
            self.core.after_commit(execution, started)
            self.core.drop_expired()
            if self.on_applied is None:  # followers never build blocks: re-check here
                refused = await self.core.in_worker(self.core.recheck_pending, RECHECK_MAX)
                self.core.refuse_pending(refused)
            log.info("sync: applied block %d from %s", height, self.network.name_of(sender))
            if self.on_applied is not None:
                self.on_applied(height, block.block_hash, cert)
            return True
