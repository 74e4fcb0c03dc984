"""`senim accredit | suspend | add-member | anchor`: one signed transaction each.

Ministries accredit, suspend and admit organisations, and any member (a teacher's
university) anchors a document; each reads what these commands say in their language,
kk, ru or en (--lang, or the locale: cli.spoken).
"""

from __future__ import annotations

import calendar
import datetime
import time
from pathlib import Path

import click

from cli.admission_request import AdmissionRequested
from cli.client import NodeClient
from cli.commands import (
    key_option,
    load_key_or_fail,
    node_option,
    refuse_key_nobody_holds,
    submit_and_report,
)
from cli.errors import EXIT_BAD_INPUT
from cli.language import lang_option
from cli.member_names import new_member_name, resolve_member
from cli.spoken import Day, Sentence, echo, refuse, warn
from cli.verify_files import file_digest
from cli.worded_command import WordedCommand, WordedPath
from ledger.identity import PUBLIC_KEY_BYTES, member_id_of
from ledger.payloads import (
    SUSPENSION_REASONS,
    AccreditPayload,
    AddMemberPayload,
    AnchorPayload,
    SuspendPayload,
)
from ledger.records import day
from ledger.transactions import CREDENTIAL_TYPES, ROLES


def _date_ms(value: str, option: str) -> int:
    """Midnight UTC starting the day: the ledger states periods in UTC days."""
    try:
        time_ms = calendar.timegm(time.strptime(value, "%Y-%m-%d")) * 1000
    except ValueError:
        refuse(Sentence("min.date.format", f"{option} must be a date YYYY-MM-DD, got {value!r}",
                        option=option, value=repr(value)), EXIT_BAD_INPUT)
    if time_ms < 0:  # the payload's own check said so in English only
        refuse(Sentence("min.date.before_1970", f"{option} {value} is before 1970-01-01, the "
                        "earliest day the chain states", option=option, value=value),
               EXIT_BAD_INPUT)
    return time_ms


DEFAULT_YEARS = 5  # an accreditation's usual term
DAY_MS_UTC = 86_400_000  # a UTC day: POSIX time counts no leap seconds


def _years_later(time_ms: int, years: int) -> int:
    """The same time of the same calendar day `years` on (29 February: the 28th). It was
    5 × 365 days, a day short over a leap year: accredited on 3 December 2026 'for five
    years' read 'until 2031-12-02'."""
    start = datetime.datetime.fromtimestamp(time_ms / 1000, tz=datetime.UTC)
    if start.year + years > datetime.MAXYEAR:  # --from 9996-01-01: past the calendar
        refuse(Sentence("min.date.past_calendar", f"{years} years from {start.date()} is past "
                        f"the year {datetime.MAXYEAR}: give --until", years=years,
                        start=Day(str(start.date())), year=datetime.MAXYEAR), EXIT_BAD_INPUT)
    try:
        later = start.replace(year=start.year + years)
    except ValueError:
        later = start.replace(year=start.year + years, day=28)
    return int(later.timestamp() * 1000)


def _today_ms(now_ms: int) -> int:
    """The start of today (UTC), as --from's default: a whole day, as its help says and as
    `senim members` then shows it; it was the minute before the command ran."""
    return now_ms - now_ms % DAY_MS_UTC


@click.command("accredit", cls=WordedCommand)
@key_option("Your (ministry) member key file.")
@click.option("--issuer", required=True, help="The organisation to accredit: its member id "
              "or its name as `senim members` lists it.")
@click.option("--types", default="diploma,certificate,transcript", show_default=True,
              help=f"Comma-separated credential types ({', '.join(CREDENTIAL_TYPES)}).")
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD); default today.")
@click.option("--until", "end", default=None, help="Day it ends (YYYY-MM-DD), the first day "
              "no longer covered; default +5 years.")
@click.option("--force", is_flag=True, help="Record a period that is already over (to put a "
              "past accreditation on record); refused without it.")
@node_option
@lang_option
def accredit(key_path: Path, issuer: str, types: str, start: str | None, end: str | None,
             force: bool, node_url: str, language: str) -> None:
    """A ministry grants an organisation the right to issue, for types and a period.

    Days are UTC. A period already over would let nobody issue anything, so it is
    refused unless --force; a period that ends before it starts is always refused."""
    type_list = [t.strip() for t in types.split(",") if t.strip()]
    if not type_list:
        refuse(Sentence("min.accredit.no_types", "--types must name at least one credential "
                        "type"), EXIT_BAD_INPUT)
    known = ", ".join(CREDENTIAL_TYPES)
    for ctype in type_list:
        if ctype not in CREDENTIAL_TYPES:
            refuse(Sentence("min.accredit.unknown_type", f"unknown credential type {ctype!r} "
                            f"(known: {known})", type=repr(ctype), known=known), EXIT_BAD_INPUT)
    now_ms = int(time.time() * 1000)
    start_ms = _date_ms(start, "--from") if start else _today_ms(now_ms)
    end_ms = _date_ms(end, "--until") if end else _years_later(start_ms, DEFAULT_YEARS)
    ends, starts = day(end_ms), day(start_ms)
    inverted = Sentence("min.accredit.inverted", f"the period ends ({ends}) before it starts "
                        f"({starts}): --until must be after --from", ends=Day(ends),
                        starts=Day(starts))
    # A past --until with the default --from (today) is inverted too: said before the
    # warning that a --force would record it anyway, which it would not.
    if end_ms <= start_ms:
        refuse(inverted, EXIT_BAD_INPUT)
    if end_ms <= now_ms:
        if not force:
            refuse(Sentence("min.accredit.over", f"the period ended on {ends}, before today: "
                            "nobody could issue under it (give --force to record it anyway)",
                            ends=Day(ends)), EXIT_BAD_INPUT)
        warn(Sentence("min.accredit.over_forced", f"the period ended on {ends}; recording it "
                      "anyway", ends=Day(ends)))
    keys = load_key_or_fail(key_path)
    client = NodeClient(node_url)
    submit_and_report(client, keys, AccreditPayload(
        resolve_member(client, issuer, "--issuer"), tuple(type_list), start_ms, end_ms),
        "accreditation")


