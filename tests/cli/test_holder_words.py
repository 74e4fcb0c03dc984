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
