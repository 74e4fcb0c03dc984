"""`senim employment start|end` and `senim recognise`: records one at a time.

Each command checks everything it can before it signs anything, writes the
credential file (mode 0600, never over an existing file) BEFORE the batch is
submitted, so a committed credential always has its file, and prints a one-line
error for bad input. A whole class is issued with `senim issue` instead. They speak
the HR officer's or the registrar's language (--lang kk|ru|en, or the locale:
cli.spoken), as `senim verify` and `senim issue` do; what they read and write is
cli.record_inputs'.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import key_option, load_key_or_fail, node_option, submit_and_report
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.language import Words, lang_option
from cli.node_answers import RemoteFactsError
from cli.private_files import write_private_json
from cli.record_inputs import (
    fields_of,
    ledger_refusal,
    new_file,
    read_document,
    recognised_lines,
    typed_values,
)
from cli.refusals import node_said
from cli.remote import RemoteFacts, StateMoved
from cli.spoken import Day, Sentence, echo, reason, refuse
from cli.typed_dates import TypedOption, typed_date
from cli.verdict_words import verdict_sentence
from cli.worded_command import WordedCommand, WordedPath
from cli.worded_group import WordedGroup
from ledger.academic import day_number, parse_date
from ledger.credentials import make_batch
from ledger.errors import InvalidDocument, MalformedInput
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, EmploymentEndPayload, IssueBatchPayload
from ledger.record_checks import recognition_record
from ledger.verification import Verdict, verify_credential
from registrar.iin import iin_digits, iin_phrase
from registrar.record_dates import FIRST_ENDABLE_START
from registrar.schema import load_schema

field_option = click.option("--field", "extra_fields", multiple=True, metavar="NAME=VALUE",
                            help="Another field of the credential (repeatable).")


class RecordCommand(WordedCommand):
    """`senim employment start|end`: its --help words are the catalogue's
    `cli.help.employment.<name>.*`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_key = f"employment.{self.name}"


def _issue_one(client: NodeClient, keys: KeyPair, record: dict[str, str], ctype: str,
               out: Path, options: dict[str, str] | None = None) -> dict[str, Any]:
    """Issue one credential: checked, written (0600), submitted, then marked committed.
    `options` names the option each field came from, for the refusal of a field."""
    new_file(out)
    try:
        status = client.status()
        members = client.request("GET", "/v1/members")["members"]
        issuer_name = str(next((m["name"] for m in members
                                if m["member_id"] == keys.member_id.hex()),
                               keys.member_id.hex()))
    except ClientError as exc:
        refuse(node_said(exc), EXIT_UNREACHABLE)
    except MALFORMED_ANSWER as exc:
        why = f"{type(exc).__name__}: {exc}"
        refuse(Sentence("issue.node.malformed", f"{client.base_url} sent a malformed members "
                        f"answer ({why}): is it a Senim node?", url=client.base_url, why=why),
               EXIT_UNREACHABLE)
    try:
        batch = make_batch([record], ctype, status["chain_id"], keys.member_id, issuer_name)
    except InvalidDocument as exc:
        refuse(ledger_refusal(exc, options or {}), EXIT_BAD_INPUT)
    document = next(batch.documents())
    document["issuance"] = None  # not yet on chain; filled in when committed
    write_private_json(out, document, replace=False)
    result = submit_and_report(client, keys, IssueBatchPayload(ctype, batch.root, 1), ctype,
                               written=out, report=False)
    document["issuance"] = {key: result[key] for key in ("tx_id", "height", "block_hash",
                                                          "time") if key in result}
    write_private_json(out, document, replace=True)
    echo(Sentence("rec.issued", f"{ctype} issued at height {result['height']}: {out}",
                  what=Sentence(f"type.{ctype}"), height=result["height"], path=out))
    return document


EMPLOYMENT_OPTIONS = {"full_name": "--full-name", "iin": "--iin", "position": "--position",
                      "organisation": "--organisation", "start_date": "--start"}


@click.group("employment", cls=WordedGroup)
def employment_group() -> None:
    """An employer records an employment, and later its end."""


@employment_group.command("start", cls=RecordCommand)
@key_option()
@click.option("--full-name", required=True)
@click.option("--iin", default=None)
@click.option("--position", required=True)
@click.option("--organisation", required=True)
@click.option("--start", "start_date", required=True,
              help="First day, YYYY-MM-DD or DD.MM.YYYY; not after today.")
