"""How the engine applies what block sync fetched: each certified block in turn, through
the one commit path (`node.engine`), its answer's signatures checked ahead in parts
(`node.signature_checks.AnswerChecks`) while the blocks before them execute.

A block that does not decode, lacks a valid certificate or does not execute ends
the answer: the blocks before it stay committed, and the peer that sent it is
passed over (`BlockSync.failed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from consensus import BlockSynced, Digest, Event, Height, Replica
from ledger.blocks import Block, decode_block
from ledger.chain import Chain, Execution
from ledger.errors import MalformedInput
from node.channels import CH_SYNC_REQUEST
from node.engine_types import Outbox
from node.mempool import Mempool
from node.own_votes import OwnVotes
from node.signature_checks import AnswerChecks
from node.signature_workers import CheckSignatures
from node.sync import BlockSync
from node.validators import ValidatorSets

log = logging.getLogger("senim.engine")


class AppliesSyncedBlocks:
    """The sync inputs of `node.engine.Engine`."""

    chain: Chain
    sync: BlockSync
    mempool: Mempool
    validator_sets: ValidatorSets
    outbox: Outbox
    replica: Replica | None
    check_signatures: CheckSignatures
    _clock_ms: Callable[[], int]
    _connected: list[bytes]
    name_of: Callable[[bytes], str]
    _commit: Callable[..., None]
    _commit_times: Callable[[bytes, int, bytes], tuple[int, ...] | None]
    own_votes: OwnVotes
    _run: Callable[..., None]
    _validators_known: Callable[[], list[Event]]
    _follow_role: Callable[[], None]
    work_available: Callable[[], None]

    def sync_answer(self, peer_key: bytes, payload: bytes) -> None:
        items = self.sync.accept(peer_key, payload, self.chain.height)
        blocks: list[tuple[Block, bytes]] = []
        undecodable = False
        for data, cert in items:
            try:
                blocks.append((decode_block(data), cert))
            except MalformedInput as exc:
                log.warning("sync: bad block from %s: %s", self.name_of(peer_key), exc)
                undecodable = True
                break
        head = self.chain.height
        self._ask_ahead(peer_key, blocks, head)
        checks = AnswerChecks(blocks, head, self.chain, self.validator_sets,
                              self.check_signatures)
        try:
            for index, (block, cert) in enumerate(blocks):
                if not self._apply_certified(peer_key, block, cert, checks.verified(index)):
                    self.sync.failed(peer_key)
                    break
            else:
                if undecodable:
                    self.sync.failed(peer_key)
        finally:
            checks.close()
        self.sync.answer_applied(self._clock_ms(), peer_key)
        self._pump_sync()

    def _ask_ahead(self, peer_key: bytes, blocks: list[tuple[Block, bytes]], head: int) -> None:
        """Ask for the blocks after these before applying them, when they are the ones
        right after the head (the question leaves at the first commit)."""
        if blocks and all(block.header.height == head + 1 + index
                          for index, (block, _) in enumerate(blocks)):
            request = self.sync.ask_ahead(self._clock_ms(), peer_key, head + len(blocks) + 1)
            if request is not None:
                self.outbox.send(request.peer, CH_SYNC_REQUEST, request.payload)

    def _pump_sync(self) -> None:
        request = self.sync.next_request(self._clock_ms(), self.chain.height, self._connected)
        if request is not None:
            self.outbox.send(request.peer, CH_SYNC_REQUEST, request.payload)

    def _apply_certified(self, peer_key: bytes, block: Block, cert_bytes: bytes,
                         verified: Collection[bytes] = frozenset()) -> bool:
        """Check and commit one block fetched with its certificate; False if it is bad.
        `verified`: ids of its transactions whose signatures were checked ahead."""
        height = block.header.height
        if height <= self.chain.height:
            return True  # we have it already
        if height != self.chain.height + 1:
            return False
        certificate = self.validator_sets.certificate_for(cert_bytes, height, block.block_hash)
        if certificate is None:
            log.warning("sync: block %d from %s has no valid commit certificate; ignored",
                        height, self.name_of(peer_key))
            return False
        self.own_votes.check(certificate)
        try:
            execution: Execution = self.chain.validate(
                block, self.mempool.already_verified(block.transactions) | set(verified),
                commit_times=self._commit_times)
        except MalformedInput as exc:
            log.error("sync: certified block %d from %s does not execute here: %s", height,
                      self.name_of(peer_key), exc)
            return False
        # A fetched block needs no fsync of its own: it was certified by others and can
        # be fetched again, and the next synced write (a vote, a commit) flushes it.
        self._commit(execution, cert_bytes, {}, "sync", sync=False)
        log.info("sync: applied block %d from %s", height, self.name_of(peer_key))
        if self.replica is not None:
            self._run(BlockSynced(Height(height), Digest(block.block_hash), certificate),
                      *self._validators_known())
            self.work_available()
        else:
            self._follow_role()
        return True
