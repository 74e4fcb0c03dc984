"""What a ministry names a new member with, refused before anything is written or signed:
a key no one can sign with (all zeros, the neutral point: a placeholder in a draft
members file), under which an outsider connected to the P2P port as that member about one
time in four while the handshake checked signatures with OpenSSL
(tests/p2p/test_handshake.py); and a name that reads as another it is not (a word mixing
Latin and Cyrillic letters, letters written decomposed)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.identity import KeyPair, signing_key_exists

NOBODYS = ["00" * 32, "01" + "00" * 31,  # all zeros; the neutral point
           "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"]  # not on it
DEAD_NODE = "http://127.0.0.1:9"  # nothing is asked: refused before


def test_only_a_key_someone_holds_is_one() -> None:
    assert all(signing_key_exists(KeyPair.generate().public_key) for _ in range(64))
    assert not any(signing_key_exists(bytes.fromhex(key)) for key in NOBODYS)


@pytest.mark.parametrize("key", NOBODYS)
def test_consortium_create_refuses_a_members_key_nobody_holds(tmp_path: Path, key: str
                                                               ) -> None:
    members = tmp_path / "members.toml"
    held = KeyPair.generate().public_key.hex()
    members.write_text('chain_id = "t"\ngenesis_time = "2026-01-01T00:00:00Z"\n'
                       f'[[members]]\nname = "M"\nrole = "ministry"\npublic_key = "{held}"\n'
                       'validator = true\n'
                       f'[[members]]\nname = "Zero Corp"\nrole = "employer"\n'
                       f'public_key = "{key}"\n')
    out = tmp_path / "genesis.json"
    result = CliRunner().invoke(main, ["consortium", "create", "--members", str(members),
                                       "--out", str(out), "--allow-no-fault-tolerance",
                                       "--lang", "ru"])
    assert result.exit_code == 2, result.output
    assert "members[1].public_key" in result.output and "заглушка" in result.output
    assert not out.exists()


@pytest.mark.parametrize("command", [
    ["add-member", "--name", "Zero Corp", "--role", "employer"],
    ["governance", "propose", "--action", "add-member", "--name", "Zero Corp", "--role",
     "employer"]])
def test_a_ministry_admitting_a_key_nobody_holds_is_refused_unsent(
        tmp_path: Path, command: list[str]) -> None:
    key = tmp_path / "ministry.key"
    assert CliRunner().invoke(main, ["keygen", str(key)]).exit_code == 0
    result = CliRunner().invoke(main, [*command, "--key", str(key), "--public-key", "00" * 32,
                                       "--node", DEAD_NODE, "--lang", "en"])
    assert result.exit_code == 2, result.output
    assert "is no key anyone can sign with" in result.output, result.output


@pytest.mark.parametrize("second, said", [
    ("ЕNU", "mixes Latin and Cyrillic letters"),  # its Е Cyrillic: reads as ENU
    ("ΕΝU", "reads as members[0]'s 'ENU', spelled in other letters"),  # all Greek
    (unicodedata.normalize("NFD", "Қазақ ұлттық университеті й"), "written decomposed")])
def test_consortium_create_refuses_a_name_that_reads_as_another(
        tmp_path: Path, second: str, said: str) -> None:
    """Both were taken beside "ENU" and the composed name: two members a verifier's eye
    cannot tell apart (README: names are compared as read)."""
    members = tmp_path / "members.toml"
    keys = [KeyPair.generate().public_key.hex() for _ in range(2)]
    members.write_text('chain_id = "t"\ngenesis_time = "2026-01-01T00:00:00Z"\n'
                       f'[[members]]\nname = "ENU"\nrole = "ministry"\npublic_key = "{keys[0]}"\n'
                       'validator = true\n'
                       f'[[members]]\nname = "{second}"\nrole = "university"\n'
                       f'public_key = "{keys[1]}"\n', encoding="utf-8")
    out = tmp_path / "genesis.json"
    result = CliRunner().invoke(main, ["consortium", "create", "--members", str(members),
                                       "--out", str(out), "--allow-no-fault-tolerance"])
    assert result.exit_code == 2 and "members[1]" in result.output, result.output
    assert said in result.output and not out.exists(), result.output


def test_add_member_refuses_a_name_that_reads_as_another(tmp_path: Path) -> None:
    key = tmp_path / "ministry.key"
    assert CliRunner().invoke(main, ["keygen", str(key)]).exit_code == 0
    result = CliRunner().invoke(main, ["add-member", "--name", "ЕNU", "--role", "university",
                                       "--key", str(key), "--public-key",
                                       KeyPair.generate().public_key.hex(), "--node", DEAD_NODE,
                                       "--lang", "ru"])
    assert result.exit_code == 2, result.output
    assert "в слове «ЕNU» смешаны латинские и кириллические буквы" in result.output