@field_option
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="New file for the employee's credential.")
@node_option
@lang_option
def employment_start(key_path: Path, full_name: str, iin: str | None, position: str,
                     organisation: str, start_date: str, extra_fields: tuple[str, ...],
                     out_file: Path, node_url: str, language: str) -> None:
    """Issue an employment record (your organisation must be accredited for employment).

    Until its first day a verifier would read the record as a current employment, so a
    start after today is refused: record it on or after that day."""
    start = typed_date(start_date, "--start")
    if iin is not None:
        typed, iin = iin.strip(), iin_digits(iin)  # 0110 2051 0003 as on an ID card
        problem = iin_phrase(iin)
        if problem is not None:
            # Said without the spreadsheet advice it carries for an export's column.
            english = problem.english.split(" (Excel", 1)[0]
            why = (Sentence(problem.key, english, **dict(problem.items()))
                   if problem.key in ("reg.iin.digits", "reg.iin.length", "reg.iin.check_digit")
                   else Sentence("reg.iin.length", english, length=len(iin)))
            refuse(Sentence("rec.iin", f"--iin {typed!r}: {english}", iin=repr(typed), why=why),
                   EXIT_BAD_INPUT)
    today = datetime.date.today()
    if start > today:
        refuse(Sentence("rec.start.future", f"--start {start} is after today ({today}): until "
                        "that day every verifier would read the record as a current "
                        "employment, so record it on or after its first day",
                        start=Day(start.isoformat()), today=Day(today.isoformat())),
               EXIT_BAD_INPUT)
    record = typed_values(fields_of(extra_fields, {
        "full_name": full_name, "iin": iin, "position": position,
        "organisation": organisation, "start_date": start.isoformat()}), EMPLOYMENT_OPTIONS,
        {spec.name: spec.format for spec in load_schema("employment").fields})
    if "end_date" in record:  # an employment already over, given as --field end_date=…
        record["end_date"] = _end_day(record["end_date"], TypedOption.field("end_date"),
                                      start).isoformat()
    elif start < FIRST_ENDABLE_START:
        refuse(Sentence("rec.start.unendable", f"--start {start} is before "
                        f"{FIRST_ENDABLE_START}: the chain counts an employment's days from "
                        "then, so its end could never be recorded; if it is over, give its "
                        "last day too (--field end_date=…)", start=Day(start.isoformat()),
                        earliest=Day(FIRST_ENDABLE_START.isoformat())), EXIT_BAD_INPUT)
    _issue_one(NodeClient(node_url), load_key_or_fail(key_path), record, "employment", out_file,
               EMPLOYMENT_OPTIONS)


def _end_day(value: str, option: TypedOption, start: datetime.date) -> datetime.date:
    """An employment's last day: not before its first, and not after today, since from
    the day it is recorded every verifier reads the employment as ended."""
    end = typed_date(value, option)
    given = option.given(end.isoformat())
    if end < start:
        refuse(Sentence("rec.end.before_start", f"{given} is before the employment started "
                        f"({start})", option=option.name, end=Day(end.isoformat()),
                        start=Day(start.isoformat())), EXIT_BAD_INPUT)
    today = datetime.date.today()
    if end > today:
        refuse(Sentence("rec.end.future", f"{given} is after today ({today}): once recorded, "
                        "every verifier would read the employment as ended, though it goes "
                        "on until then; record the end on or after its last day",
                        option=option.name, end=Day(end.isoformat()),
                        today=Day(today.isoformat())), EXIT_BAD_INPUT)
    return end


@employment_group.command("end", cls=RecordCommand)
@key_option()
@click.argument("document_file", type=WordedPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--end", "end_date", required=True,
              help="Last day, YYYY-MM-DD or DD.MM.YYYY; not after today.")
