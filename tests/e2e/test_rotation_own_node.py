"""A member rotates its key through its own node, which does not validate: that node, still
signing with the old key, is dropped by its peers in the block that commits the rotation,
and usually never learns it. `senim key rotate` said "not committed yet (pending)" of a
rotation that was in; now it asks --check-node and says where it committed and to restart
the node with the new key.

Real processes: a ministry validator and the university's own node.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import Consortium, Member, http, wait_until

pytestmark = pytest.mark.slow

MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("kaznu", "KazNU", "university", runs_node=True)]


def test_a_rotation_through_the_members_own_node_is_said_committed(tmp_path: Path) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        net.start_all()
        ministry, own = net.node("mshe"), net.node("kaznu")

        def own_node_heard() -> bool:
            status = json.loads(net.cli("status", "--json", node=own).stdout)
            return any(peer["authenticated"] for peer in status["peers"])

        wait_until(own_node_heard, 30, "the university's node to be admitted")
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
