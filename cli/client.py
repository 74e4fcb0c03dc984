"""A small synchronous client of the node's HTTP API, for the CLI and scripts."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any

from cli.deadline_http import deadline_opener
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.node_answers import (
    BUSY_STATUSES,
    RemoteFactsError,
    login_in_url,
    read_bounded,
    unreachable,
    without_slash,
)
from cli.node_answers import DEFAULT_NODE as DEFAULT_NODE  # the commands' --node default
from cli.spoken import Sentence, printable
from ledger.errors import SenimError
from ledger.identity import KeyPair
from ledger.payloads import Payload
from ledger.transactions import Transaction, build_transaction

EXPIRY_WINDOW_BLOCKS = 1000


class ClientError(SenimError):
    """The node refused a request (with its reason) or could not be reached."""

    def __init__(self, message: str | Sentence, code: str = "unreachable", status: int = 0,
                 params: dict[str, str | int] | None = None, *, bare: bool = False) -> None:
        super().__init__(str(message))
        # said in the reader's language where it is printed (cli.spoken)
        self.sentence = message if isinstance(message, Sentence) else None
        self.code = code
        self.status = status
        # the specifics a node's refusal names (its error's `params`: the member, a
        # height), for the refusal's sentence in the reader's language (cli.refusals)
        self.params = params or {}
        # an HTTP status with no error of the node's (the API's JSON error) in its body:
        # what a proxy before the node may give, whatever became of the request
        self.bare = bare

    @property
    def exit_code(self) -> int:
        """The command's exit status (cli.errors): 1 when the node said no, 2 for a
        --node that is no URL, 3 when it could not be asked or did not answer as a
        Senim node does."""
        if self.code == "bad_url":
            return EXIT_BAD_INPUT
        return EXIT_UNREACHABLE if self.code in NOT_ANSWERED else EXIT_REFUSED


# A refusal's specifics as a node names them (the API error's `params`): at most this many,
# each a whole number or one short line of printable text; anything else is left out, so
# that a node prints nothing through them a refusal's sentence would not.
REFUSAL_PARAMS_MAX = 16
REFUSAL_PARAM_CHARS_MAX = 200


def refusal_params(value: object) -> dict[str, str | int]:
    """The params of a node's refusal that a sentence may name (see REFUSAL_PARAMS_MAX)."""
    if not isinstance(value, dict):
        return {}
    kept: dict[str, str | int] = {}
    for name, item in list(value.items())[:REFUSAL_PARAMS_MAX]:
        if not isinstance(name, str) or not name.isidentifier():
            continue
        number = isinstance(item, int) and not isinstance(item, bool)
        line = (isinstance(item, str) and len(item) <= REFUSAL_PARAM_CHARS_MAX
                and bool(item.strip()) and item.isprintable())
        if number or line:
            kept[name] = item
    return kept


# A node's English message, a refusal's code or reason, said on one line as the node wrote
# it, but that line only: a character that is no printable one (an escape sequence that
# clears the terminal, a bidi override that turns the line round, a line break that
# forges a line of the command's own) is said as U+FFFD, and at most this many characters.
NODE_TEXT_CHARS_MAX = 2_000


def node_line(value: object) -> str:
    """`value`, text a node sent to be printed, as one printable line (NODE_TEXT_CHARS_MAX)."""
    text = str(value)
    shown = printable(text[:NODE_TEXT_CHARS_MAX])
    return shown if len(text) <= NODE_TEXT_CHARS_MAX else shown + "…"



# The code of a node that could not answer now, and says to ask again shortly: its own
# `busy` (503, with Retry-After), or a 503 or 429 with no node's error (a proxy before a
# node that is restarting). Nothing was refused; only the node's own `busy` (not `bare`)
# shows that it took nothing, as a proxy may answer so after the node took the request.
BUSY = "busy"
# ClientError codes of no answer to the question: exit 3, as `senim verify` exits when its
# node is busy. None is a refusal: the same request, asked again later, may be answered.
NOT_ANSWERED = frozenset({"unreachable", "malformed", "http", BUSY})


class NotConfirmed(ClientError):
    """Asking after a transaction the node took (it answered the POST with the
    transaction's id) failed: its 429, a garbled answer, a proxy's 502, no answer, or a 404
    to the wait's end (a busy node ends the wait pending). None is a refusal: the
    transaction may still commit, so what was made for it is kept."""

    def __init__(self, cause: ClientError) -> None:
        super().__init__(cause.sentence or str(cause), cause.code, cause.status, cause.params,
                         bare=cause.bare)


