"""Which files `senim governance revoke` reads of the paths it is given: of an issuing
job's folder (given, or inside the folder given) its credential files, not its manifest,
corrections or VC copies, which would be refused as no credential or as duplicates; of
any other folder its JSON files; each file once; a non-credential said per file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import revoke_inputs
from cli.revoke_inputs import TooManyFiles, expand, read_credential


def _job(folder: Path) -> list[Path]:
    for name in ("manifest.json", "corrections.json", "vc/000/d-1.vc.json", "notes/x.json"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    credentials = [folder / "credentials" / "000" / f"d-{n}.json" for n in (1, 2)]
    credentials[0].parent.mkdir(parents=True)
    for path in credentials:
        path.write_text("{}")
    return credentials


def test_a_job_folder_gives_its_credential_files(tmp_path: Path) -> None:
    credentials = _job(tmp_path / "issued")
    assert expand((tmp_path / "issued",)) == credentials
    loose = tmp_path / "a-loose.json"
    loose.write_text("{}")
    (tmp_path / "readme.txt").write_text("not JSON")
    assert expand((tmp_path,)) == [loose, *credentials]
    # a file given again, or inside a folder also given, is read once
    assert expand((loose, tmp_path, credentials[1])) == [loose, *credentials]


def test_past_the_count_it_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(revoke_inputs, "MAX_FILES_COUNTED", 3)
    for n in range(5):
        (tmp_path / f"{n}.json").write_text("{}")
    with pytest.raises(TooManyFiles):
        expand((tmp_path,))


def test_what_no_credential_is_said_per_file(tmp_path: Path) -> None:
    cases = {"empty.json": b"", "array.json": b"[1, 2]", "pdf.json": b"%PDF-1.4",
             "other.json": b'{"format": "senim-credential/v9"}'}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    said = {name: read_credential(tmp_path / name) for name in cases}
    assert all(read.document is None for read in said.values())
    assert str(said["empty.json"].problem) == "not a credential: no JSON in it"
    assert str(said["pdf.json"].problem) == "not a credential: no JSON in it"
    assert str(said["array.json"].problem).startswith("not a Senim credential file")
    assert "update senim to read it" in str(said["other.json"].problem)
    (tmp_path / "big.json").write_bytes(b" " * (revoke_inputs.CREDENTIAL_FILE_BYTES_MAX + 1))
    assert "larger than" in str(read_credential(tmp_path / "big.json").problem)


def test_a_folder_of_other_files_is_not_walked_past_the_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder given by mistake (a home folder, /) holds few credential files and many
    others: the walk stops at the count of entries it saw, not of JSON files found."""
    monkeypatch.setattr(revoke_inputs, "MAX_FILES_COUNTED", 3)
    (tmp_path / "one.json").write_text("{}")
    for n in range(5):
        (tmp_path / f"photo-{n}.jpg").write_bytes(b"")
    with pytest.raises(TooManyFiles):
        expand((tmp_path,))
    for n in range(5):  # nor folders
        (tmp_path / f"photo-{n}.jpg").unlink()
        (tmp_path / "deep" / str(n)).mkdir(parents=True)
    with pytest.raises(TooManyFiles):
        expand((tmp_path,))


def test_an_unreadable_place_in_a_folder_is_named(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder under the one given that cannot be read (as /proc/1/fdinfo under /, even
    for root): the refusal names it, not "the folder" the officer gave."""
    from click.testing import CliRunner

    from cli.main import main

    (tmp_path / "jobs" / "private").mkdir(parents=True)
    real = Path.is_file

    def is_file(path: Path) -> bool:
        if path.parent.name == "private":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(Path, "is_file", is_file)
    result = CliRunner().invoke(main, ["governance", "revoke", "--key", "k.json",
                                       str(tmp_path), "--reason", "fraud", "--dry-run"])
    assert result.exit_code == 2, result.output
    assert (f"cannot read {tmp_path / 'jobs' / 'private' / 'manifest.json'}: Permission "
            "denied") in result.output, result.output
