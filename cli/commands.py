"""What the commands share: the --node and --key options, reading a key file, parsing hex
arguments, submitting a transaction with a one-line outcome, and printing a verdict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import click

from cli.client import (
    COMMIT_WAIT_S,
    DEFAULT_NODE,
    MALFORMED_ANSWER,
    ClientError,
    NodeClient,
    not_taken,
    refusal_params,
)
from cli.errors import EXIT_BAD_INPUT, EXIT_PENDING, EXIT_REFUSED, EXIT_UNREACHABLE, fail
from cli.language import catalogue, language_chosen
from cli.node_answers import UNNAMED_NODE, login_in_url
from cli.refusals import malformed, node_said, refusal, refused_why, transaction_kind
from cli.spoken import Sentence, printable, problem_said
from cli.spoken import echo as echo_said
from cli.spoken import refuse as refuse_said
from ledger.errors import ConfigError, MalformedInput
from ledger.identity import KeyPair, signing_key_exists
from ledger.payloads import Payload, checked
from ledger.transactions import Transaction
from ledger.verification import Check
from node.files import load_key

Command = TypeVar("Command", bound=Callable[..., Any])

def usable_node_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--node as a usage error when it carries a login (senim logs in to no node): every
    command says so with exit 2 before it reads anything (verify said it as a node not
    reached, exit 3, and members as a usage error, exit 2). The same in $SENIM_NODE is
    said where the node is first asked. Left at its default, it is UNNAMED_NODE, so that a
    node not reached there is said as the one asked when none is named."""
    source = ctx.get_parameter_source(str(param.name))
    if source is click.core.ParameterSource.DEFAULT:
        return UNNAMED_NODE
    if source is click.core.ParameterSource.ENVIRONMENT:
        return value  # $SENIM_NODE left set: said where a node is asked (verify --offline
        # asks none, and ran with it before)
    login = login_in_url(value)
    if login is not None:
        refuse_said(login, EXIT_BAD_INPUT)
    return value


node_option = click.option(
    "--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE", callback=usable_node_url,
    show_default="$SENIM_NODE or " + DEFAULT_NODE, help="URL of the node's HTTP API.")


# For a command whose --out is a holder's document: an existing file is replaced only on
# request, since it may be another credential whose hidden values could not be had back.
force_option = click.option("--force", is_flag=True,
                            help="Replace the --out file if it already exists.")


def key_option(help: str = "Your member key file.") -> Callable[[Command], Command]:
    return click.option("--key", "key_path", required=True, type=click.Path(path_type=Path),
                        help=help)


def refuse(sentence: Sentence, code: int) -> NoReturn:
    """One error line: in the reader's language in a command that speaks it (cli.spoken),
    in English as before in one that speaks only English (`anchor`, `rotate-key`, …),
    rather than one line of another language among its English ones."""
    if language_chosen():
        refuse_said(sentence, code)
    fail(str(sentence), code)


def echo(sentence: Sentence) -> None:
    if language_chosen():
        echo_said(sentence)
    else:
        click.echo(str(sentence))


def load_key_or_fail(path: Path) -> KeyPair:
    """The member's key, or one line saying why it cannot be used (in English as the key
    loader words it), exit 2."""
    try:
        return load_key(path)
    except ConfigError as exc:
        refuse(key_refusal(path, exc), EXIT_BAD_INPUT)


def key_refusal(path: Path, exc: ConfigError) -> Sentence:
    """Why a member key file cannot be used, by the code the key loader gives it
    (node.files.load_key: `cli.key.problem.<code>`, its fix's command as written)."""
    english = str(exc)
    if exc.code == "key_missing" or not path.exists():
        return Sentence("issue.key.missing", english, path=path)
    if exc.code in ("key_kind", "key_unfit") or (
            exc.code in ("key_unreadable", None) and isinstance(exc.__cause__, ValueError)):
        return Sentence("issue.key.not_a_key", english, path=path)
    key = f"cli.key.problem.{exc.code}"
    why = (Sentence(key, english.split(": ", 1)[-1], **exc.params)
           if key in catalogue("en") else english.split(": ", 1)[-1])
    if exc.code == "secret_open":
        return Sentence("issue.key.open", english, path=path, why=why)
    return Sentence("issue.key.unusable", english, path=path, why=why)


