"""What `senim issue` says of an export, in the registrar's language: each problem by
row and column, and the dry run's preview, from the phrases registrar/ attaches to them
(registrar.phrases) and the command line's catalogue (cli/words/). English is the sentence
registrar/ wrote, as before; Kazakh and Russian say the catalogue's.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from cli.commands import load_key_or_fail
from cli.errors import EXIT_BAD_INPUT
from cli.issued_check import IssuedCheck
from cli.language import Words
from cli.spoken import Sentence, refuse, say, spoken
from ledger.identity import KeyPair
from registrar import ExportResult, Phrase, Problem, ShownRecord, preview_said
from registrar.value_characters import shown

PROBLEMS_SHOWN_MAX = 50  # a registrar reads the first ones; the count says how many more
# Whom an issuer's records are of, as its registrar says it: an employer's HR officer
# issues to employees (the registry keeps its name, a file's).
HOLDERS = {"employment": "employees"}
_ONE_OF = {"students": "a student", "employees": "an employee"}
_LINE_FIELD = re.compile(r"course\.(\d+)")
_SUBJECT = re.compile(r"subject\.(\w+)")


class Said(Sentence):
    """A Sentence from a registrar phrase. A key the catalogue lacks (a field of a
    registrar's own schema has no label there) is said as its English, never a
    KeyError."""

    def said(self, words: Words) -> str:
        if words.language != "en" and not words.has(self.key):
            return self.english or self.key
        return super().said(words)


def sentence(said: Phrase) -> Sentence:
    """A registrar phrase as a Sentence (its values too)."""
    return Said(said.key, said.english, **{
        name: sentence(value) if isinstance(value, Phrase) else value
        for name, value in said.items()})


def problem_sentence(problem: Problem) -> Sentence:
    """One problem as the registrar reads it: where (row, column), what, and its code.
    A problem registrar/ gave no phrase is said in English in every language."""
    what = sentence(problem.said) if problem.said is not None else problem.message
    where: dict[str, object] = {"what": what, "code": problem.code}
    if problem.row is not None and problem.column is not None:
        key = "issue.problem.row_column"
        where.update(row=problem.row, column=shown(problem.column))
    elif problem.row is not None:
        key, where["row"] = "issue.problem.row", problem.row
    elif problem.column is not None:
        key, where["column"] = "issue.problem.column", shown(problem.column)
    else:
        key = "issue.problem.file"
    return Sentence(key, str(problem), **where)


def field_name(name: str, words: Words) -> str:
    """A record's field as the registrar's language names it on the documents."""
    line = _LINE_FIELD.fullmatch(name)
    if line:
        return words.t("reg.preview.course", number=int(line[1]))
    subject = _SUBJECT.fullmatch(name)
    key = f"subject.{subject[1]}" if subject else f"field.{name}"
    return words.t(key) if words.has(key) and "{" not in words.t(key) else name


def preview_lines(result: ExportResult) -> list[str]:
    """The dry run's preview and every problem, in the running command's language."""
    words = spoken()  # English too: its fields named as the documents label them
    lines: list[str] = []
    for line in preview_said(result):
        if not isinstance(line, ShownRecord):
            lines.append(sentence(line).said(words))
            continue
        lines.append(sentence(line.heading).said(words))
        names = {name: field_name(name, words) for name in line.record}
        width = max(len(shown) for shown in names.values())
        lines.extend(f"  {names[name].ljust(width)}  {value}"
                     for name, value in line.record.items())
    lines.extend(f"  {problem_sentence(problem).said(words)}" for problem in result.problems)
    return lines


def holders(credential_type: str) -> str:
    """"students", or "employees" for an employer's records: a key's last part."""
    return HOLDERS.get(credential_type, "students")


def one_of(holders: str) -> str:
    """One of `holders` in English ("a student")."""
    return _ONE_OF[holders]


def taken_fix(check: IssuedCheck) -> Sentence:
    """What to do when every problem is a student already issued or in an unfinished job:
    no fault of the export (the same command run again after it was stopped), so "fix
    the export" is wrong. Only what fits the rows found is advised: --resume for an
    unfinished job (what each row says, when a job that sent nothing holds a row's
    student id with another IIN), leaving out or correcting (not when correcting already) for the
    students issued."""
    who = holders(check.credential_type)
    if check.unsent_rows:  # a job to delete, or a row to check: each row says which
        return Sentence("issue.taken_fix.each", "The export itself may be right: do for each "
                        "row what is said of it above")
    if not check.issued_rows:
        return Sentence("issue.taken_fix.resume", "The export itself may be right: finish "
                        "each unfinished job named (senim issue --resume on its folder)")
    if not check.unfinished_rows:
        return Sentence(f"issue.taken_fix.issued.{who}", f"The export itself may be right: "
                        f"take the {who} already issued out of the export, or correct their "
                        "credentials with --corrections")
    return Sentence(f"issue.taken_fix.both.{who}", "The export itself may be right: finish "
                    "each unfinished job named (senim issue --resume on its folder), take the "
                    f"{who} already issued out of the export, or correct their credentials "
                    "with --corrections")


def refuse_problems(path: Path, result: ExportResult, check: IssuedCheck) -> None:
    """One line per problem (the first ones), then exit 2: nothing is issued unless the
    whole file is clean (registrar/ decides what is). `check`: the registry's findings,
    which choose the advice when they are all the problems."""
    if not result.problems:
        return
    for problem in result.problems[:PROBLEMS_SHOWN_MAX]:
        click.echo("  " + say(problem_sentence(problem)), err=True)
    more = result.problem_count - PROBLEMS_SHOWN_MAX
    if more > 0:
        click.echo(say(Sentence("issue.problems.more", f"  … and {more} more", count=more)),
                   err=True)
    if result.only_students_taken:
        fix = taken_fix(check)
        who = holders(check.credential_type)
        refuse(Sentence(f"issue.problems.taken.{who}", f"{path}: {result.problem_count} "
                        f"problem(s), each {one_of(who)} already issued or in an unfinished "
                        f"job (said above); nothing was issued. {fix}", path=path,
                        count=result.problem_count, fix=fix), EXIT_BAD_INPUT)
    refuse(Sentence("issue.problems.refused", f"{path}: {result.problem_count} problem(s); "
                    "nothing was issued (fix the export, or try --dry-run to see the rows as "
                    "they will read)", path=path, count=result.problem_count), EXIT_BAD_INPUT)


def load_issuer_key(path: Path) -> KeyPair:
    """The issuer's key, or one line saying why it cannot be used, exit 2 (as every
    command that signs says it: cli.commands.load_key_or_fail)."""
    return load_key_or_fail(path)
