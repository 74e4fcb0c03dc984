"""Signatures found good, remembered for a while so that no path checks one again.

A transaction reaches a validator by several paths, and each checks its signature:
admission (from its client, or gossiped by another validator), a proposal that holds
it before its gossip was admitted here, a sync answer once the node fell behind.
Measured at saturation with 4 validators (BENCHMARKS.md, session 20), each node made
1.13 signature checks per transaction, one node 1.28: the same good signature checked
again by another path. An Ed25519 check is a pure function of (key, message,
signature), so a good answer can be given again without asking anyone; a bad one is
not remembered (it costs its sender a refusal, and nothing is gained by keeping it).

Two paths can also check the same signature at once: a proposal's check of
transactions whose gossip admission is checking too. Counted at saturation (session
49), 2.5% of the checks were such twins, three in four of them admission's, begun
while the engine's were under way. So the engine says which checks it has under way,
and admission waits for those before checking its own; the engine never waits for
admission, which public work may hold up.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import TypeVar

from node.signature_workers import CheckSignatures, PendingChecks
from node.validators import SignatureCheck

# A block at saturation holds a few thousand transactions, and a signature is checked
# again within a few blocks of its first check (a proposal or sync answer overtaking
# its gossip), so this covers several blocks. A check is remembered by its own bytes
# if its message is at most REMEMBERED_MESSAGE_BYTES_MAX (an issuance's is about 130),
# else by a SHA-256 of its message: about 15 MB in all for issuances, at most about
# 26 MB whatever members sign (a transaction's message can be 64 KiB).
GOOD_SIGNATURES_REMEMBERED_MAX = 1 << 15
REMEMBERED_MESSAGE_BYTES_MAX = 512
# How long admission waits for checks the engine has under way before it checks them
# itself (a proposal's 500 are about 28 ms of checks in one of the engine's children).
UNDER_WAY_WAIT_S_MAX = 1.0


def _remembered_as(checks: Sequence[SignatureCheck]) -> list[Hashable]:
    """Each check as remembered: the check itself, as a tuple, compared whole, its three
    parts apart, so that a good check's bytes split elsewhere (a certificate's signature
    may have any length up to its bound) never name a bad one. Keyed by the check rather
    than a SHA-256 of it: hashing each check's ~270 bytes cost 0.7 µs a transaction
    (BENCHMARKS.md, session 49), against the 0.1 µs of Python's own hash of its message.
    A message over REMEMBERED_MESSAGE_BYTES_MAX is remembered by its SHA-256, in a tuple
    of four, which never equals a check's three. One comprehension, no call a check (the
    usual check is a tuple with a short message): 0.15 against 0.18 µs a check, on
    admission's and the engine's paths alike."""
    return [(check if type(check) is tuple else _as_tuple(check))
            if len(check[1]) <= REMEMBERED_MESSAGE_BYTES_MAX else _hashed(check)
            for check in checks]


def _as_tuple(check: SignatureCheck) -> SignatureCheck:
    key, message, signature = check
    return key, message, signature


def _hashed(check: SignatureCheck) -> Hashable:
    key, message, signature = check
    return key, hashlib.sha256(message).digest(), signature, _LONG_MESSAGE


_LONG_MESSAGE = "sha256 of a long message"
_Item = TypeVar("_Item")


class GoodSignatures:
    """The last GOOD_SIGNATURES_REMEMBERED_MAX checks found good, for any thread; the
    oldest is forgotten first."""

    def __init__(self, capacity: int = GOOD_SIGNATURES_REMEMBERED_MAX) -> None:
        self._capacity = capacity
        # In the order they were found good. Not a plain dict: after many deletions from
        # its front, finding its first item walks past their empty slots (measured: ~40 µs
        # an entry at this capacity, about what the check it saves costs).
        self._remembered: OrderedDict[Hashable, None] = OrderedDict()
        # Checks under way, each with the event set once its answers are remembered.
        self._under_way: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._remembered)

    def known(self, checks: Sequence[Hashable]) -> list[bool]:
        with self._lock:
            return [check in self._remembered for check in checks]

    def add(self, checks: Sequence[Hashable]) -> None:
        with self._lock:
            for check in checks:
                self._remembered[check] = None
            for _ in range(len(self._remembered) - self._capacity):
                self._remembered.popitem(last=False)

    def start_checking(self, checks: Sequence[Hashable]) -> threading.Event:
        """Say that `checks` are under way; `done_checking` when their answers are in."""
        event = threading.Event()
        with self._lock:
            for check in checks:
                self._under_way[check] = event
        return event

    def done_checking(self, checks: Sequence[Hashable], event: threading.Event) -> None:
        with self._lock:
            for check in checks:
                if self._under_way.get(check) is event:
                    del self._under_way[check]
        event.set()

    def wait_under_way(self, checks: Sequence[Hashable], timeout_s: float) -> bool:
        """Wait up to `timeout_s` for those of `checks` under way; whether any were."""
        with self._lock:
            events = {id(event): event for check in checks
                      if (event := self._under_way.get(check)) is not None}
        deadline = time.monotonic() + timeout_s
        for event in events.values():
            event.wait(max(0.0, deadline - time.monotonic()))
        return bool(events)


class RememberedChecks:
    """`CheckSignatures` that answers a check found good before (by any checker sharing
    `memory`) at once, and hands the others to `inner`. One that `says_under_way` (the
    engine's) tells `memory` of the checks it hands over until their answers are in;
    one that `waits_under_way` (admission's) waits for those before it hands over its
    own, up to UNDER_WAY_WAIT_S_MAX."""

    def __init__(self, inner: CheckSignatures, memory: GoodSignatures,
                 says_under_way: bool = False, waits_under_way: bool = False) -> None:
        self._inner = inner
        self._memory = memory
        self._says_under_way = says_under_way
        self._waits_under_way = waits_under_way

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        remembered, known, unknown = self._split(checks)
        if unknown and self._waits_under_way and self._memory.wait_under_way(
                _not_known(remembered, known), UNDER_WAY_WAIT_S_MAX):
            remembered, known, unknown = self._split(checks)
        if not unknown:
            return self._merged(remembered, known, [])
        if not self._says_under_way:
            return self._merged(remembered, known, self._inner(unknown, failures_max))
        handed = _not_known(remembered, known)
        event = self._memory.start_checking(handed)
        try:
            return self._merged(remembered, known, self._inner(unknown, failures_max))
        finally:  # remembered by now, if good: a waiter finds them
            self._memory.done_checking(handed, event)

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        remembered, known, unknown = self._split(checks)
        pending = self._inner.start(unknown) if unknown else list
        return lambda: self._merged(remembered, known, pending())

    def _split(self, checks: Sequence[SignatureCheck]
               ) -> tuple[list[Hashable], list[bool], list[SignatureCheck]]:
        """Each check as remembered, whether it is remembered good, and those that are
        not."""
        remembered = _remembered_as(checks)
        known = self._memory.known(remembered)
        return remembered, known, _not_known(checks, known)

    def _merged(self, remembered: list[Hashable], known: list[bool], answers: list[bool]
                ) -> list[bool]:
        """Every check's answer in order; `answers` are the unknown ones', and stop where
        the inner checker stopped (after `failures_max` bad ones), and so do these."""
        merged: list[bool] = []
        found_good: list[Hashable] = []
        fresh = iter(answers)
        for check, is_known in zip(remembered, known, strict=True):
            if is_known:
                merged.append(True)
                continue
            answer = next(fresh, None)
            if answer is None:
                break
            merged.append(answer)
            if answer:
                found_good.append(check)
        self._memory.add(found_good)
        return merged


def _not_known(items: Sequence[_Item], known: list[bool]) -> list[_Item]:
    return [item for item, is_known in zip(items, known, strict=True) if not is_known]
