"""`senim governance revoke`: a ministry proposes that the consortium revoke credentials of
a retired member (one that may sign nothing, its own revocations included).

One file makes a `revoke_credential` proposal (rules version 3 on); several, or a folder
of them (an issuing job's, as the registrar's output holds a cohort), make one
`revoke_credentials` proposal of up to MAX_REVOKED_PER_PROPOSAL (rules version 4 on).
Under version 3 several files are refused, saying to propose version 4, rather than sent
as one proposal each: each would need each voter's vote, and at most MAX_OPEN_PROPOSALS
may be open at once, so a cohort of 300 would take ten rounds of 32 proposals and 300
votes of every ministry.

The proposal is voted like any other (`senim governance vote`); the vote that reaches the
threshold writes every revocation (`ledger.governance_revocation`). What the ledger would
refuse is refused here first, unsent, by file: not a credential, another issuer than most
files', an issuer not retired, a credential this network never recorded, one
revoked already, one named twice, one another open proposal revokes. `--dry-run` lists
what would be revoked and every file that could not be, and sends nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import key_option, load_key_or_fail, node_option, submit_and_report
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.governance_vote import GovernanceCommand, standing
from cli.governance_words import reason_words
from cli.language import lang_option
from cli.proposal_heights import ProposalHeights
from cli.refusals import node_said
from cli.revoke_checks import ChainView, Listed, rules_too_old
from cli.revoke_inputs import MAX_FILES_COUNTED, TooManyFiles, expand, read_credential
from cli.spoken import Sentence, echo, os_reason, printable, refuse, say
from cli.worded_command import WordedPath
from ledger.errors import ConfigError
from ledger.identity import MemberId
from ledger.payloads import (
    CONSORTIUM_REVOCATION_REASONS,
    MIN_PROPOSAL_LEAD_BLOCKS,
    CredentialRef,
    GovernanceAction,
    ProposePayload,
    RevokeCredentialAction,
    RevokeCredentialsAction,
)
from ledger.payloads_consortium import (
    MAX_REVOKED_LIST_BYTES,
    MAX_REVOKED_PER_PROPOSAL,
    revoked_list_bytes,
)
from ledger.rules_version import BULK_REVOCATION_FROM, CONSORTIUM_REVOCATION_FROM
from node.files import load_key


def grouped(number: int) -> str:
    """A large number as Kazakh and Russian write it: thousands apart by a (no-break) space."""
    return f"{number:,}".replace(",", "\u00a0")


def _files(paths: tuple[Path, ...]) -> list[Path]:
    given = ", ".join(map(str, paths))
    try:
        files = expand(paths)
    except TooManyFiles:
        refuse(Sentence("gov.revoke.too_many_files", f"more than {MAX_FILES_COUNTED:,} files "
                        f"under {given}; one proposal revokes at most "
                        f"{MAX_REVOKED_PER_PROPOSAL} credentials",
                        count=grouped(MAX_FILES_COUNTED), paths=given,
                        max=MAX_REVOKED_PER_PROPOSAL), EXIT_BAD_INPUT)
    except OSError as exc:  # named: it may be deep under the folder given
        refuse(Sentence("cli.file.unreadable", f"cannot read {exc.filename or 'the folder'}: "
                        f"{exc.strerror or exc}", path=exc.filename or given,
                        why=os_reason(exc)), EXIT_BAD_INPUT)
    if not files:
        refuse(Sentence("gov.revoke.no_files", f"no credential files (*.json) under {given}",
                        paths=given), EXIT_BAD_INPUT)
    if len(files) > MAX_REVOKED_PER_PROPOSAL:
        parts = -(-len(files) // MAX_REVOKED_PER_PROPOSAL)
        refuse(Sentence("gov.revoke.over_cap", f"{len(files)} credential files given: one "
                        f"proposal revokes at most {MAX_REVOKED_PER_PROPOSAL}; give them in "
                        f"{parts} or more proposals of at most {MAX_REVOKED_PER_PROPOSAL} files "
                        "each", count=len(files), max=MAX_REVOKED_PER_PROPOSAL, parts=parts),
               EXIT_BAD_INPUT)
    return files


def _voter_of(key_path: Path) -> str | None:
    """A dry run's key, read only to tell a proposal it already voted for (None if it
    cannot be read: the dry run needs no key)."""
    try:
        return load_key(key_path).member_id.hex()
    except (ConfigError, OSError):
        return None


def _ref(listed: Listed) -> CredentialRef:
    doc = listed.read.document
    assert doc is not None
    return CredentialRef(doc.batch_root, doc.target_hash, doc.batch_index,
                         tuple(doc.batch_path))


def _too_large(refs: list[CredentialRef]) -> Sentence | None:
    size = revoked_list_bytes(refs)
    if size <= MAX_REVOKED_LIST_BYTES:
        return None
    fits = next(n for n in range(len(refs), 0, -1)
                if revoked_list_bytes(refs[:n]) <= MAX_REVOKED_LIST_BYTES)
    return Sentence("gov.revoke.too_large", f"these {len(refs)} credentials with their audit "
                    f"paths take {size:,} bytes, and one proposal holds at most "
                    f"{MAX_REVOKED_LIST_BYTES:,}: give at most {fits} of these files in one "
                    "proposal, the rest in another", count=len(refs), size=grouped(size),
                    max=grouped(MAX_REVOKED_LIST_BYTES), fits=fits)


def _show(listed: list[Listed], reason: str) -> None:
    good = [item for item in listed if item.problem is None]
    why = reason_words(reason)
    if good:
        echo(Sentence("gov.revoke.would", f"Would revoke {len(good)} credential(s) of "
                      f"{good[0].issuer_name} for {why}:", count=len(good),
                      name=good[0].issuer_name, reason=why), named=True)
    for item in good:
        doc = item.read.document
        assert doc is not None
        echo(Sentence("gov.revoke.would_one", f"  {item.read.path}: credential "
                      f"{doc.target_hash.hex()[:16]}…, leaf {doc.batch_index} of batch "
                      f"{doc.batch_root.hex()[:16]}…", path=item.read.path,
                      hash=doc.target_hash.hex()[:16], leaf=doc.batch_index,
                      batch=doc.batch_root.hex()[:16]), named=True)


def _problems(listed: list[Listed]) -> list[Listed]:
    return [item for item in listed if item.problem is not None]


def _refuse_problems(listed: list[Listed], bad: list[Listed]) -> None:
    code = EXIT_REFUSED if any(item.read.document for item in bad) else EXIT_BAD_INPUT
    if len(listed) == 1:  # one file: one line, as before several could be given
        item = bad[0]
        assert item.problem is not None
        if item.read.document is not None:
            refuse(Sentence("gov.revoke.not_proposed", f"not proposed: {item.problem}",
                            why=item.problem), code)
        said = str(item.problem)
        refuse(Sentence("gov.revoke.file_problem", f"{item.read.path} is {said}"
                        if said.startswith("not ") else f"{item.read.path}: {said}",
                        path=item.read.path, why=item.problem), code)
    for item in bad:
        line = Sentence("gov.revoke.file_line", f"  {item.read.path}: {item.problem}",
                        path=item.read.path, why=item.problem)
        click.secho(printable(say(line)), fg="red", err=True)
    refuse(Sentence("gov.revoke.not_proposed_many", f"not proposed: {len(bad)} of the "
                    f"{len(listed)} files cannot be revoked (each named above); nothing was "
                    "sent", bad=len(bad), count=len(listed)), code)


@click.command("revoke", cls=GovernanceCommand)
@key_option("Your (ministry) member key file.")
@click.argument("credentials", nargs=-1, required=True,
                type=WordedPath(exists=True, path_type=Path))
@click.option("--reason", required=True, type=click.Choice(CONSORTIUM_REVOCATION_REASONS),
              help="Why, as a code (the chain never holds free text).")
@click.option("--effective-height", type=int, default=None,
              help="Votes close 2 blocks before it; default the head + 100. The revocation "
                   "itself is written by the vote that reaches the threshold.")
@click.option("--dry-run", is_flag=True,
              help="List what would be revoked and each file that cannot be; send nothing.")
@node_option
@lang_option
def revoke_command(key_path: Path, credentials: tuple[Path, ...], reason: str,
                   effective_height: int | None, dry_run: bool, node_url: str,
                   language: str) -> None:
    """Propose that the consortium revoke CREDENTIALS (credential files or Senim VCs, or
    folders of them, such as an issuing job's) of a retired member, all in one proposal
    (at most 256); your transaction is your vote. Prints the proposal id for the other
    voters."""
    files = _files(credentials)
    reads = [read_credential(path) for path in files]
    keys = None if dry_run else load_key_or_fail(key_path)
    voter = keys.member_id.hex() if keys is not None else _voter_of(key_path)
    client = NodeClient(node_url, timeout_s=10)
    many = len(reads) > 1
    needed = BULK_REVOCATION_FROM if many else CONSORTIUM_REVOCATION_FROM
    try:
        view = ChainView.of(client)
        too_old = None
        if view.known < needed or view.version < needed:
            too_old = rules_too_old(view.version, view.scheduled, needed, len(reads))
            if not dry_run:
                refuse(too_old, EXIT_REFUSED)
        listed = view.check(reads, key_path, voter)
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        refuse(Sentence("gov.revoke.malformed", f"{node_url} sent a malformed answer "
                        f"({type(exc).__name__}): is it a Senim node?", url=node_url),
               EXIT_UNREACHABLE)
    bad = _problems(listed)
    refs = [_ref(item) for item in listed if item.problem is None]
    too_large = _too_large(refs) if many else None
    if dry_run:
        _dry_run(listed, bad, len(refs), reason, [s for s in (too_old, too_large) if s])
        return
    if bad:
        _refuse_problems(listed, bad)
    if too_large is not None:
        refuse(Sentence("gov.revoke.not_proposed", f"not proposed: {too_large}", why=too_large),
               EXIT_BAD_INPUT)
    assert keys is not None
    heights = ProposalHeights(view.head, view.threshold)
    wrong = heights.refusal(effective_height, None)
    if wrong is not None:
        refuse(wrong, EXIT_BAD_INPUT)
    effective = heights.default_effective if effective_height is None else effective_height
    issuer = MemberId(listed[0].issuer)
    action: GovernanceAction = (RevokeCredentialsAction(issuer, tuple(refs), reason) if many
                                else RevokeCredentialAction(issuer, refs[0], reason))
    result = submit_and_report(NodeClient(node_url), keys, ProposePayload(
        action, effective, effective - MIN_PROPOSAL_LEAD_BLOCKS), "proposal")
    _said(client, result, len(refs), effective)


def _dry_run(listed: list[Listed], bad: list[Listed], good: int, reason: str,
             also: list[Sentence]) -> None:
    """What would be revoked and every file that could not be; exit 1 when any."""
    _show(listed, reason)
    for item in bad:
        line = Sentence("gov.revoke.cannot", f"  cannot revoke {item.read.path}: "
                        f"{item.problem}", path=item.read.path, why=item.problem)
        click.secho(printable(say(line)), fg="red")
    for said in also:
        click.secho(printable(say(Sentence("gov.revoke.indented", f"  {said}", said=said))),
                    fg="red")
    clean = not bad and not also
    echo(Sentence("gov.revoke.dry_clean" if clean else "gov.revoke.dry_rest",
                  f"Nothing sent (--dry-run): {good} of {len(listed)} file(s) could be revoked"
                  + ("." if clean else "; the rest must be fixed or left out first."),
                  good=good, count=len(listed)))
    if not clean:
        raise SystemExit(EXIT_REFUSED)


def _said(client: NodeClient, result: dict[str, Any], count: int, effective: int) -> None:
    """The proposal's id and the votes it still needs as the node counts them (not the
    policy's threshold less one: the proposer's own vote may be set aside), or that it
    revoked them already."""
    proposal_id, height = result["tx_id"], result["height"]
    now = standing(client, proposal_id)
    if now is not None and now.status in ("approved", "in_force"):  # a threshold of 1
        echo(Sentence("gov.revoke.done_one" if count == 1 else "gov.revoke.done_many",
                      f"{'' if count == 1 else f'{count} credentials '}revoked by the "
                      f"consortium at height {height} (proposal {proposal_id})",
                      count=count, height=height, id=proposal_id))
        return
    # the node did not say, or it asks for no one's vote: any voter's next vote approves
    # it, or none can
    if now is None or now.votes_to_ask == 0:
        echo(Sentence("gov.revoke.proposed_unsaid", f"proposal id: {proposal_id}",
                      id=proposal_id))
        if now is not None:
            echo(now.said, named=True)
            if now.approved_by_any_vote:
                echo(now.how_to_approve)
        return
    what = "the credential is" if count == 1 else f"the {count} credentials are"
    closes, more = effective - MIN_PROPOSAL_LEAD_BLOCKS, now.votes_to_ask
    echo(Sentence("gov.revoke.proposed_one" if count == 1 else "gov.revoke.proposed_many",
                  f"proposal id: {proposal_id}; {what} revoked once {more} more "
                  f"voter(s) vote for it, by height {closes}: senim governance vote --key KEY "
                  f"{proposal_id}", id=proposal_id, count=count, more=more, closes=closes))
