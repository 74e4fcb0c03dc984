"""What a graduate is told about their own file: `senim disclose` naming a field the
credential lacks lists those it has in English too (as Kazakh and Russian did), and a
value written as a number where the issuer wrote text is said as that, not as a field with
"neither a value and salt nor a hash" (it had both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.credential_documents import parse_document
from ledger.credentials import make_batch
from ledger.errors import InvalidDocument
from tests.node.conftest import CHAIN_ID, documents_of, keys_from
from tests.vc.conftest import RECORDS


def _diploma() -> dict[str, object]:
    keys = keys_from("holder-words-university")
    return documents_of(make_batch(RECORDS, "diploma", CHAIN_ID, keys.member_id, "KazNU"))[0]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_disclose_lists_the_fields_a_credential_has(tmp_path: Path, lang: str) -> None:
    diploma = tmp_path / "diploma.json"
    diploma.write_text(json.dumps(_diploma()))
    result = CliRunner().invoke(main, ["disclose", str(diploma), "--hide", "IIN", "--out",
                                       str(tmp_path / "shown.json"), "--lang", lang])
    assert result.exit_code == 2, result.output
    assert "IIN" in result.output and "full_name, iin, degree, gpa" in result.output, \
        result.output
    assert not (tmp_path / "shown.json").exists()


def test_a_value_that_is_no_text_is_said_as_that() -> None:
    document = _diploma()
    fields = document["fields"]
    assert isinstance(fields, dict)
    fields["gpa"]["value"] = 4.0
    with pytest.raises(InvalidDocument) as refused:
        parse_document(document)
    assert refused.value.code == "field_value_not_text"
    assert "has a value that is not text" in str(refused.value)


def _twice_given_gpa() -> str:
    """The diploma's text with its grade given twice: "4.00" first, the issued one last."""
    text = json.dumps(_diploma(), ensure_ascii=False)
    issued = '"gpa": {"value": "3.5"'
    assert text.count(issued) == 1
    return text.replace(issued, '"gpa": {"value": "4.00", "value": "3.5"')


NOWHERE = ["--node", "http://127.0.0.1:9"]  # refused before any node is asked


@pytest.mark.parametrize("command", [["verify", *NOWHERE],
                                     ["disclose", "--hide", "iin", "--out", "x"],
                                     ["export-vc", "--key", "k", "--out", "x", *NOWHERE]])
def test_a_key_given_twice_is_refused(tmp_path: Path, command: list[str]) -> None:
    """Python kept the last value, an editor shows the first: the diploma verified as
    genuine and showed 3.5 while the file read 4.00."""
    diploma = tmp_path / "diploma.json"
    diploma.write_text(_twice_given_gpa())
    name, *rest = [str(tmp_path / "x") if part == "x" else part for part in command]
    for lang, said in (("en", 'gives the key "value" twice in one object'),
                       ("ru", 'ключ "value" дан дважды в одном объекте')):
        result = CliRunner().invoke(main, [name, str(diploma), *rest, "--lang", lang])
        assert result.exit_code == 2, result.output
        assert said in result.output, result.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("name", "text", "said"), [
    ("vc.json", '{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": '
     '["VerifiableCredential"]}', "is a W3C VC, not a Senim credential file"),
    ("diploma.pdf", "%PDF-1.7", "is not a credential file: it holds no JSON (a PDF"),
    ("notes.txt", "hello", "is not a credential file: it holds no JSON")])
@pytest.mark.parametrize("command", [["prove", "--out", "x"],
                                     ["disclose", "--hide", "iin", "--out", "x"],
                                     ["export-vc", "--key", "k", "--out", "x"]])
def test_a_file_that_is_no_credential_is_said_as_what_it_is_in_english(
        tmp_path: Path, command: list[str], name: str, text: str, said: str) -> None:
    """English said "not a Senim credential (format must be one of …)" of a VC or a PDF,
    where Kazakh and Russian named what the file was."""
    given = tmp_path / name
    given.write_text(text)
    verb, *rest = [str(tmp_path / "x") if part == "x" else part for part in command]
    result = CliRunner().invoke(main, [verb, str(given), *rest, "--lang", "en"])
    assert result.exit_code == 2, result.output
    assert f"{given} {said}" in result.output, result.output


def test_an_anchored_json_file_that_repeats_a_key_is_still_checked_by_its_bytes(
        tmp_path: Path) -> None:
    """Only a credential or a VC is refused for a key given twice: any other file is an
    anchored document, looked up by its hash (a registrar's JSON export may repeat a key;
    RFC 8259 only asks that keys be unique), which the node is asked for."""
    report = tmp_path / "report.json"
    report.write_text('{"report": "Q1", "total": 10, "total": 12}')
    result = CliRunner().invoke(main, ["verify", str(report), "--node",
                                       "http://127.0.0.1:9", "--lang", "en"])
    assert result.exit_code == 3, result.output  # the node asked, and not reached
    assert "twice" not in result.output
