"""A disclosed copy of a credential still holds the holder's personal data (every field
not hidden): it is written owner-only, like the credential it comes from."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from tests.node.conftest import documents_of


def test_a_disclosed_copy_is_owner_only(tmp_path: Path) -> None:
    keys = KeyPair.generate()
    batch = make_batch([{"full_name": "A B", "iin": "000000000001"}], "diploma", "t",
                       keys.member_id, "U")
    original = tmp_path / "diploma.json"
    original.write_text(json.dumps(documents_of(batch)[0]))
    copy = tmp_path / "disclosed.json"
    result = CliRunner().invoke(main, ["disclose", str(original), "--hide", "iin", "--out",
                                       str(copy)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert "A B" in copy.read_text()  # what was not hidden is there to protect
