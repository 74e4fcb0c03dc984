"""How the engine applies what block sync fetched: each certified block in turn, through
the one commit path (`node.engine`), its answer's signatures checked ahead in parts
(`node.signature_checks.AnswerChecks`) while the blocks before them execute, and the
next answer's, if it already waits in the inbox, while this one's last blocks execute
and commit (`AppliesSyncedBlocks._prepare_next`).

A block that does not decode, lacks a valid certificate or does not execute ends
the answer: the blocks before it stay committed, and the peer that sent it is
passed over (`BlockSync.failed`).

A run's blocks are committed only once a quorum's signatures vouch for each of them,
though only one certificate's signatures are checked: the run's last block's, in full.
Each block before it is stored with the last commit the next block carries, which that
block's header commits to, rather than with the certificate served with it
(`_join_run`). This holds because an honest validator signs the commit of a block only
on top of its own committed parent, having checked the block's last commit. So the
honest signers (a quorum holds at least f + 1) of the run's last block vouch, through
the headers' hashes, for every block and last commit before it. The set that checks
the last certificate is the committed state's: a run ends before a set takes effect
(`ledger.chain_run.ChainRun.ended`), so one set certifies all its blocks. A run whose
last certificate is bad is applied again block by block, each certificate checked in
full. Transactions' signatures and state roots are checked in every block as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

from consensus import BlockSynced, CommitCertificate, Digest, Event, Height, Replica
from ledger.blocks import Block, decode_block
from ledger.chain import Chain
from ledger.chain_run import ChainRun, Execution
from ledger.errors import MalformedInput
from node.channels import CH_SYNC_REQUEST
from node.engine_types import EngineConfig, Outbox
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


# A block that joined a run: its certificate's bytes and, once known, the certificate.
_Joined = tuple[Block, bytes, frozenset[bytes], CommitCertificate | None]


def _decode_blocks(items: list[SyncedItem]) -> tuple[list[tuple[Block, bytes]], str | None]:
    """An answer's blocks, up to one that does not decode, and why that one does not."""
    blocks: list[tuple[Block, bytes]] = []
    for data, cert in items:
        try:
            blocks.append((decode_block(data), cert))
        except MalformedInput as exc:
            return blocks, str(exc)
    return blocks, None


