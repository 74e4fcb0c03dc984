"""Answering block-sync and state-sync questions: off the event loop, a bounded number
at once, each peer's answers paced (node.serve_budget), and a question that cannot be
answered now told "busy, ask again in N ms" (node.sync_busy) if its asker reads that.

A question goes unanswered now for one of three reasons, each of which cost its asker
the whole RESPONSE_TIMEOUT_MS when it was dropped without a word:
- its peer's share of the serving rate cannot pay for an answer within WAIT_MAX_S: told
  when it can (`ServeBudget.retry_s`);
- the readers of its kind are all busy (SYNC_SERVES_MAX, STATE_SERVES_MAX): told
  READERS_BUSY_RETRY_S, about the time a reader takes;
- the store failed to read its answer: told BUSY_RETRY_MAX_S, the longest a server
  tells, since a failing store is seldom mended in seconds and the asker does better
  with another peer meanwhile. The failure is logged once, naming it, and not again
  until an answer of its kind has been read since (then a line says how many failed).
A busy answer goes only to a question that says its asker reads one (`reads_busy`; a
release before busy answers passes the server over for one); at most one a question;
none to a peer told busy whose time told has not come (`ServeBudget.may_tell`): such a
question is a flood's, as its asker waits. Only one handed to the peer is counted
(`ServeBudget.told`, senim_sync_serve_busy_answers): one its send queue refused, or for
a peer gone, was never sent.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from node.fault_log import FaultLog
from node.serve_budget import BUSY_RETRY_MAX_S, ServeBudget
from node.store_refusals import UNREADABLE_CURE
from node.sync_busy import busy_answer
from storage.errors import AccessRefused, StorageError

log = logging.getLogger("senim.network")

SYNC_SERVES_MAX = 4  # block-sync answers being read from disk at once; more told busy
STATE_SERVES_MAX = 2  # state-sync answers likewise (they take turns on one lock anyway)
# What a question is told when every reader of its kind is busy: a little over two
# state answers' reading (2 MiB at 52-64 ms a MiB, BENCHMARKS.md session 59), many
# block answers' (4-7 ms a MiB)
READERS_BUSY_RETRY_S = 0.3

Send = Callable[[bytes, int, bytes], bool]  # peer key, channel, payload -> handed over


@dataclass(frozen=True)
class ServedKind:
    """One kind of sync question: how it is answered, and on which channel."""

    name: str  # in log lines: "blocks", "state"
    answer_channel: int
    readers_max: int
    answer: Callable[[bytes], bytes | None]  # None if the question is junk; off the loop
    reads_busy: Callable[[bytes], bool]  # whether the question's asker reads busy answers
    malformed: str  # the fault line for a junk question, its argument the peer's name


class SyncServing:
    """The serving side of block sync and state sync. On the event loop only."""

    def __init__(self, send: Send, name_of: Callable[[bytes], str],
                 is_validator: Callable[[bytes], bool]) -> None:
        self._send = send
        self._name_of = name_of
        # What each peer's sync answers may cost: block sync's and state sync's together,
        # the followers' sharing one rate, the validators' not
        self.budget = ServeBudget(is_validator=is_validator)
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests pass time
        self._reading: dict[str, int] = {}  # kind -> answers being read now
        # kind -> reads that failed since the last that did not (logged at the first)
        self._failed_reads: dict[str, int] = {}
        self._peer_fault = FaultLog(log, name_of)

    def handler(self, kind: ServedKind) -> Callable[[bytes, bytes], Awaitable[None]]:
        async def serve(peer_key: bytes, payload: bytes) -> None:
            await self.serve(kind, peer_key, payload)
        return serve

    async def serve(self, kind: ServedKind, peer_key: bytes, payload: bytes) -> None:
        """Answer `peer_key`'s question `payload` once its peer has paid for its earlier
        answers (its next questions on this channel wait behind it in P2P's queue), or
        tell it busy."""
        wait = self.budget.wait_s(peer_key)
        if wait is None:  # its share too small for now
            retry = self.budget.retry_s(peer_key)
            if retry is not None:
                self._tell_busy(kind, peer_key, payload, retry)
            return
        if wait > 0:
            await self.sleep(wait)
        reading = self._reading.get(kind.name, 0)
        if reading >= kind.readers_max:
            self._tell_busy(kind, peer_key, payload, READERS_BUSY_RETRY_S)
            return
        self._reading[kind.name] = reading + 1
        try:
            answer = await asyncio.get_running_loop().run_in_executor(
                None, kind.answer, payload)
        except StorageError as exc:
            self._read_failed(kind, exc)
            self._tell_busy(kind, peer_key, payload, BUSY_RETRY_MAX_S)
            return
        finally:
            self._reading[kind.name] -= 1
        # Charged whether or not the answer could be queued: it was made
        self.budget.charge(peer_key, 0 if answer is None else len(answer))
        if answer is None:  # junk: the store was not read
            self._peer_fault(peer_key, kind.malformed)
        else:
            self._read_again(kind)
            self._send(peer_key, kind.answer_channel, answer)

    def _tell_busy(self, kind: ServedKind, peer_key: bytes, payload: bytes,
                   retry_s: float) -> None:
        """Tell `peer_key` to ask again in `retry_s`, if its question says it reads busy
        answers and it was not told already with that time still to come."""
        if not (self.budget.may_tell(peer_key) and kind.reads_busy(payload)):
            return
        if self._send(peer_key, kind.answer_channel, busy_answer(math.ceil(retry_s * 1000))):
            self.budget.told(peer_key, retry_s)

    def _read_failed(self, kind: ServedKind, exc: StorageError) -> None:
        failed = self._failed_reads.get(kind.name, 0)
        if not failed and isinstance(exc, AccessRefused):  # no damage: the files' owner
            log.error("not serving %s (askers told busy until a read succeeds again): %s; "
                      "%s", kind.name, exc, UNREADABLE_CURE)
        elif not failed:
            log.error("store damaged: not serving %s (askers told busy until a read "
                      "succeeds again): %s", kind.name, exc)
        self._failed_reads[kind.name] = failed + 1

    def _read_again(self, kind: ServedKind) -> None:
        failed = self._failed_reads.pop(kind.name, 0)
        if failed:
            log.warning("serving %s again: %d reads of the store had failed", kind.name,
                        failed)
