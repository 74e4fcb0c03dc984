"""A member named where a member id is expected (`--member`, `--issuer`).

Operators know the organisations by name; ids are 40 hex digits. A value that is an
id is taken as it is, with no question to the node. Anything else is looked up in
the node's member registry (`GET /v1/members`): the member of exactly that name, or
else the one whose name matches it ignoring case. Nothing is guessed: two members
of that name, or none, end the command naming the candidates and `senim members`.
Names are compared ignoring case and how the spaces in them run, as a reader would.

A new member's name (`add-member`) is checked here too, before anything is signed:
a name a member already holds makes every later name of it ambiguous (in `--member`,
`senim governance list`, a verifier's "issued by"), and a stray space or an invisible mark
pasted with it makes a name nobody can type back. From rules version 14 the ledger itself
refuses a name that reads as a member's (`member_name_taken`, `ledger.member_name_index`),
by the one `readings` (`ledger.member_names_read`), and one holding an invisible character
by the one `invisible_marks`; before it, it takes any text.

`senim export-vc` compares a credential file's issuer name with the chain's name of
that member the same way (`same_name`): the file's name is in no hash, and one a reader
would not take for the chain's was edited after issue.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Any

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from cli.refusals import malformed, node_said
from cli.spoken import Joined, Sentence, refuse
from ledger.errors import MalformedInput
from ledger.identity import MEMBER_ID_BYTES, MemberId
from ledger.member_names_read import invisible_marks, readings, spaced, unassigned_marks
from ledger.payload_fields import MAX_TEXT_CHARS, require_text

# Candidates named in a refusal; a name matching more is no name to pick from anyway.
MAX_CANDIDATES_NAMED = 8


def same_name(one: str, other: str) -> bool:
    """Whether two names are one as a reader takes them: ignoring case and how the spaces
    in them run (a letter of another script drawn alike is another name)."""
    return spaced(one) == spaced(other)


def look_alike(name: str) -> Sentence | None:
    """Why `name` would read as another name it is not, or None: a word mixing Latin and
    Cyrillic letters ("ЕNU", its Е Cyrillic), which reads as the name of a member that
    spells it in one script but matches it nowhere (`--member`, a verifier's eye)."""
    # Imported here: the registrar package loads openpyxl and lxml, which every command
    # that names members (and its --help) would otherwise load (tests/cli/test_light_imports)
    from cli.issue_words import sentence
    from registrar.value_characters import mixed_phrase
    mixed = mixed_phrase(name)
    return None if mixed is None else sentence(mixed)


def _as_id(value: str) -> MemberId | None:
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        return None
    return MemberId(raw) if len(raw) == MEMBER_ID_BYTES else None


def _named(members: list[dict[str, Any]]) -> Sentence:
    # A retired namesake is said so: of two members of one name, it is seldom the one meant.
    shown = [Sentence("min.names.candidate", f"{m['name']} ({m['member_id']})", name=m["name"],
                      id=m["member_id"]) if m["retired"] is None else
             Sentence("min.names.candidate_retired", f"{m['name']} ({m['member_id']}, retired "
                      f"from height {m['retired']})", name=m["name"], id=m["member_id"],
                      height=m["retired"])
             for m in members[:MAX_CANDIDATES_NAMED]]
    more = len(members) - len(shown)
    if more > 0:
        shown.append(Sentence("min.names.more", f"and {more} more", count=more))
    return Joined(shown, "; ")


def _height(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _registry(client: NodeClient, new: bool = False) -> list[dict[str, Any]]:
    try:
        members = client.request("GET", "/v1/members")["members"]
        return [{"name": str(m["name"]), "member_id": str(m["member_id"]),
                 "retired": _height(m.get("retired_height"))} for m in members]
    except ClientError as exc:
        refuse(Sentence("min.names.new_not_sent", f"new member not sent: {exc}",
                        why=node_said(exc)) if new else
               Sentence("min.names.lookup", f"looking the name up: {exc}", why=node_said(exc)),
               exc.exit_code)
    except MALFORMED_ANSWER as exc:
        refuse(malformed(client.base_url, "members", type(exc).__name__), EXIT_UNREACHABLE)


def resolve_member(client: NodeClient, value: str, option: str) -> MemberId:
    """`value` (an id, or a member's name as `senim members` shows it) as a member id."""
    member_id = _as_id(value)
    if member_id is not None:
        return member_id
    members = _registry(client)
    wanted = value.strip()
    found = [m for m in members if m["name"] == wanted]
    if not found:
        found = [m for m in members if m["name"].casefold() == wanted.casefold()]
    if not found:
        found = [m for m in members if same_name(m["name"], wanted)]
    if len(found) == 1:
        return MemberId(bytes.fromhex(found[0]["member_id"]))
    if found:
        named = _named(found)
        refuse(Sentence("min.names.ambiguous", f"{option} {value!r} names {len(found)} members: "
                        f"{named}. Give the member id of the one you mean (see `senim "
                        "members`)", option=option, value=repr(value), count=len(found),
                        named=named), EXIT_BAD_INPUT)
    near = [m for m in members if wanted and wanted.casefold() in m["name"].casefold()]
    english = (f"{option} {value!r} is neither a member id ({2 * MEMBER_ID_BYTES} hex digits) "
               "nor a member's name{hint}. Give the id or the full name as `senim members` "
               "lists them")
    if near:
        named = _named(near)
        refuse(Sentence("min.names.unknown_near", english.format(
                   hint=f"; names containing it: {named}"), option=option,
                   value=repr(value), digits=2 * MEMBER_ID_BYTES, named=named), EXIT_BAD_INPUT)
    refuse(Sentence("min.names.unknown", english.format(hint=""), option=option,
                    value=repr(value), digits=2 * MEMBER_ID_BYTES), EXIT_BAD_INPUT)


def new_member_name(client: NodeClient, name: str) -> str:
    """`name` for a new member, its spaces trimmed and each run of them one space; a name
    holding an invisible character or one unassigned in Unicode 3.2, or one a member
    already bears (as read: ignoring case and spaces), ends the command, nothing sent."""
    tidy = unicodedata.normalize("NFC", " ".join(name.split()))  # as typed, composed
    try:
        require_text(tidy, "member name")  # what every node refuses, before asking one
    except MalformedInput as exc:
        refuse(Sentence("min.names.text", str(exc), max=MAX_TEXT_CHARS), EXIT_BAD_INPUT)
    marks = invisible_marks(tidy)
    if marks:
        refuse(Sentence("min.names.invisible", f"--name {name!r} holds an invisible character "
                        f"({marks}), as text pasted from a word processor may: type the name "
                        "again", name=repr(name), marks=marks), EXIT_BAD_INPUT)
    marks = unassigned_marks(tidy)  # refused by the ledger from version 14, and ambiguous before
    if marks:
        refuse(Sentence("min.names.character", f"--name {name!r} holds a character not every "
                        f"node compares alike ({marks}: an emoji, or a character added to "
                        "Unicode after 2002): write the name in letters, digits and ordinary "
                        "punctuation", name=repr(name), marks=marks), EXIT_BAD_INPUT)
    mixed = look_alike(tidy)
    if mixed is not None:
        refuse(Sentence("min.names.mixed", f"--name {tidy!r}: {mixed}", name=repr(tidy),
                        why=mixed), EXIT_BAD_INPUT)
    registry = _registry(client, new=True)
    same = [m for m in registry if same_name(m["name"], tidy)]
    if same:
        named = _named(same)
        refuse(Sentence("min.names.taken", f"--name {tidy!r} is already a member's name: "
                        f"{named}. Two members of one name cannot be told apart by name (in "
                        "--member, `senim governance list`, a verifier's 'issued by'); give the "
                        "new one a name of its own, e.g. with its city", name=repr(tidy),
                        named=named), EXIT_BAD_INPUT)
    read = set(readings(tidy))  # as the ledger reads it (ledger.member_name_index)
    alike = [m for m in registry
             if read & set(readings(m["name"])) and not same_name(m["name"], tidy)]
    if alike:
        named = _named(alike)
        refuse(Sentence("min.names.alike", f"--name {tidy!r} reads as the name of {named}, "
                        "spelled in other letters (Latin, Cyrillic and Greek ones drawn "
                        "alike): a reader could not tell the two apart; give the new one a "
                        "name of its own", name=repr(tidy), named=named), EXIT_BAD_INPUT)
    return tidy


# Of a shared name's member id, what is shown beside it: enough to tell members apart
# and to find the one meant in `senim members`.
ID_CHARS_SHOWN = 12


def tell_apart(client: NodeClient, answer: Any) -> None:
    """Give every member a node's answer names by a name two members bear (as read) the
    start of its id, in place: "retire Astana IT University from height 60" did not say
    which of the two it retires. Best effort: without the registry, names stay as they
    are (the answer itself was read already)."""
    try:
        members = client.request("GET", "/v1/members")["members"]
        counts = Counter(spaced(str(m["name"])) for m in members)
    except (ClientError, *MALFORMED_ANSWER):
        return
    shared = {name for name, count in counts.items() if count > 1}
    if not shared:
        return
    pending: list[Any] = [answer]
    while pending:  # the answer was read bounded in size, so this walk is bounded too
        node = pending.pop()
        if isinstance(node, dict):
            name, member_id = node.get("name"), node.get("member_id")
            if (isinstance(name, str) and isinstance(member_id, str)
                    and spaced(name) in shared):
                node["name"] = f"{name} ({member_id[:ID_CHARS_SHOWN]}…)"
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
