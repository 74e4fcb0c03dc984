"""A member added on chain is a full member: it runs a node with its key, and peers let it in.

Real processes: a ministry validator, then `senim add-member --request` for a new
employer (its admission request made with `senim key request-admission`), whose own node
(not in the genesis file) starts, is admitted and follows the chain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import HOST, Consortium, Member, NodeProcess, free_port, wait_until

pytestmark = pytest.mark.slow

MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True)]


def test_a_member_added_on_chain_runs_a_node_and_is_let_in(tmp_path: Path) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        ministry = net.start("mshe")
        key = tmp_path / "keys" / "newco.key"
        net.cli("keygen", str(key), "--label", "NewCo")
        newco = NodeProcess(slug="newco", config_path=tmp_path / "newco.toml",
                            data_dir=tmp_path / "data" / "newco",
                            log_path=tmp_path / "logs" / "newco.log",
                            api_port=free_port(), p2p_port=free_port())
        net.nodes["newco"] = newco
        net.write_config("newco", peers=[f"{HOST}:{ministry.p2p_port}"])

        def peers_of_ministry() -> list[dict[str, object]]:
            status = json.loads(net.cli("status", "--json", node=ministry).stdout)
            return [p for p in status["peers"] if p["authenticated"]]

        # Before it is added, the new key is refused at the handshake: it never syncs.
        net.start("newco")
        assert "not a member in this node's chain" in newco.log_text()
        wait_until(lambda: "is not an allowed member" in ministry.log_text(), 30,
                   "the ministry refusing the unknown key")
        assert not peers_of_ministry()

        # A new consortium runs this release's newest rules: the key is admitted with its
        # holder's proof of possession, the request NewCo makes (rules version 12).
        net.cli("key", "request-admission", "--key", str(key), "--name", "NewCo LLP",
                "--role", "employer", "--out", "newco-admission.json", node=ministry)
        added = net.cli("add-member", "--key", str(net.key_path("mshe")), "--request",
                        "newco-admission.json", node=ministry)
        assert json.loads(key.read_text())["member_id"] in added.stdout, added.stdout
        # Now the ministry admits it; it syncs the chain that made it a member.
        wait_until(lambda: newco.height() >= ministry.height() >= 1, 60,
                   "the new member's node to catch up")
        names = [p["member"] for p in peers_of_ministry()]
        assert names == ["NewCo LLP"], names
