"""`senim key request-admission`, `senim add-member --request` and `senim governance
propose --action add-member --request` (rules version 12, `ledger.admission`): the
organisation to admit signs the name and role it asks for with its key, and a ministry
admits it with that request. The CLI talks to the stand-in client of test_governance_cli,
which commits each transaction on a real chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cli.admin
import cli.admission_request
import cli.governance
import cli.governance_vote
import cli.key_replacement
from cli.main import main
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.rules import load_member
from ledger.rules_version import ADMISSION_PROOF_FROM, rules_version_at
from node.files import save_key
from storage.kv import MemoryStore
from tests.node.test_governance import Council, make_council
from tests.node.test_governance_cli import _ChainClient

BEFORE = ADMISSION_PROOF_FROM - 1


class _Client(_ChainClient):
    base_url = "http://127.0.0.1:1"

    def status(self) -> dict[str, Any]:
        return {"height": self.chain.height, "chain_id": self.chain.chain_id,
                "rules": {"version": rules_version_at(self.chain.state, self.chain.height + 1)}}


def _council(monkeypatch: pytest.MonkeyPatch, version: int) -> Council:
    council = make_council(rules_version=version)
    _Client.chain = Chain(MemoryStore(), council.genesis)
    for module in (cli.admin, cli.admission_request, cli.governance, cli.governance_vote,
                   cli.key_replacement):
        monkeypatch.setattr(module, "NodeClient", _Client)
    return council


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def _files(tmp_path: Path, council: Council) -> tuple[Path, Path, KeyPair]:
    """The ministry's key file, a request of a new organisation, and its keys."""
    ministry, newcomer = tmp_path / "m1.key", tmp_path / "narxoz.key"
    save_key(ministry, council.ministry)
    new = KeyPair.generate()
    save_key(newcomer, new)
    request = tmp_path / "admission.json"
    code, said = run("key", "request-admission", "--key", newcomer, "--name",
                     " Narxoz  University ", "--role", "university", "--out", request)
    assert code == 0, said
    assert said.startswith(f"wrote {request}: the request to admit {new.public_key.hex()} "
                           "as Narxoz University (university).")
    assert "seed" not in request.read_text(encoding="utf-8")
    return ministry, request, new


@pytest.mark.parametrize("version", [ADMISSION_PROOF_FROM, BEFORE])
def test_a_ministry_admits_a_requested_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              version: int) -> None:
    """Under version 11 the key is sent alone, which that version asks for."""
    council = _council(monkeypatch, version)
    ministry, request, new = _files(tmp_path, council)
    code, said = run("add-member", "--key", ministry, "--request", request)
    assert code == 0, said
    assert said.startswith("new member: Narxoz University (university), member id "
                           f"{new.member_id.hex()}")
    member = load_member(_Client.chain.state, new.member_id)
    assert member is not None and member.name == "Narxoz University"
    assert member.role == "university"


