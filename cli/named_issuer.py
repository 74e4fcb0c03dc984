"""Who an anchored JSON file names as its issuer, beside the member who recorded it.

Any member may anchor any bytes (ledger.rules), first come first served, and the chain
records only who did and when. So an employer that anchored a JSON file reading as a
university's diploma had `senim verify` say VALID, "recorded by" the employer, of a file
naming the university as its issuer, which vouched for nothing.

A name in a file is no identity: an honest organisation writes its own name in another
language or form ("Әл-Фараби атындағы ҚазҰУ", "Kaspi Bank JSC"), or as a web address or
a DID, none of which the chain can tie to a member. Only a member id (40 hex digits, as
ledger.identity gives it, "0x" before it or not) names a member for certain. So a file
whose top-level "issuer" gives a member id other than its recorder's, wherever it gives
it, is not valid (ISSUER_NOT_RECORDER); any other name that is not
its recorder's, "issuer" given as a list of names or an object's "name" as a language
map ({"en": ...}) included, leaves it valid with a caution saying whom it names and that
the chain shows only who recorded it (the fact `named_issuer`).

The ledger stays out of it: it does not read what a file says. The comparison is made
where the command line has the parsed file (cli.online_verdict.node_verdict).

A Senim W3C VC is the other file whose issuer a reader sees named: its `issuer.name` is in
its proof but in no hash the chain holds, and a VC exported before `senim export-vc` signed
the chain's spelling (or one its issuer signed by other means) may name "Harvard
University" for the member the chain records as KazNU. Its verdict stays what the chain
makes it, with a caution (`vc_issuer_checked`, `vc_caution`); a name that is another
member's id is ISSUER_NOT_RECORDER, as in an anchored file. (Its `issuer.id`, a did:key,
is tied to the member by the chain's key history: ledger.vc.issuer_keys.)"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cli.commands import Judged
from cli.member_names import same_name
from cli.spoken import Sentence
from ledger.member_names_read import spaced
from ledger.verification import Check, Verdict

if TYPE_CHECKING:  # a VC's verdict is only read here: its module is loaded where VCs are
    from ledger.vc.verify import VcVerdict

ISSUER_NOT_RECORDER = "issuer_not_recorder"
ISSUER_CHECK = "issuer_named"
# The most of a name the verdict repeats: the file's "issuer" may be megabytes long.
NAMED_CHARS_MAX = 120
# A member id as a file gives it: 20 bytes in hex (ledger.identity), maybe as 0x….
_MEMBER_ID = re.compile(r"(?:0[xX])?([0-9a-fA-F]{40})")


@dataclass(frozen=True)
class NamedIssuer:
    """What a file's top-level "issuer" names. `member_ids`: member ids (lower-case hex)
    where a file names its issuer's id ("issuer" itself, an object's "member_id" or
    "id"); `names`: anything else it names, as written."""
    member_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


def _visible(text: str) -> str:
    """`text` with its invisible format characters (a zero-width space, a bidi mark) dropped."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _member_id(text: str) -> str | None:
    found = _MEMBER_ID.fullmatch(_visible(text).strip())
    return found[1].lower() if found else None


# Quotes a name may be written between ("«KazNU»"): left out where it is compared and
# shown, so that kk/ru words, which put a name in «», do not say ««KazNU»».
_QUOTES = (("«", "»"), ('"', '"'), ("\u201c", "\u201d"), ("\u201e", "\u201c"), ("'", "'"))


def unquoted(name: str) -> str:
    """`name` without the one pair of quotes it may stand between, its spaces around them too."""
    bare = name.strip()
    for start, end in _QUOTES:
        if len(bare) > 2 and bare.startswith(start) and bare.endswith(end):
            return bare[1:-1].strip()
    return name


def _comparable(name: str) -> str:
    """`name` as names are compared: as ledger.member_names_read.spaced reads a member's
    name, with invisible format characters and the quotes around it dropped, and a member
    id as its lower-case hex."""
    return _member_id(name) or spaced(unquoted(_visible(name)))


# The most values of one "name" read (a list of them, a language map's): a name is a few.
NAME_VALUES_MAX = 64


def names_given(name: object) -> list[object]:
    """The values a "name" gives, as VC 2.0 defines one: a string, a language value
    object ({"@value": ..., "@language": ...}: its @value), or a list of either; also a
    language map ({"en": ...}: its every value). Whatever else is left as it is (and
    read as no name by the caller)."""
    def one(value: object) -> list[object]:
        if isinstance(value, dict):
            return [value["@value"]] if "@value" in value else list(value.values())
        return [value]
    given = ([each for value in name for each in one(value)] if isinstance(name, list)
             else one(name))
    return given[:NAME_VALUES_MAX]


