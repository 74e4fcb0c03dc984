"""An anchored JSON file that names an issuer other than the member who recorded it.

Any member may anchor any bytes (ledger.rules), first come first served, and the chain
records only who did and when. So an employer that anchored a JSON file reading as a
university's diploma had `senim verify` say VALID, "recorded by" the employer, of a file
naming the university as its issuer, which vouched for nothing. As OpenCerts checks a
document's issuer identity against who recorded it, a file whose top-level "issuer"
names someone other than its anchor's author is not valid (ISSUER_NOT_RECORDER): a
failing check says who it names and who recorded it. A file that names its recorder, or
no issuer, is judged by its anchor alone.

The ledger stays out of it: it does not read what a file says. The comparison is made
where the command line has the parsed file (cli.online_verdict.node_verdict)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ledger.verification import Check, Verdict

ISSUER_NOT_RECORDER = "issuer_not_recorder"
ISSUER_CHECK = "issuer_named"
# The most of a name the verdict repeats: the file's "issuer" may be megabytes long.
NAMED_CHARS_MAX = 120
# A member id as a file gives it: 20 bytes in hex (ledger.identity).
_MEMBER_ID = re.compile(r"\s*[0-9a-fA-F]{40}\s*")


def names_of_issuer(document: Any) -> list[str]:
    """The names a JSON object's top-level "issuer" gives: itself, a string; of an object,
    its "name" and "member_id", and its "id" when it gives neither or the id is a member
    id (an "id" beside a name is most often a web address or a DID, which no member is
    recorded by). [] for anything else, and for names that are empty or all space."""
    issuer = document.get("issuer") if isinstance(document, dict) else None
    if isinstance(issuer, str):
        named = [issuer]
    elif isinstance(issuer, dict):
        named = [issuer[key] for key in ("name", "member_id")
                 if isinstance(issuer.get(key), str)]
        given_id = issuer.get("id")
        if isinstance(given_id, str) and (not named or _MEMBER_ID.fullmatch(given_id)):
            named.append(given_id)
    else:
        return []
    return [name for name in named if _comparable(name)]


def _comparable(name: str) -> str:
    """`name` as names are compared: compatibility forms and case ignored, and white space
    around and between words counted as one space."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def issuer_checked(verdict: Verdict, document: Any) -> Verdict:
    """`verdict`, an anchored document's, made ISSUER_NOT_RECORDER when it was valid and
    `document` (the file parsed; None when it is no JSON) names an issuer that is neither
    the anchor's author's name nor its member id. Every name the issuer gives must name
    the author: a file giving the author's id beside another's name reads as the other's.
    Any other verdict is returned as it is."""
    if not (verdict.valid and any(c.name == "anchored" and c.ok for c in verdict.checks)):
        return verdict
    author = str(verdict.facts.get("author", ""))
    recorders = {_comparable(author), _comparable(str(verdict.facts.get("author_id", "")))}
    other = next((name for name in names_of_issuer(document)
                  if _comparable(name) not in recorders), None)
    if other is None:
        return verdict
    named = " ".join(other.split())
    named = named if len(named) <= NAMED_CHARS_MAX else named[:NAMED_CHARS_MAX] + "…"
    verdict.facts["named_issuer"] = named
    return verdict.fail(ISSUER_NOT_RECORDER, Check(
        ISSUER_CHECK, False, f"this file names {named} as its issuer, but it was recorded "
        f"on the chain by {author}: nothing on the chain shows {named} vouched for it"))
