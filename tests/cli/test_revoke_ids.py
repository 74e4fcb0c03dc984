"""`senim revoke ID --manifest M`: the id is the credential's as the manifest lists it, or
the start of it its file name shows; anything else is refused in words, before any key is
read or the node asked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from cli.revoking import _revocation_target
from ledger.errors import InvalidDocument

TARGETS = [hashlib.sha256(bytes([i])).digest() for i in range(3)]


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"batch_root": "00" * 32,
                                "target_hashes": [t.hex() for t in TARGETS]}))
    return path


def test_an_id_is_its_whole_hex_or_the_start_its_file_name_shows(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    for given in (TARGETS[1].hex(), TARGETS[1].hex()[:8], TARGETS[1].hex()[:16].upper()):
        ref, _note = _revocation_target(given, manifest)
        assert ref.target_hash == TARGETS[1] and ref.index == 1


@pytest.mark.parametrize("given, words", [
    ("xyz", "is no credential id"), ("00004", "is no credential id"),
    ("ab" * 33, "is no credential id"), ("ffffffff", "is not in"),
])
def test_what_is_no_id_of_the_batch_is_refused_in_words(tmp_path: Path, given: str,
                                                         words: str) -> None:
    manifest = _manifest(tmp_path)
    with pytest.raises(InvalidDocument, match=words):
        _revocation_target(given, manifest)
    result = CliRunner().invoke(main, ["revoke", "--key", str(tmp_path / "none.key"), given,
                                       "--manifest", str(manifest), "--reason", "other",
                                       "--node", "http://127.0.0.1:9"])
    assert result.exit_code == 2, result.output
    assert "fromhex" not in result.output and "Traceback" not in result.output


def test_a_start_two_ids_share_is_refused(tmp_path: Path) -> None:
    twins = [bytes.fromhex("abcdef01" + "00" * 28), bytes.fromhex("abcdef01" + "11" * 28)]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"batch_root": "00" * 32,
                                "target_hashes": [t.hex() for t in twins]}))
    with pytest.raises(InvalidDocument, match="give more of its digits"):
        _revocation_target("abcdef01", path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidDocument, match=r"diplma\.json: no such file"):
        _revocation_target(str(tmp_path / "diplma.json"), None)
