"""Chain facts from one node over HTTP, checked so that the node need not be trusted.

Every answer's Merkle proof is checked against one state root, so the answers
agree with each other. Given the consortium's genesis (and a certificate
check), that root is checked too, as a light client does: the node serves the
validator-set changes since genesis, which are followed one by one
(`ledger.light_client`); it must show the block at that height with a commit
certificate signed by a quorum of the set in force at that height, the block's
header must carry that very root, and the block's state must hold no set
change that the walk skipped. A node can then only lie by omission: answering
from an older certified block. The verdict says which block and time it holds
as of, and `max_age_s` turns an answer older than that into a refusal.

Without a certificate check the root is taken on the node's word, and the
source says so.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from cli.deadline import Deadline, DeadlinePassed
from cli.deadline_http import deadline_opener
from cli.spoken import Moment, Sentence
from ledger.blocks import Header, decode_block
from ledger.errors import MalformedInput, SenimError
from ledger.facts import StateFacts
from ledger.genesis import Genesis
from ledger.light_client import (
    MAX_SET_CHANGE_PROOFS,
    SetCertificateCheck,
    SetChangeProof,
    UnprovenValidatorSet,
    ValidatorSetHistory,
    follow_validator_sets,
)
from ledger.payload_fields import MAX_HEIGHT
from ledger.records import CALENDAR_LAST_MS
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from ledger.verification import when
from storage.errors import MalformedProofError
from storage.state_tree import state_proof_from_json, verify_state_proof

# What one answer may take: a block is at most 2 MiB, its JSON view and a page of
# set-change proofs a few MiB. A node that sends more, or sends it slower, is not
# answering: the verifier gives up rather than fill its memory or wait for ever.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
ANSWER_DEADLINE_S = 60.0
NODE_EXAMPLE = "http://127.0.0.1:8101"  # a node URL, as an error shows one
READ_CHUNK_BYTES = 64 * 1024
# What decoding or reading a record the node sent can raise when the node's word is
# taken (no --genesis): a record can decode yet hold a value of the wrong kind (a number
# where bytes belong, a time no calendar holds). Checked answers never get that far.
NODE_RECORD_ERRORS = (MalformedInput, KeyError, TypeError, AttributeError, ValueError,
                      OverflowError)


class RemoteFactsError(SenimError):
    """The node could not be reached, or answered with something that does not verify.
    Made of a Sentence, it is said in the reader's language where it is printed."""

    def __init__(self, message: str | Sentence) -> None:
        super().__init__(str(message))
        self.sentence = message if isinstance(message, Sentence) else None


class Readable(Protocol):
    """An HTTP answer's body as urllib hands it over (a response, or an HTTPError's)."""

    def read1(self, size: int = -1, /) -> bytes: ...


def read_bounded(response: Readable, url: str,
                 limit: int | None = None, deadline_s: float | None = None) -> bytes:
    """The body of `response`, or RemoteFactsError past `limit` bytes (MAX_ANSWER_BYTES)
    or `deadline_s` (ANSWER_DEADLINE_S)."""
    limit = MAX_ANSWER_BYTES if limit is None else limit
    deadline_s = ANSWER_DEADLINE_S if deadline_s is None else deadline_s
    deadline = time.monotonic() + deadline_s
    data = bytearray()
    # read1: one socket read at a time, so the deadline holds against a drip
    while chunk := response.read1(READ_CHUNK_BYTES):
        data += chunk
        if len(data) > limit:
            raise RemoteFactsError(Sentence("cli.node.too_large", url=url, limit=limit))
        if time.monotonic() > deadline:
            raise RemoteFactsError(Sentence("cli.node.dripping", url=url,
                                            seconds=f"{deadline_s:g}"))
    return bytes(data)


