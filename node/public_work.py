"""Public work (API verification, transaction admission) kept apart from consensus work.

Consensus owns the single ledger worker (`NodeCore.worker`): proposal, block
validation and commit run there, one at a time. Anything an outsider can ask
for runs instead in one of two small pools, each with its own bounded count of
jobs: admission checks (`NodeCore.public_work`) and document verification (the
API's). A flood of large verification bodies or bad signatures queues behind
itself and is answered "busy", never in front of a block or of the other kind.

Consistent reads while the ledger worker commits
------------------------------------------------
The ledger worker mutates, at each commit, things held in memory: the state
tree's node cache and top node (`StateTree.committed`), and the chain's head
header (`Chain.commit` sets it after the batch is written). Reading those from
another thread could mix two blocks. Public work therefore never trusts them:
it reads a store snapshot (`KeyValueStore.snapshot`, a LevelDB snapshot; the
in-memory store shares its dict copy-on-write) taken between two atomic block
batches, and derives everything from that snapshot alone: the height from the
stored head record, state values through `StateTree.view` (which takes a node
from the tree's cache only when its hash is the one the snapshot's tree holds
there), the transaction index for replays. A block's batch carries all of those, so a check sees the
state after some whole block and never half of one. A check may see a block
older than the head by the time it finishes; admission is re-checked when the
block is built, and a verdict names the height it was made at.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ledger.block_state import KeptRecords
from ledger.chain import Chain
from ledger.chain_layout import HEAD_KEY, TX_INDEX_PREFIX
from ledger.codec import decode
from ledger.errors import MalformedInput, TxRejected
from ledger.facts import StateFacts
from node.peer_penalty import Suspect
from node.submission_body import json_of_utf8, json_problem
from storage.errors import CorruptStateError
from storage.kv import KeyValueSnapshot
from storage.state_tree import StateView

T = TypeVar("T")
# Admission (NodeCore.public_work): signature checks release the GIL (libsodium),
# so two threads use both cores. Jobs queued or running at once; beyond this the
# API answers 503 + Retry-After.
PUBLIC_WORKERS = 2
PUBLIC_JOBS_MAX = 16
# A submission that has shown this many invalid signatures is not checked further
# and is refused as a whole (ForgedSubmission), so a forged batch costs a few dozen
# signature checks, not 20,000, and no answer of 20,000 lines: a few dozen a child of
# admission's signature set, which checks a large part in pieces, each stopping after
# the allowance (node.signature_workers; 64 checks with 2 cores, at most 512).
INVALID_SIGNATURES_PER_SUBMISSION_MAX = 32
# Verification (the API's own pool): JSON parsing and field hashing hold the GIL,
# so one thread, so a flood of documents takes at most its share of the interpreter
# from the ledger thread and never delays admission.
VERIFY_WORKERS = 1
VERIFY_JOBS_MAX = 32
# Share of wall time the verification thread may compute: after a job of t seconds
# of its own CPU it rests t * (1/share - 1), the GIL free for the ledger thread.
VERIFY_CPU_SHARE = 0.25
RETRY_AFTER_S = 1
# Cost of one JSON document: values (objects, arrays, strings, numbers) and nesting.
JSON_VALUES_MAX = 4_096
JSON_DEPTH_MAX = 32
# Commas and opening brackets a body may hold before it is parsed. A document of V values
# holds at most 2V - 1 of them outside its strings (a comma and a bracket for each empty
# array), so only text full of commas or brackets could make a document within
# JSON_VALUES_MAX reach this. It bounds what the parser builds: json.loads holds the GIL
# throughout, 4.7 ms for a 256 KiB body of empty arrays against 0.65 ms at this bound
# (measured), and counting costs ~0.3 ms a MiB.
JSON_SEPARATORS_MAX = 8 * JSON_VALUES_MAX


class ForgedSubmission(TxRejected):
    """A submission showed INVALID_SIGNATURES_PER_SUBMISSION_MAX invalid signatures:
    none of it is admitted, and it is answered in one line, not item by item.
    `suspects`: (sender, key) of those that a node at or behind the state they were
    checked in would have found bad too, one entry per signature (node.network says
    when that proves its relay faulty)."""

    def __init__(self, invalid: int, checked: int, items: int,
                 suspects: tuple[Suspect, ...]) -> None:
        super().__init__("forged_submission",
                         f"{invalid} of the first {checked} transactions carry invalid "
                         f"signatures; none of the {items} in this submission was admitted")
        self.items = items
        self.suspects = suspects


class PublicWorkBusy(Exception):
    """Every public job slot is taken; the client should retry after RETRY_AFTER_S."""


class PublicWork:
    """A small thread pool with a bounded number of jobs in flight."""

    def __init__(self, workers: int = PUBLIC_WORKERS, jobs_max: int = PUBLIC_JOBS_MAX,
                 cpu_share: float = 1.0) -> None:
        if not 0 < cpu_share <= 1:
            raise ValueError("cpu_share must be in (0, 1]")
        self.jobs_max = jobs_max
        self.cpu_share = cpu_share
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="senim-public")
        self._jobs = 0  # touched only on the event loop

    @property
    def jobs(self) -> int:
        return self._jobs

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run `func` in the pool, or raise PublicWorkBusy at once when it is full."""
        if self._jobs >= self.jobs_max:
            raise PublicWorkBusy(f"{self.jobs_max} public jobs are in progress")
        self._jobs += 1
        job = functools.partial(func, *args)
        if self.cpu_share < 1:
            job = functools.partial(self._paced, job)
        future = asyncio.get_running_loop().run_in_executor(self._executor, job)
        # The slot is freed when the thread is done, not when the client goes away:
        # a client that disconnects must not leave work running outside the bound.
        future.add_done_callback(self._release)
        try:
            return await asyncio.shield(future)
        finally:
            # A failed job's exception holds its traceback, which holds this frame, which
            # held the future holding the exception: a cycle, keeping the job's arguments
            # (a 16 MiB body) until a full GC pass, which the daemon's thresholds make
            # rare. Dropping the frame's references breaks it.
            del job, future

    def _paced(self, job: Callable[[], T]) -> T:
        started = time.thread_time()
        try:
            return job()
        finally:
            # The slot stays taken while the thread rests, so a flood fills the queue
            # (and is answered busy) instead of taking more of the interpreter.
            time.sleep((time.thread_time() - started) * (1 / self.cpu_share - 1))

    def _release(self, _future: object) -> None:
        self._jobs -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class CommittedView:
    """The chain as of one committed block, readable from any thread (see module doc)."""

    def __init__(self, chain: Chain) -> None:
        # A key filter answers for this snapshot only if it was filled before it was taken
        # (a key deleted before a fill began is in no filter: storage.key_filter).
        ids, keys = chain.committed_id_filter, chain.state.key_filter
        self._committed_id_filter = ids if ids.ready else None
        key_filter = keys if keys.ready else None
        self._snapshot: KeyValueSnapshot = chain.kv.snapshot()
        head = self._snapshot.get(HEAD_KEY)
        if head is None:
            raise CorruptStateError("the store has no head record")
        self.height: int = decode(head)[0]
        self.state: StateView = chain.state.view(self._snapshot, key_filter)
        # What admission's trials in this view read of members and grants, decoded once
        # (ledger.block_state): the snapshot never changes under them.
        self.kept = KeptRecords()

    def is_committed(self, tx_id: bytes) -> bool:
        ids = self._committed_id_filter
        return ((ids is None or ids.may_hold(tx_id))
                and self._snapshot.get(TX_INDEX_PREFIX + tx_id) is not None)

    def release(self) -> None:
        self._snapshot.release()

    def __enter__(self) -> CommittedView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class ViewFacts(StateFacts):
    """Chain facts for verification, read from one committed view (and, for a block's
    time, from the chain's blocks up to the view's height, which no commit changes)."""

    def __init__(self, view: CommittedView, describe: str,
                 chain: Chain | None = None) -> None:
        self._view = view
        self._describe = describe
        self._chain = chain
        self.height: int | None = view.height  # "as of block H" in the verdict

    def block_time(self, height: int) -> int | None:
        if self._chain is None or self.height is None or height > self.height:
            return None
        return self._chain.block_time(height)

    def describe(self) -> str:
        return self._describe

    def get(self, key: bytes) -> bytes | None:
        return self._view.state.get(key)


