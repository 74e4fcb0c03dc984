"""`senim employment start|end` and `senim recognise`: records one at a time.

Each command checks everything it can before it signs anything, writes the
credential file (mode 0600, never over an existing file) BEFORE the batch is
submitted, so a committed credential always has its file, and prints a one-line
error for bad input. A whole class is issued with `senim issue` instead.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import key_option, load_key_or_fail, node_option, submit_and_report
from cli.errors import EXIT_BAD_INPUT
from cli.errors import fail as _fail
from cli.remote import RemoteFacts, RemoteFactsError, StateMoved
from cli.typed_dates import typed_date
from ledger.academic import GRADE_SCALE, RECOGNISED_PARTS, day_number, parse_date
from ledger.credential_documents import parse_document
from ledger.credentials import make_batch
from ledger.errors import InvalidDocument, MalformedInput
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, EmploymentEndPayload, IssueBatchPayload
from ledger.record_checks import recognition_record
from ledger.verification import verify_credential
from node.files import UnfitFile, read_bounded
from registrar.course_grades import course_grade_code
from registrar.iin import iin_problem

MAX_INPUT_BYTES = 1 << 20  # a document or a course list; far above any real one
MAX_RECOGNISED = 190  # a document holds at most 200 fields
field_option = click.option("--field", "extra_fields", multiple=True, metavar="NAME=VALUE",
                            help="Another field of the credential (repeatable).")


def _read_text(path: Path, what: str) -> str:
    try:
        return read_bounded(path, MAX_INPUT_BYTES, what).data.decode("utf-8-sig")
    except UnfitFile as exc:  # /dev/zero, a named pipe, a folder, or too large
        _fail(str(exc), EXIT_BAD_INPUT)
        raise
    except UnicodeDecodeError:
        excel = (" (Excel's plain \"CSV\" is Windows-1251): save it as \"CSV UTF-8\""
                 if path.suffix.lower() == ".csv" else ": save it as UTF-8")
        _fail(f"cannot read {what} {path}: it is not UTF-8 text{excel}", EXIT_BAD_INPUT)
        raise
    except OSError as exc:
        _fail(f"cannot read {what} {path}: {exc}", EXIT_BAD_INPUT)
        raise


def _document(path: Path, what: str) -> Any:
    try:
        document = json.loads(_read_text(path, what))
        return document, parse_document(document)
    except (ValueError, RecursionError) as exc:
        _fail(f"{path} is not a credential document: {exc}", EXIT_BAD_INPUT)
        raise


def _fields(pairs: tuple[str, ...], named: dict[str, str | None]) -> dict[str, str]:
    record = {name: value for name, value in named.items() if value is not None}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            _fail(f"--field takes NAME=VALUE, got {pair!r}", EXIT_BAD_INPUT)
        if name.strip() in record:
            _fail(f"field {name.strip()!r} is given twice", EXIT_BAD_INPUT)
        record[name.strip()] = value.strip()
    return record


def _new_file(path: Path) -> None:
    if path.exists():
        _fail(f"{path} exists: give a new file for the credential", EXIT_BAD_INPUT)
    if not path.parent.is_dir():
        _fail(f"the folder {path.parent} does not exist", EXIT_BAD_INPUT)


def _write_private(path: Path, document: dict[str, Any], replace: bool) -> None:
    """Mode 0600 from the first byte: the file holds the holder's personal data."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    target = path.with_name(path.name + ".tmp") if replace else path
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    if replace:
        os.replace(target, path)


