"""A node restarted after the validator set changed knows the validators at once.

Its network started from the genesis validators and learnt the sets only at its next
commit; blocks come only with work, so on an idle chain a node restarted after a
validator was voted in paced that validator's sync questions as a follower's (in the
followers' shared rate) and sent its transactions to the genesis set alone.

Real processes: a ministry validator votes an employer's node in as a validator; the
ministry's node is restarted; with no block since, it counts the employer's node as a
validator peer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import Consortium, NodeProcess, wait_until
from tests.e2e.test_governance_validators import LEAD, MEMBERS, _anchor

pytestmark = pytest.mark.slow


def _validator_peers(net: Consortium, node: NodeProcess) -> list[bool]:
    status = json.loads(net.cli("status", "--json", node=node).stdout)
    return [bool(p["validator"]) for p in status["peers"] if p["authenticated"]]


def test_a_restarted_node_counts_a_validator_voted_in_since_genesis(tmp_path: Path) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        genesis = json.loads(net.genesis_path.read_text())
        genesis["governance"] = {"threshold": 1, "min_validators": 1}  # a two-node pilot
        net.genesis_path.write_text(json.dumps(genesis))
        ministry, kaspi = net.start_all()
        effective = ministry.height() + LEAD
        net.cli("governance", "propose", "--key", str(net.key_path("mshe")), "--action",
                "add-validator", "--member", net.member_id("kaspi"), "--effective-height",
                str(effective), node=ministry)
        height = 0
        for n in range(LEAD + 1):  # blocks come with work
            height = _anchor(net, ministry, tmp_path / f"in-{n}.txt", f"in {n}")
        assert height >= effective
        wait_until(lambda: kaspi.status()["consensus"]["mode"] == "pbft", 30,
                   "the employer's node to validate")
        wait_until(lambda: _validator_peers(net, ministry) == [True], 30,
                   "the ministry to count the employer's node a validator")

        ministry.stop()
        net.start("mshe")
        wait_until(lambda: len(_validator_peers(net, ministry)) == 1, 30,
                   "the employer's node to reconnect")
        assert ministry.height() == height  # no block since: nothing else taught it
        assert _validator_peers(net, ministry) == [True]
