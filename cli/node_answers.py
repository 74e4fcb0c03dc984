"""Asking a node over HTTP: one answer, read within its limits, and why none could be
had, in words.

Each answer is bounded in size (MAX_ANSWER_BYTES) and in the time its reading takes
(ANSWER_DEADLINE_S), and the request by the command's deadline if it has one
(cli.deadline): a node that floods or trickles is given up on, not waited for. What goes
wrong (no scheme, a login in the URL, nothing listening, a plain-HTTP node behind an
https URL, a busy node, no such route, not HTTP at all) is a RemoteFactsError carrying a
Sentence. `cli.remote` checks what the answers say; `cli.client` asks the same way.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
from typing import Protocol

from cli.deadline import Deadline, DeadlinePassed
from cli.deadline_http import deadline_opener
from cli.spoken import Sentence
from ledger.errors import SenimError

# What one answer may take: a block is at most 2 MiB, its JSON view and a page of
# set-change proofs a few MiB. A node that sends more, or sends it slower, is not
# answering: the verifier gives up rather than fill its memory or wait for ever.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
ANSWER_DEADLINE_S = 60.0
READ_CHUNK_BYTES = 64 * 1024
NODE_EXAMPLE = "http://127.0.0.1:8101"  # a node URL, as an error shows one
# The node a command asks when given none (--node, $SENIM_NODE): one on this computer.
DEFAULT_NODE = NODE_EXAMPLE


class UnnamedNode(str):
    """DEFAULT_NODE as a command has it when neither --node nor $SENIM_NODE named a node:
    where the value came from (click's parameter source), not its address, since one who
    gives --node http://127.0.0.1:8101 named it. The URL carries this to where a node not
    reached is said (`unreachable`); keep it whole (`without_slash`): a str made from it
    is a plain one."""


UNNAMED_NODE = UnnamedNode(DEFAULT_NODE)


def without_slash(base_url: str) -> str:
    """`base_url` without a trailing slash, an UnnamedNode (which has none) kept one."""
    return base_url if isinstance(base_url, UnnamedNode) else base_url.rstrip("/")


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


def _login_end(base_url: str) -> tuple[str, str] | None:
    """A node URL cut after its login: (its scheme and '://', what follows the login's last
    '@'); None if it carries no login. The login runs to the last '@' of the whole URL, not
    of an authority cut at the first '/', '?' or '#': a password may hold them
    ('http://hr:pa#ss@10.0.0.5:8101' to urllib is host 'hr', fragment 'ss@10.0.0.5:8101'),
    and was printed whole. An '@' in a base URL's path is no node's, so over-hiding a host
    before one costs nothing."""
    scheme, sep, rest = base_url.partition("://")
    if not sep:
        scheme, rest = "", base_url
    if "@" not in rest:
        return None
    return scheme + sep, rest[rest.rindex("@") + 1:]


def shown_node(base_url: str) -> str:
    """A node URL as it may be printed or put in JSON: a user name or password in it
    ('http://hr:secret@10.0.0.5:8101', from $SENIM_NODE) shown as 'http://…@10.0.0.5:8101',
    one with no scheme too. Every line and --json field naming a node goes through here: a
    password was printed where a node was said not asked, or gave no answer."""
    cut = _login_end(base_url)
    return base_url if cut is None else cut[0] + "…@" + cut[1]


def login_in_url(base_url: str) -> Sentence | None:
    """What is wrong with a node URL that carries a user name or password
    ('http://admin:secret@10.0.0.5:8101', for a proxy that asks for one); None if it
    carries none. urllib took 'admin:secret@10.0.0.5' for the host name, so the command
    said "the host name is unknown: check its spelling", and printed the password back in
    the line. senim logs in to no node: it is refused unasked, shown without the login."""
    if _login_end(base_url) is None:
        return None
    return Sentence("cli.node.bad_url", url=repr(shown_node(base_url)), example=NODE_EXAMPLE,
                    detail=Sentence("cli.node.url_login"))


def unreachable(base_url: str, exc: Exception) -> Sentence:
    """Why a node could not be asked, in words: an https URL whose node speaks plain
    HTTP is told so ('[SSL: WRONG_VERSION_NUMBER]' is what the TLS library says)."""
    if isinstance(getattr(exc, "reason", exc), ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(
            exc) and base_url.lower().startswith("https://"):
        return Sentence("cli.node.not_tls", node=base_url,
                        plain=f"http://{base_url[len('https://'):]}")
    if isinstance(base_url, UnnamedNode):
        # one who named no node is told which node senim asks unasked, not to check an
        # address they never gave
        return Sentence("cli.node.unreachable_default", None, node=base_url)
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


# An error answer's body read for its code: a node's is a line of JSON.
ERROR_BODY_BYTES_MAX = 4_096
# Statuses that say "ask again shortly", whatever the body: a node's "busy" is 503.
BUSY_STATUSES = (429, 503)
# Statuses of no route here: the only ones that make --node's path the likely fault.
NO_ROUTE_STATUSES = (404, 405)
NO_ROUTE_SAID = "cli.node.http_status"
# Statuses a node may answer without the API's JSON error: a 400 need not carry it
# (/credentials/verify's verdict is a 400 without one), and a 500 past the node's middlewares
# is aiohttp's plain text. Bare, they may be the node's own, so they are said by their status
# alone, never as a proxy's.
NODE_MAY_SEND_BARE = (400, 500)
# A node's 503s that no retry cures: its own files unreadable to it, or its store damaged.
# Said as such before any busy status, which says to try again.
STORE_FAULTS = {"store_unreadable": "cli.node.store_unreadable",
                "store_damaged": "cli.node.store_damaged"}


def not_from_node(url: str, status: int) -> Sentence:
    """An HTTP status whose body was read whole and holds no error of a Senim node's, in
    words, whichever command asked: a node answers the errors of the routes this client
    asks with the API's JSON error, but not all (cli.client's unknown transaction; a bare
    400 or 500, NODE_MAY_SEND_BARE), so such an answer, unless of those, came from what
    stands between this computer and the node (a proxy, a gateway), or from something at
    --node that is no node. Busy (429, 503) says to ask again shortly, no route (404, 405)
    to check --node's address, one a node may send bare (NODE_MAY_SEND_BARE) its status
    alone; any other status (a proxy's 413, 403, 401, 502) that something between gave it,
    not the node. A body that could not be read whole never comes here: its status alone
    is said."""
    if status in BUSY_STATUSES:
        return Sentence("cli.node.busy", url=url, status=status)
    if status in NO_ROUTE_STATUSES:
        return Sentence(NO_ROUTE_SAID, url=url, status=status)
    if status in NODE_MAY_SEND_BARE:
        return Sentence("cli.node.http_error", url=url, status=status)
    return between_node_and_here(url, status)


def between_node_and_here(url: str, status: int) -> Sentence:
    """That the HTTP `status` answer to `url` came from something between this computer
    and the node, and whom to ask."""
    return Sentence("cli.node.not_from_node", url=url, status=status)


def _error_answer(exc: urllib.error.HTTPError, url: str, deadline_s: float) -> Sentence:
    """A node's error answer in words: busy (503 or 429, or its own `busy` code: ask again
    shortly), no route (404, 405: is --node the node's base address?), else the status;
    one read whole with no node's error in it as `not_from_node` says it. One whose body
    could not be read (too large, too slow) says only its status: it may have been the
    node's. Every status was said as the address's fault in kk and ru, a busy node's 503 too."""
    try:
        body: bytes | None = read_bounded(exc, url, ERROR_BODY_BYTES_MAX, deadline_s)
    except (RemoteFactsError, OSError):
        body = None  # too large, or too slow: whose it was is not known
    code = None
    if body is not None:
        try:
            error = json.loads(body)["error"]
            code = error["code"] if isinstance(error["code"], str) else None
        except (ValueError, KeyError, TypeError, RecursionError):
            pass
        if code is None:  # read whole, and no node's error in it
            return not_from_node(url, exc.code)
    if code in STORE_FAULTS:
        return Sentence(STORE_FAULTS[code], url=url)
    if code == "busy" or exc.code in BUSY_STATUSES:
        return Sentence("cli.node.busy", url=url, status=exc.code)
    if exc.code in NO_ROUTE_STATUSES:
        return Sentence(NO_ROUTE_SAID, url=url, status=exc.code)
    return Sentence("cli.node.http_error", url=url, status=exc.code)


def fetch(base_url: str, path: str, timeout_s: float, deadline: Deadline | None) -> bytes:
    """The body of the node's answer to GET `path`, within MAX_ANSWER_BYTES, the time its
    reading may take and `deadline` (the command's, over all its requests: cli.deadline);
    RemoteFactsError, in words, if it gives none, or DeadlinePassed."""
    url = base_url + path
    if not base_url.lower().startswith(("http://", "https://")):
        # "127.0.0.1:8101", as node configs write addresses: no node was asked
        raise RemoteFactsError(Sentence("cli.node.no_scheme", url=repr(shown_node(base_url)),
                                        example=NODE_EXAMPLE))
    login = login_in_url(base_url)
    if login is not None:
        raise RemoteFactsError(login)
    answer_s = ANSWER_DEADLINE_S
    # The request ends by its own limits however the node trickles, its header lines
    # included (cli.deadline_http): senim recognise and export-vc ask with no command
    # deadline, and no SIGALRM reaches a read inside http.client off the main thread.
    request_s = timeout_s + answer_s  # connecting and the headers, then the body
    if deadline is not None:  # only the time the command has left
        left = deadline.left()
        timeout_s, answer_s = min(timeout_s, left), min(ANSWER_DEADLINE_S, left)
        request_s = left
    ends = time.monotonic() + request_s
    try:
        with deadline_opener(ends).open(url, timeout=timeout_s) as response:
            return read_bounded(response, url, deadline_s=answer_s)
    except urllib.error.HTTPError as exc:
        raise RemoteFactsError(_error_answer(exc, url, answer_s)) from exc
    except (urllib.error.URLError, OSError, ValueError, RemoteFactsError) as exc:
        if deadline is not None and deadline.passed():
            raise DeadlinePassed() from exc  # said as the command's deadline, not this read's
        if isinstance(exc, RemoteFactsError):
            raise
        if isinstance(getattr(exc, "reason", exc), TimeoutError):  # reached, or not:
            # it said nothing in time, as cli.client words it
            raise RemoteFactsError(Sentence("cli.node.silent", node=base_url,
                                            seconds=f"{timeout_s:g}")) from exc
        if isinstance(exc, ValueError):  # no URL urllib can open: "http://[::1:1"
            raise RemoteFactsError(Sentence(
                "cli.node.bad_url", url=repr(base_url), example=NODE_EXAMPLE,
                detail=Sentence("cli.node.bad_url_detail", str(exc)))) from exc
        raise RemoteFactsError(unreachable(base_url, exc)) from exc
    except http.client.HTTPException as exc:  # not HTTP at all, e.g. the P2P port
        raise RemoteFactsError(Sentence("cli.node.not_http", node=base_url,
                                        kind=type(exc).__name__)) from exc
