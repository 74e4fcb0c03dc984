"""What a node said no with, in the reader's language: a refusal's code (`not_a_voter`,
`proposal_closed`) as a sentence of the catalogue (`refusal.<code>`), the kind of
transaction refused, and an answer of the wrong shape. In English the node's own message
is kept as it wrote it, naming the member and heights; Kazakh and Russian say what the
code means, with the specifics the node named beside its code (the error's `params`: the
member, a height, a limit) where a sentence of the code names them, and the code itself
stays beside it for a search or a support call.
"""

from __future__ import annotations

from collections.abc import Mapping

from cli.client import BUSY, ClientError
from cli.language import PLACEHOLDER, catalogue
from cli.spoken import Sentence, problem_said, reason


def node_said(exc: ClientError) -> Sentence:
    """Why the node refused, or why it could not be asked (a busy node, a 429 too, by
    its own sentence: the address and to ask again shortly)."""
    if exc.code != BUSY and 400 <= exc.status < 500 and f"refusal.{exc.code}" in catalogue("en"):
        return refusal(exc.code, str(exc), exc.params)
    return reason(exc, "issue.node.error", why=str(exc))


def refused_why(exc: ClientError) -> Sentence:
    """Why the node refused, for a line that names the refusal's code beside it
    (`tx.refused`, `revoke.refused`): the code's sentence, or for a code this release has
    no words for, only that (`coded`), where `node_said` would name the node refusing and
    its code again ("узел … отказал в запросе (X) (X)")."""
    if exc.code != BUSY and not exc.bare and 400 <= exc.status < 500:
        return coded(exc.code, str(exc), exc.params)
    return node_said(exc)


def refusal(code: str, english: str, params: Mapping[str, str | int]) -> Sentence:
    """A refusal `code` (one the catalogue has, `refusal.<code>`) as a sentence: of its
    sentences (`refusal.<code>.<what it names>`), the one naming the most of what the
    node named; the code's own when the node named nothing (a release before `params`).
    `english` is the node's message, said as written in English."""
    table = catalogue("en")
    if code in ("malformed", "unrecognised") and isinstance(params.get("problem"), str):
        # what the ledger found wrong with it, coded (ledger.errors.MalformedInput)
        return Sentence(f"refusal.{code}.why", english, why=problem_said(
            english, str(params["problem"]), params))
    best, named = f"refusal.{code}", 0
    for key, text in table.items():
        wanted = set(PLACEHOLDER.findall(text))
        # (`.why`: a malformed transaction's, said above from what the ledger coded)
        if key.startswith(f"refusal.{code}.") and not key.endswith(".why") \
                and wanted <= params.keys() and len(wanted) > named:
            best, named = key, len(wanted)
    return Sentence(best, english, **{name: _value(name, value)
                                      for name, value in params.items()})


def coded(code: str, english: str, params: Mapping[str, str | int]) -> Sentence:
    """A refusal by its code, for a line that shows the code beside it: the code's sentence
    (`refusal`), or, for a code this release has no sentence for, that the node refused."""
    if f"refusal.{code}" in catalogue("en"):
        return refusal(code, english, params)
    return Sentence("tx.refused_unknown", english)


def _value(name: str, value: str | int) -> Sentence | str | int:
    """A param as said: a credential type or a role by its word, else as the node gave
    it (a member's name, an id, a height)."""
    for key in (f"type.{value}" if name in ("type", "other") else "",
                f"gov.role.{value}" if name == "role" else ""):
        if key and key in catalogue("en"):
            return Sentence(key)
    return value


def transaction_kind(what: str) -> Sentence | str:
    """A transaction's kind ("proposal", "vote", "diploma") in words, when the catalogue
    names it; else as given."""
    for key in (f"tx.what.{what.replace(' ', '_')}", f"type.{what}"):
        if key in catalogue("en"):
            return Sentence(key)
    return what


def malformed(url: str, what: str, detail: str) -> Sentence:
    """A node's answer of the wrong shape (a proxy's, another service's, a broken node's):
    `what` answer it was (`governance`, `members`), `detail` what the reader found amiss
    (said in English only: a Python exception's name means nothing in another language)."""
    return Sentence("min.malformed", f"{url} sent a malformed {what} answer ({detail}): is it "
                    "a Senim node?", url=url, what=Sentence(f"min.answer.{what}")
                    if f"min.answer.{what}" in catalogue("en") else what)
