"""State sync after governance changed the validator set, on real processes: a node
that joined by state sync serves the set history, so `senim verify --genesis` believes
it and a second node joins by state sync from it alone.

The employer is voted in as a validator and out again (1 of 1 ministry approves at
once); then ENU's node joins by state sync; then, with every other node stopped,
Satbayev's node joins from ENU's alone. Both verify a document through both changes
and pass `senim fsck`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import HOST, Consortium, Member, NodeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("kaspi", "Kaspi", "employer", runs_node=True),
           Member("enu", "ENU", "university", runs_node=True),
           Member("satbayev", "Satbayev University", "university", runs_node=True)]
LEAD = 4  # blocks between a proposal and its effect (the CLI's earliest)
JOIN_TIMEOUT_S = 60.0


def _join(net: Consortium, slug: str, peers: list[str] | None = None) -> NodeProcess:
    node = net.node(slug)
    if peers is not None:
        net.write_config(slug, peers)
    with node.config_path.open("a") as config:
        config.write("\n[sync]\nstate_sync = true\n")
    net.start(slug, timeout_s=JOIN_TIMEOUT_S)
    assert "joined by state sync at block" in node.log_text(), node.log_tail()
    return node


def test_a_node_joined_after_the_votes_serves_verifiers_and_the_next_joiner(
        tmp_path: Path) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        genesis = json.loads(net.genesis_path.read_text())
        genesis["governance"] = {"threshold": 1, "min_validators": 1}  # a two-node pilot
        net.genesis_path.write_text(json.dumps(genesis))
        ministry, kaspi = net.start("mshe"), net.start("kaspi")
        # the chain under way first
        net.anchor_document(ministry, tmp_path / "before.txt", signer="mshe")
        effective_heights: list[int] = []
        for action in ("add-validator", "remove-validator"):
            effective = ministry.height() + LEAD
            net.cli("governance", "propose", "--key", str(net.key_path("mshe")), "--action",
                    action, "--member", net.member_id("kaspi"), "--effective-height",
                    str(effective), node=ministry)
            height = 0
            for n in range(LEAD + 1):  # blocks come with work
                height = net.anchor_document(ministry, tmp_path / f"{action}-{n}.txt",
                                             signer="mshe")
            assert height >= effective
            effective_heights.append(effective)
            kaspi.wait_height(height, timeout_s=30)
        document = tmp_path / f"remove-validator-{LEAD}.txt"
        through = f"followed from genesis through {len(effective_heights)} change(s)"

        enu = _join(net, "enu")
        assert [c["from_height"] for c in enu.get_json("/v1/validator-sets/changes")[
            "changes"]] == effective_heights
        assert through in net.verified_through(enu, document)

        assert ministry.stop() == 0 and kaspi.stop() == 0  # ENU's node is the only peer
        satbayev = _join(net, "satbayev", [f"{HOST}:{enu.p2p_port}"])
        assert [c["from_height"] for c in satbayev.get_json("/v1/validator-sets/changes")[
            "changes"]] == effective_heights
        assert through in net.verified_through(satbayev, document)

        for node in (enu, satbayev):
            assert node.stop() == 0, node.log_tail()
            checked = net.cli("fsck", "--config", str(node.config_path), check=False)
            assert checked.returncode == 0, checked.stdout + checked.stderr
