"""`senim verify --genesis` on real processes, across validator-set changes voted by
governance: the verifier, trusting only the genesis file, follows the set through
each certified change to the block the follower node answers from.

A ministry validator and an employer's follower. The employer is voted in as a
validator, then out again (1 of 1 ministry approves at once), while documents are
anchored; each anchored document is then verified against the employer's node.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import Consortium, Member, wait_until

pytestmark = pytest.mark.slow

MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("kaspi", "Kaspi", "employer", runs_node=True)]
LEAD = 4  # blocks between a proposal and its effect (the CLI's earliest)


def test_verify_follows_the_votes_on_real_nodes(tmp_path: Path) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        genesis = json.loads(net.genesis_path.read_text())
        genesis["governance"] = {"threshold": 1, "min_validators": 1}  # a two-node pilot
        net.genesis_path.write_text(json.dumps(genesis))
        ministry, kaspi = net.start_all()
        first = tmp_path / "before.txt"
        net.anchor_document(ministry, first, signer="mshe")
        wait_until(lambda: kaspi.height() >= ministry.height(), 30, "the follower")
        assert "certified by the genesis validators" in net.verified_through(kaspi, first)

        heights: list[int] = []
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
            heights.append(effective)
            kaspi.wait_height(height, timeout_s=30)
            source = net.verified_through(kaspi, tmp_path / f"{action}-{LEAD}.txt")
            assert f"in force from block {effective}, followed from genesis through " \
                   f"{len(heights)} change(s)" in source, source
        changes = kaspi.get_json("/v1/validator-sets/changes")["changes"]
        assert [c["from_height"] for c in changes] == heights