def hex_bytes(value: str, size: int, what: str) -> bytes:
    """`value` as exactly `size` bytes of hex, or a one-line error naming `what`."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != size:
        refuse(Sentence("min.hex", f"{what} must be {size} bytes ({2 * size} hex digits), got "
                        f"{value!r}", what=what, size=size, digits=2 * size, value=repr(value)),
               EXIT_BAD_INPUT)
    return raw


def refuse_key_nobody_holds(public_key: bytes, what: str) -> None:
    """A member's key no one can sign with (all zeros, say: a placeholder) is refused
    before anything is signed: the member could never act, and a peer claiming it is
    refused at every handshake only because the check there is strict."""
    if not signing_key_exists(public_key):
        refuse(Sentence("min.key_nobody_holds", f"{what} {public_key.hex()} is no key anyone "
                        "can sign with (all zeros, or another point of small order): a "
                        "placeholder? Give the member's key, as `senim keygen` printed it",
                        what=what, key=public_key.hex()), EXIT_BAD_INPUT)


def echo_answer(node_url: str, what: str, render: Callable[[], list[str]],
                styled: bool = False) -> None:
    """Print the lines `render` makes of a node's answer; an answer of the wrong shape ends
    the command with one error line, and nothing half-printed before it. What the node
    named (a member's name) is printed as printable characters only (cli.spoken.printable):
    an escape sequence, a bidi override or a line break in a name reached the terminal.
    `styled`: `render` made each line printable itself, before colouring it."""
    try:
        lines = render()
    except MALFORMED_ANSWER as exc:
        refuse(malformed(node_url, what, f"{type(exc).__name__}: {exc}"), EXIT_UNREACHABLE)
    for line in lines:
        click.echo(line if styled else printable(line))


def submit_and_report(client: NodeClient, keys: KeyPair, payload: Payload, what: str, *,
                      written: Path | None = None, report: bool = True,
                      settle: Callable[[str], dict[str, Any] | None] | None = None,
                      wait_s: float = COMMIT_WAIT_S) -> dict[str, Any]:
    """Sign, submit and wait for the commit; any other outcome ends the command, in the
    reader's language (cli.spoken; English as it was).

    `written` is a credential file made for this payload: removed when nothing of it can be
    on chain (it was not sent, the node refused or did not take it: cli.client_answers.not_taken,
    or it was rejected), kept while it may still commit. With
    `report`, one line says at which height it committed. `settle` is asked, with the
    transaction's id, when the node still says pending: a committed answer it finds
    elsewhere goes on as the node's would; None leaves it pending (a node its peers dropped
    once the transaction committed never learns it: cli.key_rotation)."""
    ending = Ending(what, written, keys)
    try:
        checked(payload)  # refuse what every node would refuse, before asking one
        tx = client.make_tx(keys, payload)
    except MalformedInput as exc:
        ending.forget()
        refuse(Sentence("tx.malformed", str(exc), what=ending.said,
                        why=problem_said(str(exc), exc.code, exc.params)), EXIT_BAD_INPUT)
    except ClientError as exc:  # nothing was sent
        ending.untaken(exc, client)
    result = committed(client, tx, ending, wait_s, settle)
    if report:
        echo(Sentence("tx.committed", f"{what}: committed at height {result['height']} "
                      f"(tx {result['tx_id'][:16]}…)", what=ending.said, height=result["height"],
                      tx=result["tx_id"][:16]))
    return result


def committed(client: NodeClient, tx: Transaction, ending: Ending,
              wait_s: float = COMMIT_WAIT_S,
              settle: Callable[[str], dict[str, Any] | None] | None = None) -> dict[str, Any]:
    """Send `tx` and wait for its commit: the committed status, or the command ended as
    `ending` says it (not confirmed, exit 3; pending, exit 75; refused or rejected, exit 1;
    not sent, the error's own exit), having removed what was made for it when nothing of it
    can be on chain. `settle`: as submit_and_report's."""
    try:
        result = client.submit_and_wait(tx, wait_s)
    except ClientError as exc:
        if not not_taken(exc):  # taken, or nothing shows it was not: it may still commit
            ending.not_confirmed(str(exc), node_said(exc))
        ending.untaken(exc, client)  # the node did not take it: nothing of it is on chain
    if result["status"] == "pending" and settle is not None:
        result = settle(tx.tx_id.hex()) or result
    if result["status"] == "pending":
        ending.pending()
    why = str(result.get("reason", result["status"]))
    if result["status"] == "rejected":
        ending.forget()
        ending.not_committed(why, dropped_reason(result, why))
    if result["status"] != "committed":  # no status the API gives: it proves nothing
        ending.not_confirmed(why, dropped_reason(result, why))
    return result


class Ending:
    """How a command ends for a transaction it sent that did not commit, and what it
    removes when nothing of the transaction can be on chain: here `written`, a credential
    file made for it, kept while it may still commit. `keys`: the signer's, to say a
    refused signature as a key its member rotated away from. cli.revoking's ends a
    revocation, and keeps its note, in words of its own."""

    def __init__(self, what: str, written: Path | None = None, keys: KeyPair | None = None
                 ) -> None:
        self.what, self.written, self.keys = what, written, keys
        self.said = transaction_kind(what)

    def forget(self) -> None:
        if self.written is not None:
            self.written.unlink(missing_ok=True)

    def untaken(self, exc: ClientError, client: NodeClient) -> NoReturn:
        """The node did not take the transaction: what was made for it removed, then "not
        sent" (end_unless_refused) or the node's refusal (`refused`)."""
        self.forget()
        end_unless_refused(exc, self.what, self.said)
        self.refused(exc, client)

    def refused(self, exc: ClientError, client: NodeClient) -> NoReturn:
        rotated = None if self.keys is None else _replaced_key(client, self.keys, exc)
        refuse(Sentence("tx.refused_rotated" if rotated else "tx.refused",
                        f"{self.what} refused: {exc} ({exc.code})"
                        + (f"; this key ({rotated[0]}…) is no longer the member's: since a "
                           f"key rotation the member signs with {rotated[1]}…, so use that "
                           "key's file" if rotated else ""),
                        what=self.said, why=refused_why(exc), code=exc.code,
                        old=rotated[0] if rotated else "", current=rotated[1] if rotated else ""),
               EXIT_REFUSED)

    def not_confirmed(self, english: str, why: Sentence) -> NoReturn:
        """It may have been taken and may still commit: what was made for it kept, exit 3
        (the node's answer, not a refusal, is what is missing)."""
        refuse(Sentence("tx.not_confirmed_kept" if self.written else "tx.not_confirmed",
                        f"{self.what} not confirmed: {english}{_kept(self.written)}",
                        what=self.said, why=why, path=self.written), EXIT_UNREACHABLE)

    def pending(self) -> NoReturn:
        refuse(Sentence("tx.pending_kept" if self.written else "tx.pending",
                        f"{self.what} not committed yet (pending){_kept(self.written)}",
                        what=self.said, path=self.written), EXIT_PENDING)

    def not_committed(self, english: str, why: Sentence) -> NoReturn:
        """The ledger rejected it: it can never commit (exit 1)."""
        refuse(Sentence("tx.not_committed", f"{self.what} not committed: {english}",
                        what=self.said, why=why), EXIT_REFUSED)


def end_unless_refused(exc: ClientError, what: str, said: Sentence | str) -> None:
    """Ends the command with "not sent" for a transaction `exc` kept from the node that
    refused nothing (the node not reached, not answering as a node does, or its own busy:
    asked again later, it may take it), with that error's exit; returns for a refusal,
    which each caller says in its own words (exit 1)."""
    if exc.exit_code != EXIT_REFUSED:
        refuse(Sentence("tx.not_sent", f"{what} not sent: {exc}", what=said,
                        why=node_said(exc)), exc.exit_code)


def dropped_reason(result: dict[str, Any], english: str) -> Sentence:
    """Why a transaction the node accepted did not commit (it expired waiting, a block took
    a conflicting one first; or the node no longer knows it): its refusal code as a
    sentence, as when it is refused at once."""
    code = result.get("code")
    if isinstance(code, str) and f"refusal.{code}" in catalogue("en"):
        return refusal(code, english, refusal_params(result.get("params")))
    if isinstance(code, str):
        return Sentence("tx.rejected_as", english, code=code)
    return Sentence("tx.status.unknown" if result.get("status") == "unknown"
                    else "tx.status.other", english, status=english)  # as it said it


def _replaced_key(client: NodeClient, keys: KeyPair, refusal: ClientError
                  ) -> tuple[str, str] | None:
    """Why a signature is refused, when the key file is one its member rotated away from
    (the starts of this key and of the member's current one): the transaction names only
    the member, so the node checks it against the member's current key and can say no
    more than that it does not match."""
    if refusal.code != "bad_signature":
        return None
    try:
        members = client.request("GET", "/v1/members")["members"]
        current = next((m["public_key"] for m in members
                        if m["member_id"] == keys.member_id.hex()), None)
    except (ClientError, *MALFORMED_ANSWER):
        return None
    if not isinstance(current, str) or current == keys.public_key.hex():
        return None
    return keys.public_key.hex()[:16], current[:16]


def _kept(written: Path | None) -> str:
    return "" if written is None else (f"; {written} is kept: it becomes valid if the "
                                       "transaction commits (check with senim verify)")


class Judged(Protocol):
    """A native verdict or a VC's: both say valid or why not, check by check."""

    @property
    def valid(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def checks(self) -> list[Check]: ...
    @property
    def facts(self) -> dict[str, Any]: ...


def print_verdict(verdict: Judged, file_line: str, after: list[str]) -> None:
    """The verdict in colour, the file it is about, each check, then the `after` lines. A
    valid one says as of which block, when its source is one block's certified state (as
    the other languages' sentences do): a revocation after it is not seen."""
    label = "VALID" if verdict.valid else verdict.status.upper()
    if verdict.valid and "as_of_height" in verdict.facts:
        label += (f" as of block {verdict.facts['as_of_height']} "
                  f"({verdict.facts.get('as_of_time')})")
    lay_out_verdict(verdict.valid, f"{label}: {verdict.reason}", f"file:   {file_line}",
                    [(check.ok, check.detail) for check in verdict.checks], after)


def lay_out_verdict(valid: bool, headline: str, file_line: str,
                    checks: list[tuple[bool, str]], after: list[str]) -> None:
    """A verdict's lines in any language: the headline in colour, the file, each check
    marked passed or failed and numbered, then the `after` lines."""
    # Each line printable only (cli.spoken.printable): an issuer's name, a field's value or
    # a node's word in it could hold an escape sequence, a bidi override or a line break.
    click.secho(printable(headline), fg="green" if valid else "red", bold=True)
    click.echo(f"  {printable(file_line)}")
    for number, (ok, said) in enumerate(checks, start=1):
        mark = click.style("✔", fg="green") if ok else click.style("✘", fg="red")
        click.echo(f"  {number}. {mark} {printable(said)}")
    for line in after:
        click.echo(f"  {printable(line)}")
