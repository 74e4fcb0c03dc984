"""How the engine applies what block sync fetched: each certified block in turn, through
the one commit path (`node.engine`), its answer's signatures checked ahead in parts
(`node.signature_checks.AnswerChecks`) while the blocks before them execute, and the
next answer's, if it already waits in the inbox, while this one's last blocks execute
and commit (`AppliesSyncedBlocks._prepare_next`).

The answer's blocks are applied in runs, each committed once a quorum's certificate of
its last block vouches for it (node.engine_runs). A block that does not decode or does
not execute, or a certificate that does not vouch for its run, ends the answer: the
runs before it stay committed, and the peer that sent it is passed over
(`BlockSync.failed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

from consensus import (
    BlockSynced,
    CommitCertificate,
    Digest,
    Event,
    Height,
    Replica,
    ValidatorId,
)
from ledger.blocks import BLOCK_ARRAYS, MAX_BLOCK_TXS, Block, Header, decode_block
from ledger.chain import Chain
from ledger.chain_run import Execution
from ledger.codec import decode
from ledger.errors import MalformedInput
from node.channels import CH_SYNC_REQUEST
from node.engine_runs import AppliesRuns
from node.engine_types import EngineConfig, Outbox
from node.fault_log import FaultLog
from node.mempool import Mempool
from node.own_votes import OwnVotes
from node.signature_checks import ANSWER_PREPARED_PART_CHECKS, AnswerChecks
from node.signature_workers import CheckSignatures
from node.sync import BlockSync, SyncedItem, first_height, read_answer
from node.validators import ValidatorSets

log = logging.getLogger("senim.engine")


@dataclass
class PreparedAnswer:
    """An answer waiting in the inbox whose signatures went to the workers before its
    turn (`AppliesSyncedBlocks._prepare_next`)."""

    peer_key: bytes
    payload: bytes
    head: int  # the head its checks were taken for: its blocks start after it
    blocks: list[tuple[Block, bytes]]
    bad_block: str | None  # why the block after `blocks` does not decode, if one does not
    checks: AnswerChecks


def _decode_blocks(items: list[SyncedItem]) -> tuple[list[tuple[Block, bytes]], str | None]:
    """An answer's blocks, up to one that does not decode, and why that one does not."""
    blocks: list[tuple[Block, bytes]] = []
    for data, cert in items:
        try:
            blocks.append((decode_block(data), cert))
        except MalformedInput as exc:
            return blocks, str(exc)
    return blocks, None


