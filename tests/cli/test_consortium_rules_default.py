"""`senim consortium create` gives a new consortium this release's newest ledger rules when
its members file states no rules_version. It wrote none, and a genesis that states none is
version 1 (so that chains made before versions existed keep their hash): every hole a later
version closes stayed open on a brand-new chain, and `revoke_credential` or `replace_key`
were refused there as rules_version_too_low. A version the file states is kept, a lower
one with a warning naming what it leaves open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from ledger.genesis import genesis_from_json
from ledger.rules_version import (
    EVIDENCE_KINDS_KEPT_FROM,
    GENESIS_RULES_VERSION,
    MAX_KNOWN_RULES_VERSION,
)
from tests.cli.test_consortium_governance import members_file
from tests.cli.test_ministry_languages import said_in


def create(folder: Path, rules: str, *lang: str) -> tuple[Result, Path]:
    out = folder / "genesis.json"
    result = CliRunner().invoke(main, [
        "consortium", "create", "--members", str(members_file(folder, rules)), "--out",
        str(out), *lang])
    return result, out


def test_a_members_file_stating_no_version_gives_this_releases_newest(tmp_path: Path) -> None:
    result, out = create(tmp_path, "")
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["rules_version"] == MAX_KNOWN_RULES_VERSION
    assert genesis_from_json(written).initial_rules_version == MAX_KNOWN_RULES_VERSION
    assert (f"ledger rules version {MAX_KNOWN_RULES_VERSION} (this release's newest: the "
            "members file states none)") in result.stdout
    assert result.stderr == ""  # nothing left open, nothing to warn of


@pytest.mark.parametrize("stated", [GENESIS_RULES_VERSION, 4, MAX_KNOWN_RULES_VERSION - 1])
def test_a_lower_version_stated_is_kept_with_a_warning_of_what_it_leaves_open(
        tmp_path: Path, stated: int) -> None:
    result, out = create(tmp_path, f"rules_version = {stated}")
    assert result.exit_code == 0, result.output
    genesis = genesis_from_json(json.loads(out.read_text()))
    assert genesis.initial_rules_version == stated
    assert (f"ledger rules version {stated} (as the members file states; this release runs "
            f"up to {MAX_KNOWN_RULES_VERSION})") in result.stdout
    warning = result.stderr.strip()
    assert len(warning.splitlines()) == 1, warning
    assert warning.startswith(f"warning: ledger rules version {stated} leaves open what the "
                              f"later versions, up to {MAX_KNOWN_RULES_VERSION}, close"), warning
    assert f"(version {EVIDENCE_KINDS_KEPT_FROM} takes the first evidence of each kind)" in warning


def test_the_newest_version_stated_is_kept_without_a_warning(tmp_path: Path) -> None:
    result, out = create(tmp_path, f"rules_version = {MAX_KNOWN_RULES_VERSION}")
    assert result.exit_code == 0 and result.stderr == "", result.output
    assert json.loads(out.read_text())["rules_version"] == MAX_KNOWN_RULES_VERSION
    assert "(as the members file states; this release runs up to" in result.stdout


def test_the_same_file_gives_the_same_genesis_stated_or_not(tmp_path: Path) -> None:
    """Stating the newest version and stating none build one chain on this release."""
    (tmp_path / "stated").mkdir()
    (tmp_path / "none").mkdir()
    path = members_file(tmp_path / "none", "")
    create_none = CliRunner().invoke(main, ["consortium", "create", "--members", str(path),
                                            "--out", str(tmp_path / "none" / "g.json")])
    text = path.read_text().replace('genesis_time = "2026-09-01T00:00:00Z"',
                                    'genesis_time = "2026-09-01T00:00:00Z"\n'
                                    f"rules_version = {MAX_KNOWN_RULES_VERSION}")
    (tmp_path / "stated" / "members.toml").write_text(text)
    create_stated = CliRunner().invoke(main, ["consortium", "create", "--members",
                                              str(tmp_path / "stated" / "members.toml"),
                                              "--out", str(tmp_path / "stated" / "g.json")])
    assert create_none.exit_code == create_stated.exit_code == 0
    assert ((tmp_path / "none" / "g.json").read_bytes()
            == (tmp_path / "stated" / "g.json").read_bytes())


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_version_and_the_warning_are_said_in_the_officials_language(
        tmp_path: Path, lang: str) -> None:
    (tmp_path / "none").mkdir()
    result, _ = create(tmp_path / "none", "", "--lang", lang)
    made = said_in(lang, result, 0)
    assert {"kk": f"— {MAX_KNOWN_RULES_VERSION} (бағдарламаның осы нұсқасындағы ең жаңасы",
            "ru": f"— {MAX_KNOWN_RULES_VERSION} (новейшая в этой версии программы"}[lang] in made
    result, _ = create(tmp_path, "rules_version = 2", "--lang", lang)
    said_in(lang, result, 0)
    assert result.stderr.startswith({"kk": "ескерту: тізілім ережелерінің 2 нұсқасы",
                                     "ru": "предупреждение: версия правил реестра 2"}[lang])
    assert len(result.stderr.strip().splitlines()) == 1
