"""Words that said more in Kazakh and Russian than in English, or another thing: now the
same in all three (the audit of session 68)."""

from __future__ import annotations

import re

import pytest

from cli.commands import dropped_reason
from cli.issue_job import _not_yet
from cli.language import Words, catalogue


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_status_the_catalogue_lacks_is_said_as_the_node_said_it(language: str) -> None:
    # before: kk and ru said "the node did not name its state", though it had
    for status, why in (("rejected", "expired"), ("queued", "queued")):
        assert _not_yet(status, why, None).said(Words(language)) == why
        assert str(_not_yet(status, why, None)) == why


@pytest.mark.parametrize("key", ["issue.key.missing", "issue.key.not_a_key",
                                 "reg.iin.check_digit"])
def test_advice_is_given_in_every_language_or_in_none(key: str) -> None:
    # before: kk and ru named --key, or asked about a typo, where English did not
    english = catalogue("en")[key]
    for language in ("kk", "ru"):
        said = catalogue(language)[key]
        assert re.findall(r"--[a-z-]+", said) == re.findall(r"--[a-z-]+", english), said
        assert ("?" in said) == ("?" in english), said


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_transaction_status_the_api_lacks_is_said_as_the_node_said_it(language: str) -> None:
    # before: kk and ru said "the node did not name its state", though it had
    for result, why in (({"status": "rejected"}, "rejected"),
                        ({"status": "queued", "reason": "held back"}, "held back")):
        assert dropped_reason(result, why).said(Words(language)) == why
