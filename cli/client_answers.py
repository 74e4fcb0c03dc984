"""What the client makes of a node's answer, apart from asking for it (cli.client): the
error a request ends in (ClientError, NotConfirmed) and what it shows (whether the node took
a transaction, whether it answered at all), a refusal's specifics and a node's text made
safe to print, and the fields of an answer the client relies on, checked."""

from __future__ import annotations

from typing import Any

from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.language import catalogue
from cli.spoken import Sentence, printable
from ledger.errors import SenimError


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
        # an HTTP status with no error of the node's (the API's JSON error) read in its
        # body: what a proxy before the node may give, whatever became of the request
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


def a_nodes_refusal_code(code: str) -> bool:
    """Whether `code` is one a Senim node refuses a transaction with: one the words files
    have a refusal sentence for (`refusal.<code>`). Tests hold the words files to every
    code the ledger's TxRejected gives and every refusal node/'s API routes make, read
    from the source (tests/cli/test_ministry_words.route_refusal_codes, test_record_words).
    A gateway's error shaped as the node's (`{"error": {"code": "Forbidden", ...}}`)
    carries none of them, and may come after the node took it: a code with no sentence
    keeps what was made for the transaction."""
    return f"refusal.{code}" in catalogue("en")


# What reading a node's answer raises when the answer has the wrong shape (a proxy, another
# service, a broken node): callers that read fields turn it into one error line.
MALFORMED_ANSWER = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def answer_field(answer: dict[str, Any], key: str, kind: type, url: str) -> Any:
    """A field the client relies on, of the type the API gives it, or a ClientError."""
    value = answer.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ClientError(Sentence("cli.node.field", url=url, field=repr(key)), "malformed")
    return value


def check_tx_status(result: dict[str, Any], url: str) -> None:
    """A transaction's status as the client reads it: what a commit is reported with."""
    for said in ("code", "reason"):  # printed as the node's own words
        if isinstance(result.get(said), str):
            result[said] = node_line(result[said])
    if answer_field(result, "status", str, url) == "committed":
        answer_field(result, "height", int, url)
        answer_field(result, "tx_id", str, url)
        if not isinstance(result.get("time", 0), str | None):  # None: header not at hand
            raise ClientError(Sentence("cli.node.field", url=url, field="'time'"),
                              "malformed")
