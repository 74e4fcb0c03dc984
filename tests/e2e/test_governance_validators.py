"""Governance on real processes: a validator voted in, then voted out, while blocks commit.

A ministry validator and an employer's follower node. `senim governance propose`
adds the employer as a validator from a stated height (1 of 1 ministry approves
at once); from that height both must sign every block, and the employer's node
validates. A second proposal removes it again: the ministry commits alone and
the employer's node follows. A third retires the employer: the ministry's node drops
it at the height the retirement takes effect, with no transaction there to prompt it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consensus import decode_certificate
from tests.e2e.harness import Consortium, Member, NodeProcess, wait_until

pytestmark = pytest.mark.slow

MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("kaspi", "Kaspi", "employer", runs_node=True)]
# Blocks between a proposal and its effect: room for its vote to close 2 blocks before,
# and for the empty block a primary makes first after an idle spell (BFT time).
LEAD = 5


def _anchor(net: Consortium, node: NodeProcess, path: Path, text: str) -> int:
    path.write_text(text)
    done = net.cli("anchor", "--key", str(net.key_path("mshe")), str(path), node=node)
    return int(done.stdout.split("committed at height ")[1].split()[0])


def _signers(node: NodeProcess, height: int) -> int:
    certificate = bytes.fromhex(node.get_json(f"/v1/blocks/{height}")["certificate"])
    return len(decode_certificate(certificate).signatures)


def test_a_validator_is_voted_in_and_out(tmp_path: Path) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        genesis = json.loads(net.genesis_path.read_text())
        genesis["governance"] = {"threshold": 1, "min_validators": 1}  # a two-node pilot
        net.genesis_path.write_text(json.dumps(genesis))
        ministry, kaspi = net.start_all()
        assert kaspi.status()["consensus"]["mode"] == "follower"

        def propose(action: str) -> int:
            effective = ministry.height() + LEAD
            net.cli("governance", "propose", "--key", str(net.key_path("mshe")), "--action",
                    action, "--member", net.member_id("kaspi"), "--effective-height",
                    str(effective), node=ministry)
            return effective

        added = propose("add-validator")
        height = 0
        for n in range(LEAD + 1):  # blocks come with work
            height = _anchor(net, ministry, tmp_path / f"in-{n}.txt", f"in {n}")
        assert height >= added
        wait_until(lambda: kaspi.status()["consensus"]["mode"] == "pbft", 30,
                   "the employer's node to validate")
        assert _signers(ministry, added - 1) == 1 and _signers(ministry, height) == 2
        listed = net.cli("governance", "list", node=kaspi).stdout
        assert f"Validators from height {added}: " in listed and "Kaspi" in listed

        removed = propose("remove-validator")
        for n in range(LEAD + 1):
            height = _anchor(net, ministry, tmp_path / f"out-{n}.txt", f"out {n}")
        assert height >= removed and _signers(ministry, height) == 1
        wait_until(lambda: kaspi.status()["consensus"]["mode"] == "follower", 30,
                   "the employer's node to follow again")
        wait_until(lambda: kaspi.height() >= height, 30, "the follower to catch up")

        # Retired: from the block before its retirement takes effect its node is no peer.
        # That block carries only an anchor: the ministry's node drops it when due.
        retired = propose("retire-member")
        for n in range(LEAD + 1):
            height = _anchor(net, ministry, tmp_path / f"gone-{n}.txt", f"gone {n}")
        assert height >= retired
        wait_until(lambda: "dropping peer Kaspi" in ministry.log_text(), 30,
                   "the ministry's node to drop the retired member's")
        status = json.loads(net.cli("status", "--json", node=ministry).stdout)
        assert not [p for p in status["peers"] if p["authenticated"]], status["peers"]
        # Its operator is told why, once; both ends redial, the refusal said once a while.
        assert f"Kaspi is retired from the consortium from block {retired}" in \
            kaspi.log_text()
        wait_until(lambda: ministry.log_text().count("not an allowed member") >= 1, 30,
                   "the ministry refusing the retired key")
        redials = ministry.log_text().count("dropped outbound peer")
        wait_until(lambda: kaspi.log_text().count("disconnected") >= 6, 60, "redials")
        assert ministry.log_text().count("dropped outbound peer") <= max(redials, 1)
        assert kaspi.log_text().count("is retired from the consortium") == 1
