"""Signatures found good, remembered for a while so that no path checks one again.

A transaction reaches a validator by several paths, and each checks its signature:
admission (from its client, or gossiped by another validator), a proposal that holds
it before its gossip was admitted here, a sync answer once the node fell behind.
Measured at saturation with 4 validators (BENCHMARKS.md, session 20), each node made
1.13 signature checks per transaction, one node 1.28: the same good signature checked
again by another path. An Ed25519 check is a pure function of (key, message,
signature), so a good answer can be given again without asking anyone; a bad one is
not remembered (it costs its sender a refusal, and nothing is gained by keeping it).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

from node.signature_workers import CheckSignatures, PendingChecks
from node.validators import SignatureCheck

# A block at saturation holds a few thousand transactions, and a signature is checked
# again within a few blocks of its first check (a proposal or sync answer overtaking
# its gossip), so this covers several blocks; at 32-byte digests, about 5 MB in all.
GOOD_SIGNATURES_REMEMBERED_MAX = 1 << 15


def _digest(check: SignatureCheck) -> bytes:
    key, message, signature = check
    # Lengths first: a key or signature is not always of its proper length (a
    # certificate's signature may have any up to its bound), and without them a good
    # check's bytes, split elsewhere, would name a bad one.
    lengths = len(key).to_bytes(4, "big") + len(signature).to_bytes(4, "big")
    return hashlib.sha256(lengths + key + signature + message).digest()


class GoodSignatures:
    """The digests of the last GOOD_SIGNATURES_REMEMBERED_MAX checks found good, for any
    thread; the oldest is forgotten first."""

    def __init__(self, capacity: int = GOOD_SIGNATURES_REMEMBERED_MAX) -> None:
        self._capacity = capacity
        # In the order they were found good. Not a plain dict: after many deletions from
        # its front, finding its first item walks past their empty slots (measured: ~40 µs
        # a digest at this capacity, about what the check it saves costs).
        self._digests: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._digests)

    def known(self, digests: Sequence[bytes]) -> list[bool]:
        with self._lock:
            return [digest in self._digests for digest in digests]

    def add(self, digests: Sequence[bytes]) -> None:
        with self._lock:
            for digest in digests:
                self._digests[digest] = None
            for _ in range(len(self._digests) - self._capacity):
                self._digests.popitem(last=False)


class RememberedChecks:
    """`CheckSignatures` that answers a check found good before (by any checker sharing
    `memory`) at once, and hands the others to `inner`."""

    def __init__(self, inner: CheckSignatures, memory: GoodSignatures) -> None:
        self._inner = inner
        self._memory = memory

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        digests, known, unknown = self._split(checks)
        answers = self._inner(unknown, failures_max) if unknown else []
        return self._merged(digests, known, answers)

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        digests, known, unknown = self._split(checks)
        pending = self._inner.start(unknown) if unknown else list
        return lambda: self._merged(digests, known, pending())

    def _split(self, checks: Sequence[SignatureCheck]
               ) -> tuple[list[bytes], list[bool], list[SignatureCheck]]:
        """Each check's digest, whether it is remembered good, and those that are not."""
        digests = [_digest(check) for check in checks]
        known = self._memory.known(digests)
        return digests, known, [check for check, is_known in zip(checks, known, strict=True)
                                if not is_known]

    def _merged(self, digests: list[bytes], known: list[bool], answers: list[bool]
                ) -> list[bool]:
        """Every check's answer in order; `answers` are the unknown ones', and stop where
        the inner checker stopped (after `failures_max` bad ones), and so do these."""
        merged: list[bool] = []
        found_good: list[bytes] = []
        fresh = iter(answers)
        for digest, is_known in zip(digests, known, strict=True):
            if is_known:
                merged.append(True)
                continue
            answer = next(fresh, None)
            if answer is None:
                break
            merged.append(answer)
            if answer:
                found_good.append(digest)
        self._memory.add(found_good)
        return merged
