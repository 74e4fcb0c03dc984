"""The W3C VC-API on every node, and the Bitstring Status Lists of the chain's batches.

- `POST /credentials/verify`, `POST /presentations/verify`: any VC 2.0 with an
  `eddsa-rdfc-2022` proof by a did:key; Senim VCs also get the chain checks, and any
  other verified is warned of as one no chain records (`not_on_chain`).
- `POST /credentials/issue`: only on a node configured with an issuer key
  (`[vc] issuer_key`), only for a caller with its token (`[vc] issue_token_file`);
  each credential is anchored on chain first (`node.vc_issuing`).
- `POST /credentials/status`: the same caller revokes such a credential on chain.
- `GET /credentials/status/{issuer id + batch root}`: the batch's revocation list, derived
  from the revocations on chain and signed by this node's key.

Canonicalisation, and the parsing of a verify route's body, run in a pool of worker
processes (`node.vc_common`, `node.vc_work`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from ledger.errors import ConfigError, InvalidDocument
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.vc.canon import SENIM_CONTEXT
from ledger.vc.didkey import did_key
from ledger.vc.export import STATUS_PATH, xsd_time
from ledger.vc.proofs import add_proof
from ledger.vc.status import status_list_credential
from ledger.vc.verify import VcVerdict, check_senim, revocation_from_chain
from ledger.verification import Check
from node import openapi as shapes
from node.api_public import within_byte_rate, within_rate
from node.api_schema import JSON, Reply, Route, obj, vc_error_reply
from node.fair_share import VC_PROCESSES
from node.files import (
    SECRET_FILE_BYTES_MAX,
    UnfitFile,
    load_key,
    read_bounded,
    refuse_unsafe_secret,
)
from node.http_limits import ArrivalCharge, http_error
from node.openapi import LIST_ID_BYTES
from node.service import NodeCore
from node.vc_common import (
    MAX_CACHED_LISTS,
    MAX_VC_BODY_BYTES,
    STATUS_BASE,
    STATUS_LIST_VALIDITY_S,
    VC,
    VC_CORE,
    SignedList,
    VcSettings,
    core_of,
    in_vc_pool,
    own_base,
    read_bytes,
    status_base,
    verifying_for,
)
from node.vc_issuing import ISSUING, IssuingState, issue_credential_route, update_status_route
from node.vc_problems import params_of, problem, problem_type, result_warnings
from node.vc_work import (
    MAX_STATUS_LOOKUPS,
    BodyRefused,
    BodyVerified,
    ListsNeeded,
    StatusLists,
    verify_body,
    warm_worker,
)

MAX_TOKEN_BYTES = 4096


def configure_vc(app: web.Application, issuer_key: Path | None, token_file: Path | None,
                 public_url: str | None = None) -> None:
    """The node's `[vc]` config: its public URL (for status list ids) and, when an
    issuer key and a token file are named, issuing."""
    if public_url:
        app[STATUS_BASE] = public_url.rstrip("/")
    issuing = load_vc_issuing(issuer_key, token_file)
    if issuing is not None:
        app[VC].issuer, app[VC].token = issuing


def load_vc_issuing(issuer_key: Path | None, token_file: Path | None
                    ) -> tuple[KeyPair, bytes] | None:
    """The issuer key and bearer token of `[vc]`, or None when the node does not issue."""
    if issuer_key is None:
        return None
    if token_file is None:
        raise ConfigError("vc.issue_token_file", "is required with vc.issuer_key")
    try:
        read = read_bounded(token_file, SECRET_FILE_BYTES_MAX, "token file")
    except FileNotFoundError as exc:
        raise ConfigError("vc.issue_token_file", f"file not found: {token_file}") from exc
    except (OSError, UnfitFile) as exc:
        raise ConfigError("vc.issue_token_file", f"cannot read: {exc}") from exc
    refuse_unsafe_secret(token_file, read.status, "vc.issue_token_file", "the token file")
    token = read.data.strip()
    if not 16 <= len(token) <= MAX_TOKEN_BYTES:
        raise ConfigError("vc.issue_token_file", "must hold a token of 16 to 4096 bytes")
    return load_key(issuer_key), token


async def status_list(request: web.Request, list_id: bytes, base: str
                      ) -> dict[str, Any] | None:
    """The signed status list credential of a batch, as of the chain's head, named by
    `base` (`status_base` for a list served, `own_base` for one read by the node)."""
    settings, core = request.app[VC], core_of(request)
    if core.chain.base_height > 0:
        # The list's indices come from revoke transactions, and this node holds no block
        # below its state-sync snapshot: a list without those revocations would lie.
        raise http_error(web.HTTPNotFound, "status_list_not_held", "this node joined by "
                         "state sync and holds no blocks before block "
                         f"{core.chain.base_height}; ask another node",
                         params={"base_height": core.chain.base_height})
    while not await core.in_worker(settings.index.catch_up, core):
        pass
    batch, revoked, last_ms = await core.in_worker(settings.index.snapshot, core, list_id)
    if batch is None:
        return None
    url = base + STATUS_PATH + list_id.hex()
    cache_key = (url, len(revoked))
    now_ms = int(settings.clock() * 1000)
    cached = settings.lists.get(cache_key)
    if cached is not None and now_ms < cached.resign_at_ms:
        settings.lists.move_to_end(cache_key)
        return cached.signed
    since = last_ms or batch.time_ms
    # A short validity, so that a list replayed once a revocation has come (the list of
    # before it, a genuine signature) stops verifying: Senim's verification, and any
    # verifier that checks validUntil, refuses a list outside its validity period.
    unsigned = status_list_credential(url, did_key(core.keys.public_key), xsd_time(since),
                                      revoked, batch.count,
                                      xsd_time(now_ms + STATUS_LIST_VALIDITY_S * 1000))
    # Signing canonicalises the list, as a verification does: under the same limit,
    # or a crowd asking for many batches' lists queued unbounded work in the VC pool.
    signed: dict[str, Any] = await in_vc_pool(request, add_proof, unsigned, core.keys,
                                              xsd_time(since))
    # Signed again once half its validity is gone: a list handed out has half of it left.
    settings.lists[cache_key] = SignedList(signed, now_ms + STATUS_LIST_VALIDITY_S * 500)
    settings.lists.move_to_end(cache_key)
    while len(settings.lists) > MAX_CACHED_LISTS:
        settings.lists.popitem(last=False)
    return signed


async def get_status_list(request: web.Request) -> web.Response:
    await within_rate(request, "verify")  # each costs ledger jobs on the engine thread
    try:
        list_id = bytes.fromhex(request.match_info["list_id"])
    except ValueError:
        list_id = b""
    if len(list_id) != LIST_ID_BYTES:
        return problem(400, "bad_parameter", "a status list is named by the issuer's id and "
                       f"the batch root: {LIST_ID_BYTES} bytes of hex", {"field": "list_id"})
    listed = await status_list(request, list_id, status_base(request))
    if listed is None:
        return problem(404, "no_such_batch", "no batch with this root is on chain")
    return web.json_response(listed)


async def _chain_checks(request: web.Request, verdict: VcVerdict, credential: Any) -> None:
    """The native checks of a Senim VC that verified; of one its status list calls
    revoked, when and why (`revocation_from_chain`)."""
    if not (isinstance(credential, dict) and "senim" in credential) or not (
            verdict.valid or verdict.status == "revoked"):
        return
    core = core_of(request)
    await core.in_worker(_checks_on_chain, core, verdict, credential)


def _checks_on_chain(core: NodeCore, verdict: VcVerdict, credential: Any) -> None:
    """On the ledger worker, so that the height the facts are as of is their state's (a
    retirement still ahead of it is said to be ahead, not to have happened)."""
    height = core.chain.height
    facts = LocalFacts(core.chain.state, f"node {core.keys.member_id.hex()[:12]} at "
                       f"height {height}", height, block_times=core.chain.block_time)
    if verdict.valid:
        check_senim(verdict, credential, facts, core.chain_id)
    else:
        revocation_from_chain(verdict, credential, facts, core.chain_id)


def _vc_api_result(verdict: VcVerdict) -> web.Response:
    """VC-API verify response: checks and problems; 200 if verified, 400 if not."""
    problem = {"type": problem_type(verdict.status), "code": verdict.status,
               "title": verdict.status, "detail": verdict.reason}
    body = {
        "verified": verdict.valid,
        "checks": [c.name for c in verdict.checks if c.ok],
        "warnings": result_warnings(verdict),
        "errors": [] if verdict.valid else [problem],
        "verdict": verdict.to_json(),
    }
    return web.json_response(body, status=200 if verdict.valid else 400)


async def verify_credential_route(request: web.Request) -> web.Response:
    # The client's verification rates, as /v1/verify's: the VC routes were under none,
    # so one address could post 512 KiB bodies as fast as the node read them.
    rated = await within_byte_rate(request, MAX_VC_BODY_BYTES)
    async with verifying_for(request):
        return await _verify_credential(request, rated)


async def _verify_credential(request: web.Request, rated: ArrivalCharge) -> web.Response:
    outcome = await _verified_body(request, rated, presentation=False)
    if not isinstance(outcome, BodyVerified):
        return outcome
    for credential in outcome.chain_checked:
        if credential is not None:
            await _chain_checks(request, outcome.verdict, credential)
    return _vc_api_result(outcome.verdict)


async def verify_presentation_route(request: web.Request) -> web.Response:
    rated = await within_byte_rate(request, MAX_VC_BODY_BYTES)
    async with verifying_for(request):
        return await _verify_presentation(request, rated)


async def _verify_presentation(request: web.Request, rated: ArrivalCharge) -> web.Response:
    outcome = await _verified_body(request, rated, presentation=True)
    if not isinstance(outcome, BodyVerified):
        return outcome
    verdict = outcome.verdict
    for credential_verdict, credential in zip(verdict.credentials, outcome.chain_checked,
                                              strict=False):
        if credential is not None:
            await _chain_checks(request, credential_verdict, credential)
        if verdict.valid and not credential_verdict.valid:
            # the worker found it valid; the chain does not: said as the worker says one
            verdict.checks = [c for c in verdict.checks if c.name != "credentials"]
            verdict.fail(credential_verdict.status, Check(
                "credentials", False, f"a credential fails: {credential_verdict.reason}"))
    return _vc_api_result(verdict)


async def _verified_body(request: web.Request, rated: ArrivalCharge, presentation: bool
                         ) -> BodyVerified | web.Response:
    """The body parsed, checked and verified in a VC worker (`verify_body`): the node's
    own process only reads and counts its bytes. The lists of this node it names are
    looked up between two jobs, the second parsing the bytes again."""
    try:
        data = await read_bytes(request, rated)
    except InvalidDocument as exc:
        return problem(400, "malformed", str(exc), params_of(exc))
    now = datetime.now(tz=UTC)
    outcome = await in_vc_pool(request, verify_body, data, presentation, now, None)
    if isinstance(outcome, ListsNeeded):
        lists: StatusLists = {}
        for list_id in outcome.list_ids[:MAX_STATUS_LOOKUPS]:
            found = await status_list(request, list_id, own_base(request))
            if found is not None:
                lists[list_id] = found
        outcome = await in_vc_pool(request, verify_body, data, presentation, now, lists)
    if isinstance(outcome, BodyRefused):
        return problem(400, "malformed", outcome.message, outcome.params)
    if not isinstance(outcome, BodyVerified):  # a second ListsNeeded: never, lists given
        raise TypeError(f"verify_body answered {type(outcome).__name__}")
    return outcome


def warm_workers_on_start(app: web.Application) -> None:
    """A running node starts its VC workers with the app, not on the first caller's
    request: a cold worker takes seconds (fork server, imports, contexts), long
    enough for a client to give up. (In-process test apps skip this.)"""
    app.on_startup.append(_warm_pool)


async def _warm_pool(app: web.Application) -> None:
    # Not awaited: the node answers meanwhile.
    loop = asyncio.get_running_loop()
    for _ in range(VC_PROCESSES):
        try:
            warming = loop.run_in_executor(app[VC].pool, warm_worker)
        except (OSError, EOFError, RuntimeError):
            # The fork server is gone (a stop sent to the node's whole process group, as
            # systemd sends one, reached it first): the warm-up only is lost. It raised
            # out of the app's start-up, and the node exited 1 with click's 'Aborted!'.
            return
        warming.add_done_callback(_settled)


def _settled(future: asyncio.Future[None]) -> None:
    # A warm-up that failed (pool shut down, worker killed) costs only the warm-up:
    # the first real request then meets the cold worker, or a fresh pool.
    if not future.cancelled():
        future.exception()


async def _shutdown_pool(app: web.Application) -> None:
    app[VC].pool.shutdown(wait=False, cancel_futures=True)


CONTEXT_PATH = "/contexts/credentials/v1"  # SENIM_CONTEXT's path, served by every node


async def senim_context(request: web.Request) -> web.Response:
    """The Senim JSON-LD context, the bytes `ledger/vc/contexts/SHA256SUMS` records: its URL
    (SENIM_CONTEXT) names no server a verifier elsewhere can reach, and the context was
    found only in this repository."""
    await within_rate(request, "verify")
    return web.Response(body=_CONTEXT_BYTES, content_type="application/ld+json")


_CONTEXT_BYTES = resources.files("ledger.vc").joinpath("contexts/senim-v1.jsonld").read_bytes()

VC_ROUTES: tuple[Route, ...] = (
    Route("GET", CONTEXT_PATH, senim_context, "The Senim JSON-LD context (what "
          f"{SENIM_CONTEXT} names), for a verifier's document loader", {
              200: Reply("The context", {"application/ld+json": {"type": "object"}}),
              429: vc_error_reply("Over this client's rate; see Retry-After")}),
    Route("POST", "/credentials/verify", verify_credential_route,
          "VC-API: verify a VC 2.0 with an eddsa-rdfc-2022 proof by a did:key",
          shapes.VC_VERIFIED, body={JSON: obj({"verifiableCredential": {"type": "object"}},
                                        {"options": shapes.VC_OPTIONS})}),
    Route("POST", "/presentations/verify", verify_presentation_route,
          "VC-API: verify a presentation, with challenge and domain",
          shapes.VP_VERIFIED, body={JSON: obj({"verifiablePresentation": {"type": "object"}},
                                        {"options": shapes.VC_OPTIONS})}),
    Route("POST", "/credentials/issue", issue_credential_route,
          "VC-API: issue, anchored on chain as a one-credential batch with a status entry "
          "(only on a node with an issuer key, for a caller with its token)", {
              201: Reply("Issued and anchored", {JSON: obj({"verifiableCredential": {
                  "type": "object"}})}),
              400: vc_error_reply("Malformed request or credential"),
              401: vc_error_reply("No valid issuing token"),
              403: vc_error_reply("This node does not issue, or the chain refuses the issuer "
                                  "(not a member, not accredited for the type)"),
              **shapes.VC_BUSY,
              503: vc_error_reply("Not committed in time, a VC worker died, or the store is "
                                  "damaged")},
          body={JSON: obj({"credential": {"type": "object"}},
                          {"options": shapes.VC_ISSUE_OPTIONS})}),
    Route("POST", "/credentials/status", update_status_route,
          "VC-API: update a credential's status: revoked, on chain (no suspension: Senim "
          "cannot undo a revocation)", {
              200: Reply("Revoked on chain", {JSON: shapes.VC_STATUS_UPDATED}),
              400: vc_error_reply("Malformed request, or a status other than revoked"),
              401: vc_error_reply("No valid issuing token"),
              403: vc_error_reply("This node does not issue, or the chain refuses it"),
              404: vc_error_reply("This node issued no credential with this id since it "
                                  "started"),
              409: vc_error_reply("Already revoked"),
              413: vc_error_reply("Body too large"), 429: vc_error_reply("Busy; retry shortly"),
              503: vc_error_reply("Not committed in time, or the store is damaged")},
          body={JSON: shapes.VC_STATUS_UPDATE}),
    Route("GET", STATUS_PATH + "{list_id}", get_status_list,
          "A batch's Bitstring Status List credential, as of the chain's head", {
              200: Reply("The signed status list", {JSON: {"type": "object"}}),
              400: vc_error_reply("Bad list id"), 404: vc_error_reply("No such batch"),
              429: vc_error_reply("Over this client's rate; see Retry-After"),
              503: vc_error_reply("The store is damaged, a VC worker died, or the node is "
                                  "busy (Retry-After)")},
          params=(shapes.LIST_ID,), head=False),
)


def add_vc_routes(app: web.Application, core: NodeCore) -> tuple[Route, ...]:
    """Set up the VC state; the routes to register are returned (`node.api` adds them)."""
    app[VC] = VcSettings()
    app[ISSUING] = IssuingState()
    app[VC_CORE] = core
    app[STATUS_BASE] = ""
    app.on_cleanup.append(_shutdown_pool)
    return VC_ROUTES