@click.command("suspend", cls=WordedCommand)
@key_option("Your (ministry) member key file.")
@click.option("--issuer", required=True, help="The organisation to suspend: its member id "
              "or its name as `senim members` lists it.")
@click.option("--reason", required=True, type=click.Choice(list(SUSPENSION_REASONS)),
              help="Why, as a code (the chain never holds free text; keep details off chain).")
@node_option
@lang_option
def suspend(key_path: Path, issuer: str, reason: str, node_url: str, language: str) -> None:
    """A ministry withdraws an organisation's right to issue (earlier credentials stay valid)."""
    keys = load_key_or_fail(key_path)
    client = NodeClient(node_url)
    result = submit_and_report(client, keys, SuspendPayload(
        resolve_member(client, issuer, "--issuer"), reason), "suspension")
    # The ledger suspends from the next block (ledger/rules.py): a batch in the same block
    # as the suspension is still the issuer's to make, so "committed at height H" alone
    # left `senim members` saying "suspended from height H + 1" unexplained.
    height = int(result["height"]) + 1
    echo(Sentence("min.suspend.done", f"suspended from height {height}: what the issuer signs "
                  "from then on is refused; what it issued before stays valid", height=height))


@click.command("add-member", cls=WordedCommand)
@key_option("Your (ministry) member key file.")
@click.option("--request", "request_path", type=click.Path(path_type=Path), default=None,
              help="The organisation's admission request (senim key request-admission): "
                   "its name, role, key and the key's proof of possession.")
@click.option("--name", default=None, help="The organisation's name.")
@click.option("--role", default=None, type=click.Choice(ROLES), help="Its role.")
@click.option("--public-key", default=None, help="The new member's public key (hex).")
@node_option
@lang_option
def add_member(key_path: Path, request_path: Path | None, name: str | None, role: str | None,
               public_key: str | None, node_url: str, language: str) -> None:
    """A ministry admits a new (non-validating) member organisation."""
    # From rules version 12 the ledger admits a key only with its holder's proof
    # (ledger.admission), which the request carries; --name, --role and --public-key
    # serve a chain under an earlier version.
    by_request = request_path is not None and name is None and role is None \
        and public_key is None
    by_key = request_path is None and None not in (name, role, public_key)
    if not (by_request or by_key):
        refuse(Sentence("min.add.needs", "add-member needs --request FILE (the organisation "
                        "makes it: senim key request-admission), or, on a chain under rules "
                        "version 11 or earlier, --name, --role and --public-key"),
               EXIT_BAD_INPUT)
    raw = None if public_key is None else _public_key(public_key)
    keys = load_key_or_fail(key_path)
    client = NodeClient(node_url)
    proof = None
    if request_path is not None:
        admission = AdmissionRequested(request_path).admission(client)
        name, role, raw = admission.name, admission.role, admission.public_key
        proof = admission.possession_proof
    assert name is not None and role is not None and raw is not None
    refuse_key_nobody_holds(raw, "--public-key" if request_path is None else
                            str(request_path))
    tidy = new_member_name(client, name)
    # The proof signs the name as the request states it (tidied the same way when made).
    name = name if proof is not None else tidy
    result = submit_and_report(client, keys, AddMemberPayload(name, role, raw, proof),
                               "new member", report=False)
    member_id, height, tx = member_id_of(raw).hex(), result["height"], result["tx_id"][:16]
    echo(Sentence("min.add.done", f"new member: {name} ({role}), member id {member_id}, "
                  f"admitted at height {height} (tx {tx}…)", name=name,
                  role=Sentence(f"gov.role.{role}"), id=member_id, height=height, tx=tx))


def _public_key(public_key: str) -> bytes:
    try:
        raw = bytes.fromhex(public_key)
    except ValueError:
        raw = b""
    if len(raw) != PUBLIC_KEY_BYTES:
        refuse(Sentence("min.add.key", f"--public-key must be {PUBLIC_KEY_BYTES} bytes as "
                        f"{2 * PUBLIC_KEY_BYTES} hex digits (see `senim keygen`)",
                        size=PUBLIC_KEY_BYTES, digits=2 * PUBLIC_KEY_BYTES), EXIT_BAD_INPUT)
    return raw


@click.command("anchor", cls=WordedCommand)
@key_option()
@click.argument("file", type=WordedPath(exists=True, dir_okay=False, path_type=Path))
@node_option
@lang_option
def anchor(key_path: Path, file: Path, node_url: str, language: str) -> None:
    """Record that a document (e.g. teaching material) existed, and who recorded it."""
    keys = load_key_or_fail(key_path)
    digest = file_digest(file)
    echo(Sentence("rec.anchor.digest", f"sha256 {digest.hex()}", digest=digest.hex()))
    submit_and_report(NodeClient(node_url), keys, AnchorPayload(digest), "anchor")
