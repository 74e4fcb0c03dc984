"""The signatures of a sync answer, and of a proposal's transactions the mempool did
not hold, checked ahead in batches (node.signature_workers) before they execute.

An answer's checks are handed over in parts, a few ahead of the blocks being
applied (`AnswerChecks`), so that in the daemon the workers check the next blocks'
signatures while the engine executes these; the next answer's first parts go out
while this one's last blocks execute and commit, if it is already waiting
(node.engine_sync).

What is checked ahead is only a shortcut. A transaction counts as checked only
when its sender's key at the head never rotated (the ledger checks again any
sender that ever rotated); a certificate is remembered as good only by the
validator set that checked it, which a set change within the answer replaces. Of
an answer's certificates only those a run needs checked in full are checked
(node.engine_runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from consensus import CommitCertificate
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.rules import load_member
from ledger.transactions import Transaction
from node.signature_workers import WORKER_BATCH_MIN, CheckSignatures, PendingChecks
from node.validators import SignatureCheck, ValidatorSet, ValidatorSets

# An answer's checks go out in parts of about this many (a few blocks' worth), at most
# ANSWER_PARTS_AHEAD at a time: as many as there are workers to check them. The engine
# waits for an answer's first part before its first block executes, so the first parts
# are smaller (as small as a worker takes): the wait is shorter, and the next parts are
# checked while their blocks execute.
ANSWER_PART_CHECKS = 64
ANSWER_FIRST_PART_CHECKS = WORKER_BATCH_MIN
ANSWER_PARTS_AHEAD = 2
# The first parts of an answer handed over while the answer before it commits
# (node.engine_sync): nobody waits for them yet, so they are as large as the workers
# can check while the engine finishes the answer before and takes this one up (its
# last blocks, its commit, this answer's decoding: 6-12 ms in the catch-up bench).
ANSWER_PREPARED_PART_CHECKS = 128

# A sender's key at the head, or None where its signature is checked at execution.
_SenderKeys = dict[bytes, bytes | None]


class AnswerChecks:
    """The signatures of a sync answer's blocks, handed over in parts,
    ANSWER_PARTS_AHEAD of them ahead of the block being applied; `close` when the
    answer is done with, so that no part stays out.

    Each sender's key is read at the head before any of the answer's blocks applies (for
    an answer prepared ahead, `node.engine_sync`, before the answer before it commits
    its last blocks). Blocks at or below `head` are not checked.

    Of the certificates, only those a run checks in full (node.engine_runs) are
    checked here: the one served with each block where a run may end (the first above
    the head, which may be committed alone; the answer's last; and those `run_ends`
    foresees), and the last commit of the block after each, where a run starts, unless
    it is that same certificate (the node that served the answer may have collected
    other votes for that block than the proposer who put them in the next one). A run
    that starts or ends where none was foreseen checks those on the engine's thread."""

    def __init__(self, blocks: Sequence[tuple[Block, bytes]], head: int, chain: Chain,
                 sets: ValidatorSets, check: CheckSignatures,
                 first_part_checks: int | None = None, *,
                 run_ends: Callable[[int], bool]) -> None:
        """`first_part_checks`: how many checks the first ANSWER_PARTS_AHEAD parts hold
        (ANSWER_FIRST_PART_CHECKS unless said); `run_ends`: whether a run ends at a
        height, as far as the committed state foresees."""
        first_part_checks = first_part_checks or ANSWER_FIRST_PART_CHECKS
        self._check = check
        self._part_of: list[int] = []  # for each block, the part holding its checks
        self._parts: list[_AnswerPart] = [_AnswerPart()]
        self._checked_ahead: set[int] = set()  # blocks whose certificate is checked here
        keys: _SenderKeys = {}
        served_before = b""  # the certificate served with the block before
        starts_run = True
        for index, (block, certificate) in enumerate(blocks):
            if len(self._parts[-1].checks) >= (first_part_checks
                                               if len(self._parts) <= ANSWER_PARTS_AHEAD
                                               else ANSWER_PART_CHECKS):
                self._parts.append(_AnswerPart())
            height = block.header.height
            if height > head:
                part = self._parts[-1]
                if starts_run and block.last_commit and block.last_commit != served_before:
                    part.add_certificate(sets.at(height - 1), block.last_commit)
                if height == head + 1 or index == len(blocks) - 1 or run_ends(height):
                    self._checked_ahead.add(index)
                    part.add_certificate(sets.at(height), certificate)
                starts_run = index in self._checked_ahead
                part.add(len(self._part_of), block, chain, keys)
            self._part_of.append(len(self._parts) - 1)
            served_before = certificate
        for part in self._parts[:ANSWER_PARTS_AHEAD]:
            part.start(check)

    def certificate_checked_ahead(self, index: int) -> bool:
        """Whether the certificate served with block `index` is checked here, as one
        that may end a run."""
        return index in self._checked_ahead

    def verified(self, index: int) -> frozenset[bytes]:
        """Ids of block `index`'s transactions whose signature is good under the sender's
        key at the head; its part's good certificates are remembered first."""
        at = self._part_of[index]
        # Collected before the next part starts, which can then have the worker this one
        # frees: started first, it would find every worker leased and be checked here.
        good = self._parts[at].verified(index, self._check)
        if at + ANSWER_PARTS_AHEAD < len(self._parts):
            self._parts[at + ANSWER_PARTS_AHEAD].start(self._check)
        return good

    def all_back(self, index: int) -> bool:
        """Whether, once block `index`'s checks are `verified`, none of the answer's is
        still out: the workers are free for another answer's."""
        return self._part_of[index] == len(self._parts) - 1

    def close(self) -> None:
        """Collect every part started, so that no worker stays leased; if one raises, the
        parts after it are still collected, and the first error is raised after them."""
        first_error: Exception | None = None
        for part in self._parts:
            try:
                part.collect()
            except Exception as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error