class AppliesSyncedBlocks:
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

    def sync_answer(self, peer_key: bytes, payload: bytes) -> None:
        taken_ms = self._clock_ms()
        head = self.chain.height
        prepared, self._prepared = self._prepared, None
        items = self.sync.accept(peer_key, payload, head)
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
                                  self.check_signatures)
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
                              self.check_signatures, ANSWER_PREPARED_PART_CHECKS)
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

    def _apply_in_runs(self, peer_key: bytes, blocks: list[tuple[Block, bytes]],
                       checks: AnswerChecks, first_alone: bool) -> bool:
        """Apply an answer's blocks in runs (`ledger.chain_run.ChainRun`), each committed in
        one batch; False if a block is bad. A block that fails to join a run is judged
        alone after the blocks before it are committed, which says why it is bad,
        exactly as if there had been no run; a run whose commit fails is applied again
        block by block.

        `first_alone`: a question was asked ahead, and frames leave at a commit (the
        engine thread's outbox), so the first block is committed alone: the next answer
        is then fetched while the rest of this one executes."""
        index = 0
        looked_ahead = False  # whether the next answer was looked for (`_prepare_next`)
        while index < len(blocks):
            run = self.chain.start_run()
            # Each with the certificate it is stored with, once known: the last commit the
            # next block carries (`_join_run`), or for the last, its own (`_commit_joined`).
            joined: list[_Joined] = []
            failed: tuple[Block, bytes, frozenset[bytes]] | None = None
            while index < len(blocks) and not run.ended and not (first_alone and joined):
                block, cert = blocks[index]
                if joined and block.header.height + 1 in run.change_heights:
                    # A block after which a set takes effect is a run of its own: a replica
                    # must hear of a set (ValidatorsKnown) just before the height it takes
                    # effect, and the sets that check its messages (`_follow_sets`) must
                    # be those of its height and the next.
                    break
                if joined and run.height % self.config.snapshot_interval_blocks == 0:
                    # Joining nodes ask for the state of the heights every node snapshots
                    # (`node.state_serve`): the store must stand at one for it to be taken.
                    break
                verified = checks.verified(index)
                if not looked_ahead and checks.all_back(index):
                    looked_ahead = True
                    self._prepare_next(blocks[-1][0].header.height)
                checked_ahead = checks.checks_certificate(index)
                index += 1
                if block.header.height <= run.height:
                    continue  # we have it already
                if checked_ahead and not self.validator_sets.certifies(
                        cert, block.header.height, block.block_hash):
                    # Checked ahead and bad (a good one is remembered): refused before it
                    # executes, so that the blocks before it are committed without it.
                    failed = (block, cert, verified)
                    break
                carried = self._join_run(run, block, verified, bool(joined))
                if carried is None:
                    failed = (block, cert, verified)
                    break
                if carried:  # the block before is stored with the last commit this carries
                    before, _, before_verified, _ = joined[-1]
                    joined[-1] = (before, block.last_commit, before_verified, carried[0])
                joined.append((block, cert, verified, None))
            if not joined and failed is None:
                continue
            # The blocks that joined are committed as a run of their own even when the
            # next one failed (a block that does not follow is refused before it touches
            # the run's state), so that a peer's bad block does not cost the good ones
            # before it a second execution. Only if the last one's certificate is bad, or
            # the failed block's execution had changed the run's state (a certified block
            # that does not execute here), is the commit refused, and they are applied
            # again singly, each certificate checked in full.
            if joined and not self._commit_joined(peer_key, run, joined):
                if not self._apply_one_by_one(peer_key, joined, failed):
                    return False
            elif failed is not None and not self._apply_certified(peer_key, *failed):
                return False  # judged alone, as if there had been no run: it says why
            first_alone = False  # the answer goes on after them, as with no run
        return True

    def _commit_joined(self, peer_key: bytes, run: ChainRun, joined: list[_Joined]) -> bool:
        """Commit the blocks that joined `run` in one batch; False, nothing written, if
        a quorum's signatures do not vouch for them or the run's state is not its last
        block's."""
        last, cert, verified, _ = joined[-1]
        certificate = self.validator_sets.certificate_for(cert, last.header.height,
                                                          last.block_hash)
        if certificate is None:  # it vouches for the run (module docstring)
            return False
        joined[-1] = (last, cert, verified, certificate)
        certified: list[tuple[Block, CommitCertificate]] = []
        for block, _, _, known in joined:
            assert known is not None, "each block before the last took the next one's last commit"
            certified.append((block, known))
        try:
            self._commit_run([(execution, cert) for execution, (_, cert, _, _)
                              in zip(run.executions, joined, strict=True)],
                             {}, "sync", sync=False)
        except MalformedInput:
            return False
        for _, certificate in certified:
            self.own_votes.check(certificate)  # after the commit: the fallback checks too
        self._after_synced(peer_key, certified)
        return True

    def _join_run(self, run: ChainRun, block: Block, verified: frozenset[bytes],
                  after_run_block: bool) -> list[CommitCertificate] | None:
        """Execute a block on `run`; None, and the run unusable, if it is bad. Else, if
        `after_run_block` (the block before it joined the run too), the last commit it
        carries, its signatures left to the run's last certificate (module docstring).
        The block's own certificate is checked only if it ends the run
        (`_commit_joined`): any other is replaced by the next block's last commit."""
        if block.header.height != run.height + 1:
            return None
        carried: list[CommitCertificate] = []

        def commit_times(data: bytes, at_height: int, at_hash: bytes) -> tuple[int, ...] | None:
            if not after_run_block:
                return self._commit_times(data, at_height, at_hash)
            last_commit = self.validator_sets.at(at_height).certificate_before_signatures(
                data, at_height, at_hash)
            carried.extend([last_commit] if last_commit is not None else [])
            return None if last_commit is None else last_commit.vote_times

        try:
            self.chain.validate(block, self.mempool.already_verified(block.transactions)
                                | verified, commit_times=commit_times, run=run)
        except MalformedInput:
            return None
        if after_run_block and len(carried) != 1:
            # Never so (its parent, in the run, is no genesis), but were it so, the block
            # before would be stored with a certificate nobody read.
            return None
        return carried

    def _apply_one_by_one(self, peer_key: bytes, joined: list[_Joined],
                          failed: tuple[Block, bytes, frozenset[bytes]] | None) -> bool:
        """A run failed: its blocks, and the one that failed to join it, applied singly."""
        singly = [(block, cert, verified) for block, cert, verified, _ in joined]
        for block, cert, verified in singly + ([failed] if failed is not None else []):
            if not self._apply_certified(peer_key, block, cert, verified):
                return False
        return True

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
