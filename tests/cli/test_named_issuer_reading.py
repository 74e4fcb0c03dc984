"""How cli.named_issuer and cli.verify_files read what decides a verdict, alike with the
portal (portal-anchored.js): a "format" naming Senim once NFKC'd, lower-cased and left
with its ASCII letters (Python's strip and casefold read "\\x85senim" as Senim, JavaScript's
trim and toLowerCase did not; NFKC reads "ſenim" and fullwidth letters as "senim");
an issuer's "name" as VC 2.0 defines it; a name between quotes said once in kk and ru."""

from __future__ import annotations

import pytest

from cli.language import Words
from cli.named_issuer import NamedIssuer, caution, issuer_checked, names_of_issuer
from cli.verify_files import is_credential
from ledger.verification import Check, Verdict

SALTED = {"gpa": {"salt": "00" * 16, "value": "3.9"}}


@pytest.mark.parametrize(("format_", "counted"), [
    ("senim diploma", True), (" \t\nSeNiM", True), ("SENIM", True),
    ("ſenim diploma", True), ("\x85Senim diploma", True), ("\u2028senim", True),
    ("\ufeffsenim", True), ("ＳＥＮＩＭ", True), ("se-nim", True), ("\u200bsenim", True),
    ("ѕenim", False), ("Ѕenim", False), ("x senim", False)])
def test_a_format_names_senim_under_nfkc(format_: str, counted: bool) -> None:
    """With salted fields beside it, a format naming Senim makes two structures."""
    assert is_credential({"format": format_, "fields": SALTED}) is counted


@pytest.mark.parametrize(("name", "names"), [
    ({"@value": "KazNU", "@language": "en"}, ("KazNU",)),
    (["Harvard", {"@value": "ENU", "@language": "kk"}], ("Harvard", "ENU")),
    ({"en": "KazNU", "kk": "ҚазҰУ"}, ("KazNU", "ҚазҰУ"))])
def test_a_name_is_read_as_vc_2_defines_it(name: object, names: tuple[str, ...]) -> None:
    assert names_of_issuer({"issuer": {"name": name}}) == NamedIssuer((), names)


def anchored_valid() -> Verdict:
    return Verdict(True, "valid", "", "node", [Check("anchored", True, "")],
                   {"author": "«KazNU»", "author_id": "ab" * 20})


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_name_in_guillemets_is_said_in_them_once(language: str) -> None:
    verdict = issuer_checked(anchored_valid(), {"issuer": "«Harvard University»"})
    assert verdict.facts["named_issuer"] == "Harvard University"
    said = caution(verdict)
    assert said is not None
    text = said.said(Words(language))
    assert "«Harvard University»" in text and "«KazNU»" in text and "««" not in text, text


def test_the_recorders_name_in_quotes_is_its_name() -> None:
    verdict = issuer_checked(anchored_valid(), {"issuer": '"KazNU"'})
    assert "named_issuer" not in verdict.facts
