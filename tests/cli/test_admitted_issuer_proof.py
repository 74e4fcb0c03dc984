"""`senim prove` of a credential whose issuer a ministry admitted by its own `add_member`
(rules version 9 records which): the proof carries that ministry's record and keys, so
that `senim verify --offline` can tell whether the admission was made with a stolen key.
Without them the offline verdict is refused for lack of an entry, even when the ministry
that admitted the issuer is not the one that accredited it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import records
from ledger.chain import Chain
from ledger.errors import MalformedInput
from ledger.records import Member
from ledger.rules_version import ADMITTED_BY_RECORDED_FROM
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import senim
from tests.node.api_server import api_core, serving_url
from tests.node.engine_node import running_engine
from tests.node.test_governance import make_council
from tests.node.test_governance_key_replacement import issue
from tests.node.test_stolen_key_admission import admitted


async def test_an_offline_proof_of_an_admitted_issuers_credential_verifies(
        tmp_path: Path) -> None:
    council = make_council(rules_version=ADMITTED_BY_RECORDED_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    chain: Chain = core.chain
    # admitted by the Ministry of Justice, accredited by the Ministry of Science alone
    university = admitted(chain, council.ministry3, "Astana IT University", council.ministry)
    diploma, proved = tmp_path / "diploma.json", tmp_path / "proved.json"
    diploma.write_text(json.dumps(issue(chain, university)), encoding="utf-8")
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(council.genesis.to_json()), encoding="utf-8")
    async with running_engine(core), serving_url(core) as url:
        made = await senim("prove", str(diploma), "--out", str(proved), "--node", url)
        assert made.exit_code == 0, made.output
    checked = await senim("verify", str(proved), "--offline", "--genesis", str(genesis))
    assert checked.exit_code == 0, checked.output
    assert "VALID" in checked.output, checked.output


async def test_an_offline_proof_this_release_cannot_read_is_unproven_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a release before rules version 10 met a proof made after a confirmation of an
    admission (a member record of nine fields): it exited 1 with no output."""
    council = make_council(rules_version=ADMITTED_BY_RECORDED_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    university = admitted(core.chain, council.ministry3, "Astana IT University",
                          council.ministry)
    diploma, proved = tmp_path / "diploma.json", tmp_path / "proved.json"
    diploma.write_text(json.dumps(issue(core.chain, university)), encoding="utf-8")
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(council.genesis.to_json()), encoding="utf-8")
    async with running_engine(core), serving_url(core) as url:
        made = await senim("prove", str(diploma), "--out", str(proved), "--node", url)
        assert made.exit_code == 0, made.output

    def of_a_later_shape(_: bytes) -> Member:
        raise MalformedInput("stored member record has the wrong shape")

    monkeypatch.setattr(records, "_decode_member", of_a_later_shape)
    checked = await senim("verify", str(proved), "--offline", "--genesis", str(genesis),
                          "--json")
    assert checked.exit_code == 1, checked.output
    verdict = json.loads(checked.output)
    assert verdict["status"] == "unproven"
    assert "a proof made by a newer release needs that release" in verdict["reason"]