def test_the_consortium_admits_a_requested_member(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    council = _council(monkeypatch, ADMISSION_PROOF_FROM)
    ministry, request, new = _files(tmp_path, council)
    second = tmp_path / "m2.key"
    save_key(second, council.ministry2)
    code, said = run("governance", "propose", "--key", ministry, "--action", "add-member",
                     "--request", request)
    assert code == 0, said
    proposal_id = said.split("proposal id: ")[1].split()[0]
    code, said = run("governance", "vote", "--key", second, proposal_id)
    assert code == 0, said
    member = load_member(_Client.chain.state, new.member_id)
    assert member is not None and member.name == "Narxoz University"
    assert member.added_height > _Client.chain.height  # a member from the effective height


@pytest.mark.parametrize("language, said", [
    ("en", "possession_proof_missing"),
    ("ru", "ключ нового участника принимается только с доказательством владения им"),
    ("kk", "жаңа мүшенің кілті оны иеленудің дәлелімен ғана қабылданады")])
def test_a_key_alone_is_refused_under_version_12(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 language: str, said: str) -> None:
    council = _council(monkeypatch, ADMISSION_PROOF_FROM)
    ministry = tmp_path / "m1.key"
    save_key(ministry, council.ministry)
    new = KeyPair.generate()
    height = _Client.chain.height
    code, output = run("add-member", "--key", ministry, "--name", "Front", "--role", "school",
                       "--public-key", new.public_key.hex(), "--lang", language)
    assert code == 1 and said in output and output.count("\n") == 1, output
    assert "Traceback" not in output and _Client.chain.height == height


def test_a_request_whose_proof_does_not_hold_is_refused_unsent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    council = _council(monkeypatch, ADMISSION_PROOF_FROM)
    ministry, request, _ = _files(tmp_path, council)
    asked = json.loads(request.read_text(encoding="utf-8"))
    asked["role"] = "school"  # the proof signed "university"
    request.write_text(json.dumps(asked), encoding="utf-8")
    height = _Client.chain.height
    for command in (["add-member"], ["governance", "propose", "--action", "add-member"]):
        code, output = run(*command, "--key", ministry, "--request", request)
        assert code == 2 and f"{request} is damaged" in output, output
    assert _Client.chain.height == height


def test_a_replacement_request_is_no_admission_request(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    council = _council(monkeypatch, ADMISSION_PROOF_FROM)
    ministry = tmp_path / "m1.key"
    save_key(ministry, council.ministry)
    replacement = tmp_path / "replacement.json"
    code, said = run("key", "request-replacement", "--new-key", tmp_path / "new.key",
                     "--member", "kaznu", "--out", replacement)
    assert code == 0, said
    code, output = run("add-member", "--key", ministry, "--request", replacement)
    assert code == 2 and "is not an admission request" in output, output


@pytest.mark.parametrize("extra", [["--name", "Front"], ["--public-key", "00" * 32]])
def test_a_request_goes_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              extra: list[str]) -> None:
    council = _council(monkeypatch, ADMISSION_PROOF_FROM)
    ministry, request, _ = _files(tmp_path, council)
    for command in (["add-member"], ["governance", "propose", "--action", "add-member"]):
        code, output = run(*command, "--key", ministry, "--request", request, *extra)
        assert code == 2 and "add-member needs --request FILE" in output, output


def test_options_that_do_not_go_together_are_said_in_the_officials_language(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    council = _council(monkeypatch, ADMISSION_PROOF_FROM)
    ministry = tmp_path / "m1.key"
    save_key(ministry, council.ministry)
    code, output = run("add-member", "--key", ministry, "--name", "Front", "--lang", "ru")
    assert code == 2 and "для add-member нужен --request ФАЙЛ" in output, output
    code, output = run("governance", "propose", "--key", ministry, "--action", "add-member",
                       "--role", "school", "--lang", "kk")
    assert code == 2 and "add-member үшін --request ФАЙЛ керек" in output, output


@pytest.mark.parametrize("status", [{"chain_id": "x", "rules": {"version": "x"}},
                                    {"rules": {"version": 12}},
                                    {"chain_id": "x", "rules": {"version": None}}])
def test_a_node_whose_status_is_malformed_is_one_line(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      status: dict[str, Any]) -> None:
    """A hostile or broken node's rules version of the wrong shape was a ValueError
    traceback, exit 1."""
    council = _council(monkeypatch, ADMISSION_PROOF_FROM)
    ministry, request, _ = _files(tmp_path, council)
    monkeypatch.setattr(_Client, "status", lambda self: status)
    height = _Client.chain.height
    for command in (["add-member"], ["governance", "propose", "--action", "add-member"]):
        code, output = run(*command, "--key", ministry, "--request", request)
        assert code == 3 and "sent a malformed status answer" in output, output
        assert output.count("\n") == 1 and "Traceback" not in output, output
    assert _Client.chain.height == height
