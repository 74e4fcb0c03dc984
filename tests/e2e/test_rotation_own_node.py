"""A member rotates its key through its own node, which does not validate: that node, still
signing with the old key, is dropped by its peers in the block that commits the rotation.
It never learnt that block, and `senim key rotate` said "not committed yet (pending)" of a
rotation that was in; it asks --check-node and says where it committed and to restart the
node with the new key. The peers now hand the node that block as they drop it, so with no
--check-node the node itself says the rotation is in.

Real processes: a ministry validator and the university's own node.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import Consortium, Member, NodeProcess, http, wait_until

pytestmark = pytest.mark.slow

MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("kaznu", "KazNU", "university", runs_node=True)]


def _heard(net: Consortium, own: NodeProcess) -> bool:
    status = json.loads(net.cli("status", "--json", node=own).stdout)
    return any(peer["authenticated"] for peer in status["peers"])


def test_a_rotation_through_the_members_own_node_is_said_committed(tmp_path: Path) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        net.start_all()
        ministry, own = net.node("mshe"), net.node("kaznu")

        wait_until(lambda: _heard(net, own), 30, "the university's node to be admitted")
        new_key = tmp_path / "keys" / "kaznu-2.key"
        done = net.cli("key", "rotate", "--key", str(net.key_path("kaznu")), "--new-key",
                       str(new_key), "--check-node", ministry.url, "--lang", "en", node=own,
                       check=False)
        assert done.returncode == 0, (done.stdout, done.stderr)
        public = json.loads(new_key.read_text())["public_key"]
        members = json.loads(http("GET", f"{ministry.url}/v1/members")[2])["members"]
        kaznu = next(m for m in members if m["name"] == "KazNU")
        assert kaznu["public_key"] == public  # it is in, as the command says
        assert "key rotated at height " in done.stdout, done.stdout
        assert (f'{own.url} still signs with {net.key_path("kaznu")}\'s key, which its peers '
                f'no longer admit: restart it now with [node] key = "{new_key}" (public key '
                f"{public[:16]}…)") in done.stdout, done.stdout


def test_the_own_node_learns_its_rotation_without_a_check_node(tmp_path: Path) -> None:
    """Its peers hand it the block that commits the rotation before dropping it (the
    block's announcement was queued after the drop, and a dropped peer's queue discarded):
    the node knows the rotation is in, and says so, with no other node asked. Before, this
    exited 75 after a minute's wait, the node a block behind for good."""
    with Consortium(tmp_path, MEMBERS) as net:
        net.start_all()
        ministry, own = net.node("mshe"), net.node("kaznu")

        wait_until(lambda: _heard(net, own), 30, "the university's node to be admitted")
        new_key = tmp_path / "keys" / "kaznu-2.key"
        done = net.cli("key", "rotate", "--key", str(net.key_path("kaznu")), "--new-key",
                       str(new_key), "--lang", "en", node=own, check=False)
        assert done.returncode == 0, (done.stdout, done.stderr)
        height = int(done.stdout.split("key rotated at height ")[1].split(":")[0])
        assert own.height() >= height == ministry.height() or ministry.height() > height
        public = json.loads(new_key.read_text())["public_key"]
        assert (f'{own.url} still signs with {net.key_path("kaznu")}\'s key, which its peers '
                f'no longer admit: restart it now with [node] key = "{new_key}" (public key '
                f"{public[:16]}…)") in done.stdout, done.stdout
        assert "restart it now with the member's current key file" in own.log_text()
        assert "handing it that block as they do" in done.stderr, done.stderr
