"""What the commands share: the --node and --key options, reading a key file, parsing hex
arguments, submitting a transaction with a one-line outcome, and printing a verdict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click

from cli.client import DEFAULT_NODE, MALFORMED_ANSWER, ClientError, NodeClient
from cli.errors import EXIT_BAD_INPUT, EXIT_PENDING, EXIT_REFUSED, EXIT_UNREACHABLE, fail
from ledger.errors import ConfigError, MalformedInput
from ledger.identity import KeyPair
from ledger.payloads import Payload, checked
from ledger.verification import Check
from node.files import load_key

Command = TypeVar("Command", bound=Callable[..., Any])

node_option = click.option(
    "--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE",
    show_default="$SENIM_NODE or " + DEFAULT_NODE, help="URL of the node's HTTP API.")


def key_option(help: str = "Your member key file.") -> Callable[[Command], Command]:
    return click.option("--key", "key_path", required=True, type=click.Path(path_type=Path),
                        help=help)


def load_key_or_fail(path: Path) -> KeyPair:
    try:
        return load_key(path)
    except ConfigError as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def hex_bytes(value: str, size: int, what: str) -> bytes:
    """`value` as exactly `size` bytes of hex, or a one-line error naming `what`."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != size:
        fail(f"{what} must be {size} bytes ({2 * size} hex digits), got {value!r}",
             EXIT_BAD_INPUT)
    return raw


def echo_answer(node_url: str, what: str, render: Callable[[], list[str]]) -> None:
    """Print the lines `render` makes of a node's answer; an answer of the wrong shape ends
    the command with one error line, and nothing half-printed before it."""
    try:
        lines = render()
    except MALFORMED_ANSWER as exc:
        fail(f"{node_url} sent a malformed {what} answer ({type(exc).__name__}: {exc}): is "
             "it a Senim node?", EXIT_UNREACHABLE)
    for line in lines:
        click.echo(line)


def submit_and_report(client: NodeClient, keys: KeyPair, payload: Payload, what: str, *,
                      written: Path | None = None, report: bool = True) -> dict[str, Any]:
    """Sign, submit and wait for the commit; any other outcome ends the command.

    `written` is a credential file made for this payload: removed when the node refuses
    it for good (nothing of it is on chain), kept while it may still commit. With
    `report`, one line says at which height it committed."""
    try:
        checked(payload)  # refuse what every node would refuse, before asking one
        tx = client.make_tx(keys, payload)
    except MalformedInput as exc:
        _forget(written)
        fail(str(exc), EXIT_BAD_INPUT)
    except ClientError as exc:  # nothing was sent
        _forget(written)
        if exc.exit_code != EXIT_REFUSED:  # the node said nothing, so it refused nothing
            fail(f"{what} not sent: {exc}", exc.exit_code)
        fail(f"{what} refused: {exc} ({exc.code})")
    try:
        result = client.submit_and_wait(tx)
    except ClientError as exc:
        if exc.status == 0:  # no answer, or a garbled one: it may have been sent, may commit
            fail(f"{what} not confirmed: {exc}{_kept(written)}", EXIT_UNREACHABLE)
        _forget(written)
        fail(f"{what} refused: {exc} ({exc.code}){_replaced_key(client, keys, exc)}")
    if result["status"] == "pending":
        fail(f"{what} not committed yet (pending){_kept(written)}", EXIT_PENDING)
    if result["status"] != "committed":
        _forget(written)
        fail(f"{what} not committed: {result.get('reason', result['status'])}")
    if report:
        click.echo(f"{what}: committed at height {result['height']} "
                   f"(tx {result['tx_id'][:16]}…)")
    return result


def _replaced_key(client: NodeClient, keys: KeyPair, refusal: ClientError) -> str:
    """Why a signature is refused, when the key file is one its member rotated away from:
    the transaction names only the member, so the node checks it against the member's
    current key and can say no more than that it does not match."""
    if refusal.code != "bad_signature":
        return ""
    try:
        members = client.request("GET", "/v1/members")["members"]
        current = next((m["public_key"] for m in members
                        if m["member_id"] == keys.member_id.hex()), None)
    except (ClientError, *MALFORMED_ANSWER):
        return ""
    if not isinstance(current, str) or current == keys.public_key.hex():
        return ""
    return (f"; this key ({keys.public_key.hex()[:16]}…) is no longer the member's: since "
            f"a key rotation the member signs with {current[:16]}…, so use that key's file")


def _forget(written: Path | None) -> None:
    if written is not None:
        written.unlink(missing_ok=True)


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


def print_verdict(verdict: Judged, file_line: str, after: list[str]) -> None:
    """The verdict in colour, the file it is about, each check, then the `after` lines."""
    label = "VALID" if verdict.valid else verdict.status.upper()
    lay_out_verdict(verdict.valid, f"{label}: {verdict.reason}", f"file:   {file_line}",
                    [(check.ok, check.detail) for check in verdict.checks], after)


def lay_out_verdict(valid: bool, headline: str, file_line: str,
                    checks: list[tuple[bool, str]], after: list[str]) -> None:
    """A verdict's lines in any language: the headline in colour, the file, each check
    marked passed or failed and numbered, then the `after` lines."""
    click.secho(headline, fg="green" if valid else "red", bold=True)
    click.echo(f"  {file_line}")
    for number, (ok, said) in enumerate(checks, start=1):
        mark = click.style("✔", fg="green") if ok else click.style("✘", fg="red")
        click.echo(f"  {number}. {mark} {said}")
    for line in after:
        click.echo(f"  {line}")
