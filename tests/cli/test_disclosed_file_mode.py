"""A disclosed copy of a credential still holds the holder's personal data (every field
not hidden): it is written owner-only, like the credential it comes from."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli.verifying
from cli.main import main
from cli.private_files import write_private_json
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from ledger.verification import Verdict
from tests.node.conftest import documents_of


def diploma_file(folder: Path, name: str = "diploma.json", full_name: str = "A B") -> Path:
    """A diploma credential file of one graduate, as its holder keeps it."""
    keys = KeyPair.generate()
    batch = make_batch([{"full_name": full_name, "iin": "000000000001"}], "diploma", "t",
                       keys.member_id, "U")
    path = folder / name
    path.write_text(json.dumps(documents_of(batch)[0]))
    return path

def test_a_disclosed_copy_is_owner_only(tmp_path: Path) -> None:
    original = diploma_file(tmp_path)
    copy = tmp_path / "disclosed.json"
    result = CliRunner().invoke(main, ["disclose", str(original), "--hide", "iin", "--out",
                                       str(copy)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert "A B" in copy.read_text()  # what was not hidden is there to protect


def test_a_copy_is_never_written_over_the_credential_it_comes_from(tmp_path: Path) -> None:
    """`--out` naming the input (or a link to it) would replace the holder's only full copy
    with the disclosed one, whose hidden values and salts are gone for good."""
    original = diploma_file(tmp_path)
    before = original.read_bytes()
    (tmp_path / "link.json").symlink_to(original)
    key_file = tmp_path / "k.key"
    for out in (original, tmp_path / "link.json", tmp_path / "." / "diploma.json"):
        for args in (["disclose", str(original), "--hide", "iin", "--out", str(out)],
                     ["export-vc", str(original), "--key", str(key_file), "--out", str(out),
                      "--node", "http://127.0.0.1:9"]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 2, (args, result.output)
            assert "is the credential itself" in result.output, result.output
            assert original.read_bytes() == before
    # said in the holder's language, as every line of these commands is
    for lang, words in (("kk", "куәліктің өзі"), ("ru", "это сам документ")):
        result = CliRunner().invoke(main, ["disclose", str(original), "--hide", "iin", "--out",
                                           str(original), "--lang", lang])
        assert result.exit_code == 2 and words in result.output, result.output
        assert original.read_bytes() == before


def test_the_fields_hidden_are_named_as_the_reader_knows_them(tmp_path: Path) -> None:
    # kk and ru listed field codes (iin, course.03) where the holder page says labels
    keys = KeyPair.generate()
    batch = make_batch([{"full_name": "A B", "iin": "000000000001", "total_credits": "5",
                         "gpa": "4.00",
                         "course.03": json.dumps({"code": "CS1", "credits": "5",
                                                "grade": "A"})}], "transcript", "t",
                       keys.member_id, "U")
    original = tmp_path / "transcript.json"
    original.write_text(json.dumps(documents_of(batch)[0]))
    said = {}
    for lang in ("en", "ru", "kk"):
        result = CliRunner().invoke(main, ["disclose", str(original), "--hide",
                                           "iin,course.03", "--out",
                                           str(tmp_path / f"{lang}.json"), "--lang", lang])
        assert result.exit_code == 0, result.output
        said[lang] = result.output
    assert "(iin, course.03)" in said["en"]
    assert "(ИИН, Дисциплина 3)" in said["ru"], said["ru"]
    assert "course.03" not in said["kk"] and "iin" not in said["kk"], said["kk"]


def test_another_file_at_out_is_replaced_only_with_force(tmp_path: Path) -> None:
    """An --out naming another of the holder's credentials (a transcript beside the
    diploma) replaced it, whose hidden values and salts were then gone for good."""
    diploma = diploma_file(tmp_path)
    other = diploma_file(tmp_path, "other.json", "C D")
    before = other.read_bytes()
    for args in (["disclose", str(diploma), "--hide", "iin", "--out", str(other)],
                 ["prove", str(diploma), "--out", str(other), "--node", "http://127.0.0.1:9"],
                 ["export-vc", str(diploma), "--key", str(tmp_path / "k.key"), "--out",
                  str(other), "--node", "http://127.0.0.1:9"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert f"{other} exists" in result.output and "--force" in result.output, result.output
        assert other.read_bytes() == before
    result = CliRunner().invoke(main, ["disclose", str(diploma), "--hide", "iin", "--out",
                                       str(other), "--lang", "kk"])
    assert result.exit_code == 2 and "бұрыннан бар" in result.output, result.output
    result = CliRunner().invoke(main, ["disclose", str(diploma), "--hide", "iin", "--out",
                                       str(other), "--force"])
    assert result.exit_code == 0, result.output
    assert "A B" in other.read_text() and stat.S_IMODE(other.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_an_out_file_that_appears_while_the_node_is_asked_is_not_written_over(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--out was looked at before up to a minute of questions to the node, then written
    over whatever had appeared there meanwhile."""
    original = diploma_file(tmp_path)
    out = tmp_path / "proved.json"

    def asked(*_: object) -> tuple[dict[str, object], int]:
        out.write_text("the holder's other file\n")  # written while the node answers
        return {"format": "senim-proof/none"}, 7
    monkeypatch.setattr(cli.verifying, "_fetch_proof", asked)
    monkeypatch.setattr(cli.verifying, "proof_verdict",
                        lambda *_: Verdict(True, "valid", "", "the proof"))
    result = CliRunner().invoke(main, ["prove", str(original), "--out", str(out)])
    assert result.exit_code == 2 and f"{out} exists" in result.output, result.output
    assert out.read_text() == "the holder's other file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diploma.json", "proved.json"]


def test_a_private_file_is_created_alone_or_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "copy.json"
    write_private_json(path, {"a": 1}, replace=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_private_json(path, {"a": 2}, replace=False)
    write_private_json(path, {"a": 3}, replace=True)
    assert json.loads(path.read_text()) == {"a": 3}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["copy.json"]  # no temporary left