def _issue_one(client: NodeClient, keys: KeyPair, record: dict[str, str], ctype: str,
               out: Path, options: dict[str, str] | None = None) -> dict[str, Any]:
    """Issue one credential: checked, written (0600), submitted, then marked committed.
    `options` names the option each field came from, for the refusal of a field."""
    _new_file(out)
    try:
        status = client.status()
        members = client.request("GET", "/v1/members")["members"]
        issuer_name = str(next((m["name"] for m in members
                                if m["member_id"] == keys.member_id.hex()),
                               keys.member_id.hex()))
    except ClientError as exc:
        _fail(str(exc), 3)
        raise
    except MALFORMED_ANSWER as exc:
        _fail(f"{client.base_url} sent a malformed members answer ({type(exc).__name__}: "
              f"{exc}): is it a Senim node?", 3)
        raise
    try:
        batch = make_batch([record], ctype, status["chain_id"], keys.member_id, issuer_name)
    except InvalidDocument as exc:
        _fail(_said_for_one(str(exc), options or {}), EXIT_BAD_INPUT)
    document = next(batch.documents())
    document["issuance"] = None  # not yet on chain; filled in when committed
    _write_private(out, document, replace=False)
    result = submit_and_report(client, keys, IssueBatchPayload(ctype, batch.root, 1), ctype,
                               written=out, report=False)
    document["issuance"] = {key: result[key] for key in ("tx_id", "height", "block_hash",
                                                          "time") if key in result}
    _write_private(out, document, replace=True)
    click.echo(f"{ctype} issued at height {result['height']}: {out}")
    return document


def _said_for_one(refusal: str, options: dict[str, str]) -> str:
    """A batch's refusal of its one record, in the command's terms: 'record 1: position:
    an employment record must state it' named a record the officer never numbered and a
    field by its name in a file, not the option it came from."""
    refusal = refusal.removeprefix("record 1: ")
    field, sep, why = refusal.partition(": ")
    return f"{options[field]}: {why}" if sep and field in options else refusal


EMPLOYMENT_OPTIONS = {"full_name": "--full-name", "iin": "--iin", "position": "--position",
                      "organisation": "--organisation", "start_date": "--start"}


@click.group("employment")
def employment_group() -> None:
    """An employer records an employment, and later its end."""


@employment_group.command("start")
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
def employment_start(key_path: Path, full_name: str, iin: str | None, position: str,
                     organisation: str, start_date: str, extra_fields: tuple[str, ...],
                     out_file: Path, node_url: str) -> None:
    """Issue an employment record (your organisation must be accredited for employment).

    Until its first day a verifier would read the record as a current employment, so a
    start after today is refused: record it on or after that day."""
    start = typed_date(start_date, "--start")
    if iin is not None:
        iin = "".join(iin.split())  # typed in groups, as on an ID card: 0110 2051 0003
        problem = iin_problem(iin)
        if problem is not None:
            # Said without the spreadsheet advice it carries for an export's column.
            _fail(f"--iin {iin!r}: {problem.split(' (Excel', 1)[0]}", EXIT_BAD_INPUT)
    if start > datetime.date.today():
        _fail(f"--start {start} is after today ({datetime.date.today()}): until that day "
              "every verifier would read the record as a current employment, so record it on "
              "or after its first day", EXIT_BAD_INPUT)
    record = _fields(extra_fields, {"full_name": full_name, "iin": iin, "position": position,
                                    "organisation": organisation,
                                    "start_date": start.isoformat()})
    if "end_date" in record:  # an employment already over, given as --field end_date=…
        record["end_date"] = _end_day(record["end_date"], "end_date", start).isoformat()
    _issue_one(NodeClient(node_url), load_key_or_fail(key_path), record, "employment", out_file,
               EMPLOYMENT_OPTIONS)


def _end_day(value: str, option: str, start: datetime.date) -> datetime.date:
    """An employment's last day: not before its first, and not after today, since from
    the day it is recorded every verifier reads the employment as ended."""
    end = typed_date(value, option)
    if end < start:
        _fail(f"{option} {end} is before the employment started ({start})", EXIT_BAD_INPUT)
    today = datetime.date.today()
    if end > today:
        _fail(f"{option} {end} is after today ({today}): once recorded, every verifier would "
              "read the employment as ended, though it goes on until then; record the end on "
              "or after its last day", EXIT_BAD_INPUT)
    return end


@employment_group.command("end")
@key_option()
@click.argument("document_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--end", "end_date", required=True,
              help="Last day, YYYY-MM-DD or DD.MM.YYYY; not after today.")
