"""What a node said no with, in the reader's language: a refusal's code (`not_a_voter`,
`proposal_closed`) as a sentence of the catalogue (`refusal.<code>`), the kind of
transaction refused, and an answer of the wrong shape. In English the node's own message
is kept as it wrote it, naming the member and heights; Kazakh and Russian say what the
code means, and the code itself stays beside it for a search or a support call.
"""

from __future__ import annotations

from cli.client import ClientError
from cli.language import catalogue
from cli.spoken import Sentence, reason


def node_said(exc: ClientError) -> Sentence:
    """Why the node refused, or why it could not be asked."""
    key = f"refusal.{exc.code}"
    if 400 <= exc.status < 500 and key in catalogue("en"):
        return Sentence(key, str(exc))
    return reason(exc, "issue.node.error", why=str(exc))


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