class ScratchState:
    """Writes of a trial execution kept in a dict over a read-only view; never stored.

    `presume_absence`: a key with no stored value reads as absent without the walk
    down the tree that proves it (`StateView.get_presuming_absence`). Admission uses
    it for its first trial, where absence mostly means acceptance (a new batch root):
    an acceptance is provisional, the block's execution reads checked; a refusal is
    confirmed by a checked trial before it is given."""

    def __init__(self, base: StateView, presume_absence: bool = False) -> None:
        self._base = base
        self._presume_absence = presume_absence
        self.presumed_absent = False  # some answer so far may rest on the presumption
        self._writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self._writes:
            return self._writes[key]
        if not self._presume_absence:
            return self._base.get(key)
        value = self._base.get_presuming_absence(key)
        self.presumed_absent |= value is None
        return value

    def set(self, key: bytes, value: bytes) -> None:
        self._writes[key] = value

    def delete(self, key: bytes) -> None:
        self._writes[key] = None


def parse_json(body: bytes) -> Any:
    """Parse a request body and check its cost, refusing text UTF-8 cannot carry.

    JSON may escape lone UTF-16 surrogates ("\\ud800"); they decode to a str that
    no hash or encoder downstream accepts, so they are refused here, once."""
    if separators(body) > JSON_SEPARATORS_MAX:
        raise MalformedInput(f"document holds more than {JSON_SEPARATORS_MAX} commas and "
                             "opening brackets (those in its text counted too): more than "
                             f"a document of at most {JSON_VALUES_MAX} values can hold")
    try:
        value = json_of_utf8(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedInput(json_problem(exc)) from exc
    check_json_cost(value)
    return value


def separators(body: bytes) -> int:
    """Commas and opening brackets in a JSON body, strings included: an upper bound on
    the values it can hold, less one, found without parsing it."""
    return body.count(b",") + body.count(b"[") + body.count(b"{")


def check_json_cost(value: Any) -> None:
    """Raise MalformedInput beyond JSON_VALUES_MAX values or JSON_DEPTH_MAX nesting,
    or on a string (value or key) that is not valid Unicode."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > JSON_VALUES_MAX:
            raise MalformedInput(f"document has more than {JSON_VALUES_MAX} values")
        if depth > JSON_DEPTH_MAX:
            raise MalformedInput(f"document is nested more than {JSON_DEPTH_MAX} deep")
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedInput(
            f"text at position {exc.start} is a lone UTF-16 surrogate, not Unicode") from exc