def not_taken(exc: ClientError) -> bool:
    """Whether an error in sending a transaction proves the node did not take it: only the
    node's own refusal (a 4xx error of the API) or its own `busy` does. A bare 503, 429 or
    502 may come from a proxy after the node admitted the transaction, a 5xx error of the
    node's after it did, and no answer or a garbled one proves nothing either way."""
    return (not isinstance(exc, NotConfirmed) and not exc.bare
            and (exc.code == BUSY or 400 <= exc.status < 500))

# What reading a node's answer raises when the answer has the wrong shape (a proxy, another
# service, a broken node): callers that read fields turn it into one error line.
MALFORMED_ANSWER = (KeyError, TypeError, ValueError, AttributeError, IndexError)
# How long a command waits for its transaction to commit before it says "pending"
COMMIT_WAIT_S = 60.0


def _field(answer: dict[str, Any], key: str, kind: type, url: str) -> Any:
    """A field the client relies on, of the type the API gives it, or a ClientError."""
    value = answer.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ClientError(Sentence("cli.node.field", url=url, field=repr(key)), "malformed")
    return value


def _check_tx_status(result: dict[str, Any], url: str) -> None:
    """A transaction's status as the client reads it: what a commit is reported with."""
    for said in ("code", "reason"):  # printed as the node's own words
        if isinstance(result.get(said), str):
            result[said] = node_line(result[said])
    if _field(result, "status", str, url) == "committed":
        _field(result, "height", int, url)
        _field(result, "tx_id", str, url)
        if not isinstance(result.get("time", 0), str | None):  # None: header not at hand
            raise ClientError(Sentence("cli.node.field", url=url, field="'time'"),
                              "malformed")


