"""How the engine applies a sync answer's certified blocks in runs
(`ledger.chain_run.ChainRun`), each executed in turn on one overlay and committed in
one batch (`AppliesRuns`; the answer around them: node.engine_sync).

A run's blocks are committed only once a quorum's signatures vouch for each of them,
though the signatures of only one certificate are checked: the run's last block's.
Each block before it is stored with the last commit the next block carries, which that
block's header commits to, rather than with the certificate served with it; and only
the last block's state root is checked (`Chain.commit_run`). This holds because an
honest validator signs the commit of a block only on top of its own committed parent,
having executed the block, checked its state root and checked its last commit in full
(`Chain.validate`). So the honest signers of the run's last block (a quorum holds at
least f + 1) vouch, through the headers' hashes, for every block, state root and last
commit before it. The set that checks the last certificate is the committed state's:
a run ends before a set takes effect (`ChainRun.ended`), so one set certifies all its
blocks. Transactions' signatures are checked in every block, as alone.

What a peer can make of it: a certificate served with a block inside a run is never
read (but for the first block above the head, checked ahead as one that may be
committed alone), so a forged one there costs nothing and is not held against the
peer. A bad certificate where a run ends is refused before its block executes when it
was checked ahead (`node.signature_checks.AnswerChecks` checks those of the blocks
where runs are foreseen to end). Where a run ends unforeseen (the next block is bad,
or repeats one), or a block that does not execute leaves the run's state changed, the
blocks that joined the run were executed, and a bad certificate there (the last
block's, or the bad block's own) means none is committed and the peer is passed over:
a lying peer costs at most one answer's execution (up to 63 blocks), once, where
checking every certificate ahead cost it one block's.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from consensus import CommitCertificate
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.chain_run import ChainRun
from ledger.errors import MalformedInput
from ledger.validator_sets import set_change_heights
from node.engine_types import EngineConfig
from node.mempool import Mempool
from node.own_votes import OwnVotes
from node.signature_checks import AnswerChecks
from node.validators import ValidatorSets

log = logging.getLogger("senim.engine")

@dataclass(frozen=True)
class SyncedBlock:
    """A block fetched with the certificate served with it."""

    block: Block
    served: bytes
    verified: frozenset[bytes]  # ids of its transactions whose signatures were checked ahead


@dataclass
class _Joined:
    """A block that joined a run."""

    block: Block
    verified: frozenset[bytes]
    # What it is stored with: the last commit the next block in the run carries, once one
    # joins, else the certificate served with it; `certificate` is that, decoded, once it
    # is known (for the run's last block, once checked in full as the run commits).
    stored: bytes
    certificate: CommitCertificate | None = None


class _RunCommit(enum.Enum):
    COMMITTED = enum.auto()
    UNCERTIFIED = enum.auto()  # the last block's certificate is bad: nothing written
    STATE_DIFFERS = enum.auto()  # the state is not the last header's: nothing written


class AppliesRuns:
    """The run part of `node.engine_sync.AppliesSyncedBlocks`."""

    chain: Chain
    mempool: Mempool
    validator_sets: ValidatorSets
    config: EngineConfig
    own_votes: OwnVotes
    name_of: Callable[[bytes], str]
    _commit_run: Callable[..., None]
    _commit_times: Callable[[bytes, int, bytes], tuple[int, ...] | None]
    _prepare_next: Callable[[int], None]
    _after_synced: Callable[[bytes, list[tuple[Block, CommitCertificate]]], None]
    _apply_certified: Callable[..., bool]

    def _foreseen_run_end(self) -> Callable[[int], bool]:
        """Whether a run ends at a height, as far as the committed state foresees
        (`_apply_in_runs`, `ChainRun.ended`): at a snapshot's height, and at the two
        before a set takes effect (the block after which it takes effect is a run of its
        own). AnswerChecks checks the certificates of those blocks ahead."""
        change_heights = frozenset(set_change_heights(self.chain.state))
        interval = self.config.snapshot_interval_blocks
        return lambda height: (height % interval == 0 or height + 1 in change_heights
                               or height + 2 in change_heights)

    def _apply_in_runs(self, peer_key: bytes, blocks: list[tuple[Block, bytes]],
                       checks: AnswerChecks, first_alone: bool) -> bool:
        """Apply an answer's blocks in runs, each committed in one batch; False if a block
        is bad. A block that fails to join a run is judged alone after the blocks before
        it are committed, which says why it is bad, exactly as if there had been no run.
        A run whose last certificate is bad, or whose state a block with no valid
        certificate changed before it was refused, is not committed at all (module
        docstring); a run whose state is otherwise not its last header's is applied
        again block by block, which says which block it is.

        `first_alone`: a question was asked ahead, and frames leave at a commit (the
        engine thread's outbox), so the first block is committed alone: the next answer
        is then fetched while the rest of this one executes."""
        index = 0
        looked_ahead = False  # whether the next answer was looked for (`_prepare_next`)
        while index < len(blocks):
            run = self.chain.start_run()
            joined: list[_Joined] = []
            failed: SyncedBlock | None = None
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
                checked_ahead = checks.certificate_checked_ahead(index)
                index += 1
                if block.header.height <= run.height:
                    continue  # we have it already
                if not self._join_run(run, joined, block, cert, verified, checked_ahead):
                    failed = SyncedBlock(block, cert, verified)
                    break
            if not joined and failed is None:
                continue
            # The blocks that joined are committed as a run of their own even when the
            # next one failed (it is refused before it touches the run's state, or else
            # the state differs below), so that a peer's bad block does not cost the
            # good ones before it a second execution.
            if joined:
                outcome = self._commit_joined(peer_key, run, joined)
                uncertified = joined[-1].block
                if outcome is _RunCommit.STATE_DIFFERS and failed is not None and (
                        not self.validator_sets.certifies(failed.served,
                                                          failed.block.header.height,
                                                          failed.block.block_hash)):
                    # The block that did not execute left the run's state changed, and
                    # is not certified: a peer's forgery, not a block this node differs on.
                    outcome, uncertified = _RunCommit.UNCERTIFIED, failed.block
                if outcome is _RunCommit.UNCERTIFIED:
                    log.warning("sync: block %d from %s has no valid commit certificate; "
                                "blocks %d-%d, executed with it, are ignored",
                                uncertified.header.height, self.name_of(peer_key),
                                joined[0].block.header.height, uncertified.header.height)
                    return False
                if outcome is _RunCommit.STATE_DIFFERS:
                    if not self._apply_one_by_one(peer_key, joined, failed):
                        return False
                    failed = None  # applied with them
            if failed is not None and not self._apply_certified(
                    peer_key, failed.block, failed.served, failed.verified):
                return False  # judged alone, as if there had been no run: it says why
            first_alone = False  # the answer goes on after them, as with no run
        return True

    def _join_run(self, run: ChainRun, joined: list[_Joined], block: Block, cert: bytes,
                  verified: frozenset[bytes], checked_ahead: bool) -> bool:
        """Execute a block on `run` and add it to `joined`; False, and the run unusable,
        if it is bad. Its last commit, if the block before it is in the run, is checked
        but for its signatures, left to the run's last certificate (module docstring),
        and the block before is stored with it."""
        height = block.header.height
        if height != run.height + 1:
            return False
        if checked_ahead and not self.validator_sets.certifies(cert, height, block.block_hash):
            return False  # checked ahead and bad (a good one is remembered): not executed
        before = joined[-1] if joined else None
        last_commit = None
        if before is not None:
            last_commit = self.validator_sets.at(run.height).unverified_quorum_certificate(
                block.last_commit, run.height, before.block.block_hash)
            if last_commit is None:
                return False

        def commit_times(data: bytes, at_height: int, at_hash: bytes) -> tuple[int, ...] | None:
            if last_commit is None:  # the head's certificate: checked in full
                return self._commit_times(data, at_height, at_hash)
            return last_commit.vote_times if data == block.last_commit else None

        try:
            self.chain.validate(block, self.mempool.already_verified(block.transactions)
                                | verified, commit_times=commit_times, run=run)
        except MalformedInput:
            return False
        if before is not None:
            before.stored, before.certificate = block.last_commit, last_commit
        joined.append(_Joined(block, verified, cert))
        return True

    def _commit_joined(self, peer_key: bytes, run: ChainRun, joined: list[_Joined]
                       ) -> _RunCommit:
        """Commit the blocks that joined `run` in one batch, once the last one's
        certificate vouches for them."""
        last = joined[-1]
        last.certificate = self.validator_sets.certificate_for(
            last.stored, last.block.header.height, last.block.block_hash)
        if last.certificate is None:
            return _RunCommit.UNCERTIFIED
        certified: list[tuple[Block, CommitCertificate]] = []
        for each in joined:
            assert each.certificate is not None, "each before the last took the next's last commit"
            certified.append((each.block, each.certificate))
        try:
            self._commit_run([(execution, each.stored) for execution, each
                              in zip(run.executions, joined, strict=True)],
                             {}, "sync", sync=False)
        except MalformedInput:
            return _RunCommit.STATE_DIFFERS
        for _, certificate in certified:
            self.own_votes.check(certificate)  # after the commit: the fallback checks too
        self._after_synced(peer_key, certified)
        return _RunCommit.COMMITTED

    def _apply_one_by_one(self, peer_key: bytes, joined: list[_Joined],
                          failed: SyncedBlock | None) -> bool:
        """A run's state is not its last header's: its blocks, and the one that failed to
        join it, applied singly, each certificate checked in full."""
        singly = [SyncedBlock(each.block, each.stored, each.verified) for each in joined]
        for synced in singly + ([failed] if failed is not None else []):
            if not self._apply_certified(peer_key, synced.block, synced.served,
                                         synced.verified):
                return False
        return True