class AppliesSyncedBlocks(AppliesRuns):
    """The sync inputs of `node.engine.Engine`."""

    chain: Chain
    sync: BlockSync
    mempool: Mempool
    validator_sets: ValidatorSets
    outbox: Outbox
    config: EngineConfig
    replica: Replica | None
    check_signatures: CheckSignatures
    _clock_ms: Callable[[], int]
    _connected: list[bytes]
    name_of: Callable[[bytes], str]
    _commit: Callable[..., None]
    _commit_run: Callable[..., None]
    _commit_times: Callable[[bytes, int, bytes], tuple[int, ...] | None]
    own_votes: OwnVotes
    _run: Callable[..., None]
    _validators_known: Callable[[], list[Event]]
    _follow_role: Callable[[], None]
    work_available: Callable[[], None]
    # A sync answer waiting in the inbox, if any (wired by the daemon), and the one whose
    # signatures went to the workers before its turn.
    next_sync_answer: Callable[[], tuple[bytes, bytes] | None]
    _prepared: PreparedAnswer | None
    _validator_keys: dict[bytes, ValidatorId]
    _peer_fault: FaultLog

    def block_announced(self, peer_key: bytes, payload: bytes) -> None:
        """A validator pushed a block it just committed (followers hear these). Anyone
        else's is dropped unread: decoding a 2 MiB frame of empty arrays held this
        thread, and so consensus, for a second a frame."""
        if peer_key not in self._validator_keys:
            return
        try:
            data, cert = decode(payload, max_arrays=1, max_items=2)
            if not (isinstance(data, bytes) and isinstance(cert, bytes)):
                raise MalformedInput("an announcement is [block, certificate] as bytes")
            header = Header.from_array(
                decode(data, max_arrays=BLOCK_ARRAYS, max_items=MAX_BLOCK_TXS)[0])
        except (MalformedInput, ValueError, TypeError, IndexError, KeyError):
            self._peer_fault(peer_key, "malformed announced block from %s")
            return
        if self.validator_sets.certificate_for(cert, header.height, header.block_hash) is None:
            self._peer_fault(peer_key, "announced block from %s has no valid certificate; "
                             "ignored")
        elif header.height == self.chain.height + 1:
            try:
                block = decode_block(data)
            except MalformedInput as exc:
                self._peer_fault(peer_key, "bad announced block from %s: %s", exc)
            else:
                self._apply_certified(peer_key, block, cert)
        elif header.height > self.chain.height + 1:
            self.sync.want(header.height, peer_key)  # only certified claims steer sync
        self._pump_sync()

    def sync_answer(self, peer_key: bytes, payload: bytes) -> None:
        taken_ms = self._clock_ms()
        head = self.chain.height
        prepared, self._prepared = self._prepared, None
        items = self.sync.accept(peer_key, payload, head, taken_ms)
        if (prepared is not None and items and prepared.peer_key == peer_key
                and prepared.head == head and prepared.payload == payload):
            blocks, bad_block, checks = prepared.blocks, prepared.bad_block, prepared.checks
        else:
            if prepared is not None:
                prepared.checks.close()  # not this answer's, or taken at another head
            blocks, bad_block = _decode_blocks(items)
            checks = None
        if bad_block is not None:
            log.warning("sync: bad block from %s: %s", self.name_of(peer_key), bad_block)
        in_turn = self._in_turn(blocks, items, head)
        # Only an answer starting right after the head may back a height beyond it
        # (`BlockSync.backed`): blocks this node committed since it asked, handed back
        # late, are what a relay no further than this node can hand over too.
        fresh = in_turn and blocks[0][0].header.height == head + 1
        asked = in_turn and self._ask_ahead(peer_key, blocks, head)
        if checks is None:
            checks = AnswerChecks(blocks, head, self.chain, self.validator_sets,
                                  self.check_signatures, run_ends=self._foreseen_run_end())
        undecodable = bad_block is not None
        try:
            if (not self._apply_in_runs(peer_key, blocks, checks, asked) or undecodable
                    or (items and self.chain.height == head and not in_turn)):
                # A bad block, or blocks that brought nothing beyond the head and are not
                # the ones asked for: whatever height the peer claimed, its answer did
                # not back it (`BlockSync.shown`).
                self.sync.failed(peer_key)
            elif items:
                self.sync.backed(peer_key, self.chain.height, items, fresh)
        finally:
            checks.close()
        # Only blocks applied hold the other open question's answer up for long (and
        # only certified blocks this node lacked: nothing a peer can send at will).
        applied_ms = self._clock_ms()
        self.sync.answer_applied(applied_ms, peer_key,
                                 applied_ms - taken_ms if self.chain.height > head else 0)
        self._pump_sync()

    def ask_height(self, peer_key: bytes) -> None:
        """Put the next block-sync question to this peer, whose answer shows its height
        (node.network judges the signatures it relayed by it)."""
        self.sync.ask_height(peer_key)
        self._pump_sync()

    def _prepare_next(self, then_head: int) -> None:
        """Hand the signatures of the answer waiting next in the inbox (the one asked
        ahead, normally) to the workers now that this answer's are back, so that they
        are checked while this answer's last blocks execute and commit, when the
        workers would otherwise stand idle. `then_head`: the height this answer
        brings the head to, from which the next must start.

        Only a shortcut (`node.signature_checks`): an answer taken at another head than
        `then_head` is checked again, and keys read now that rotate before its blocks
        execute are checked again by the ledger."""
        waiting = self.next_sync_answer()
        if waiting is None:
            return
        peer_key, payload = waiting
        answer = read_answer(payload)
        if answer is None or first_height(answer[1]) != then_head + 1:
            return
        blocks, bad_block = _decode_blocks(answer[1])
        checks = AnswerChecks(blocks, then_head, self.chain, self.validator_sets,
                              self.check_signatures, ANSWER_PREPARED_PART_CHECKS,
                              run_ends=self._foreseen_run_end())
        self._prepared = PreparedAnswer(peer_key, payload, then_head, blocks, bad_block, checks)

    def _in_turn(self, blocks: list[tuple[Block, bytes]], items: list[SyncedItem],
                 head: int) -> bool:
        """Whether these are the blocks from the height asked for (`BlockSync.accept` took
        the answer because the first is at it) to the head and beyond, in turn: those the
        head has reached since the question was asked (another answer, or consensus,
        brought it there) the very blocks committed here. Such an answer is no failure of
        the peer's, though it backs no height beyond the head unless it starts right
        after it."""
        if not blocks or blocks[0][0].header.height > head + 1:
            return False
        first = blocks[0][0].header.height
        return all(block.header.height == first + index
                   and (block.header.height > head
                        or self.chain.get_block_bytes(block.header.height) == data)
                   for index, ((block, _), (data, _))  # blocks end before an undecodable one
                   in enumerate(zip(blocks, items, strict=False)))

    def _ask_ahead(self, peer_key: bytes, blocks: list[tuple[Block, bytes]], head: int) -> bool:
        """Ask for the blocks after these and the head (`_in_turn`: they are in turn) before
        applying them (the question leaves at the first commit); whether asked."""
        next_height = max(blocks[-1][0].header.height, head) + 1
        request = self.sync.ask_ahead(self._clock_ms(), peer_key, next_height)
        if request is not None:
            self.outbox.send(request.peer, CH_SYNC_REQUEST, request.payload)
            return True
        return False

    def _pump_sync(self) -> None:
        request = self.sync.next_request(self._clock_ms(), self.chain.height, self._connected)
        if request is not None:
            self.outbox.send(request.peer, CH_SYNC_REQUEST, request.payload)

    def _after_synced(self, peer_key: bytes,
                      blocks: list[tuple[Block, CommitCertificate]]) -> None:
        first, last = blocks[0][0].header.height, blocks[-1][0].header.height
        log.info("sync: applied block%s from %s", f" {last}" if first == last
                 else f"s {first}-{last}", self.name_of(peer_key))
        if self.replica is not None:
            # The replica moves to the height after the last; the blocks before it, in
            # one batch with it, are nothing the replica must hear of one by one.
            block, certificate = blocks[-1]
            self._run(BlockSynced(Height(block.header.height), Digest(block.block_hash),
                                  certificate), *self._validators_known())
            self.work_available()
        else:
            self._follow_role()

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
        self._after_synced(peer_key, [(block, certificate)])
        return True
