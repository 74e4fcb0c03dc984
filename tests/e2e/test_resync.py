"""`senim node --resync`: a follower that fell behind rejoins by state sync, in one command.

Real processes: a follower syncs blocks from genesis, is stopped, and the validator
commits more blocks. Restarted with `--resync` and `[sync] state_sync = true`, the
follower sets its old store aside (kept on disk, with its old head), joins from a
snapshot above that head instead of replaying, and follows the validator's head.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.chain_layout import HEAD_KEY
from ledger.codec import decode
from node.start_checks import STORE_NAME
from node.store_setup import SET_ASIDE_INFIX
from storage.kv import LevelDBStore
from tests.e2e.harness import Consortium, HttpError
from tests.e2e.test_state_sync import JOIN_TIMEOUT_S, issue_diplomas
from tests.e2e.test_state_sync import net as net  # the module's consortium fixture

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def set_aside_stores(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob(f"{STORE_NAME}{SET_ASIDE_INFIX}*"))


def test_a_follower_far_behind_resyncs_by_state_sync(net: Consortium) -> None:
    validator = net.start("mshe")
    follower = net.start("kaspi")
    diplomas = issue_diplomas(net, validator)
    left_at = follower.wait_height(validator.height(), timeout_s=30.0)
    assert follower.stop() == 0, follower.log_tail()
    key_before = net.key_path("kaspi").read_bytes()

    # The chain moves on while the follower is off.
    net.cli("revoke", "--key", str(net.key_path("enu")), str(diplomas[3]), "--reason",
            "court_decision", node=validator)
    net.cli("anchor", "--key", str(net.key_path("enu")), str(diplomas[0]), node=validator)
    behind_head = validator.height()
    assert behind_head > left_at

    with follower.config_path.open("a") as config:
        config.write("\n[sync]\nstate_sync = true\n")
    log_from = len(follower.log_text())
    follower.node_args = ("--resync",)
    try:
        net.start("kaspi", timeout_s=JOIN_TIMEOUT_S)
    finally:
        follower.node_args = ()
    log = follower.log_text()[log_from:]

    # The old store is on disk, whole, under the name the log gives.
    [aside] = set_aside_stores(follower.data_dir)
    assert f"--resync: moved the chain store aside to {aside}" in log, log
    old = LevelDBStore(str(aside))
    try:
        assert decode(old.get(HEAD_KEY) or b"")[0] == left_at
    finally:
        old.close()
    assert (follower.data_dir.stat().st_mode & 0o777) == 0o700
    assert net.key_path("kaspi").read_bytes() == key_before

    # It joined from a snapshot above its old head: no replay, no block below the snapshot.
    assert "starting as a fresh node, joining by state sync" in log, log
    assert "joined by state sync at block " in log, log
    joined_at = int(log.split("joined by state sync at block ")[1].split(":")[0])
    assert left_at < joined_at <= behind_head
    with pytest.raises(HttpError) as missing:
        follower.get_json("/v1/blocks/1")
    assert missing.value.json()["error"]["code"] == "block_not_held"

    # And it follows the head, at the validators' hashes.
    net.cli("anchor", "--key", str(net.key_path("enu")), str(diplomas[1]), node=validator)
    head = validator.height()
    follower.wait_height(head, timeout_s=30.0)
    assert follower.get_json(f"/v1/blocks/{head}")["hash"] == \
        validator.get_json(f"/v1/blocks/{head}")["hash"]
    revoked = net.cli("verify", str(diplomas[3]), node=follower, check=False)
    assert revoked.returncode != 0 and "REVOKED" in revoked.stdout, revoked.stdout
