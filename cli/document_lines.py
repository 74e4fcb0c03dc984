"""Whose document it is and what it says, as `senim verify` lists it after the checks.

The verdict's sentence says what the document is, who issued it, when and where it
stands; an employer also needs whom it names and what it certifies, which the portal
shows as the document's card. The command line lists the fields the holder showed, each
under its label in the reader's language (the portal's catalogue, `field.*`), a hidden
one said as hidden, a day as the portal says it. Only when the chain confirms the
content, as the portal's card does without its "not confirmed" caveat: an altered or
unknown file's fields are what anyone wrote. A transcript's course lines follow apart
(cli.course_lines); an attestat's subject grades are listed here, each named.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cli.course_lines import course_lines, grade_words
from cli.language import Words
from ledger.errors import InvalidDocument
from ledger.vc.export import native_of_vc

# The statuses whose content the chain vouches for (node/static/portal-verdict.js,
# renderFields, shows the same without its caveat).
CONFIRMED = ("valid", "revoked", "unaccredited")
# Fields listed elsewhere, or that are hashes no reader can use: course and recognised
# lines (cli.course_lines; the recognition's check says what it recognises), and a
# recognition's reference to its original (its own check says what the node found).
LISTED_APART = re.compile(r"^(course|recognised)\.\d+$|^original$")
SUBJECT = re.compile(r"^subject\.(.+)$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


LINE = re.compile(r"^(course|recognised)\.(\d+)$")


def label(words: Words, name: str) -> str:
    """A field as the document's reader knows it (a course line by its number, as the
    holder page names it), in `words`' language."""
    line = LINE.match(name)
    if line and words.has(f"holder.{line.group(1)}"):
        return words.t(f"holder.{line.group(1)}", n=int(line.group(2)))
    subject = SUBJECT.match(name)
    if subject:
        code = subject.group(1)
        return (words.t(f"subject.{code}") if words.has(f"subject.{code}")
                else words.t("subject.other", code=code))
    if words.has(f"field.{name}"):
        return words.t(f"field.{name}")
    spaced = re.sub(r"[_-]+", " ", name).strip()
    return spaced[:1].upper() + spaced[1:]


def _value(words: Words, name: str, value: str) -> str:
    if not value.strip():
        return "—"
    if SUBJECT.match(name):
        return grade_words(words, value)
    if name.endswith("_date") and DAY.match(value):
        return words.date(value)
    if value.startswith("["):
        try:
            listed = json.loads(value)
        except ValueError:
            return value
        if isinstance(listed, list):
            return "; ".join(item if isinstance(item, str) else json.dumps(
                item, ensure_ascii=False) for item in listed)
    return value


def document_lines(words: Words, status: str, facts: object, document: object) -> list[str]:
    """A heading naming the document's type, then each field shown: nothing when the
    chain does not confirm the content."""
    type_ = facts.get("type") if isinstance(facts, dict) else None
    fields: Any = document.get("fields") if isinstance(document, dict) else None
    if status not in CONFIRMED or not isinstance(type_, str) or not isinstance(fields, dict):
        return []
    lines = []
    for name, entry in fields.items():
        if not isinstance(name, str) or LISTED_APART.match(name):
            continue
        value = entry.get("value") if isinstance(entry, dict) else None
        said = (_value(words, name, value) if isinstance(value, str)
                else words.t("document.hidden"))
        lines.append(f"  {label(words, name)}: {said}")
    if not lines:
        return []
    title = words.t(f"title.{type_}") if words.has(f"title.{type_}") else words.t(
        "title.unknown")
    return [f"{title}:", *lines]


def contents(words: Words, status: str, facts: object, document: object) -> list[str]:
    """What the document says, after the checks: its fields, then its course lines."""
    return [*document_lines(words, status, facts, document), *course_lines(words, facts)]


def native_or_as_is(document: Any) -> Any:
    """A Senim VC as the native document it stands for, whose fields, batch and lines the
    verdict's checks count (the VC's own layout has them elsewhere); anything else, and a
    VC that cannot be read as one, as it is."""
    if not isinstance(document, dict) or "senim" not in document:
        return document
    try:
        return native_of_vc(document)
    except InvalidDocument:
        return document
