"""`Replica.timer_armed`: the driver skips ticks while it is False (node.engine_quiet),
so it must be True whenever a tick could fire something, and a replica without it
must say nothing however many ticks pass."""

from __future__ import annotations

from consensus import Tick, WorkAvailable
from tests.consensus.harness import Cluster


def test_work_arms_the_timer_and_a_commit_disarms_it() -> None:
    cluster = Cluster(4)
    assert not any(node.replica.timer_armed for node in cluster.nodes.values())
    for me in cluster.ids:
        cluster.step(me, WorkAvailable())
    assert all(node.replica.timer_armed for node in cluster.nodes.values())
    cluster.deliver_all()
    assert all(len(node.committed) == 1 for node in cluster.nodes.values())
    assert not any(node.replica.timer_armed for node in cluster.nodes.values())


def test_a_replica_with_no_timer_armed_says_nothing_whatever_the_ticks() -> None:
    cluster = Cluster(4)
    backup = next(v for v in cluster.ids if v != cluster.primary())
    for _ in range(10 * 80):  # ten times the longest timeout
        assert cluster.step(backup, Tick()) == []
    assert not cluster.nodes[backup].replica.timer_armed


def test_an_armed_timer_fires_and_stays_armed_through_the_view_change() -> None:
    cluster = Cluster(4)
    backup = next(v for v in cluster.ids if v != cluster.primary())
    cluster.step(backup, WorkAvailable())  # the primary never hears of it: it will stall
    assert cluster.nodes[backup].replica.timer_armed
    fired = []
    for _ in range(10):  # base_timeout_ticks
        fired.extend(cluster.step(backup, Tick()))
    assert fired, "a timeout the replica armed fired nothing"
    assert cluster.nodes[backup].replica.timer_armed  # the view change's own timer
