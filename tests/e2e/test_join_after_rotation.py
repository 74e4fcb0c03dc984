"""A fresh node joins a consortium whose every validator rotated its key since genesis.

Its chain is empty, so it knows only the genesis keys and refuses the validators' current
ones: it can never catch up by itself. Its refusal line says what to do: list those keys
under `[p2p] observers` until it has caught up. Done, it syncs, by blocks or by state sync,
from the validator it now admits.

Real processes: a single ministry validator rotates its key and restarts on the new one;
then the university's node starts from an empty data directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import Consortium, Member, NodeProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("kaznu", "KazNU", "university", runs_node=True)]
JOIN_TIMEOUT_S = 60.0


def _rotate_the_validator(net: Consortium, tmp_path: Path) -> str:
    """Rotate the ministry's key, let the old key certify its last block, restart the
    validator on the new key and commit a block with it; the new public key."""
    ministry = net.start("mshe")
    new_key = tmp_path / "keys" / "mshe-2.key"
    net.cli("key", "rotate", "--key", str(net.key_path("mshe")), "--new-key", str(new_key),
            "--lang", "en", node=ministry)
    net.anchor_document(ministry, tmp_path / "last-with-the-old-key.txt",
                        signer="mshe-2")
    assert ministry.stop() == 0, ministry.log_tail()
    config = ministry.config_path.read_text()
    ministry.config_path.write_text(config.replace('"keys/mshe.key"', '"keys/mshe-2.key"'))
    net.start("mshe")
    net.anchor_document(ministry, tmp_path / "first-with-the-new-key.txt", signer="mshe-2")
    public: str = json.loads(new_key.read_text())["public_key"]
    assert ministry.status()["public_key"] == public
    return public


def _refusal_lines(node: NodeProcess, key: str) -> list[str]:
    return [line for line in node.log_text().splitlines()
            if f"key {key} is not an allowed member" in line]


@pytest.mark.parametrize("state_sync", [False, True], ids=["block-sync", "state-sync"])
def test_a_fresh_node_catches_up_once_the_rotated_validator_is_an_observer(
        tmp_path: Path, state_sync: bool) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        public = _rotate_the_validator(net, tmp_path)
        ministry, fresh = net.node("mshe"), net.node("kaznu")
        if state_sync:
            with fresh.config_path.open("a") as config:
                config.write("\n[sync]\nstate_sync = true\n")

        # Knowing only the genesis keys, it refuses the validator, and says what to do.
        fresh.spawn()
        wait_until(lambda: _refusal_lines(fresh, public), JOIN_TIMEOUT_S,
                   "the fresh node refusing the validator's new key")
        told = _refusal_lines(fresh, public)[0]
        assert ("; no validator this node's chain names is connected: if the consortium's "
                "validators rotated their keys since this node's last block (a new node "
                "knows only the genesis keys), list their current keys (senim members on an "
                "up-to-date member's node shows them) under [p2p] observers in this node's "
                "config and restart it, until it has caught up") in told, told
        if not state_sync:
            fresh.wait_ready()
            assert fresh.height() == 0
        assert fresh.stop() == 0, fresh.log_tail()

        # The key as `senim members` gives it, listed as an observer: the validator is
        # admitted and asked, and the node catches up.
        listed = net.cli("members", "--lang", "en", node=ministry).stdout
        [said] = [line.split("its current key ")[1] for line in listed.splitlines()
                  if "its current key " in line]
        assert said == public, listed
        text = fresh.config_path.read_text()
        fresh.config_path.write_text(text.replace(
            "[p2p]\n", f"[p2p]\nobservers = {json.dumps([said])}\n", 1))
        net.start("kaznu", timeout_s=JOIN_TIMEOUT_S)
        head = ministry.height()
        fresh.wait_height(head, timeout_s=JOIN_TIMEOUT_S)
        assert fresh.get_json(f"/v1/blocks/{head}")["hash"] == \
            ministry.get_json(f"/v1/blocks/{head}")["hash"]
        if state_sync:
            assert "joined by state sync at block " in fresh.log_text(), fresh.log_tail()
