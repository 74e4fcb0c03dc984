"""What the node's VC workers run, in a module that imports only `ledger`,
`node.orphan_guard` and `node.submission_body` (which import only `ledger` and the
standard library) and the standard library.

A worker imports the module of each function it is handed as it unpickles the job.
The warm-up job lived in `node.vc_api`, the signing jobs in `node.vc_issuing` and the
workers' initializer in `node.vc_common`, so each worker imported aiohttp and most of
the node (0.59 s of CPU, measured): two workers took more than a second of every node
start. The fork server preloads this module (`node.vc_common.FORK_SERVER_PRELOAD`), so
a worker forked from it has everything its jobs need.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger import json_objects
from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2, MAX_DEPTH, canonize
from ledger.vc.export import STATUS_PATH, batch_list_id
from ledger.vc.presentation import verify_presentation
from ledger.vc.proofs import add_proof
from ledger.vc.verify import VcVerdict, verify_vc
from node.orphan_guard import exit_with
from node.submission_body import json_problem


def start_worker(parent_pid: int, niceness: int) -> None:
    # SIGINT is ignored already: the fork server ignores it from its first preloaded
    # module (node.sigint_ignored), and hands each worker the handlers it had.
    os.nice(niceness)
    exit_with(parent_pid)


def warm_worker() -> None:
    """Load the bundled contexts and PyLD's caches in a worker process."""
    canonize({"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
              "credentialSubject": {"id": "did:example:warm"}})


def sign_checked(unsigned: dict[str, Any], issuer: KeyPair, now: str) -> dict[str, Any]:
    """`unsigned` with its proof, refused if what was signed would not verify."""
    signed = add_proof(unsigned, issuer, now)
    shape = verify_vc(signed, datetime.now(tz=UTC))
    if not shape.valid and shape.status == "malformed":
        raise InvalidDocument(shape.reason)
    return signed


def sign_anchored(issuer: KeyPair, now: str, anchored: dict[str, Any]) -> dict[str, Any]:
    """`anchored` with its proof. It comes last: `issue_anchored` hands it to a partial
    that holds the issuer and the time."""
    return add_proof(anchored, issuer, now)


# --- The verify routes' bodies -------------------------------------------------------
# A verify route's body is parsed and checked here, in a worker, never in the node's
# own process: 60,000 `{}` (180 KB, well under MAX_VC_BODY_BYTES) took ~0.25 s of a
# node thread to parse and measure, holding the GIL against consensus (honest commit
# p50 78 -> 263 ms with six addresses posting them). The node hands a worker the bytes
# (a copy) and gets back a small answer: a refusal, the status lists to look up, or
# the verdict with the credentials its chain checks read (those canonicalised, so
# within a document's limits).

# Nesting of a request body: a document's own limit (ledger.vc.canon.MAX_DEPTH) plus
# the envelope around it (body, presentation, its list of credentials). A body nested
# deeper is refused before anything walks it.
MAX_VC_BODY_DEPTH = MAX_DEPTH + 4
# Status lists a verification looks up for a document's status entries: each costs
# ledger jobs on the engine thread, found or not.
MAX_STATUS_LOOKUPS = 8
StatusLists = dict[bytes, dict[str, Any]]  # a list's id (issuer id + batch root) -> list


@dataclass(frozen=True)
class BodyRefused:
    """A malformed body: the refusal's message and the specifics it names."""

    message: str
    params: dict[str, str | int] | None = None


@dataclass(frozen=True)
class ListsNeeded:
    """The status lists of this node the body's Senim credentials name, to look up."""

    list_ids: tuple[bytes, ...]


@dataclass(frozen=True)
class BodyVerified:
    """The verdict, and per credential verdict (the one of a credential, or those of a
    presentation's credentials, in order) the credential the chain checks read, or None
    where there are none to make."""

    verdict: VcVerdict
    chain_checked: tuple[dict[str, Any] | None, ...]


def body_object(data: bytes) -> dict[str, Any] | BodyRefused:
    """A VC-API request body as a JSON object (UTF-8, no key given twice) nested at most
    MAX_VC_BODY_DEPTH deep, or why it is not one. Every VC route's body is read by this
    (`node.vc_common.parse_body` for those parsed in the node's process)."""
    try:
        body = json_objects.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # DuplicateKey and UnicodeDecodeError too
        return BodyRefused(json_problem(exc))
    if not isinstance(body, dict):
        return BodyRefused("body must be a JSON object")
    if nesting(body, MAX_VC_BODY_DEPTH) > MAX_VC_BODY_DEPTH:
        return BodyRefused(f"body is nested more than {MAX_VC_BODY_DEPTH} levels deep",
                           {"field": "body", "limit": MAX_VC_BODY_DEPTH})
    return body


