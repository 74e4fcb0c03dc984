"""`senim consortium create` takes the governance policy from the members file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from ledger.genesis import genesis_from_json
from ledger.identity import KeyPair

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


def test_a_bad_policy_is_refused_by_name_and_writes_nothing(tmp_path: Path) -> None:
    for policy, named in (("[governance]\nthreshold = 4", "governance.threshold"),
                          ("[governance]\nquorum = 2", "governance.quorum")):
        code, output, out = create(tmp_path, policy)
        assert code == 2 and named in output and "Traceback" not in output, output
        assert not out.exists()
