"""`senim prove` of a credential whose issuer a ministry admitted by its own `add_member`
(rules version 9 records which): the proof carries that ministry's record and keys, so
that `senim verify --offline` can tell whether the admission was made with a stolen key.
Without them the offline verdict is refused for lack of an entry, even when the ministry
that admitted the issuer is not the one that accredited it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cli.client import NodeClient
from cli.member_names import new_member_name
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.payloads import AddMemberAction
from ledger.rules_version import ADMITTED_BY_RECORDED_FROM
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import senim
from tests.node.api_server import api_core, serving_url
from tests.node.engine_node import running_engine
from tests.node.test_governance import approve, make_council
from tests.node.test_governance_key_replacement import issue, replacement
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


async def test_the_consortium_confirms_an_admission_by_the_members_own_name_and_key(
        tmp_path: Path) -> None:
    """A governance add-member naming a member's own name (as read: any case) and current
    key is a confirmation of its admission, which the command line lets through as the
    registry spells the name; another key under that name is still a name taken."""
    council = make_council(rules_version=ADMITTED_BY_RECORDED_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    chain: Chain = core.chain
    admitted_at = chain.height + 1
    university = admitted(chain, council.ministry3, "Astana IT University", council.ministry)
    diploma = tmp_path / "diploma.json"
    diploma.write_text(json.dumps(issue(chain, university)), encoding="utf-8")
    _, replaced = replacement(chain, council.ministry3, compromised_from=admitted_at)
    approve(chain, council, replaced, chain.height + 10)
    loop = asyncio.get_running_loop()
    async with running_engine(core), serving_url(core) as url:
        doubted = await senim("verify", str(diploma), "--node", url)
        assert doubted.exit_code == 1 and "ADMISSION_COMPROMISED" in doubted.output
        name = await loop.run_in_executor(None, new_member_name, NodeClient(url),
                                          "astana it  university", university.public_key)
        assert name == "Astana IT University"
        with pytest.raises(SystemExit):
            await loop.run_in_executor(None, new_member_name, NodeClient(url), name,
                                       KeyPair.generate().public_key)
    approve(chain, council, AddMemberAction(name, "university", university.public_key),
            chain.height + 10)
    async with running_engine(core), serving_url(core) as url:
        confirmed = await senim("verify", str(diploma), "--node", url)
        assert confirmed.exit_code == 0 and "VALID" in confirmed.output, confirmed.output
