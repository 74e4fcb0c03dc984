"""A small synchronous client of the node's HTTP API, for the CLI and scripts."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any

# What an answer means is cli.client_answers'; its names are imported from here too.
from cli.client_answers import BUSY as BUSY
from cli.client_answers import MALFORMED_ANSWER as MALFORMED_ANSWER
from cli.client_answers import ClientError as ClientError
from cli.client_answers import NotConfirmed as NotConfirmed
from cli.client_answers import a_nodes_refusal_code, answer_field, check_tx_status
from cli.client_answers import node_line as node_line
from cli.client_answers import not_taken as not_taken
from cli.client_answers import refusal_params as refusal_params
from cli.deadline_http import deadline_opener
from cli.node_answers import (
    BUSY_STATUSES,
    STORE_FAULTS,
    RemoteFactsError,
    between_node_and_here,
    login_in_url,
    not_from_node,
    read_bounded,
    shown_node,
    unreachable,
    without_slash,
)
from cli.node_answers import DEFAULT_NODE as DEFAULT_NODE  # the commands' --node default
from cli.spoken import Sentence
from ledger.identity import KeyPair
from ledger.payloads import Payload
from ledger.transactions import Transaction, build_transaction

EXPIRY_WINDOW_BLOCKS = 1000
# How long a command waits for its transaction to commit before it says "pending"
COMMIT_WAIT_S = 60.0


class _PostsNotRedirected(urllib.request.HTTPRedirectHandler):
    """Follows a redirect of a GET (a proxy sending http to https, say), but not of a
    POST: urllib would send it on as a GET without its body, and whatever answered that
    GET would pass for the node's answer to the POST. `went_to`: where the last redirect
    it followed sent the request, to be named when nothing answers there, not --node,
    which did answer (with the redirect)."""

    went_to: str | None = None

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                         msg: str, headers: http.client.HTTPMessage, newurl: str
                         ) -> urllib.request.Request | None:
        if req.get_method() != "GET":
            raise ClientError(Sentence("cli.node.redirect", url=req.full_url, to=newurl),
                              "http", code)
        self.went_to = newurl
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(deadline: float) -> tuple[urllib.request.OpenerDirector, _PostsNotRedirected]:
    """An opener whose request ends by `deadline` (time.monotonic), however slowly the
    node answers (cli/deadline_http.py), and its redirect handler."""
    redirects = _PostsNotRedirected()
    return deadline_opener(deadline, redirects), redirects


# A request made once a command's time for the node is spent still gets this long: a
# job sends its batch and asks after it once even under --timeout 0.
LAST_REQUEST_S = 1.0


def _unknown_transaction(answer: object) -> bool:
    """Whether an error answer is the node's status of a transaction it does not know: its
    404 to GET /v1/transactions/{id}, whose body holds no error but a status no proxy's
    would be taken for (a node's bare 400 or 500, NODE_MAY_SEND_BARE, is said by its status
    alone, as is a body that could not be read whole)."""
    return isinstance(answer, dict) and answer.get("status") == "unknown"


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
            raise ClientError(Sentence("cli.node.no_scheme", url=repr(shown_node(self.base_url)),
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
        # bounded in size and time: urllib's timeout is per socket read, so a node
        # sending a byte at a time would hold the command for ever; the opener's
        # deadline covers the headers too
        opener, redirects = _opener(time.monotonic() + limit_s)
        try:
            with opener.open(request, timeout=limit_s) as response:
                try:
                    body = read_bounded(response, url, deadline_s=limit_s)
                except TimeoutError as exc:  # the opener's deadline, between two drips
                    raise RemoteFactsError(Sentence("cli.node.dripping", url=url,
                                                    seconds=f"{round(limit_s, 1):g}")) from exc
                answer = json.loads(body)
        except urllib.error.HTTPError as exc:
            error_answer: object = None
            try:
                error_answer = json.loads(read_bounded(exc, url, deadline_s=limit_s))
                if not isinstance(error_answer, dict):
                    raise TypeError("an error answer that is no JSON object")
                err = error_answer["error"]
                if not isinstance(err["message"], str) or not isinstance(err["code"], str):
                    raise TypeError("an error without a code and message")
                err["message"], err["code"] = node_line(err["message"]), node_line(err["code"])
                if err["code"] in STORE_FAULTS:  # no retry cures these: said so
                    raise ClientError(Sentence(STORE_FAULTS[err["code"]], url=url),
                                      err["code"], exc.code) from exc
                if err["code"] == BUSY:
                    raise self._busy(url, exc.code, bare=False) from exc
                if err["code"] in ("not_found", "method_not_allowed"):  # no route of the API:
                    # the node's URL with a path (…/v1), or another service's address
                    raise ClientError(Sentence("cli.node.no_route", url=url,
                                               message=Sentence("cli.node.said", err["message"]),
                                               status=exc.code, example=DEFAULT_NODE),
                                      "bad_url", exc.code) from exc
                said = (Sentence("cli.node.refused", err["message"], node=self.base_url,
                                 code=err["code"]) if exc.code < 500 else
                        # a failure (the node's `internal`, a gateway's JSON 502), no refusal:
                        # after a POST it is said inside "not confirmed" or "pending"
                        Sentence("cli.node.failed", url=url, status=exc.code,
                                 message=err["message"]))
                raise ClientError(said, err["code"], exc.code,
                                  refusal_params(err.get("params"))) from exc
            except RemoteFactsError as body_exc:  # too large, or too slow: whose it was is
                # not known, so only its status is said (a busy one as busy)
                if exc.code in BUSY_STATUSES:
                    raise self._busy(url, exc.code, bare=True) from body_exc
                raise ClientError(Sentence("cli.node.http_error", url=url, status=exc.code),
                                  "http", exc.code, bare=True) from body_exc
            except (ValueError, KeyError, TypeError, RecursionError):  # read whole: no node's
                if exc.code in BUSY_STATUSES:
                    raise self._busy(url, exc.code, bare=True) from exc
                if exc.code == 404 and _unknown_transaction(error_answer):
                    # the node's own answer to a transaction it does not know (yet)
                    raise ClientError(Sentence("cli.node.tx_unknown", url=url), "http",
                                      exc.code) from exc
                raise ClientError(not_from_node(url, exc.code), "http", exc.code,
                                  bare=True) from exc
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
            # what did not answer: where --node redirected to, if it did
            silent = self.base_url if redirects.went_to is None else redirects.went_to
            if isinstance(getattr(exc, "reason", exc), TimeoutError):  # reached or not,
                # it said nothing in time: 'cannot reach' would send the operator to
                # check an address that may well be right
                raise ClientError(Sentence("cli.node.silent", node=silent,
                                           seconds=f"{round(limit_s, 1):g}")) from exc
            raise ClientError(unreachable(silent, exc)) from exc
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
        answer_field(result, "chain_id", str, url)
        answer_field(result, "height", int, url)
        return result

    def make_tx(self, keys: KeyPair, payload: Payload) -> Transaction:
        status = self.status()
        return build_transaction(keys, status["chain_id"], payload,
                                 status["height"] + EXPIRY_WINDOW_BLOCKS)

    def submit(self, tx: Transaction) -> str:
        """Send `tx`; its id, once the answer names it. An answer naming another
        transaction (a proxy's `202 {"tx_id": "00…"}`) is none of the node's: waited on,
        it would be said unknown while `tx` commits, so it is said as an answer not read
        (exit 3, what was made for `tx` kept)."""
        answered = self.submit_encoded(tx.encode())
        own = tx.tx_id.hex()
        if answered.lower() != own:
            raise ClientError(Sentence("cli.node.other_tx", url=f"{self.base_url}/v1/transactions",
                                       answered=node_line(answered[:16]), sent=own[:16]),
                              "malformed")
        return own

    def submit_encoded(self, data: bytes) -> str:
        """Submit a signed transaction as its exact bytes (a resumed job resends the same)."""
        url = self.base_url + "/v1/transactions"
        try:
            answer = self.request("POST", "/v1/transactions", {"tx": data.hex()})
        except ClientError as exc:
            if exc.bare or not 400 <= exc.status < 500 or exc.code == BUSY \
                    or a_nodes_refusal_code(exc.code):
                raise  # a --node that is no URL has status 0: it was never sent
            # a 4xx error in the node's shape with a code no node refuses a transaction
            # with: a gateway's own, which it may answer after passing the POST on, so
            # nothing shows the node did not take the transaction; its JSON `not_found`
            # too (said as no route, "bad_url"), which removed a batch the node may hold
            raise ClientError(not_from_node(url, exc.status), "http", exc.status,
                              bare=True) from exc
        return str(answer_field(answer, "tx_id", str, url))

    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        """committed (with height, block_hash, time), pending, rejected (code) or unknown."""
        try:
            result: dict[str, Any] = self.request(
                "GET", f"/v1/transactions/{tx_id}?wait={max(0.0, wait_s):.3f}")
        except ClientError as exc:
            if exc.status != 404:
                raise
            if exc.bare:
                raise self._proxys_404(tx_id) from exc
            return {"tx_id": tx_id, "status": "unknown"}  # the node's own 404: an id it
            # does not know
        check_tx_status(result, f"{self.base_url}/v1/transactions/{tx_id}")
        return result

    def _proxys_404(self, tx_id: str) -> ClientError:
        """A bare 404 to the status of a transaction, said as something between giving it
        (the sentence also says to check --node): asked after a transaction it took, or
        where its batch stands, a node answers an id it does not know with its own 404,
        never a bare one, so this is no word of the node's that the transaction is
        unknown, on which a job would send its batch again."""
        return ClientError(between_node_and_here(f"{self.base_url}/v1/transactions/{tx_id}",
                                                 404), "http", 404, bare=True)

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
            answer_field(result, key, kind, url)
        return result

    def block(self, height: int) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/v1/blocks/{height}")
        answer_field(result, "hash", str, f"{self.base_url}/v1/blocks/{height}")
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
                # The node's own 404, not seen yet: it may still be gossiping towards this
                # node. Busy: asked again after READ_RETRY_AFTER_S, not at once. A bare 404
                # (a proxy's) ends the wait at once: asked again, it answers the same.
                if exc.status == 404 and exc.bare:
                    raise self._proxys_404(tx_id) from exc
                if (not busy and exc.status != 404) or time.monotonic() >= deadline:
                    raise
                time.sleep(min(READ_RETRY_AFTER_S if busy else 0.05,
                               max(0.0, deadline - time.monotonic())))
                continue
            check_tx_status(result, f"{self.base_url}/v1/transactions/{tx_id}")
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
