"""What the VC-API's routes share: the node's VC settings, its worker pool for
canonicalisation, the revocation index, and reading and answering requests.

Canonicalisation is slow pure-Python work: it runs in a small pool of worker
processes (a thread would hold the GIL against the engine thread), started by a
fork server so no worker inherits the node's threads or open database. Only the
chain reads go to the ledger worker, a bounded number of blocks per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from ledger.errors import InvalidDocument
from ledger.governance import MAX_OPEN_PROPOSALS, load_proposal
from ledger.governance_revocation import ConsortiumRevocation, revoked_credentials
from ledger.identity import MEMBER_ID_BYTES, KeyPair
from ledger.payloads import (
    ProposePayload,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    RevokePayload,
    VotePayload,
)
from ledger.records import Batch
from ledger.rules import load_batch, load_revocation
from ledger.vc.canon import MAX_DOCUMENT_VALUES
from ledger.vc.export import status_list_id
from ledger.vc.presentation import MAX_CREDENTIALS_PER_PRESENTATION
from node.api_public import LIMITS, VERIFY_WORK, public
from node.fair_share import (
    MAX_VC_IN_FLIGHT_PER_SOURCE,
    VC_PROCESSES,
    VC_WORKER_NICENESS,
    FairSlots,
    SlotsBusy,
)
from node.http_limits import (
    BODY_READ_TIMEOUT_S,
    ArrivalCharge,
    body_too_large,
    http_error,
    invite_body,
    payload_problem,
)
from node.public_work import separators
from node.service import NodeCore
from node.sigint_blocked import sigint_blocked
from node.vc_problems import FieldProblem
from node.vc_work import BodyRefused, body_object, options_in, start_worker
from p2p.address_keys import address_key

MAX_VC_BODY_BYTES = 512 * 1024
# Commas and opening brackets a body may hold before it is parsed (see
# node.public_work.JSON_SEPARATORS_MAX). A presentation of the most credentials, each of
# the most values, holds up to about twice its values outside its strings (a comma and a
# bracket for each empty array); this leaves half as much again for text. A 512 KiB body
# of empty arrays took 18 ms of the GIL to parse (and a Python walk of 170,000 values to
# measure its nesting); 129,024 separators (this bound) took 3.6 ms (measured).
MAX_VC_BODY_SEPARATORS = 3 * (MAX_CREDENTIALS_PER_PRESENTATION + 1) * MAX_DOCUMENT_VALUES
MAX_BLOCKS_PER_SCAN = 200
MAX_INDEXED_REVOCATIONS = 10_000_000
MAX_CACHED_LISTS = 256
# How long a status list the node signs is valid (its validUntil, from its signing): a
# list carried no validUntil, so a list of before a revocation, replayed, verified for
# ever. Short, as a revocation should be heard soon; a verifier fetches the list anew.
STATUS_LIST_VALIDITY_S = 15 * 60
PLAIN_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$")


T = TypeVar("T")
_FORKSERVER = multiprocessing.get_context("forkserver")
# Workers start with the VC code imported once, in the fork server; first of all it
# ignores SIGINT (node.sigint_ignored), before the second those imports take. PyLD
# (ledger.vc.canon_pyld) is named too: canon imports it only when first used, which
# would otherwise be each worker's first job. node.vc_work holds what the workers run, so
# a worker unpickling its jobs imports nothing the fork server has not.
FORK_SERVER_PRELOAD = ["node.sigint_ignored", "node.vc_work", "ledger.vc.canon_pyld"]
RESOURCE_TRACKER_QUIET = "ignore:resource_tracker:UserWarning"  # as python -W takes it
_FORKSERVER.set_forkserver_preload(FORK_SERVER_PRELOAD)
# The pool's queues hold semaphores, which multiprocessing's resource tracker (a process
# of its own, writing to the daemon's stderr) unlinks if the daemon dies without doing
# so. After a kill -9 it did, warning first in two lines of Python source ('UserWarning:
# resource_tracker: There appear to be 5 leaked semaphore objects…'): unformatted lines
# in the node's log, about a clean-up that needs no one. The tracker starts with the
# daemon's warning options, so it is told here, before a pool starts it, to keep quiet.
if RESOURCE_TRACKER_QUIET not in sys.warnoptions:
    sys.warnoptions.append(RESOURCE_TRACKER_QUIET)


class _VcPool(ProcessPoolExecutor):
    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        # A submit may start the fork server's interpreter (the first one, or after it
        # died): with SIGINT blocked, until node.sigint_ignored lets it in ignored.
        with sigint_blocked():
            return super().submit(fn, *args, **kwargs)


def _new_pool() -> Executor:
    return _VcPool(VC_PROCESSES, mp_context=_FORKSERVER, initializer=start_worker,
                   initargs=(os.getpid(), VC_WORKER_NICENESS))


@dataclass
class RevocationIndex:
    """Leaf indices revoked per batch, read from the committed revoke transactions and
    the governance proposals that revoke a retired member's credential or credentials
    (applied by the vote that approves them, so looked up in the state once the scan has
    passed it)."""

    scanned: int = 0
    revoked: dict[bytes, set[int]] = field(default_factory=dict)
    last_time_ms: dict[bytes, int] = field(default_factory=dict)
    count: int = 0
    # Proposals to revoke seen but not yet approved (nor expired) by the scanned height:
    # resolved after each block with a proposal or a vote, so at most the ledger's open
    # proposals (MAX_OPEN_PROPOSALS) between blocks, and twice that within one (those
    # expired since the last such block are forgotten only at its end, while the ledger
    # lets as many new ones in): the cap of twice that in `catch_up` is never reached.
    proposed: dict[bytes, ConsortiumRevocation] = field(default_factory=dict)

    def catch_up(self, core: NodeCore) -> bool:
        """Scan up to MAX_BLOCKS_PER_SCAN blocks; True when at the head. Ledger worker only."""
        head = core.chain.height
        stop = min(head, self.scanned + MAX_BLOCKS_PER_SCAN)
        for height in range(self.scanned + 1, stop + 1):
            block = core.chain.get_block(height)
            if block is None:
                return True
            governance = False
            for tx in block.transactions:
                payload = tx.payload
                governance |= isinstance(payload, ProposePayload | VotePayload)
                if isinstance(payload, RevokePayload):
                    list_id = status_list_id(tx.sender, payload.credential.batch_root)
                    self._add(list_id, payload.credential.index, block.header.time_ms)
                elif (isinstance(payload, ProposePayload) and isinstance(
                        payload.action, RevokeCredentialAction | RevokeCredentialsAction)
                      and len(self.proposed) < MAX_OPEN_PROPOSALS * 2):
                    self.proposed[tx.tx_id] = payload.action
            self.scanned = height
            if governance and self.proposed:  # only a proposal or a vote approves one
                self._approved(core)
        return self.scanned >= head

    def _add(self, list_id: bytes, index: int, time_ms: int) -> None:
        if self.count < MAX_INDEXED_REVOCATIONS:
            self.revoked.setdefault(list_id, set()).add(index)
            self.last_time_ms[list_id] = time_ms
            self.count += 1

    def _approved(self, core: NodeCore) -> None:
        """Index the proposals approved by the scanned height; forget the expired."""
        for proposal_id, action in list(self.proposed.items()):
            proposal = load_proposal(core.chain.state, proposal_id)
            if proposal is None or proposal.status(self.scanned + 1) == "expired":
                del self.proposed[proposal_id]
            elif (proposal.approved_height is not None
                  and proposal.approved_height <= self.scanned):
                for ref in revoked_credentials(action):  # all of a list, or none
                    revocation = load_revocation(core.chain.state, action.issuer,
                                                 ref.batch_root, ref.target_hash)
                    if revocation is not None and revocation.proposal_id == proposal_id:
                        self._add(status_list_id(action.issuer, ref.batch_root), ref.index,
                                  revocation.time_ms)
                del self.proposed[proposal_id]

    def snapshot(self, core: NodeCore, list_id: bytes
                 ) -> tuple[Batch | None, frozenset[int], int | None]:
        """The batch, its revoked indices and the last revocation's time. Ledger worker
        only: the index is written there, so it is read there too."""
        issuer, root = list_id[:MEMBER_ID_BYTES], list_id[MEMBER_ID_BYTES:]
        return (load_batch(core.chain.state, issuer, root),
                frozenset(self.revoked.get(list_id, ())), self.last_time_ms.get(list_id))


@dataclass(frozen=True)
class SignedList:
    """A status list signed, and when it is to be signed again (half its validity)."""

    signed: dict[str, Any]
    resign_at_ms: int


@dataclass
class VcSettings:
    issuer: KeyPair | None = None
    token: bytes = b""
    index: RevocationIndex = field(default_factory=RevocationIndex)
    lists: OrderedDict[tuple[str, int], SignedList] = field(default_factory=OrderedDict)
    # The clock a list's validity is counted from (a test pins it as it pins a verifier's).
    clock: Callable[[], float] = time.time
    pool: Executor = field(default_factory=lambda: _new_pool())
    # MAX_VC_IN_FLIGHT documents canonicalised at once, shared fairly between addresses.
    in_flight: FairSlots = field(default_factory=FairSlots)
    in_flight_by_source: dict[str, int] = field(default_factory=dict)


VC = web.AppKey("vc_settings", VcSettings)
VC_CORE = web.AppKey("vc_core", NodeCore)
STATUS_BASE = web.AppKey("vc_status_base", str)


def core_of(request: web.Request) -> NodeCore:
    return request.app[VC_CORE]


def status_base(request: web.Request) -> str:
    """The configured public URL, else the one this request reached the node by (its
    Host header is the client's word: only a plain host[:port] is taken from it).

    Any such Host: a list signed for a new one is costly work under the caller's share
    of the VC slots (`in_vc_pool`), cached among MAX_CACHED_LISTS. No cap on the Hosts
    named, first come: four anonymous requests would take every name but the node's bare
    address, and verifiers reaching it by its DNS name be refused the list their VCs name."""
    if request.app[STATUS_BASE]:
        return request.app[STATUS_BASE]
    host = request.host.lower() if PLAIN_HOST.match(request.host) else "localhost"
    return f"{request.scheme}://{host}"


def own_base(request: web.Request) -> str:
    """The base of the lists a verification reads itself (never served: no Host read)."""
    if request.app[STATUS_BASE]:
        return request.app[STATUS_BASE]
    reached = _reached(request)
    return f"{request.scheme}://{reached[0] if reached else 'localhost'}"


def _reached(request: web.Request) -> tuple[str, ...]:
    """The Host values naming the address this connection reached (the socket's own)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not isinstance(sockname, tuple) or len(sockname) < 2:
        return ()
    address, port = str(sockname[0]).lower(), sockname[1]
    named = f"[{address}]" if ":" in address else address
    return (f"{named}:{port}", named) if port in (80, 443) else (f"{named}:{port}",)


def _too_large(request: web.Request, size: int) -> web.HTTPException:
    """413, as the routes declare and as the node's own API answers (it was a 400)."""
    return body_too_large(request, MAX_VC_BODY_BYTES, size)


async def read_body(request: web.Request,
                    charge: ArrivalCharge | None = None) -> dict[str, Any]:
    """The JSON object a VC-API request sends (`read_bytes`), parsed. Only the issuing
    routes, for a caller with the node's token: the verify routes' bodies, anyone's, are
    parsed in a VC worker (`node.vc_work.verify_body`)."""
    data = await read_bytes(request, charge)
    # Parsed in the API's verification pool (paced, bounded, 503 busy when full), not on
    # the event loop: a 512 KiB body of 170,000 empty arrays took ~0.3 s of the loop to
    # parse and measure, so one address posting such bodies held a validator's loop,
    # and its consensus frames, most of the time.
    parsed: dict[str, Any] = await public(request, parse_body, data,
                                          pool=request.app[VERIFY_WORK])
    return parsed


async def read_bytes(request: web.Request, charge: ArrivalCharge | None = None) -> bytes:
    """The body a VC-API request sends, each piece of it told to `charge` (a chunked
    body's byte rate, `node.api_public.within_byte_rate`) as it arrives, refused before
    parsing past MAX_VC_BODY_SEPARATORS (a count in C, ~0.3 ms a MiB)."""
    if request.content_length is not None and request.content_length > MAX_VC_BODY_BYTES:
        raise _too_large(request, request.content_length)
    await invite_body(request)
    data = b""
    try:
        # Under the same deadline as every other body: a client that sends its headers
        # and then nothing held this handler, and its connection, for ever.
        async with asyncio.timeout(BODY_READ_TIMEOUT_S):
            while len(data) <= MAX_VC_BODY_BYTES:  # read() may return early: read to the end
                chunk = await request.content.read(MAX_VC_BODY_BYTES + 1 - len(data))
                if not chunk:
                    break
                data += chunk
                if charge is not None:
                    await charge(len(chunk))
    except TimeoutError as exc:
        raise http_error(web.HTTPRequestTimeout, "body_timeout",
                         f"request body not received within {BODY_READ_TIMEOUT_S:g} s",
                         params={"limit": int(BODY_READ_TIMEOUT_S)},
                         headers={"Connection": "close"}) from exc
    except web.RequestPayloadError as exc:
        raise InvalidDocument(payload_problem(exc)) from exc
    if len(data) > MAX_VC_BODY_BYTES:
        raise _too_large(request, len(data))
    check_separators(data)
    return data


def check_separators(data: bytes) -> None:
    if separators(data) > MAX_VC_BODY_SEPARATORS:
        raise InvalidDocument(f"body holds more than {MAX_VC_BODY_SEPARATORS} commas and "
                              "opening brackets (those in its text counted too): more than "
                              "a presentation of the most credentials and values can hold")


def parse_body(data: bytes) -> dict[str, Any]:
    """A VC-API request body: a JSON object nested at most MAX_VC_BODY_DEPTH deep, read
    as a VC worker reads a verify route's (`node.vc_work.body_object`)."""
    check_separators(data)
    return _accepted(body_object(data))


def _accepted(read: dict[str, Any] | BodyRefused) -> dict[str, Any]:
    """What a body reader found, or its refusal raised as the route's error."""
    if isinstance(read, BodyRefused):
        if read.params:
            raise FieldProblem(read.message, **read.params)
        raise InvalidDocument(read.message)
    return read


async def in_vc_pool(request: web.Request, func: Any, *args: Any) -> Any:
    """Run `func` in the VC pool once one of the shared slots is this client's (a
    bounded wait, `node.fair_share`), or answer 429 busy."""
    settings, source = request.app[VC], address_key(request.remote or "")
    try:
        await settings.in_flight.acquire(source)
    except SlotsBusy as exc:
        raise web.HTTPTooManyRequests(
            text=json.dumps({"error": {"code": "busy", "message": "VC documents from other "
                                       f"clients are being checked ({exc}); retry shortly"}}),
            content_type="application/json") from None
    try:
        try:
            return await asyncio.get_running_loop().run_in_executor(settings.pool, func, *args)
        except BrokenProcessPool as exc:
            # A worker died (killed, out of memory): start a fresh pool for the next caller.
            settings.pool.shutdown(wait=False, cancel_futures=True)
            settings.pool = _new_pool()
            raise web.HTTPServiceUnavailable(
                text=json.dumps({"error": {"code": "vc_worker_lost", "message":
                                           "a VC worker process died; retry"}}),
                content_type="application/json") from exc
    finally:
        settings.in_flight.release(source)


@contextlib.asynccontextmanager
async def verifying_for(request: web.Request) -> AsyncIterator[None]:
    """Count a verification against its client's address: 429 past
    MAX_VC_IN_FLIGHT_PER_SOURCE at once, unless the address is rate-exempt."""
    address = request.remote or "unknown"
    counts = request.app[VC].in_flight_by_source
    if address in request.app[LIMITS].exempt:
        yield
        return
    source = address_key(address)
    if counts.get(source, 0) >= MAX_VC_IN_FLIGHT_PER_SOURCE:
        raise http_error(web.HTTPTooManyRequests, "busy", f"{MAX_VC_IN_FLIGHT_PER_SOURCE} VC "
                         "documents from this address are being checked; retry when one is "
                         "answered", params={"limit": MAX_VC_IN_FLIGHT_PER_SOURCE})
    counts[source] = counts.get(source, 0) + 1
    try:
        yield
    finally:
        counts[source] -= 1
        if not counts[source]:
            del counts[source]


def options_of(body: dict[str, Any]) -> dict[str, Any]:
    return _accepted(options_in(body))
