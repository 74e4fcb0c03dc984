"""A fresh follower joins a running chain by state sync, then verifies like any node.

Real processes: a validator commits accreditation, 30 diplomas and a revocation;
then a follower with `[sync] state_sync = true` and an empty data dir starts. It
must copy the state of a certified block (no replay), follow the blocks after
it, give the same verdicts (valid, revoked) as the validator, answer "not held"
for blocks below its snapshot, pass `senim fsck`, and restart without joining again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Consortium, HttpError, Member, NodeProcess, wait_until
from tests.e2e.test_cli_lifecycle import write_graduates_csv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

MEMBERS = [
    Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
    Member("enu", "ENU", "university"),
    Member("kaspi", "Kaspi Bank", "employer", runs_node=True),
]
JOIN_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    with Consortium(tmp_path_factory.mktemp("state-sync"), MEMBERS) as consortium:
        yield consortium


def issue_diplomas(net: Consortium, validator: NodeProcess) -> list[Path]:
    net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer", net.member_id("enu"),
            "--types", "diploma", node=validator)
    write_graduates_csv(net.root / "graduates.csv", 30, seed=9)
    out = net.root / "issued"
    done = net.cli("issue", "--key", str(net.key_path("enu")), "--type", "diploma", "--input",
                   str(net.root / "graduates.csv"), "--out", str(out), node=validator)
    assert "issued 30 diploma(s)" in done.stdout, done.stdout
    return sorted(out.rglob("diploma-*.json"))


def test_a_fresh_follower_joins_by_state_sync_and_verifies(net: Consortium) -> None:
    validator = net.start("mshe")
    diplomas = issue_diplomas(net, validator)
    revoked = diplomas[3]
    net.cli("revoke", "--key", str(net.key_path("enu")), str(revoked), "--reason",
            "court_decision", node=validator)
    height_before_join = validator.height()

    follower = net.node("kaspi")
    with follower.config_path.open("a") as config:
        config.write("\n[sync]\nstate_sync = true\n")
    net.start("kaspi", timeout_s=JOIN_TIMEOUT_S)
    log = follower.log_text()
    assert "joined by state sync at block" in log, follower.log_tail()
    joined_at = int(log.split("joined by state sync at block ")[1].split(":")[0])
    assert joined_at >= height_before_join

    # Blocks after the snapshot come by block sync.
    net.cli("anchor", "--key", str(net.key_path("enu")), str(diplomas[0]), node=validator,
            check=False)
    target = validator.height()
    follower.wait_height(target, timeout_s=30.0)
    assert follower.get_json(f"/v1/blocks/{target}")["hash"] == \
        validator.get_json(f"/v1/blocks/{target}")["hash"]

    # The follower's verdicts are the validator's.
    valid = net.cli("verify", str(diplomas[0]), node=follower, check=False)
    assert valid.returncode == 0 and "VALID" in valid.stdout.upper(), valid.stdout
    as_revoked = net.cli("verify", str(revoked), node=follower, check=False)
    assert as_revoked.returncode != 0 and "REVOKED" in as_revoked.stdout, as_revoked.stdout
    forged = json.loads(diplomas[1].read_text())
    forged_path = net.root / "forged.json"
    first_field = next(iter(forged["fields"].values()))
    first_field["value"] = "Someone Else"
    forged_path.write_text(json.dumps(forged))
    assert net.cli("verify", str(forged_path), node=follower, check=False).returncode != 0

    # Below the snapshot the follower holds nothing, and says so.
    with pytest.raises(HttpError) as missing:
        follower.get_json("/v1/blocks/1")
    assert missing.value.status == 404
    assert missing.value.json()["error"]["code"] == "block_not_held"
    # So does a VC status list: its indices come from revoke transactions it lacks.
    nowhere = "/credentials/status/" + "00" * 52
    assert json.loads(follower.request("GET", nowhere)[1])["error"]["code"] == \
        "status_list_not_held"
    assert json.loads(validator.request("GET", nowhere)[1])["error"]["code"] == "no_such_batch"

    # fsck understands a store that starts at its snapshot; a restart does not join again.
    assert follower.stop() == 0, follower.log_tail()
    checked = net.cli("fsck", "--config", str(follower.config_path), check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"from block {joined_at}: joined by state sync" in checked.stdout
    net.start("kaspi", timeout_s=JOIN_TIMEOUT_S)
    assert follower.log_text().count("joined by state sync at block") == 1
    wait_until(lambda: follower.height() >= target, 30.0, "the follower back at the head")