@node_option
def employment_end(key_path: Path, document_file: Path, end_date: str, node_url: str) -> None:
    """Record the end of an employment you recorded (DOCUMENT_FILE is its credential).

    Only the record's reference and the start and end days go on chain."""
    keys = load_key_or_fail(key_path)
    _document_json, doc = _document(document_file, "the employment record")
    if doc.credential_type != "employment":
        _fail(f"{document_file} is a {doc.credential_type}, not an employment record",
              EXIT_BAD_INPUT)
    if doc.issuer != keys.member_id:
        _fail(f"the record was issued by {doc.issuer_name or 'another member'} "
              f"({doc.issuer.hex()}), not by you ({keys.member_id.hex()}): only its issuer "
              "may end it", EXIT_BAD_INPUT)
    if "start_date" not in doc.revealed:
        _fail("the record's start_date is hidden in this copy: use the copy you issued",
              EXIT_BAD_INPUT)
    try:
        start = parse_date(doc.revealed["start_date"], "the record's start_date")
    except InvalidDocument as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
        raise
    end = _end_day(end_date, "--end", start)
    ref = CredentialRef(doc.batch_root, doc.target_hash, doc.batch_index,
                        tuple(doc.batch_path))
    payload = EmploymentEndPayload(keys.member_id, ref, day_number(start), day_number(end))
    result = submit_and_report(NodeClient(node_url), keys, payload, "employment end",
                               report=False)
    click.echo(f"employment end recorded at height {result['height']}: employed from "
               f"{start} to {end}")


def _recognised(path: Path) -> list[dict[str, str]]:
    """Lines from JSON (a list of objects) or CSV (a header row; `,` `;` or tab)."""
    text = _read_text(path, "the recognised courses")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
            # rows of empty cells (Excel saves its used range) list no course
            data = [row for row in csv.DictReader(io.StringIO(text), dialect=dialect)
                    if None in row or None in row.values() or any(v.strip() for v in row.values())]
    except (ValueError, csv.Error) as exc:
        _fail(f"cannot read {path}: {exc}", EXIT_BAD_INPUT)
        raise
    if not isinstance(data, list) or not data or len(data) > MAX_RECOGNISED:
        _fail(f"{path} must list 1 to {MAX_RECOGNISED} recognised courses", EXIT_BAD_INPUT)
    lines = []
    for number, row in enumerate(data, start=1):
        if not isinstance(row, dict) or None in row or None in row.values():
            _fail(f"{path}: course {number} is not a row of named values", EXIT_BAD_INPUT)
        unknown = sorted(set(row) - set(RECOGNISED_PARTS))
        if unknown:
            _fail(f"{path}: course {number}: unknown columns {unknown} (known: "
                  f"{', '.join(RECOGNISED_PARTS)})", EXIT_BAD_INPUT)
        line = {key: str(value).strip() for key, value in row.items() if str(value).strip()}
        if "grade" in line and line["grade"] not in GRADE_SCALE:
            # зачтено, сынақ, отлично as the office types them: recorded as their codes
            line["grade"] = course_grade_code(line["grade"]) or line["grade"]
        lines.append(line)
    return lines


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
            _fail(f"cannot check the original with the node: {exc}", 3)
            raise
        if not verdict.valid:
            _fail(f"the original transcript does not verify ({verdict.status}): "
                  f"{verdict.reason}")
        return
    _fail("the chain kept moving while the original was checked; try again", 3)


@click.command("recognise")
@key_option()
@click.option("--original", "original_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The student's original transcript (lines may be hidden).")
@click.option("--courses", "courses_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON or CSV: from_code, as_code, credits[, from_field, as_title_kk, "
                   "as_title_ru, as_title_en, grade] per recognised course.")
@field_option
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="New file for the recognition credential.")
@node_option
def recognise_command(key_path: Path, original_file: Path, courses_file: Path,
                      extra_fields: tuple[str, ...], out_file: Path, node_url: str) -> None:
    """Issue a recognition: which courses of another university's transcript count as
    which of yours, with credits. Verifying it checks the original too."""
    keys = load_key_or_fail(key_path)
    document, original = _document(original_file, "the original transcript")
    lines = _recognised(courses_file)
    try:
        record = recognition_record(original, lines, _fields(extra_fields, {}))
    except InvalidDocument as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
        raise
    _check_original(document, node_url)
    _issue_one(NodeClient(node_url), keys, record, "recognition", out_file)
