"""`senim consortium create` takes the governance policy from the members file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.genesis import genesis_from_json
from ledger.identity import KeyPair
from ledger.rules_version import MAX_KNOWN_RULES_VERSION

ROLES = ["ministry", "ministry", "ministry", "university", "university"]


def members_file(folder: Path, governance: str) -> Path:
    lines = ['chain_id = "senim-gov"', 'genesis_time = "2026-09-01T00:00:00Z"', governance, ""]
    for index, role in enumerate(ROLES):
        lines += ["[[members]]", f'name = "Member {index}"', f'role = "{role}"',
                  f'public_key = "{KeyPair.generate().public_key.hex()}"',
                  f"validator = {'true' if index < 4 else 'false'}", ""]
    path = folder / "members.toml"
    path.write_text("\n".join(lines))
    return path


def create(folder: Path, governance: str) -> tuple[int, str, Path]:
    out = folder / "genesis.json"
    result = CliRunner().invoke(main, ["consortium", "create", "--members",
                                       str(members_file(folder, governance)), "--out", str(out)])
    return result.exit_code, result.output, out


def test_the_members_file_sets_who_may_change_the_consortium(tmp_path: Path) -> None:
    code, output, out = create(tmp_path, "[governance]\nthreshold = 3\nmin_validators = 4")
    assert code == 0, output
    assert "governance: 3 of 3 ministries sign a change; at least 4 validators" in output
    genesis = genesis_from_json(json.loads(out.read_text()))
    assert (genesis.policy.threshold, genesis.policy.min_validators) == (3, 4)


def test_without_a_policy_a_majority_of_the_ministries_governs(tmp_path: Path) -> None:
    code, output, out = create(tmp_path, "")
    assert code == 0, output
    assert "governance: 2 of 3 ministries" in output
    assert "governance" not in json.loads(out.read_text())


def test_the_members_file_may_state_the_rules_version(tmp_path: Path) -> None:
    code, output, out = create(tmp_path, "rules_version = 2")
    assert code == 0, output
    assert "at least 4 validators; ledger rules version 2" in output
    assert json.loads(out.read_text())["rules_version"] == 2
    (tmp_path / "default").mkdir()
    (tmp_path / "bad").mkdir()
    code, output, out = create(tmp_path / "default", "")
    assert code == 0 and f"ledger rules version {MAX_KNOWN_RULES_VERSION}" in output, output
    assert json.loads(out.read_text())["rules_version"] == MAX_KNOWN_RULES_VERSION
    code, output, out = create(tmp_path / "bad", 'rules_version = "2"')
    assert code == 2 and "genesis.rules_version" in output and not out.exists(), output


def test_a_rules_version_this_release_cannot_run_is_refused(tmp_path: Path) -> None:
    # It was written, and every node of the consortium then refused to start on it.
    code, output, out = create(tmp_path, f"rules_version = {MAX_KNOWN_RULES_VERSION + 1}")
    assert code == 2 and not out.exists(), output
    assert f"runs ledger rules up to version {MAX_KNOWN_RULES_VERSION}" in output
    code, output, out = create(tmp_path, f"rules_version = {MAX_KNOWN_RULES_VERSION}")
    assert code == 0, output


@pytest.mark.parametrize(("old", "new", "said"), [
    ('name = "Member 1"', 'name = "Member\u200b1"', "holds an invisible character (U+200B)"),
    ('name = "Member 1"', 'name = "Member \U00013439"', "holds a character not every node "
                                                        "compares alike (U+13439:"),
    ('name = "Member 1"', 'name = "member  0"', "several in a row: write 'member 0'"),
    ('name = "Member 1"', 'name = " Member 1"', "spaces at its ends"),
    ('chain_id = "senim-gov"', 'chain_id = "senim\\ngov"', "holds a control or invisible "
                                                           "character (U+000A)")])
def test_names_add_member_refuses_are_refused_in_the_members_file(
        tmp_path: Path, old: str, new: str, said: str) -> None:
    path = members_file(tmp_path, "")
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    out = tmp_path / "genesis.json"
    result = CliRunner().invoke(main, ["consortium", "create", "--members", str(path),
                                       "--out", str(out)])
    assert result.exit_code == 2 and said in result.output and not out.exists(), result.output


def test_a_genesis_time_before_1970_is_named_as_the_file_names_it(tmp_path: Path) -> None:
    # It was refused as genesis.genesis_time_ms, a field the members file does not have.
    for written, said in (('"0001-01-01T00:00:00Z"', "0001-01-01T00:00:00Z"),
                          ("1969-12-31T23:59:59Z", "1969-12-31 23:59:59+00:00")):  # TOML's own
        path = members_file(tmp_path, "")
        path.write_text(path.read_text().replace('"2026-09-01T00:00:00Z"', written))
        out = tmp_path / "genesis.json"
        result = CliRunner().invoke(main, ["consortium", "create", "--members", str(path),
                                           "--out", str(out)])
        assert result.exit_code == 2 and not out.exists(), result.output
        assert f"{said} is before 1970-01-01" in result.output
        assert "genesis_time_ms" not in result.output


def test_a_bad_policy_is_refused_by_name_and_writes_nothing(tmp_path: Path) -> None:
    for policy, named in (("[governance]\nthreshold = 4", "governance.threshold"),
                          ("[governance]\nquorum = 2", "governance.quorum")):
        code, output, out = create(tmp_path, policy)
        assert code == 2 and named in output and "Traceback" not in output, output
        assert not out.exists()


def test_a_genesis_write_cut_short_leaves_nothing_that_stops_the_next_try(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a full disk the genesis file was left empty, and the next try refused to replace
    it ('exists; a consortium's genesis is never replaced by accident')."""
    real_write = Path.write_text

    def half_then_full(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        if self.suffix in (".json", ".partial"):
            real_write(self, data[:10])
            raise OSError(28, "No space left on device")
        return real_write(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", half_then_full)
    code, output, out = create(tmp_path, "")
    assert code == 2 and output.strip() == (f"error: cannot write {out}: No space left on "
                                            "device"), output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["members.toml"]
    monkeypatch.undo()
    code, output, out = create(tmp_path, "")
    assert code == 0, output
    genesis_from_json(json.loads(out.read_text()))


def test_a_members_file_saved_with_a_byte_order_mark_gives_the_same_genesis(
        tmp_path: Path) -> None:
    """Read as UTF-8 whatever the locale, a mark in front (Windows Notepad) or not: every
    operator who builds genesis from the file must get the same one."""
    path = members_file(tmp_path, "")
    path.write_text(path.read_text().replace('name = "Member 0"', 'name = "Ғылым министрлігі"'),
                    encoding="utf-8")
    plain = CliRunner().invoke(main, ["consortium", "create", "--members", str(path),
                                      "--out", str(tmp_path / "plain.json")])
    assert plain.exit_code == 0, plain.output
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    marked = CliRunner().invoke(main, ["consortium", "create", "--members", str(path),
                                       "--out", str(tmp_path / "marked.json")])
    assert marked.exit_code == 0, marked.output
    assert (tmp_path / "marked.json").read_bytes() == (tmp_path / "plain.json").read_bytes()
