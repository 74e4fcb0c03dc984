"""`senim supersede --corrections DIR`: every pair a corrections job lists, in one command.

`senim issue --corrections` issues corrected credentials and lists, in the job folder's
corrections.json, which earlier credential each replaces. Until the earlier one is
superseded both verify as genuine, and a class corrected at once (a programme's name
misspelt on every diploma) is hundreds of pairs: one command each was a day's work, and a
pair forgotten left a wrong credential valid. This sends a supersede for each pair,
`IN_FLIGHT_MAX` at a time, and says per row what became of it. Running it again is safe:
a pair already superseded is refused by the chain as already revoked and said so, and
what the node did not take this time is sent the next.

Every pair is read and checked before anything is sent: a file missing or not the
credential it names stops the command with one line per row, and nothing is sent.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.client import (
    BUSY,
    EXPIRY_WINDOW_BLOCKS,
    MALFORMED_ANSWER,
    ClientError,
    NodeClient,
    not_taken,
    refusal_params,
)
from cli.commands import key_refusal
from cli.errors import EXIT_BAD_INPUT, EXIT_PENDING, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.job_folder import CORRECTIONS_NAME
from cli.refusals import coded
from cli.spoken import Sentence, echo, reason, refuse, say
from cli.verify_files import load_checked_json
from ledger.credential_documents import parse_document
from ledger.errors import ConfigError, InvalidDocument, MalformedInput
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, RevokePayload, checked
from ledger.payloads_credentials import REASON_SUPERSEDED
from ledger.transactions import Transaction, build_transaction
from node.files import load_key

# Supersedes sent before waiting for them: well under a node's per-sender mempool cap,
# and each wait is one long poll.
IN_FLIGHT_MAX = 64
# Seconds each group may take to commit once sent: one deadline for the group, not a wait
# per row (a node that commits nothing, its quorum gone, held 64 rows a minute each).
COMMIT_WAIT_S = 60.0
# Rows whose problem is listed before "… and N more".
PROBLEMS_SHOWN_MAX = 20


@dataclass(frozen=True)
class Pair:
    row: int
    old: CredentialRef
    new: CredentialRef


def _ref(path: Path) -> CredentialRef:
    doc = parse_document(load_checked_json(path))
    return CredentialRef(doc.batch_root, doc.target_hash, doc.batch_index,
                         tuple(doc.batch_path))


def read_pairs(job_dir: Path) -> list[Pair]:
    """Each pair the job lists, its two credentials read and the supersede checked as a
    node checks it; one line per row that cannot be, then exit 2."""
    listing = job_dir / CORRECTIONS_NAME
    if not listing.is_file():
        refuse(Sentence("supersede.no_listing", f"{job_dir} holds no {CORRECTIONS_NAME}: give "
                        "the folder of a job issued with senim issue --corrections",
                        path=job_dir, name=CORRECTIONS_NAME), EXIT_BAD_INPUT)
    entries: Any = load_checked_json(listing)
    if not isinstance(entries, list) or not entries:
        refuse(Sentence("supersede.empty", f"{listing} lists no corrections", path=listing),
               EXIT_BAD_INPUT)
    pairs: list[Pair] = []
    problems: list[Sentence] = []
    for number, entry in enumerate(entries, start=1):
        row = entry.get("row") if isinstance(entry, dict) else None
        where = (Sentence("supersede.row", f"row {row}", row=row) if isinstance(row, int)
                 else Sentence("supersede.entry", f"entry {number}", number=number))
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("old"), str) \
                    or not isinstance(entry.get("new"), str):
                problems.append(Sentence("supersede.problem", f"  {where}: not a pair of "
                                         "credential files (old, new)", where=where,
                                         why=Sentence("supersede.not_a_pair")))
                continue
            old, new = Path(entry["old"]), job_dir / entry["new"]
            gone = next((path for path in (old, new) if not path.is_file()), None)
            if gone is not None:
                problems.append(Sentence("supersede.problem", f"  {where}: {gone} is not "
                                         "there", where=where,
                                         why=Sentence("supersede.gone", path=gone)))
                continue
            pair = Pair(row if isinstance(row, int) else number, _ref(old), _ref(new))
            checked(RevokePayload(pair.old, REASON_SUPERSEDED, None, pair.new))
        except (InvalidDocument, MalformedInput, ValueError, KeyError, TypeError) as exc:
            problems.append(Sentence("supersede.problem", f"  {where}: {exc}", where=where,
                                     why=reason(exc, "supersede.unusable", why=str(exc))))
            continue
        pairs.append(pair)
    if problems:
        for line in problems[:PROBLEMS_SHOWN_MAX]:
            click.echo(say(line), err=True)
        if len(problems) > PROBLEMS_SHOWN_MAX:
            more = len(problems) - PROBLEMS_SHOWN_MAX
            click.echo(say(Sentence("issue.problems.more", f"  … and {more} more", count=more)),
                       err=True)
        refuse(Sentence("supersede.refused", f"{len(problems)} of the {len(entries)} "
                        "corrections cannot be superseded as listed; nothing was sent",
                        count=len(problems), total=len(entries)), EXIT_BAD_INPUT)
    return pairs


def supersede_job(key_path: Path, job_dir: Path, node_url: str) -> None:
    try:
        keys = load_key(key_path)
    except ConfigError as exc:
        refuse(key_refusal(key_path, exc), EXIT_BAD_INPUT)
    pairs = read_pairs(job_dir)
    node = NodeClient(node_url)
    tally = {"superseded": 0, "already": 0, "refused": 0, "pending": 0}
    for start in range(0, len(pairs), IN_FLIGHT_MAX):
        _group(node, keys, pairs[start:start + IN_FLIGHT_MAX], tally)
    echo(Sentence("supersede.tally", f"{tally['superseded']} superseded now, "
                  f"{tally['already']} already superseded or revoked, {tally['refused']} "
                  f"refused, {tally['pending']} not yet committed, of {len(pairs)}",
                  total=len(pairs), **tally))
    if tally["refused"]:
        refuse(Sentence("supersede.some_refused", "some were refused (above); the rest stand"),
               EXIT_REFUSED)
    if tally["pending"]:
        refuse(Sentence("supersede.some_pending", "some were not committed in time: run the "
                        "same command again (those superseded by then are said so)"),
               EXIT_PENDING)


def _group(node: NodeClient, keys: KeyPair, pairs: list[Pair], tally: dict[str, int]
           ) -> None:
    try:
        status = node.status()
        sent: list[tuple[Pair, str]] = []
        for pair in pairs:
            tx = _supersede_tx(keys, status, pair)
            try:
                sent.append((pair, node.submit(tx)))
            except ClientError as exc:
                if exc.status == 0:
                    raise
                if not not_taken(exc):  # a proxy's bare status, the node's 5xx: it may
                    # have taken the row, which may still commit (run again, it is said)
                    tally["pending"] += 1
                    echo(Sentence("supersede.not_confirmed", f"row {pair.row}: sent, not "
                                  f"confirmed: {exc}", row=pair.row,
                                  why=reason(exc, "issue.node.error", why=str(exc))))
                    continue
                if exc.status == 429 or exc.code == BUSY:  # full or busy for now: not refused
                    tally["pending"] += 1
                    echo(Sentence("supersede.busy", f"row {pair.row}: not sent, the node is "
                                  f"busy ({exc.code})", row=pair.row, code=exc.code))
                    continue
                _refused(pair, exc.code, str(exc), exc.params, tally)
        deadline = time.monotonic() + COMMIT_WAIT_S
        for pair, tx_id in sent:
            result = node.wait(tx_id, max(0.0, deadline - time.monotonic()))
            if result["status"] == "committed":
                tally["superseded"] += 1
                old, new = pair.old.target_hash.hex()[:16], pair.new.target_hash.hex()[:16]
                echo(Sentence("supersede.done", f"row {pair.row}: superseded {old}… by {new}… "
                              f"at height {result['height']}", row=pair.row, old=old, new=new,
                              height=result["height"]))
            elif result["status"] == "rejected":
                _refused(pair, str(result.get("code", "")),
                         str(result.get("reason", "refused")),
                         refusal_params(result.get("params")), tally)
            else:
                tally["pending"] += 1
                echo(Sentence("supersede.waiting", f"row {pair.row}: sent, not committed in "
                              f"{COMMIT_WAIT_S:g} s", row=pair.row,
                              seconds=f"{COMMIT_WAIT_S:g}"))
    except ClientError as exc:
        refuse(Sentence("supersede.node_failed", f"{exc}; the rows said above stand: run the "
                        "same command again for the rest",
                        why=reason(exc, "issue.node.error", why=str(exc))), EXIT_UNREACHABLE)
    except MALFORMED_ANSWER as exc:
        # the exception's name in English only (it means nothing in another language)
        why = f"{type(exc).__name__}: {exc}"
        refuse(Sentence("min.malformed", f"{node.base_url} sent a malformed answer ({why}): "
                        "is it a Senim node?", url=node.base_url,
                        what=Sentence("min.answer.transaction")), EXIT_UNREACHABLE)


def _supersede_tx(keys: KeyPair, status: dict[str, Any], pair: Pair) -> Transaction:
    return build_transaction(keys, status["chain_id"], RevokePayload(
        pair.old, REASON_SUPERSEDED, None, pair.new), status["height"] + EXPIRY_WINDOW_BLOCKS)


def _refused(pair: Pair, code: str, reason: str, params: dict[str, str | int],
             tally: dict[str, int]) -> None:
    """A row the node refused: `reason` its English message, `params` what it named."""
    if code == "already_revoked":
        tally["already"] += 1
        echo(Sentence("supersede.already", f"row {pair.row}: {reason}: nothing sent again",
                      row=pair.row, why=reason))
        return
    tally["refused"] += 1
    echo(Sentence("supersede.refused_row", f"row {pair.row}: refused: {reason} ({code})",
                  row=pair.row, why=coded(code, reason, params), code=code))


def corrections_hint(job_dir: Path) -> str:
    """The one command that supersedes every pair of a corrections job."""
    return f"senim supersede --key KEY --corrections {shlex.quote(str(job_dir))}"
