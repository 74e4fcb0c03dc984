"""`senim issue --dry-run`: the export read and checked as a real run reads it, the first
records shown as the documents will read, every problem by row; nothing is signed or sent.

A real run checks each student against the issuer's issued-students registry, which
cli/issuer_registry.py finds by the issuer's key. A dry run without `--key` cannot find
it: it checks against a registry beside `--out` or in the current directory if one is
there, and otherwise says plainly, in its last line too, that students already issued
were not looked for and how to have them looked for, rather than count as issuable a
class the real run will refuse. Given `--key`, it also asks the node, as the real run
does first, whether the issuer may issue the type now: a class of a type the issuer is
not accredited for was said to "would be issued", and the real run refused it whole.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED
from cli.issue_checks import ReaderOptions, accreditation_problem, check_export, registry_check
from cli.issue_words import holders as holders_of
from cli.issue_words import one_of, preview_lines, sentence, taken_fix
from cli.issued_check import IssuedCheck
from cli.job_folder import JobError, check_out_dir
from cli.job_interrupt import stop_interrupted
from cli.spoken import Sentence, echo, reason, refuse, warn
from ledger.identity import KeyPair

# A dry run is often run where the node is out of reach: it waits no longer than this
# for the node's members list before saying it could not ask.
DRY_RUN_NODE_S = 10.0


def dry_run_export(credential_type: str | None, input_path: Path | None, out_dir: Path | None,
            options: ReaderOptions, keys: KeyPair | None, node: NodeClient) -> None:
    """`keys`: --key's, if given."""
    issuer = None if keys is None else keys.member_id.hex()
    keyed = issuer is not None
    if credential_type is None or input_path is None:
        refuse(Sentence("issue.dry.needs", "--dry-run needs --type and --input"),
               EXIT_BAD_INPUT)
    chain_refusal = None if keys is None else _chain_refusal(node, keys, credential_type)
    try:
        registry_path, check = registry_check(credential_type, options, out_dir, None,
                                              issuer, dry_run=True)
        result = check_export(input_path, credential_type, options, check)
    except KeyboardInterrupt:
        stop_interrupted(Sentence("issue.dry.stopped",
                                  "the dry run stopped; nothing was issued or sent"))
    click.echo("\n".join(preview_lines(result)))
    if out_dir is not None:
        try:  # the registrar's next step is the real run: say now what it would refuse
            check_out_dir(out_dir)
        except JobError as exc:
            warn(exc.sentence)
    unchecked = check.registry is None and not keyed and not options.registry
    holders = holders_of(credential_type)
    echo(_registry_line(registry_path, check, keyed or bool(options.registry), holders))
    if check.corrected:
        echo(Sentence("issue.dry.corrected", f"{len(check.corrected)} row(s) correct "
                      f"credentials issued earlier (first: row {min(check.corrected)})",
                      count=len(check.corrected), row=min(check.corrected)))
        changes = check.changes_said()
        if changes is not None:
            echo(sentence(changes))
    if chain_refusal is not None and result.problems:
        echo(chain_refusal)
    if result.problems and result.only_students_taken:
        fix = taken_fix(check)
        refuse(Sentence(f"issue.dry.taken.{holders}", f"{result.problem_count} problem(s), "
                        f"each {one_of(holders)} already issued or in an unfinished job: "
                        f"nothing would be issued. {fix}", count=result.problem_count, fix=fix),
               EXIT_BAD_INPUT)
    if result.problems:
        refuse(Sentence("issue.dry.problems", f"{result.problem_count} problem(s): nothing "
                        "would be issued", count=result.problem_count), EXIT_BAD_INPUT)
    if unchecked:
        echo(Sentence(f"issue.dry.unchecked.{holders}", f"dry run: {result.count} record(s) "
                      f"read clean, NOT checked against the {holders} this issuer was already "
                      "issued (give --key); nothing was sent", count=result.count))
        return
    if chain_refusal is not None:
        refuse(Sentence("issue.dry.refused", f"dry run: the real run would be refused: "
                        f"{chain_refusal}; nothing was sent", why=chain_refusal), EXIT_REFUSED)
    echo(Sentence("issue.dry.would_issue", f"dry run: {result.count} record(s) would be "
                  "issued; nothing was sent", count=result.count))


def _registry_line(path: Path, check: IssuedCheck, chosen: bool, holders: str) -> Sentence:
    """Which registry the rows were checked against, or why none was; `chosen`: the
    registry is the issuer's (by --key) or the registrar's (--registry)."""
    if check.registry is not None:
        if chosen:
            return Sentence("issue.registry.checked", f"checked against the issued-students "
                            f"registry {path}", path=path)
        return Sentence("issue.registry.checked_found", f"checked against the issued-students "
                        f"registry {path} (without --key, the one found there; give --key to "
                        "check against the registry the issuer's jobs use)", path=path)
    if chosen and path.exists():
        return Sentence("issue.registry.other_issuer", f"the issued-students registry {path} "
                        "records another issuer's jobs, not read: none of this issuer's is "
                        "named beside its key (its first real run starts one beside --out)",
                        path=path)
    if chosen:
        return Sentence("issue.registry.none_at", f"no issued-students registry at {path}: no "
                        "earlier job recorded there", path=path)
    return Sentence(f"issue.registry.not_looked.{holders}", f"{holders} already issued were "
                    "NOT looked for: without --key a dry run cannot find the issuer's "
                    "issued-students registry (named beside its key), and there is none at "
                    f"{path}; give --key KEY (the key the real run signs with), or --registry "
                    "FILE, to have each row checked as the real run checks it", path=path)


def _chain_refusal(node: NodeClient, keys: KeyPair, credential_type: str) -> Sentence | None:
    """Why the chain would refuse this issuer the type now, as the real run asks first;
    when the node cannot be asked, that is said (a warning) and the dry run goes on."""
    node.budget_s = min(node.budget_s or DRY_RUN_NODE_S, DRY_RUN_NODE_S)
    try:
        members = node.request("GET", "/v1/members")["members"]
        return accreditation_problem(members, keys, credential_type)
    except ClientError as exc:
        why: Sentence | str = reason(exc, "issue.node.error", why=str(exc))
    except MALFORMED_ANSWER as exc:
        why = f"{type(exc).__name__}: {exc}"
    warn(Sentence("issue.dry.chain_unasked", f"whether this issuer may issue {credential_type} "
                  f"credentials now was NOT checked: the node could not be asked ({why}); the "
                  "real run asks it first", type=Sentence(f"type.{credential_type}"), why=why))
    return None
