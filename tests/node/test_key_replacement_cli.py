"""`senim key request-replacement` and `senim governance propose --action replace-key`: a
member that lost its key asks, a ministry proposes, the ministries vote, and the member
signs with its new key under its old id. The CLI talks to the stand-in client of
test_governance_cli, which commits each transaction on a real chain."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cli.governance
import cli.governance_vote
import cli.key_replacement
from cli.main import main
from ledger.chain import Chain
from ledger.rules import load_member
from ledger.rules_version import KEY_REPLACEMENT_FROM
from node.files import load_key, save_key
from storage.kv import MemoryStore
from tests.node.test_governance import Council, make_council
from tests.node.test_governance_cli import _ChainClient


class _Client(_ChainClient):
    def status(self) -> dict[str, Any]:
        return {"height": self.chain.height, "chain_id": self.chain.chain_id}


@pytest.fixture
def council(monkeypatch: pytest.MonkeyPatch) -> Council:
    council = make_council(rules_version=KEY_REPLACEMENT_FROM)
    _Client.chain = Chain(MemoryStore(), council.genesis)
    for module in (cli.governance, cli.governance_vote, cli.key_replacement):
        monkeypatch.setattr(module, "NodeClient", _Client)
    return council


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_a_lost_key_is_asked_for_proposed_voted_and_used(tmp_path: Path,
                                                          council: Council) -> None:
    ministry, ministry2 = tmp_path / "m1.key", tmp_path / "m2.key"
    save_key(ministry, council.ministry)
    save_key(ministry2, council.ministry2)
    new_key, request = tmp_path / "kaznu-new.key", tmp_path / "request.json"
    code, said = run("key", "request-replacement", "--new-key", new_key, "--member", "kaznu",
                     "--out", request)
    assert code == 0, said
    assert said.startswith(f"wrote {request}: the request to make ")
    assert f"--action replace-key --request {request}" in said
    assert stat.S_IMODE(new_key.stat().st_mode) == 0o600
    new = load_key(new_key)
    assert new.member_id == council.university.member_id
    asked = json.loads(request.read_text(encoding="utf-8"))
    assert asked["public_key"] == new.public_key.hex() and "seed" not in json.dumps(asked)

    code, said = run("governance", "propose", "--key", ministry, "--action", "replace-key",
                     "--request", request, "--compromised-from", "1")
    assert code == 0, said
    proposal_id = said.split("proposal id: ")[1].split()[0]
    proposed = said
    code, listed = run("governance", "list")
    assert (f"Proposal {proposal_id}: make {new.public_key.hex()[:16]}… the key of KazNU, and "
            "trust its earlier keys' signatures no more from height 1. Open") in listed
    code, listed = run("governance", "list", "--lang", "ru")
    assert (f"сделать {new.public_key.hex()[:16]}… ключом «KazNU» и не доверять подписям его "
            "прежних ключей начиная с блока 1") in listed
    assert f"proposal id: {proposal_id} (it applies when approved; votes close" in proposed
    code, said = run("governance", "vote", "--key", ministry2, proposal_id)
    assert code == 0, said
    member = load_member(_Client.chain.state, council.university.member_id)
    assert member is not None and member.public_key == new.public_key
    # listed as done at its approval, not "in force since" the effective height to come
    code, listed = run("governance", "list")
    assert f"Replaced at height {_Client.chain.height}, approved by" in listed, listed

    # the same request again: the key now serves the member, and the node says so
    code, said = run("governance", "propose", "--key", ministry, "--action", "replace-key",
                     "--request", request)
    assert code == 1 and "key_in_use" in said, said


@pytest.mark.parametrize("damage, expected", [
    ("chain", "was made for another chain, not this node's"),
    ("proof", "is damaged: its member, key and proof of possession do not hold together"),
    ("member", "is damaged: its member, key and proof of possession do not hold together"),
    ("not_json", "is not a key replacement request (one is made by senim key "
                 "request-replacement)"),
    ("nested", "is not a key replacement request"),  # a traceback: RecursionError
    ("fifo", "not a regular file")])  # it waited for a writer for good
def test_a_request_of_another_chain_or_damaged_is_refused_unsent(
        tmp_path: Path, council: Council, damage: str, expected: str) -> None:
    ministry, request = tmp_path / "m1.key", tmp_path / "request.json"
    save_key(ministry, council.ministry)
    code, said = run("key", "request-replacement", "--new-key", tmp_path / "new.key",
                     "--member", council.university.member_id.hex(), "--out", request)
    assert code == 0, said
    asked = json.loads(request.read_text(encoding="utf-8"))
    if damage == "chain":
        asked["chain_id"] = "senim-another"
    elif damage == "proof":
        asked["possession_proof"] = "00" * 64
    elif damage == "member":
        asked["member_id"] = council.ministry3.member_id.hex()
    request.write_text("not json" if damage == "not_json" else "[" * 8000
                       if damage == "nested" else json.dumps(asked), encoding="utf-8")
    if damage == "fifo":
        request.unlink()
        os.mkfifo(request)
    height = _Client.chain.height
    code, said = run("governance", "propose", "--key", ministry, "--action", "replace-key",
                     "--request", request)
    assert code == 2 and expected in said and said.count("\n") == 1, said
    assert _Client.chain.height == height  # nothing sent


def test_options_that_do_not_go_together_are_refused_in_the_officials_language(
        tmp_path: Path, council: Council) -> None:
    ministry = tmp_path / "m1.key"
    save_key(ministry, council.ministry)
    code, said = run("governance", "propose", "--key", ministry, "--action", "replace-key",
                     "--member", "KazNU")
    assert code == 2 and "replace-key needs --request FILE" in said
    code, said = run("governance", "propose", "--key", ministry, "--action", "retire-member",
                     "--member", "KazNU", "--compromised-from", "3")
    assert code == 2 and "--compromised-from for replace-key" in said
    code, said = run("governance", "propose", "--key", ministry, "--action", "replace-key",
                     "--lang", "kk")
    assert code == 2 and "replace-key үшін --request ФАЙЛ керек" in said
    existing = tmp_path / "taken.json"
    existing.write_text("{}", encoding="utf-8")
    code, said = run("key", "request-replacement", "--new-key", tmp_path / "n.key",
                     "--member", "KazNU", "--out", existing, "--lang", "ru")
    assert code == 2 and f"{existing} уже существует" in said
    assert not (tmp_path / "n.key").exists()