@node_option
@lang_option
def employment_end(key_path: Path, document_file: Path, end_date: str, node_url: str,
                   language: str) -> None:
    """Record the end of an employment you recorded (DOCUMENT_FILE is its credential).

    Only the record's reference and the start and end days go on chain."""
    keys = load_key_or_fail(key_path)
    _document_json, doc = read_document(document_file, "employment")
    if doc.credential_type != "employment":
        refuse(Sentence("rec.end.not_employment", f"{document_file} is a "
                        f"{doc.credential_type}, not an employment record", path=document_file,
                        type=Sentence(f"type.{doc.credential_type}")), EXIT_BAD_INPUT)
    if doc.issuer != keys.member_id:
        refuse(Sentence("rec.end.not_yours", f"the record was issued by "
                        f"{doc.issuer_name or 'another member'} ({doc.issuer.hex()}), not by "
                        f"you ({keys.member_id.hex()}): only its issuer may end it",
                        issuer=doc.issuer_name or "?", issuer_id=doc.issuer.hex(),
                        you=keys.member_id.hex()), EXIT_BAD_INPUT)
    if "start_date" not in doc.revealed:
        refuse(Sentence("rec.end.start_hidden", "the record's start_date is hidden in this "
                        "copy: use the copy you issued"), EXIT_BAD_INPUT)
    try:
        start = parse_date(doc.revealed["start_date"], "the record's start_date")
    except InvalidDocument as exc:
        refuse(Sentence("rec.end.start_bad", str(exc), value=repr(doc.revealed["start_date"])),
               EXIT_BAD_INPUT)
    end = _end_day(end_date, TypedOption("--end"), start)
    if start < FIRST_ENDABLE_START:  # issued before `employment start` refused it
        refuse(Sentence("rec.end.unendable", f"the record starts on {start}, before "
                        f"{FIRST_ENDABLE_START}: the chain counts an employment's days from "
                        "then, so it cannot record this one's end", start=Day(start.isoformat()),
                        earliest=Day(FIRST_ENDABLE_START.isoformat())), EXIT_BAD_INPUT)
    ref = CredentialRef(doc.batch_root, doc.target_hash, doc.batch_index,
                        tuple(doc.batch_path))
    payload = EmploymentEndPayload(keys.member_id, ref, day_number(start), day_number(end))
    result = submit_and_report(NodeClient(node_url), keys, payload, "employment end",
                               report=False)
    echo(Sentence("rec.end.done", f"employment end recorded at height {result['height']}: "
                  f"employed from {start} to {end}", height=result["height"],
                  start=Day(start.isoformat()), end=Day(end.isoformat())))


class _VerdictSaid(Sentence):
    """The original's verdict, as `senim verify` says it in the reader's language."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__("rec.original.invalid")
        self.verdict = verdict

    def said(self, words: Words) -> str:
        return verdict_sentence(self.verdict, words)


def _check_original(document: Any, node_url: str) -> None:
    """The original must verify now: a recognition of a forged or revoked transcript
    would be refused by every verifier anyway."""
    for _attempt in range(3):
        facts = RemoteFacts(node_url)
        try:
            chain_id = facts.get_json("/v1/status")["chain_id"]
            verdict = verify_credential(document, facts, chain_id)
        except StateMoved:
            continue
        except (RemoteFactsError, MalformedInput, KeyError, TypeError) as exc:
            refuse(Sentence("rec.original.unchecked", f"cannot check the original with the "
                            f"node: {exc}", why=reason(exc, "issue.node.error", why=str(exc))),
                   EXIT_UNREACHABLE)
        if not verdict.valid:
            refuse(Sentence("rec.original.invalid", f"the original transcript does not verify "
                            f"({verdict.status}): {verdict.reason}",
                            verdict=_VerdictSaid(verdict)), EXIT_REFUSED)
        return
    refuse(Sentence("rec.original.moving", "the chain kept moving while the original was "
                    "checked; try again"), EXIT_UNREACHABLE)


@click.command("recognise", cls=WordedCommand)
@key_option()
@click.option("--original", "original_file", required=True,
              type=WordedPath(exists=True, dir_okay=False, path_type=Path),
              help="The student's original transcript (lines may be hidden).")
@click.option("--courses", "courses_file", required=True,
              type=WordedPath(exists=True, dir_okay=False, path_type=Path),
              help="JSON or CSV: from_code, as_code, credits[, from_field, as_title_kk, "
                   "as_title_ru, as_title_en, grade] per recognised course.")
@field_option
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="New file for the recognition credential.")
@node_option
@lang_option
def recognise_command(key_path: Path, original_file: Path, courses_file: Path,
                      extra_fields: tuple[str, ...], out_file: Path, node_url: str,
                      language: str) -> None:
    """Issue a recognition: which courses of another university's transcript count as
    which of yours, with credits. Verifying it checks the original too."""
    keys = load_key_or_fail(key_path)
    document, original = read_document(original_file, "original")
    lines = recognised_lines(courses_file)
    try:
        record = recognition_record(original, lines,
                                    typed_values(fields_of(extra_fields, {}), {}))
    except InvalidDocument as exc:
        refuse(ledger_refusal(exc, {}), EXIT_BAD_INPUT)
    _check_original(document, node_url)
    _issue_one(NodeClient(node_url), keys, record, "recognition", out_file)
