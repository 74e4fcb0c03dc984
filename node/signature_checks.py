"""Signature checks in batches: a sync answer's, and a proposal's transactions the
mempool did not hold; the daemon's admission uses the same batches.

libsodium's `crypto_sign_open` releases the GIL, but a thread that checks one
signature per call must take the GIL back after each, and while another thread
runs Python it gets it only at the interpreter's switch interval (5 ms): measured,
two signature threads did about a fifth of their work while the main thread ran
Python (BENCHMARKS.md). So the daemon checks a batch in a child process
(`SignatureWorkers`, child: node.signature_child): the caller writes it once and
waits once, and the child runs beside the daemon's Python. The simulator and the
tests check in turn (`check_in_turn`). Either way the caller hands over a list of
checks and gets a list of answers.

What is checked ahead is only a shortcut. A transaction counts as checked only
when its sender's key at the head never rotated (the ledger checks again any
sender that ever rotated); a certificate is remembered as good only by the
validator set that checked it, which a set change within the answer replaces.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Protocol

import msgpack

from consensus import CommitCertificate
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.identity import verify_signature
from ledger.rules import load_member
from ledger.transactions import Transaction
from node.signature_child import FRAME_LENGTH
from node.validators import SignatureCheck, ValidatorSet, ValidatorSets

log = logging.getLogger("senim.signatures")

SIGNATURE_WORKERS_MAX = 2  # the machine's cores; more children would only queue for them
WORKER_BATCH_MIN = 32  # fewer checks cost less in turn than a trip to a child
WORKER_FAILURES_MAX = 8  # after this many failed or dead children, none is started again

class CheckSignatures(Protocol):
    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        """An answer per check, in order (True: good); with `failures_max`, they stop
        after that many bad ones, so that a forged batch costs no more checks."""


def check_in_turn(checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
    answers: list[bool] = []
    failures = 0
    for key, message, signature in checks:
        answers.append(verify_signature(key, message, signature))
        if not answers[-1]:
            failures += 1
            if failures == failures_max:
                break
    return answers


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "node.signature_child"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def check(self, checks: Sequence[SignatureCheck], failures_max: int) -> list[bool]:
        """The child's answers; OSError or ValueError if it died or answered badly."""
        assert self.process.stdin is not None and self.process.stdout is not None
        frame = msgpack.packb([failures_max, [list(check) for check in checks]],
                              use_bin_type=True)
        self.process.stdin.write(FRAME_LENGTH.pack(len(frame)) + frame)
        self.process.stdin.flush()
        head = self.process.stdout.read(FRAME_LENGTH.size)
        if len(head) != FRAME_LENGTH.size:
            raise ValueError("it closed its pipe")
        (count,) = FRAME_LENGTH.unpack(head)
        answers = self.process.stdout.read(count) if count <= len(checks) else b""
        short = count < len(checks)
        if len(answers) != count or (short and (failures_max == 0
                                                or answers.count(0) != failures_max)):
            raise ValueError(f"it answered {len(answers)} of {len(checks)} checks")
        return [byte == 1 for byte in answers]

    def stop(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:  # a child already gone may refuse the last flush
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class SignatureWorkers:
    """`CheckSignatures` in up to `workers` child processes, started when first needed
    and leased one per batch, for any thread; `close` when the node stops.

    A small batch, or one that finds no child free, is checked in turn by the caller.
    A child that dies or answers short is dropped and its batch checked in turn, so
    a child can make checking slower but never change an answer. A child reads only
    its parent's pipe and exits when it closes: a daemon killed with kill -9 leaves
    none behind."""

    def __init__(self, workers: int = SIGNATURE_WORKERS_MAX) -> None:
        self._workers = workers
        self._idle: list[_Child] = []
        self._alive = 0  # children idle or leased
        self._failures = 0
        self._closed = False
        self._lock = threading.Lock()

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        if len(checks) < WORKER_BATCH_MIN:
            return check_in_turn(checks, failures_max)
        child = self._lease()
        if child is None:
            return check_in_turn(checks, failures_max)
        try:
            answers = child.check(checks, failures_max)
        except (OSError, ValueError) as exc:
            log.warning("a signature worker failed (%s); its batch is checked here", exc)
            self._drop(child)
            return check_in_turn(checks, failures_max)
        self._give_back(child)
        return answers

    def _lease(self) -> _Child | None:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if (self._closed or self._alive >= self._workers
                    or self._failures >= WORKER_FAILURES_MAX):
                return None
            self._alive += 1
        try:
            return _Child()
        except OSError as exc:
            log.warning("cannot start a signature worker (%s); checking in turn", exc)
            with self._lock:
                self._alive -= 1
                self._failures += 1
            return None

    def _give_back(self, child: _Child) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(child)
                return
            self._alive -= 1
        child.stop()

    def _drop(self, child: _Child) -> None:
        child.stop()
        with self._lock:
            self._alive -= 1
            self._failures += 1

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._alive -= len(idle)
        for child in idle:
            child.stop()


def check_answer_ahead(blocks: Sequence[tuple[Block, bytes]], chain: Chain,
                       sets: ValidatorSets, check: CheckSignatures) -> list[frozenset[bytes]]:
    """Check in one batch the signatures of an answer's (block, certificate) pairs.

    Good certificates are remembered by the set that checked them, so that the
    commit path's own check finds them; returns, for each block, the ids of its
    transactions whose signature is good under the sender's key at the head."""
    checks: list[SignatureCheck] = []
    certificates: list[tuple[ValidatorSet, bytes, CommitCertificate, int, int]] = []
    transactions: list[tuple[int, bytes, int]] = []  # block index, tx id, its check
    for index, (block, certificate) in enumerate(blocks):
        validators = sets.at(block.header.height)
        found = validators.signature_checks(certificate)
        if found is not None:
            certificates.append((validators, certificate, found[0], len(checks),
                                 len(checks) + len(found[1])))
            checks.extend(found[1])
        for tx in block.transactions:
            tx_check = _transaction_check(tx, chain)
            if tx_check is not None:
                transactions.append((index, tx.tx_id, len(checks)))
                checks.append(tx_check)
    answers = check(checks) if checks else []
    for validators, data, cert, start, end in certificates:
        if all(answers[start:end]):
            validators.remember_checked(data, cert)
    # An id does not cover the signature: a block holding one id twice, once badly
    # signed, gets no shortcut for that id.
    good: list[set[bytes]] = [set() for _ in blocks]
    bad: list[set[bytes]] = [set() for _ in blocks]
    for index, tx_id, at in transactions:
        (good if answers[at] else bad)[index].add(tx_id)
    return [frozenset(ids - refused) for ids, refused in zip(good, bad, strict=True)]


def transactions_checked_ahead(txs: Sequence[Transaction], chain: Chain,
                               check: CheckSignatures) -> frozenset[bytes]:
    """Ids of `txs` whose signature is good under the sender's key at the head, checked
    in one batch: a proposal's transactions this node had not admitted itself."""
    ids: list[bytes] = []
    checks: list[SignatureCheck] = []
    for tx in txs:
        tx_check = _transaction_check(tx, chain)
        if tx_check is not None:
            ids.append(tx.tx_id)
            checks.append(tx_check)
    answers = check(checks) if checks else []
    bad = {tx_id for tx_id, ok in zip(ids, answers, strict=True) if not ok}
    return frozenset(tx_id for tx_id, ok in zip(ids, answers, strict=True)
                     if ok and tx_id not in bad)  # one id twice, once badly signed: none


def _transaction_check(tx: Transaction, chain: Chain) -> SignatureCheck | None:
    """What to check of `tx` ahead, or None: an unknown sender, or one that ever rotated
    its key, is checked when the transaction executes."""
    sender = load_member(chain.state, tx.sender)
    if sender is None or sender.key_rotated_height is not None:
        return None
    return sender.public_key, tx.signed_message(chain.chain_id), tx.signature