class _AnswerPart:
    def __init__(self) -> None:
        self.checks: list[SignatureCheck] = []
        # Each certificate with the places of its votes' checks in `checks`.
        self._certificates: list[tuple[ValidatorSet, bytes, CommitCertificate,
                                       tuple[int, ...]]] = []
        # A vote in two certificates (a block's last commit and the certificate served
        # with the block before it, collected by other nodes) is checked once.
        self._votes: dict[SignatureCheck, int] = {}
        self._transactions: list[tuple[int, bytes, int]] = []  # block index, tx id, its check
        self._pending: PendingChecks | None = None
        self._answers: list[bool] | None = None
        self._good: dict[int, frozenset[bytes]] | None = None  # by block, once collected

    def add(self, index: int, block: Block, chain: Chain, keys: _SenderKeys) -> None:
        """Block `index`'s transactions."""
        for tx in block.transactions:
            tx_check = _transaction_check(tx, chain, keys)
            if tx_check is not None:
                self._transactions.append((index, tx.tx_id, len(self.checks)))
                self.checks.append(tx_check)

    def add_certificate(self, validators: ValidatorSet, certificate: bytes) -> None:
        """A certificate `validators` would check: remembered as good by them once its
        votes' signatures come back good."""
        found = validators.signature_checks(certificate)
        if found is not None:
            places: list[int] = []
            for vote in found[1]:
                place = self._votes.get(vote)
                if place is None:
                    place = self._votes[vote] = len(self.checks)
                    self.checks.append(vote)
                places.append(place)
            self._certificates.append((validators, certificate, found[0], tuple(places)))

    def start(self, check: CheckSignatures) -> None:
        if self._pending is None and self._answers is None:
            self._pending = check.start(self.checks)

    def collect(self) -> list[bool]:
        """The answers, once started (a part never started has none)."""
        if self._answers is None:
            # Taken before it is called: a started batch is collected once, even if that
            # raised (AnswerChecks.close, in a finally, collects every part again), and a
            # worker's child is then already given back or dropped, not to be dropped twice.
            pending, self._pending = self._pending, None
            self._answers = pending() if pending is not None else []
        return self._answers

    def verified(self, index: int, check: CheckSignatures) -> frozenset[bytes]:
        if self._good is None:
            self.start(check)
            answers = self.collect()
            for validators, data, cert, places in self._certificates:
                if all(answers[place] for place in places):
                    validators.remember_checked(data, cert)
            # An id does not cover the signature: a block holding one id twice, once
            # badly signed, gets no shortcut for that id.
            good: dict[int, set[bytes]] = {}
            bad: dict[int, set[bytes]] = {}
            for block_index, tx_id, at in self._transactions:
                (good if answers[at] else bad).setdefault(block_index, set()).add(tx_id)
            self._good = {block_index: frozenset(ids - bad.get(block_index, set()))
                          for block_index, ids in good.items()}
        return self._good.get(index, frozenset())


def transactions_checked_ahead(txs: Sequence[Transaction], chain: Chain,
                               check: CheckSignatures) -> frozenset[bytes]:
    """Ids of `txs` whose signature is good under the sender's key at the head, checked
    in one batch: a proposal's transactions this node had not admitted itself."""
    ids: list[bytes] = []
    checks: list[SignatureCheck] = []
    keys: _SenderKeys = {}
    for tx in txs:
        tx_check = _transaction_check(tx, chain, keys)
        if tx_check is not None:
            ids.append(tx.tx_id)
            checks.append(tx_check)
    answers = check(checks) if checks else []
    bad = {tx_id for tx_id, ok in zip(ids, answers, strict=True) if not ok}
    return frozenset(tx_id for tx_id, ok in zip(ids, answers, strict=True)
                     if ok and tx_id not in bad)  # one id twice, once badly signed: none


def _transaction_check(tx: Transaction, chain: Chain, keys: _SenderKeys
                       ) -> SignatureCheck | None:
    """What to check of `tx` ahead, or None: an unknown sender, or one that ever rotated
    its key, is checked when the transaction executes. `keys`: the senders' keys read
    so far for this batch (a batch's transactions mostly share a few senders)."""
    if tx.sender in keys:
        key = keys[tx.sender]
    else:
        sender = load_member(chain.state, tx.sender)
        unrotated = sender is not None and sender.key_rotated_height is None
        key = keys[tx.sender] = sender.public_key if sender is not None and unrotated else None
    if key is None:
        return None
    return key, tx.signed_message(chain.chain_id), tx.signature