def options_in(body: dict[str, Any]) -> dict[str, Any] | BodyRefused:
    """A body's `options` object ({} when absent), or why it is not one."""
    options = body.get("options", {})
    if not isinstance(options, dict):
        return BodyRefused("options must be an object", {"field": "options"})
    return options


def verify_body(data: bytes, presentation: bool, now: datetime,
                lists: StatusLists | None) -> BodyRefused | ListsNeeded | BodyVerified:
    """Parse and verify a POST /credentials/verify (or, `presentation`, a
    /presentations/verify) body. With `lists` None, a body naming this node's status
    lists is answered ListsNeeded; the node looks them up and asks again with them."""
    body = body_object(data)
    if isinstance(body, BodyRefused):
        return body
    options = options_in(body)
    if isinstance(options, BodyRefused):
        return options
    for key in ("expectedProofPurpose", "challenge", "domain"):
        if options.get(key) is not None and not isinstance(options[key], str):
            return BodyRefused(f"options.{key} must be a string", {"field": f"options.{key}"})
    document = body.get("verifiablePresentation" if presentation else "verifiableCredential")
    inner: list[Any] = [document]
    if presentation:
        held = document.get("verifiableCredential", []) if isinstance(document, dict) else []
        inner = held if isinstance(held, list) else [held]
    named = own_list_urls(inner)
    if lists is None and named:
        return ListsNeeded(tuple(dict.fromkeys(named.values())))
    by_url = {url: lists[list_id] for url, list_id in named.items()
              if lists is not None and list_id in lists}
    challenge, domain = options.get("challenge"), options.get("domain")
    if presentation:
        verdict = verify_presentation(document, now, challenge, domain, None, None,
                                      by_url.get, lists_vouched=True)
        verdicts = verdict.credentials
    else:
        verdict = verify_vc(document, now, None, None, by_url.get,
                            purpose=options.get("expectedProofPurpose") or "assertionMethod",
                            challenge=challenge, domain=domain, lists_vouched=True)
        verdicts = [verdict]
    return BodyVerified(verdict, tuple(
        credential if _chain_checked(each, credential) else None
        for each, credential in zip(verdicts, inner, strict=False)))


def _chain_checked(verdict: VcVerdict, credential: Any) -> bool:
    """A Senim VC that verified gets the native checks; one its list calls revoked, the
    chain's when and why."""
    return (isinstance(credential, dict) and "senim" in credential
            and (verdict.valid or verdict.status == "revoked"))


def own_list_urls(credentials: list[Any]) -> dict[str, bytes]:
    """The status list URLs of these credentials that name this node's list of their
    own batch (`lists_vouched`: a list says nothing of another batch's credential, nor
    of one no batch holds; any VC naming a real batch's list at any host was read
    against it, so a stranger's got its "revoked"), each with the list's id, at most
    MAX_STATUS_LOOKUPS lists in all (each costs the node ledger jobs, found or not)."""
    urls: dict[str, bytes] = {}
    ids: set[bytes] = set()
    for credential in credentials:
        own = batch_list_id(credential)
        entries = credential.get("credentialStatus") if own is not None else None
        for entry in entries if isinstance(entries, list) else [entries]:
            url = entry.get("statusListCredential") if isinstance(entry, dict) else None
            if not isinstance(url, str) or STATUS_PATH not in url:
                continue
            try:
                list_id = bytes.fromhex(url.rsplit(STATUS_PATH, 1)[1])
            except ValueError:
                continue
            if list_id != own:
                continue
            if list_id not in ids and len(ids) == MAX_STATUS_LOOKUPS:
                return urls
            ids.add(list_id)
            urls[url] = list_id
    return urls


def nesting(value: Any, beyond: int) -> int:
    """How deep objects and arrays nest in `value` (0 for a scalar), without recursion;
    the walk stops once past `beyond`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            if deepest > beyond:
                break
            stack.extend((child, depth + 1) for child in item)
    return deepest