class _PostsNotRedirected(urllib.request.HTTPRedirectHandler):
    """Follows a redirect of a GET (a proxy sending http to https, say), but not of a
    POST: urllib would send it on as a GET without its body, and whatever answered that
    GET would pass for the node's answer to the POST."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                         msg: str, headers: http.client.HTTPMessage, newurl: str
                         ) -> urllib.request.Request | None:
        if req.get_method() != "GET":
            raise ClientError(Sentence("cli.node.redirect", url=req.full_url, to=newurl),
                              "http", code)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(deadline: float) -> urllib.request.OpenerDirector:
    """An opener whose request ends by `deadline` (time.monotonic), however slowly the
    node answers (cli/deadline_http.py)."""
    return deadline_opener(deadline, _PostsNotRedirected)


# A request made once a command's time for the node is spent still gets this long: a
# job sends its batch and asks after it once even under --timeout 0.
LAST_REQUEST_S = 1.0


def _check_host_and_port(url: str) -> None:
    """ValueError for what urllib would take and then misread: an IPv6 address without
    brackets (its last group taken for the port) or a port past 65535."""
    netloc = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
    if netloc.count(":") > 1 and not netloc.startswith("["):
        raise ValueError("an IPv6 address goes in brackets, e.g. http://[::1]:8101")
    _ = urllib.parse.urlsplit(url).port  # raises ValueError when out of range


# A GET over the client's rate (429) is asked again this long after, at most this many
# times (a second refills 100 `verify` reads); a wait asks a busy node again after it too.
READ_RETRY_AFTER_S = 1.0
READ_RETRIES_MAX = 5


class NodeClient:
    def __init__(self, base_url: str = DEFAULT_NODE, timeout_s: float = 70.0) -> None:
        self.base_url = without_slash(base_url)
        self.timeout_s = timeout_s  # each request, from connecting to its answer's last byte
        # The seconds a command may still spend on requests in all, when it is bounded so
        # (`senim issue --timeout`): each request takes what it used, and none is given
        # more than is left (LAST_REQUEST_S once it is spent). Time between requests
        # (hashing, writing files) is the command's own, not the node's.
        self.budget_s: float | None = None

    def _limit_s(self) -> float:
        if self.budget_s is None:
            return self.timeout_s
        return min(self.timeout_s, max(self.budget_s, LAST_REQUEST_S))

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        if not self.base_url.lower().startswith(("http://", "https://")):
            # e.g. "127.0.0.1:8101", as node configs write addresses
            raise ClientError(Sentence("cli.node.no_scheme", url=repr(self.base_url),
                                       example=DEFAULT_NODE), "bad_url")
        login = login_in_url(self.base_url)
        if login is not None:
            raise ClientError(login, "bad_url")
        try:
            _check_host_and_port(self.base_url)
            request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                             headers={"Content-Type": "application/json"})
        except ValueError as exc:
            raise ClientError(Sentence("cli.node.bad_url", url=repr(self.base_url),
                                       example=DEFAULT_NODE, detail=Sentence(
                                           "cli.node.bad_url_detail", str(exc))),
                              "bad_url") from exc
        url = self.base_url + path
        limit_s = self._limit_s()
        started = time.monotonic()
        try:
            for retry in range(READ_RETRIES_MAX + 1):
                try:
                    return self._ask(request, url, path, limit_s)
                except ClientError as exc:
                    # A read over this address's rate (every GET is rated) is asked again
                    # once the rate has refilled: `senim governance revoke` of 256 files
                    # reads 515 answers in a row, and the 211th was refused, 429, ending
                    # the whole proposal. A write is the caller's to send again.
                    spent = time.monotonic() - started
                    if (method != "GET" or exc.status != 429 or retry == READ_RETRIES_MAX
                            or spent + READ_RETRY_AFTER_S >= limit_s):
                        raise
                time.sleep(READ_RETRY_AFTER_S)
            raise AssertionError("the loop returns or raises")
        finally:
            if self.budget_s is not None:
                self.budget_s -= time.monotonic() - started

    def _ask(self, request: urllib.request.Request, url: str, path: str, limit_s: float
             ) -> dict[str, Any]:
        try:
            # bounded in size and time: urllib's timeout is per socket read, so a node
            # sending a byte at a time would hold the command for ever; the opener's
            # deadline covers the headers too
            with _opener(time.monotonic() + limit_s).open(request, timeout=limit_s) as response:
                try:
                    body = read_bounded(response, url, deadline_s=limit_s)
                except TimeoutError as exc:  # the opener's deadline, between two drips
                    raise RemoteFactsError(Sentence("cli.node.dripping", url=url,
                                                    seconds=f"{round(limit_s, 1):g}")) from exc
                answer = json.loads(body)
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(read_bounded(exc, url, deadline_s=limit_s))["error"]
                if not isinstance(err["message"], str) or not isinstance(err["code"], str):
                    raise TypeError("an error without a code and message")
                err["message"], err["code"] = node_line(err["message"]), node_line(err["code"])
                if err["code"] == BUSY:
                    raise self._busy(url, exc.code, bare=False) from exc
                if err["code"] in ("not_found", "method_not_allowed"):  # no route of the API:
                    # the node's URL with a path (…/v1), or another service's address
                    raise ClientError(Sentence("cli.node.no_route", url=url,
                                               message=Sentence("cli.node.said", err["message"]),
                                               status=exc.code, example=DEFAULT_NODE),
                                      "bad_url", exc.code) from exc
                raise ClientError(Sentence("cli.node.refused", err["message"], node=self.base_url,
                                           code=err["code"]), err["code"], exc.code,
                                  refusal_params(err.get("params"))) from exc
            except (ValueError, KeyError, TypeError, RecursionError, RemoteFactsError):
                if exc.code in BUSY_STATUSES:
                    raise self._busy(url, exc.code, bare=True) from exc
                raise ClientError(Sentence("cli.node.http_from", status=exc.code, url=url),
                                  "http", exc.code, bare=True) from exc
            except OSError as body_exc:  # the error's body, dripped past the deadline
                raise ClientError(Sentence("cli.node.error_dripping", node=self.base_url,
                                           status=exc.code, seconds=f"{round(limit_s, 1):g}")
                                  ) from body_exc
        except RemoteFactsError as exc:  # too large or too slow: not answering as a node does
            raise ClientError(exc.sentence or str(exc), "malformed") from exc
        except http.client.HTTPException as exc:  # not HTTP at all, e.g. the P2P port
            raise ClientError(Sentence("cli.node.p2p_port", node=self.base_url,
                                       kind=type(exc).__name__), "malformed") from exc
        except (urllib.error.URLError, OSError) as exc:
            if isinstance(getattr(exc, "reason", exc), TimeoutError):  # reached or not,
                # it said nothing in time: 'cannot reach' would send the operator to
                # check an address that may well be right
                raise ClientError(Sentence("cli.node.silent", node=self.base_url,
                                           seconds=f"{round(limit_s, 1):g}")) from exc
            raise ClientError(unreachable(self.base_url, exc)) from exc
        except (ValueError, RecursionError) as exc:  # not JSON (or nested past what
            # Python's decoder takes): not a Senim node
            raise ClientError(Sentence("cli.node.answer_not_json", url=url)) from exc
        if not isinstance(answer, dict):  # every answer of the API is a JSON object
            raise ClientError(Sentence("cli.node.not_object", url=f"{self.base_url}{path}"),
                              "malformed")
        return answer

    @staticmethod
    def _busy(url: str, status: int, *, bare: bool) -> ClientError:
        """A node (or what stands before it) that says to ask again shortly (BUSY)."""
        return ClientError(Sentence("cli.node.busy", url=url, status=status), BUSY, status,
                           bare=bare)

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/v1/status")
        url = self.base_url + "/v1/status"
        _field(result, "chain_id", str, url)
        _field(result, "height", int, url)
        return result

    def make_tx(self, keys: KeyPair, payload: Payload) -> Transaction:
        status = self.status()
        return build_transaction(keys, status["chain_id"], payload,
                                 status["height"] + EXPIRY_WINDOW_BLOCKS)

    def submit(self, tx: Transaction) -> str:
        return self.submit_encoded(tx.encode())

    def submit_encoded(self, data: bytes) -> str:
        """Submit a signed transaction as its exact bytes (a resumed job resends the same)."""
        answer = self.request("POST", "/v1/transactions", {"tx": data.hex()})
        return str(_field(answer, "tx_id", str, self.base_url + "/v1/transactions"))

    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        """committed (with height, block_hash, time), pending, rejected (code) or unknown."""
        try:
            result: dict[str, Any] = self.request(
                "GET", f"/v1/transactions/{tx_id}?wait={max(0.0, wait_s):.3f}")
        except ClientError as exc:
            if exc.status == 404:  # the node answers an unknown id with 404 and no error body
                return {"tx_id": tx_id, "status": "unknown"}
            raise
        _check_tx_status(result, f"{self.base_url}/v1/transactions/{tx_id}")
        return result

    def batch(self, issuer_hex: str, root_hex: str) -> dict[str, Any] | None:
        """The issuer's batch record on chain (height, tx_id, time, count), or None."""
        try:
            result: dict[str, Any] = self.request("GET", f"/v1/batches/{issuer_hex}/{root_hex}")
        except ClientError as exc:
            if exc.code == "no_such_batch":
                return None
            raise
        url = f"{self.base_url}/v1/batches/{issuer_hex}/{root_hex}"
        for key, kind in (("height", int), ("tx_id", str), ("time", str)):
            _field(result, key, kind, url)
        return result

    def block(self, height: int) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/v1/blocks/{height}")
        _field(result, "hash", str, f"{self.base_url}/v1/blocks/{height}")
        return result

    def wait(self, tx_id: str, timeout_s: float = COMMIT_WAIT_S) -> dict[str, Any]:
        """Long-poll until the transaction commits or is refused, or time runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            step = max(0.0, min(30.0, deadline - time.monotonic()))
            try:
                result: dict[str, Any] = self.request(
                    "GET", f"/v1/transactions/{tx_id}?wait={step:.3f}")
            except ClientError as exc:
                busy = exc.code == BUSY
                if busy and time.monotonic() >= deadline:
                    # A busy node cannot say how the transaction stands, and it may
                    # still commit: pending, the answer that tells the caller to keep
                    # what was made for it and ask again later.
                    return {"tx_id": tx_id, "status": "pending"}
                # Not seen yet (404): it may still be gossiping towards this node. Busy:
                # asked again after READ_RETRY_AFTER_S, not at once.
                if (not busy and exc.status != 404) or time.monotonic() >= deadline:
                    raise
                time.sleep(min(READ_RETRY_AFTER_S if busy else 0.05,
                               max(0.0, deadline - time.monotonic())))
                continue
            _check_tx_status(result, f"{self.base_url}/v1/transactions/{tx_id}")
            if result["status"] != "pending" or time.monotonic() >= deadline:
                return result

    def submit_and_wait(self, tx: Transaction, timeout_s: float = COMMIT_WAIT_S
                        ) -> dict[str, Any]:
        """Send `tx` and wait for it (`wait`). A failure once the node took it (answered
        the POST with its id) is raised as NotConfirmed, whatever it was: the caller keeps
        what it made for the transaction, which may still commit."""
        tx_id = self.submit(tx)
        try:
            return self.wait(tx_id, timeout_s)
        except ClientError as exc:
            raise NotConfirmed(exc) from exc
