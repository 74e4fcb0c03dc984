"""`senim governance propose --action set-rules-version`, the rules in `governance list`
and `senim status`, and `rules` in `GET /v1/status` and `/v1/governance`.

The CLI talks to the stand-in client of tests/node/test_governance_cli.py, which commits
each transaction on a real chain.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from cli.main import main
from cli.node_status import _status_lines
from ledger.chain import Chain
from ledger.payloads import ProposePayload, RulesVersionAction, VotePayload
from ledger.rules_version import MAX_KNOWN_RULES_VERSION
from node.governance_view import rules_json
from storage.kv import LevelDBStore, MemoryStore
from tests.node.api_server import api_core, serving
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, make_council
from tests.node.test_governance_cli import _ChainClient, _key, chain_client

__all__ = ["chain_client"]  # a fixture, used by name

UNKNOWN = MAX_KNOWN_RULES_VERSION + 1


@pytest.fixture
def council() -> Council:
    return make_council()


def test_a_rules_version_is_proposed_voted_and_listed(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    runner = CliRunner()
    first, second = (_key(tmp_path, council.ministry, "m1"),
                     _key(tmp_path, council.ministry2, "m2"))
    args = ["governance", "propose", "--action", "set-rules-version", "--rules-version",
            str(UNKNOWN), "--effective-height", "10"]
    # a version no release this one knows of runs: refused unless the official says so
    typo = runner.invoke(main, [*args, "--key", first])
    assert typo.exit_code == 2 and f"rules version {UNKNOWN} is later than any this " \
        "release knows" in typo.output and "--unknown-version" in typo.output, typo.output
    proposed = runner.invoke(main, [*args, "--key", first, "--unknown-version"])
    assert proposed.exit_code == 0, proposed.output
    proposal_id = proposed.output.split("proposal id: ")[1].split()[0]
    assert (f"warning: once approved, a node whose release does not know rules version "
            f"{UNKNOWN} stops before block 10 until its operator upgrades it (this release "
            f"knows versions up to {MAX_KNOWN_RULES_VERSION})") in proposed.output
    listed = runner.invoke(main, ["governance", "list"]).output
    assert (f"Proposal {proposal_id}: run the ledger rules of version {UNKNOWN} from height "
            "10. Open, voted by Ministry of Science: it needs 1 more vote by height 8") in listed
    assert (f"Ledger rules: version {MAX_KNOWN_RULES_VERSION} (the node's release knows up "
            f"to {MAX_KNOWN_RULES_VERSION}).\n") in listed

    # the same change without a height of its own: vote for the open one instead
    again = runner.invoke(main, ["governance", "propose", "--action", "set-rules-version",
                                 "--rules-version", str(UNKNOWN), "--key", second,
                                 "--unknown-version"])
    assert again.exit_code == 1, again.output
    assert f"proposal {proposal_id} already proposes to run the ledger rules of version" in (
        again.output)

    refused = runner.invoke(main, ["governance", "vote", "--key", second, proposal_id[:8]])
    assert refused.exit_code == 2 and "--unknown-version" in refused.output, refused.output
    voted = runner.invoke(main, ["governance", "vote", "--key", second, proposal_id,
                                 "--unknown-version"])
    assert voted.exit_code == 0, voted.output
    listed = runner.invoke(main, ["governance", "list"]).output
    assert (f"Ledger rules: version {MAX_KNOWN_RULES_VERSION} (the node's release knows up "
            f"to {MAX_KNOWN_RULES_VERSION}); version {UNKNOWN} from height 10, which the "
            "node's release does not know: it stops before block 10 unless upgraded.\n"
            ) in listed
    answer = json.loads(runner.invoke(main, ["governance", "list", "--json"]).output)
    assert answer["rules"] == {"version": MAX_KNOWN_RULES_VERSION,
                               "known": MAX_KNOWN_RULES_VERSION,
                               "scheduled": [{"from_height": 10, "version": UNKNOWN}]}
    assert answer["proposals"][0]["rules_version"] == UNKNOWN

    # not above the scheduled one: the ledger's refusal, in one line
    lower = runner.invoke(main, [*args[:-1], "20", "--key", first, "--unknown-version"])
    assert lower.exit_code == 1 and "rules_version_not_above" in lower.output, lower.output


def test_a_version_below_1_is_refused_by_the_option(tmp_path: Path, council: Council,
                                                    chain_client: type[_ChainClient]) -> None:
    key = _key(tmp_path, council.ministry, "m1")
    result = CliRunner().invoke(main, ["governance", "propose", "--key", key, "--action",
                                       "set-rules-version", "--rules-version", "0"])
    assert result.exit_code == 2 and "--rules-version" in result.output, result.output
    assert chain_client.chain.height == 0


def _status(rules: dict[str, Any], styled: bool = False) -> list[str]:
    info = {"node": "n1", "member": "Ministry of Science", "chain_id": "c", "height": 3,
            "head_hash": "00" * 32, "head_time": "2026-12-02T03:00:00Z",
            "mempool": {"transactions": 0, "bytes": 0}, "rules": rules}
    return [line if styled else click.unstyle(line)
            for line in _status_lines(info, "http://node") if "rules" in line]


def test_status_says_the_rules_and_an_upgrade_due(council: Council) -> None:
    chain = Chain(MemoryStore(), council.genesis)
    assert _status(rules_json(chain.state, chain.height)) == [
        f"rules     version {MAX_KNOWN_RULES_VERSION} (the node's release knows up to "
        f"{MAX_KNOWN_RULES_VERSION})"]
    propose = make_tx(council.ministry, ProposePayload(RulesVersionAction(UNKNOWN), 9, 7))
    commit(chain, [propose])
    commit(chain, [make_tx(council.ministry2, VotePayload(propose.tx_id))])
    [line] = _status(rules_json(chain.state, chain.height), styled=True)
    assert line.startswith(click.style("", fg="yellow", reset=False))  # an upgrade is due
    line = click.unstyle(line)
    assert line.endswith(f"; version {UNKNOWN} from height 9, which the node's release does "
                         "not know: it stops before block 9 unless upgraded")


async def test_the_api_says_the_rules(tmp_path: Path) -> None:
    council = make_council(rules_version=2)
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = api_core(council.ministry, council.genesis, kv)
    try:
        async with serving(core) as client:
            status = await (await client.get("/v1/status")).json()
            governance = await (await client.get("/v1/governance")).json()
    finally:
        kv.close()
    expected = {"version": 2, "known": MAX_KNOWN_RULES_VERSION, "scheduled": []}
    assert status["rules"] == expected and governance["rules"] == expected