def names_of_issuer(document: object) -> NamedIssuer:
    """What a JSON object's top-level "issuer" names, read in these shapes alone: a
    string; an object; a list of strings and objects, each read as if it stood alone. Of
    an object, its "member_id", its "name" (a string, or a language map's every value),
    and its "id" when that is a member id or the object gives no name or member id (an
    "id" beside them is most often a web address or a DID of the same issuer). Any
    string of these that is a member id, an invisible character in it or not, is taken
    as one wherever it stands: a member id written as a name or in a list names that
    member no less. Names that are empty or all space are none."""
    issuer = document.get("issuer") if isinstance(document, dict) else None
    ids: list[str] = []
    names: list[str] = []

    def named(value: object) -> None:
        if not isinstance(value, str):
            return
        member_id = _member_id(value)
        if member_id is not None:
            ids.append(member_id)
        elif _comparable(value):
            names.append(value)

    def named_by_object(issuer: dict[str, object]) -> None:
        named_before = len(ids) + len(names)
        named(issuer.get("member_id"))
        for each in names_given(issuer.get("name")):
            named(each)
        given_id = issuer.get("id")
        gave_no_other = len(ids) + len(names) == named_before
        if isinstance(given_id, str) and (_member_id(given_id) or gave_no_other):
            named(given_id)

    if isinstance(issuer, str):
        named(issuer)
    elif isinstance(issuer, list):
        for each in issuer:
            if isinstance(each, dict):
                named_by_object(each)
            else:
                named(each)
    elif isinstance(issuer, dict):
        named_by_object(issuer)
    return NamedIssuer(tuple(ids), tuple(names))


def _shown(name: str) -> str:
    """`name` as a verdict repeats it: its words, invisible characters and the quotes
    around it left out, cut short."""
    words = " ".join(unquoted(_visible(name)).split())
    return words if len(words) <= NAMED_CHARS_MAX else words[:NAMED_CHARS_MAX] + "…"


def issuer_checked(verdict: Verdict, document: object) -> Verdict:
    """`verdict`, an anchored document's, as `document` (the file parsed; None when it is
    no JSON) bears on it when it was valid: ISSUER_NOT_RECORDER when the file names a
    member id other than the anchor's author's; still valid, with the first other name
    it gives in its facts (`named_issuer`, for `caution`), when it names anyone but its
    author by name or id. Any other verdict is returned as it is."""
    if not (verdict.valid and any(c.name == "anchored" and c.ok for c in verdict.checks)):
        return verdict
    author = str(verdict.facts.get("author", ""))
    author_id = str(verdict.facts.get("author_id", "")).lower()
    named = names_of_issuer(document)
    other_id = next((given for given in named.member_ids if given != author_id), None)
    if other_id is not None:
        verdict.facts["named_issuer"] = other_id
        verdict.fail(ISSUER_NOT_RECORDER, Check(
            ISSUER_CHECK, False,
            f"names member id {other_id} as its issuer; recorded by {author}"))
        verdict.reason = (f"this file names member id {other_id} as its issuer, but it was "
                          f"recorded on the chain by {author}: nothing on the chain shows "
                          f"{other_id} vouched for it. Do not rely on it.")
        return verdict
    recorders = {_comparable(author), author_id}
    other = next((name for name in named.names if _comparable(name) not in recorders), None)
    if other is not None:
        verdict.facts["named_issuer"] = _shown(other)
    return verdict


def caution(verdict: Judged) -> Sentence | None:
    """What a valid verdict says of a file naming an issuer other than its recorder."""
    named = verdict.facts.get("named_issuer")
    if not verdict.valid or not isinstance(named, str):
        return None
    author = unquoted(str(verdict.facts.get("author", "")))
    return Sentence("cli.named_issuer.caution", f"This file names {named} as its issuer; the "
                    f"chain shows only that {author} recorded it.", named=named, author=author)


def vc_issuer_checked(verdict: VcVerdict, document: object) -> VcVerdict:
    """`verdict`, a Senim VC's as a chain gave it, as the VC's `issuer.name` (each value
    `names_given` reads) bears on it when it was valid: ISSUER_NOT_RECORDER when a
    name is a member id other than the one the chain records; still valid, with the first
    name a reader would not take for the chain's (cli.member_names.same_name, invisible
    characters left out) in its facts (`named_issuer`, for `vc_caution`), otherwise. Any
    other verdict, and a VC no chain records, is returned as it is."""
    chain_name, chain_id = verdict.facts.get("issuer"), verdict.facts.get("issuer_id")
    issuer = document.get("issuer") if isinstance(document, dict) else None
    if not (verdict.valid and isinstance(chain_name, str) and isinstance(chain_id, str)
            and isinstance(issuer, dict)):
        return verdict
    given = [each for each in names_given(issuer.get("name"))
             if isinstance(each, str) and _comparable(each)]
    other_id = next((found for each in given if (found := _member_id(each)) is not None
                     and found != chain_id.lower()), None)
    if other_id is not None:
        verdict.facts["named_issuer"] = other_id
        verdict.fail(ISSUER_NOT_RECORDER, Check(
            ISSUER_CHECK, False, f"names member id {other_id} as its issuer; the chain "
            f"records it as issued by {chain_name}"))
        verdict.reason = (f"this credential names member id {other_id} as its issuer, but "
                          f"the chain records it as issued by {chain_name}: nothing on the "
                          f"chain shows {other_id} vouched for it. Do not rely on it.")
        return verdict
    other = next((each for each in given if _member_id(each) is None
                  and not same_name(unquoted(_visible(each)), unquoted(chain_name))), None)
    if other is not None:
        verdict.facts["named_issuer"] = _shown(other)
    return verdict


def vc_caution(verdict: Judged) -> Sentence | None:
    """What a valid VC verdict says of a credential naming another issuer than the chain's."""
    named = verdict.facts.get("named_issuer")
    issuer = unquoted(str(verdict.facts.get("issuer", "")))
    if not verdict.valid or not isinstance(named, str):
        return None
    return Sentence("cli.named_issuer.vc_caution", f"This credential names {named} as its "
                    f"issuer; the chain records it as issued by {issuer}.", named=named,
                    issuer=issuer)
