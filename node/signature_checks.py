"""The signatures of a whole sync answer, checked in one batch before its blocks execute.

libsodium's `crypto_sign_open` releases the GIL (measured: a thread counting in
Python keeps counting during one long call), so the daemon checks a batch across
SIGNATURE_THREADS threads (`SignatureThreads`); the simulator and the tests check
in turn (`check_in_turn`). Either way the engine stays on its one thread: it hands
over a list of checks and gets a list of answers.

What is checked ahead is only a shortcut. A transaction counts as checked only
when its sender's key at the head never rotated (the ledger checks again any
sender that ever rotated); a certificate is remembered as good only by the
validator set that checked it, which a set change within the answer replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from consensus import CommitCertificate
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.identity import verify_signature
from ledger.rules import load_member
from ledger.transactions import Transaction
from node.validators import SignatureCheck, ValidatorSet, ValidatorSets

SIGNATURE_THREADS = 2  # the machine's cores are shared with the event loop and the engine
CHECKS_PER_TASK_MIN = 32  # fewer checks are not worth a hand-over to another thread

CheckSignatures = Callable[[Sequence[SignatureCheck]], list[bool]]


def check_in_turn(checks: Sequence[SignatureCheck]) -> list[bool]:
    return [verify_signature(key, message, signature) for key, message, signature in checks]


class SignatureThreads:
    """`CheckSignatures` across a bounded pool of threads; `close` when the node stops."""

    def __init__(self, threads: int = SIGNATURE_THREADS) -> None:
        self._threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="senim-signatures")

    def __call__(self, checks: Sequence[SignatureCheck]) -> list[bool]:
        if len(checks) < 2 * CHECKS_PER_TASK_MIN:
            return check_in_turn(checks)
        step = -(-len(checks) // self._threads)
        parts = [checks[start:start + step] for start in range(0, len(checks), step)]
        return [ok for answers in self._pool.map(check_in_turn, parts) for ok in answers]

    def close(self) -> None:
        self._pool.shutdown(wait=True)


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