def login_in_url(base_url: str) -> Sentence | None:
    """What is wrong with a node URL that carries a user name or password
    ('http://admin:secret@10.0.0.5:8101', for a proxy that asks for one); None if it
    carries none. urllib took 'admin:secret@10.0.0.5' for the host name, so the command
    said "the host name is unknown: check its spelling", and printed the password back in
    the line. senim logs in to no node: it is refused unasked, shown without the login."""
    try:
        netloc = urllib.parse.urlsplit(base_url).netloc
    except ValueError:
        return None  # a URL that cannot be read is said as that
    if "@" not in netloc:
        return None
    shown = base_url.replace(netloc, "…@" + netloc.rpartition("@")[2], 1)
    return Sentence("cli.node.bad_url", url=repr(shown), example=NODE_EXAMPLE,
                    detail=Sentence("cli.node.url_login"))


def unreachable(base_url: str, exc: Exception) -> Sentence:
    """Why a node could not be asked, in words: an https URL whose node speaks plain
    HTTP is told so ('[SSL: WRONG_VERSION_NUMBER]' is what the TLS library says)."""
    if isinstance(getattr(exc, "reason", exc), ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(
            exc) and base_url.lower().startswith("https://"):
        return Sentence("cli.node.not_tls", node=base_url,
                        plain=f"http://{base_url[len('https://'):]}")
    return Sentence("cli.node.unreachable", node=base_url, detail=Sentence(
        "cli.node.unreachable_detail", _why_unreachable(exc)))


def _why_unreachable(exc: Exception) -> str:
    """What an operator can act on, in place of urllib's '<urlopen error [Errno 111]
    Connection refused>' (the other languages' sentence covers every cause at once)."""
    cause = getattr(exc, "reason", exc)
    if isinstance(cause, ConnectionRefusedError):
        return ("nothing listens at that address: is the node running, and is it its API "
                "address (api.listen in its config)?")
    if isinstance(cause, socket.gaierror):
        return "the host name is unknown: check its spelling"
    if isinstance(cause, TimeoutError | socket.timeout):
        return "it did not answer in time: is the address right, and the network up?"
    return str(cause)


class StateMoved(RemoteFactsError):
    """The chain advanced mid-verification; verify again against the new head."""


class UntrustedAnswer(RemoteFactsError):
    """The node's answer contradicts what the genesis validators certified."""

    def verdict_facts(self, node_url: str) -> dict[str, str]:
        """What a verdict's sentence says the lie from: a proof that contradicts the node's
        own answer needs no genesis file to be caught, and is said as what it is in every
        language (not as a disagreement with a genesis file the reader may not have given)."""
        if self.sentence is not None and self.sentence.key == "cli.node.proof_false":
            return {"untrusted_because": "proof_false", "node": node_url}
        return {}


# An error answer's body read for its code: a node's is a line of JSON.
ERROR_BODY_BYTES_MAX = 4_096
# Statuses that say "ask again shortly", whatever the body: a node's "busy" is 503.
BUSY_STATUSES = (429, 503)
# Statuses of no route here: the only ones that make --node's path the likely fault.
NO_ROUTE_STATUSES = (404, 405)
NO_ROUTE_SAID = "cli.node.http_status"


def _error_answer(exc: urllib.error.HTTPError, url: str, deadline_s: float) -> Sentence:
    """A node's error answer in words: busy (503 or 429, or its own `busy` code: ask again
    shortly), no route (404, 405: is --node the node's base address?), else the status.
    Every status was said as the address's fault in kk and ru, a busy node's 503 too."""
    code = None
    try:
        error = json.loads(read_bounded(exc, url, ERROR_BODY_BYTES_MAX, deadline_s))["error"]
        code = error["code"] if isinstance(error["code"], str) else None
    except (ValueError, KeyError, TypeError, RecursionError, RemoteFactsError, OSError):
        pass  # no node's error: said by its status alone
    if code == "busy" or exc.code in BUSY_STATUSES:
        return Sentence("cli.node.busy", url=url, status=exc.code)
    if exc.code in NO_ROUTE_STATUSES:
        return Sentence(NO_ROUTE_SAID, url=url, status=exc.code)
    return Sentence("cli.node.http_error", url=url, status=exc.code)


class RemoteFacts(StateFacts):
    """Asks one node; pins the first state root it reports so all answers agree."""

    def __init__(self, base_url: str, timeout_s: float = 10.0,
                 certified: SetCertificateCheck | None = None, genesis: Genesis | None = None,
                 deadline: Deadline | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.height: int | None = None
        self.state_root: bytes | None = None
        self.header: Header | None = None  # the certified header of `state_root`
        self.certifiers = ""  # which validators certified `header`, in words
        self.certified_from = 0  # ... the set in force from this block
        self.set_changes = 0  # ... followed from genesis through these many changes
        if (certified is None) != (genesis is None):
            raise ValueError("a certificate check needs the genesis it starts from")
        self._certified = certified
        self._genesis = genesis
        self._deadline = deadline  # the command's, over all its requests (cli.deadline)
        self._history: ValidatorSetHistory | None = None  # followed to `header`

    def _fetch(self, path: str) -> bytes:
        url = self.base_url + path
        if not self.base_url.lower().startswith(("http://", "https://")):
            # "127.0.0.1:8101", as node configs write addresses: no node was asked
            raise RemoteFactsError(Sentence("cli.node.no_scheme", url=repr(self.base_url),
                                            example=NODE_EXAMPLE))
        login = login_in_url(self.base_url)
        if login is not None:
            raise RemoteFactsError(login)
        timeout_s, answer_s = self.timeout_s, ANSWER_DEADLINE_S
        # The request ends by its own limits however the node trickles, its header lines
        # included (cli.deadline_http): senim recognise and export-vc ask with no command
        # deadline, and no SIGALRM reaches a read inside http.client off the main thread.
        request_s = timeout_s + answer_s  # connecting and the headers, then the body
        if self._deadline is not None:  # only the time the command has left
            left = self._deadline.left()
            timeout_s, answer_s = min(timeout_s, left), min(ANSWER_DEADLINE_S, left)
            request_s = left
        ends = time.monotonic() + request_s
        try:
            with deadline_opener(ends).open(url, timeout=timeout_s) as response:
                return read_bounded(response, url, deadline_s=answer_s)
        except urllib.error.HTTPError as exc:
            raise RemoteFactsError(_error_answer(exc, url, answer_s)) from exc
        except (urllib.error.URLError, OSError, ValueError, RemoteFactsError) as exc:
            if self._deadline is not None and self._deadline.passed():
                raise DeadlinePassed() from exc  # said as the command's deadline, not this read's
            if isinstance(exc, RemoteFactsError):
                raise
            if isinstance(getattr(exc, "reason", exc), TimeoutError):  # reached, or not:
                # it said nothing in time, as cli.client words it
                raise RemoteFactsError(Sentence("cli.node.silent", node=self.base_url,
                                                seconds=f"{timeout_s:g}")) from exc
            if isinstance(exc, ValueError):  # no URL urllib can open: "http://[::1:1"
                raise RemoteFactsError(Sentence(
                    "cli.node.bad_url", url=repr(self.base_url), example=NODE_EXAMPLE,
                    detail=Sentence("cli.node.bad_url_detail", str(exc)))) from exc
            raise RemoteFactsError(unreachable(self.base_url, exc)) from exc
        except http.client.HTTPException as exc:  # not HTTP at all, e.g. the P2P port
            raise RemoteFactsError(Sentence("cli.node.not_http", node=self.base_url,
                                            kind=type(exc).__name__)) from exc

    def get_json(self, path: str) -> Any:
        try:
            return json.loads(self._fetch(path))
        except (ValueError, RecursionError) as exc:
            raise RemoteFactsError(Sentence("cli.node.not_json",
                                            node=self.base_url)) from exc

    def describe(self) -> str:
        if self.header is not None:
            return (f"node {self.base_url}, block {self.header.height} "
                    f"({when(self.header.time_ms)}) certified by {self.certifiers}")
        if self.height is None:
            # Nothing of its state was taken: the document failed before any chain lookup,
            # or the node's first answer was refused (it did not check against genesis).
            return f"node {self.base_url} (no state of its chain was used)"
        return f"node {self.base_url} at height {self.height} (taken on the node's word)"

    def described(self) -> Sentence:
        """`describe` in the reader's language."""
        if self.header is not None:
            return Sentence("cli.source.node_certified", self.describe(), node=self.base_url,
                            height=self.header.height, when=Moment(when(self.header.time_ms)),
                            certifiers=certifiers(self.certified_from, self.set_changes))
        if self.height is None:
            return Sentence("cli.source.node_unused", self.describe(), node=self.base_url)
        return Sentence("cli.source.node_word", self.describe(), node=self.base_url,
                        height=self.height)

    def _check_certified(self, root: bytes, height: int) -> None:
        """The light-client step: is `root` the state root of a block certified by the
        validator set followed from genesis to its height?"""
        assert self._certified is not None and self._genesis is not None
        try:
            raw = self._fetch(f"/v1/blocks/{height}?format=raw")
            info = self.get_json(f"/v1/blocks/{height}")
        except RemoteFactsError as exc:
            if exc.sentence is not None and exc.sentence.key == NO_ROUTE_SAID:
                # it answered as of a block it then has not: not a wrong --node address
                raise UntrustedAnswer(f"node answered as of block {height}, which it then "
                                      "says it does not hold: do not trust this node") from exc
            raise
        try:
            header = decode_block(raw).header
            certificate = bytes.fromhex(info["certificate"])
        except (MalformedInput, KeyError, TypeError, ValueError) as exc:
            raise UntrustedAnswer(f"node sent a block {height} that does not decode: {exc}") \
                from exc
        if header.height != height or header.chain_id != self._genesis.chain_id:
            raise UntrustedAnswer(f"node sent another block than block {height} of this chain")
        try:
            history = follow_validator_sets(self._genesis, self._set_changes(),
                                            self._certified)
            in_force = history.check_block(header, certificate, self._certified)
            if header.state_root != root:
                raise UntrustedAnswer(f"node answered from a state root that block {height} "
                                      "does not certify: do not trust this node")
            history.check_index(height, self._proven_index(header))
        except UnprovenValidatorSet as exc:
            raise UntrustedAnswer(f"{exc}: do not trust this node") from exc
        self.header, self._history = header, history
        changes = len(history.records) - 1
        self.certified_from, self.set_changes = in_force.from_height, changes
        self.certifiers = ("the genesis validators" if in_force.from_height == 1 else
                           f"the validators in force from block {in_force.from_height}, "
                           f"followed from genesis through {changes} change(s)")

    def _set_changes(self) -> list[SetChangeProof]:
        """Every validator-set change proof the node serves, page by page."""
        proofs: list[SetChangeProof] = []
        after = 0
        while True:
            page = self.get_json(f"/v1/validator-sets/changes?after={after}")
            try:
                changes, more = page["changes"], bool(page["more"])
                proofs += [SetChangeProof.from_json(c) for c in changes]
            except (KeyError, TypeError) as exc:
                raise UntrustedAnswer(f"node sent a malformed set-change page: {exc}") from exc
            except UnprovenValidatorSet as exc:
                raise UntrustedAnswer(str(exc)) from exc
            if len(proofs) > MAX_SET_CHANGE_PROOFS:
                raise UntrustedAnswer("node sent more validator-set changes than a chain "
                                      "can hold")
            if not more or not changes or proofs[-1].from_height <= after:
                return proofs
            after = proofs[-1].from_height

    def _proven_index(self, header: Header) -> bytes | None:
        """`v:index` in the block's own state, proven against its root."""
        answer = self.get_json(f"/v1/state/{VALIDATOR_SET_INDEX_KEY.hex()}")
        try:
            root = bytes.fromhex(answer["state_root"])
            value = None if answer["value"] is None else bytes.fromhex(answer["value"])
            proof = state_proof_from_json(answer["proof"])
        except (KeyError, TypeError, ValueError, MalformedProofError) as exc:
            raise RemoteFactsError(self._malformed_state(exc)) from exc
        if root != header.state_root:
            raise StateMoved("a block was committed between answers")
        if not verify_state_proof(root, VALIDATOR_SET_INDEX_KEY, value, proof):
            raise UntrustedAnswer("node's Merkle proof of the validator-set index does not "
                                  "verify: do not trust this node")
        return value

    def _value(self, key: bytes) -> bytes | None:
        answer = self.get_json(f"/v1/state/{key.hex()}")
        try:
            root = bytes.fromhex(answer["state_root"])
            value = None if answer["value"] is None else bytes.fromhex(answer["value"])
            proof = state_proof_from_json(answer["proof"])
            height = answer["height"]
            if type(height) is not int or not 0 <= height <= MAX_HEIGHT:  # True, 1.5, "9"
                raise ValueError(f"its height {str(height)[:40]!r} is no block height")
        except (KeyError, TypeError, ValueError, MalformedProofError) as exc:
            raise RemoteFactsError(self._malformed_state(exc)) from exc
        if self.state_root is None:
            if self._certified is not None:
                self._check_certified(root, height)
            self.state_root, self.height = root, height
        elif root != self.state_root:
            raise StateMoved("a block was committed between answers")
        if not verify_state_proof(root, key, value, proof):
            # the node lied about its own state: an untrusted answer, not one never given
            raise UntrustedAnswer(Sentence(
                "cli.node.proof_false", f"the node at {self.base_url} sent a proof that does "
                "not agree with its answer: do not trust this node, and check the document "
                "against another (a ministry's node, say)", node=self.base_url))
        return value

    def _malformed_state(self, exc: Exception) -> Sentence:
        return Sentence("cli.node.malformed_state", f"the node at {self.base_url} sent a "
                        f"malformed state answer ({exc}): is it a Senim node?",
                        node=self.base_url, why=str(exc))

    def get(self, key: bytes) -> bytes | None:
        return self._value(key)

    def block_time(self, height: int) -> int | None:
        """The time of block `height`, at or below the pinned one: certified by the set
        in force at its height, as the pinned block is (taken on the node's word when no
        genesis was given, as everything else then). None when the node does not hold it
        (it joined by state sync above it)."""
        if self.height is None or not 1 <= height <= self.height:
            return None
        try:
            info = self.get_json(f"/v1/blocks/{height}")
            if self._certified is None or self._history is None:
                time_ms = int(info["time_ms"])
                # a block time taken on a node's word (no --genesis) past the calendar is
                # no time a verdict can say (datetime raised OSError, not a record refused)
                if not 0 <= time_ms <= CALENDAR_LAST_MS:
                    raise ValueError(f"block time {time_ms} ms is no time a calendar shows")
                return time_ms
            raw = self._fetch(f"/v1/blocks/{height}?format=raw")
            header = decode_block(raw).header
            certificate = bytes.fromhex(info["certificate"])
        except (UntrustedAnswer, DeadlinePassed):
            raise
        except RemoteFactsError:
            return None
        except (MalformedInput, KeyError, TypeError, ValueError) as exc:
            raise UntrustedAnswer(f"node sent a block {height} that does not decode: {exc}") \
                from exc
        if header.height != height:
            raise UntrustedAnswer(f"node sent another block than block {height}")
        try:
            self._history.check_block(header, certificate, self._certified)
        except UnprovenValidatorSet as exc:
            raise UntrustedAnswer(f"{exc}: do not trust this node") from exc
        return header.time_ms


def undecodable(exc: Exception, node_url: str) -> Sentence:
    """A record the node sent (taken on its word) that does not decode, in words."""
    return Sentence("cli.node.record", f"the node sent a record that does not decode: {exc}",
                    node=node_url)


def certifiers(from_height: int, changes: int) -> Sentence:
    """Which validators certified a block: the genesis set, or the one in force from a
    later block, reached through `changes` certified set changes."""
    if from_height == 1:
        return Sentence("cli.source.genesis_validators")
    return Sentence("cli.source.later_validators", fromBlock=from_height, changes=changes)
