"""A member's name where a member id is expected: `senim governance propose --member`,
`senim accredit --issuer`, `senim suspend --issuer`, resolved through the node's member
registry; a name matching none or several is refused, naming the candidates."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import cli.admin
from cli.main import main
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.rules import load_accreditation
from ledger.rules_version import MEMBER_NAMES_UNIQUE_FROM
from storage.kv import MemoryStore
from tests.node.conftest import admission, commit, make_tx
from tests.node.test_governance import Council, make_council
from tests.node.test_governance_cli import _ChainClient, _key, chain_client

__all__ = ["chain_client"]  # a fixture, used by name


@pytest.fixture
def council() -> Council:
    return make_council()


def _propose_retire(tmp_path: Path, council: Council, member: str) -> tuple[int, str]:
    key = tmp_path / "m1.key"
    if not key.exists():
        _key(tmp_path, council.ministry, "m1")
    result = CliRunner().invoke(main, [
        "governance", "propose", "--key", str(key), "--action",
        "retire-member", "--member", member, "--effective-height", "30"])
    return result.exit_code, result.output


def test_a_name_is_taken_exactly_or_ignoring_case(tmp_path: Path, council: Council,
                                                  chain_client: type[_ChainClient]) -> None:
    code, output = _propose_retire(tmp_path, council, "kaznu")
    assert code == 0, output
    listed = CliRunner().invoke(main, ["governance", "list"]).output
    assert "retire KazNU from height 30" in listed


def test_a_name_of_no_member_names_the_near_ones(tmp_path: Path, council: Council,
                                                 chain_client: type[_ChainClient]) -> None:
    code, output = _propose_retire(tmp_path, council, "Ministry")
    assert code == 2 and output.count("\n") == 1, output
    ids = [k.member_id.hex() for k in (council.ministry, council.ministry2, council.ministry3)]
    assert ("--member 'Ministry' is neither a member id (40 hex digits) nor a member's name; "
            f"names containing it: Ministry of Science ({ids[0]}); Ministry of Education "
            f"({ids[1]}); Ministry of Justice ({ids[2]}). Give the id or the full name as "
            "`senim members` lists them") in output
    code, output = _propose_retire(tmp_path, council, "zz")
    assert code == 2 and "--member 'zz' is neither a member id" in output
    assert "names containing it" not in output
    assert chain_client.chain.height == 0


def test_a_name_two_members_share_is_refused_naming_both(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    # (a chain before rules version 14, which admitted a second member of a name: the same
    # members and keys as `council`'s)
    chain = chain_client.chain = Chain(MemoryStore(), make_council(
        rules_version=MEMBER_NAMES_UNIQUE_FROM - 1).genesis)
    twin = KeyPair.generate()
    commit(chain, [make_tx(council.ministry, admission(twin, "Kaznu", "employer"))])
    code, output = _propose_retire(tmp_path, council, "KAZNU")
    assert code == 2 and output.count("\n") == 1, output
    assert "--member 'KAZNU' names 2 members: " in output
    assert (". Give the member id of the one you mean (see `senim members`)") in output
    assert f"KazNU ({council.university.member_id.hex()})" in output
    assert f"Kaznu ({twin.member_id.hex()})" in output
    assert chain.height == 1
    code, output = _propose_retire(tmp_path, council, "Kaznu")  # exact: that one, no guess
    assert code == 0, output
    listed = CliRunner().invoke(main, ["governance", "list"]).output
    assert f"retire Kaznu ({twin.member_id.hex()[:12]}…) from height 30" in listed


def test_accredit_and_suspend_take_a_name(tmp_path: Path, council: Council,
                                          chain_client: type[_ChainClient],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.admin, "NodeClient", chain_client)
    key = _key(tmp_path, council.ministry, "m1")
    runner = CliRunner()
    accredited = runner.invoke(main, ["accredit", "--key", key, "--issuer", "KazNU",
                                      "--types", "diploma"])
    assert accredited.exit_code == 0, accredited.output
    grants = load_accreditation(chain_client.chain.state, council.university.member_id).grants
    assert [g.types for g in grants] == [("diploma",)]
    suspended = runner.invoke(main, ["suspend", "--key", key, "--issuer", "kaznu",
                                     "--reason", "investigation"])
    assert suspended.exit_code == 0, suspended.output
    grants = load_accreditation(chain_client.chain.state, council.university.member_id).grants
    assert grants[0].suspended_height is not None
    assert (f"suspended from height {grants[0].suspended_height}: what the issuer signs from "
            "then on is refused") in suspended.output, suspended.output
    nobody = runner.invoke(main, ["suspend", "--key", key, "--issuer", "Narxoz",
                                  "--reason", "other"])
    assert nobody.exit_code == 2 and "--issuer 'Narxoz' is neither" in nobody.output
    assert chain_client.chain.height == 2
