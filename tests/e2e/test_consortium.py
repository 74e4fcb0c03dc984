"""A real consortium under load and crashes: four validators and one follower, real processes.

Each test lays out a fresh consortium (four PBFT validators, f = 1, and one
non-validating follower, all `senim node` subprocesses), keeps it busy with a
round-robin anchor load sent to every running node, crashes nodes with
SIGKILL, and checks:

- kill -9 of the current primary: the survivors change view and commit again
  (the time from the kill to the first commit in a new view is printed);
- kill -9 of a replica, restart on its data dir: it catches up by itself and
  takes part again (with another validator down, no block commits without it);
- kill -9 of the follower, restart: it catches up;
- one validator down: three still commit; two down: nothing commits; one back:
  commits resume;
- at the end of every test (load drained, all nodes up): every node has the same
  height and head hash; every transaction any node reported committed is
  committed, at the same height, on every node; every block's certificate on
  every node verifies against the genesis validator set.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from consensus import decode_certificate
from tests.e2e.consortium_load import (
    CommitLedger,
    RoundRobinLoad,
    check_certificates,
    check_ledger_everywhere,
    max_height,
    slug_of_member,
    statuses,
    try_status,
    wait_commits_beyond,
    wait_converged,
)
from tests.e2e.harness import Consortium, Member, NodeProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

VIEW_TIMEOUT_MS = 500
VALIDATORS = ("mshe", "kaznu", "enu", "atameken")
FOLLOWER = "kaspi"
MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("kaznu", "KazNU", "university", validator=True, runs_node=True),
           Member("enu", "ENU", "university", validator=True, runs_node=True),
           Member("atameken", "Atameken", "employer", validator=True, runs_node=True),
           Member("kaspi", "Kaspi", "employer", runs_node=True)]
WARM_UP_COMMITS = 100
PROGRESS_TIMEOUT_S = 20.0  # generous: a shared 2-core machine, view-change backoff
CATCH_UP_TIMEOUT_S = 30.0
QUIESCE_TIMEOUT_S = 40.0
NO_QUORUM_WINDOW_S = 3.0


@dataclass
class Cluster:
    net: Consortium
    chain_id: str
    ledger: CommitLedger = field(default_factory=CommitLedger)
    loads: list[RoundRobinLoad] = field(default_factory=list)

    def node(self, slug: str) -> NodeProcess:
        return self.net.node(slug)

    @property
    def nodes(self) -> list[NodeProcess]:
        return [self.net.node(slug) for slug in (*VALIDATORS, FOLLOWER)]

    def validators(self, *, running: bool = True) -> list[NodeProcess]:
        return [self.net.node(s) for s in VALIDATORS if self.net.node(s).running() or not running]

    def start_load(self) -> RoundRobinLoad:
        load = RoundRobinLoad(self.nodes, self.net.keys(FOLLOWER), self.chain_id, self.ledger,
                              deadline_s=100.0)
        self.loads.append(load.start())
        return load

    def warm_up(self, load: RoundRobinLoad) -> None:
        target = self.ledger.count() + WARM_UP_COMMITS
        wait_until(lambda: self.ledger.count() >= target or not load.alive() or load.refused,
                   PROGRESS_TIMEOUT_S, f"{WARM_UP_COMMITS} reported commits")
        assert load.alive(), load.errors
        assert not load.refused, load.refused[:3]

    def primary(self) -> tuple[str, int, int]:
        """(slug of the current primary, view, height) as a running validator reports them."""
        for node in self.validators():
            status = try_status(node)
            if status is not None:
                consensus = status["consensus"]
                return (slug_of_member(self.net, consensus["primary"]), int(consensus["view"]),
                        int(status["height"]))
        raise AssertionError("no validator answers")

    def assert_consistent(self, load: RoundRobinLoad) -> tuple[int, str]:
        """Drain the load (every node up), then compare every node's chain and ledger."""
        load.drain(QUIESCE_TIMEOUT_S)
        load.stop()
        assert not load.errors, load.errors
        assert not load.rejected, load.rejected[:5]
        assert not load.refused, load.refused[:5]
        assert not self.ledger.conflicts, self.ledger.conflicts[:5]
        reported = self.ledger.snapshot()
        unresolved = set(load.admitted) - set(reported) - set(load.gave_up)
        assert not unresolved, f"{len(unresolved)} admitted transactions never resolved"
        highest = max((h for h, _ in reported.values()), default=0)
        assert len(reported) >= WARM_UP_COMMITS, (len(reported), load.submitted)
        height, head_hash = wait_converged(self.nodes, QUIESCE_TIMEOUT_S, min_height=highest)
        check_ledger_everywhere(self.nodes, self.ledger)
        check_certificates(self.net, self.nodes, height)
        for node in self.nodes:
            assert "Traceback" not in node.log_text(), f"{node.slug}:\n{node.log_tail(60)}"
        print(f"\nconsistent at height {height} ({head_hash[:16]}): {len(reported)} reported "
              f"commits of {load.submitted} admitted, {len(load.gave_up)} never seen committed, "
              f"{load.request_failures} requests to dead nodes")
        return height, head_hash


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with Consortium(tmp_path, MEMBERS, view_timeout_ms=VIEW_TIMEOUT_MS,
                    genesis_via_cli=False) as net:
        net.start_all()
        made = Cluster(net, net.node(FOLLOWER).status()["chain_id"])
        try:
            yield made
        finally:
            for load in made.loads:
                load.stop_event.set()
            net.close()  # every node process, even when the test failed
            for load in made.loads:
                load.stop()


def views_of(nodes: list[NodeProcess]) -> dict[str, int]:
    return {slug: int(s["consensus"]["view"]) for slug, s in statuses(nodes).items()}


def catch_up(cluster: Cluster, node: NodeProcess, what: str) -> float:
    """Restart `node` on its data dir; wait until it is level with the running validators."""
    started = time.monotonic()
    cluster.net.start(node.slug)
    others = [n for n in cluster.validators() if n is not node]

    def level() -> bool:
        mine = try_status(node)
        return mine is not None and int(mine["height"]) >= max_height(others) - 1

    wait_until(level, CATCH_UP_TIMEOUT_S, f"{what} {node.slug} to catch up", interval_s=0.05)
    return time.monotonic() - started


def test_primary_killed_under_load_view_changes_and_commits_resume(cluster: Cluster) -> None:
    load = cluster.start_load()
    cluster.warm_up(load)
    victim_slug, view_before, height_before = cluster.primary()
    victim = cluster.node(victim_slug)
    killed_at = time.monotonic()
    victim.kill()
    survivors = cluster.validators()
    assert victim not in survivors and len(survivors) == 3

    # Sample the survivors until a block made in a view after the one at the kill commits.
    samples: list[tuple[float, int]] = []  # (seconds since the kill, highest survivor height)
    examined = [height_before]

    def new_view_block() -> int | None:
        found = statuses(survivors)
        if not found:
            return None
        top = max(int(s["height"]) for s in found.values())
        samples.append((time.monotonic() - killed_at, top))
        top_slug = max(found, key=lambda slug: int(found[slug]["height"]))
        for height in range(examined[0] + 1, samples[-1][1] + 1):
            block = cluster.node(top_slug).get_json(f"/v1/blocks/{height}")
            examined[0] = height
            if int(block["view"]) > view_before:
                return height
        return None

    new_view_height = wait_until(
        new_view_block, PROGRESS_TIMEOUT_S,
        f"a block of a view after {view_before} to commit once {victim_slug} was killed",
        interval_s=0.02)
    first_commit_s = next(t for t, h in samples if h > height_before)
    new_view_commit_s = next(t for t, h in samples if h >= new_view_height)
    # the stall: from the commit before that block (or the kill) to that block's commit
    stall_s = new_view_commit_s - next((t for t, h in samples if h >= new_view_height - 1), 0.0)
    print(f"\nkilled primary {victim_slug} at height {height_before} view {view_before}: first "
          f"commit after {first_commit_s:.3f}s, first commit of a later view (height "
          f"{new_view_height}) after {new_view_commit_s:.3f}s, stalled {stall_s:.3f}s; "
          f"view timeout {VIEW_TIMEOUT_MS} ms")

    # Every survivor moved to a later view, and the load's transactions keep committing.
    wait_until(lambda: len(v := views_of(survivors)) == 3 and min(v.values()) > view_before,
               PROGRESS_TIMEOUT_S, f"every survivor in a view after {view_before}")
    wait_until(lambda: cluster.ledger.count_since(killed_at) >= 20, PROGRESS_TIMEOUT_S,
               "20 transactions reported committed after the kill")
    wait_commits_beyond(survivors, new_view_height + 6, PROGRESS_TIMEOUT_S,
                        "progress with a validator down (its turns as primary time out)")

    # The old primary comes back on its data dir and catches up.
    catch_up(cluster, victim, "restarted primary")
    cluster.assert_consistent(load)


def test_replica_killed_restarts_catches_up_and_takes_part(cluster: Cluster) -> None:
    load = cluster.start_load()
    cluster.warm_up(load)
    primary, _, _ = cluster.primary()
    victim = next(n for n in cluster.validators() if n.slug != primary)
    victim.kill()
    height_at_kill = max_height(cluster.validators())
    wait_commits_beyond(cluster.validators(), height_at_kill + 10, PROGRESS_TIMEOUT_S,
                        f"three validators to commit without {victim.slug}")

    took_s = catch_up(cluster, victim, "restarted replica")
    print(f"\nreplica {victim.slug} restarted and caught up in {took_s:.2f}s")

    # Takes part again: with another validator down, the quorum (3 of 4) needs it.
    other = next(n for n in cluster.validators() if n is not victim)
    other.kill()
    height_at_second_kill = max_height(cluster.validators())
    reached = wait_commits_beyond(cluster.validators(), height_at_second_kill + 5,
                                  PROGRESS_TIMEOUT_S,
                                  f"commits by {victim.slug} and two others ({other.slug} down)")
    me = bytes.fromhex(cluster.net.member_id(victim.slug))
    witness = next(n for n in cluster.validators() if n is not victim)
    # from h+3 on, the killed validator cannot have signed: the quorum of 3 needs the victim
    for height in range(height_at_second_kill + 3, reached + 1):
        certificate = decode_certificate(
            bytes.fromhex(witness.get_json(f"/v1/blocks/{height}")["certificate"]))
        signers = {bytes(vote.validator) for vote in certificate.signatures}
        assert me in signers, f"block {height} committed without {victim.slug}'s signature"
        assert bytes.fromhex(cluster.net.member_id(other.slug)) not in signers

    catch_up(cluster, other, "restarted replica")
    cluster.assert_consistent(load)


def test_follower_killed_restarts_and_catches_up(cluster: Cluster) -> None:
    load = cluster.start_load()
    cluster.warm_up(load)
    follower = cluster.node(FOLLOWER)
    follower.kill()
    height_at_kill = max_height(cluster.validators())
    wait_commits_beyond(cluster.validators(), height_at_kill + 20, PROGRESS_TIMEOUT_S,
                        "validators to commit while the follower is down")
    took_s = catch_up(cluster, follower, "restarted follower")
    print(f"\nfollower restarted and caught up in {took_s:.2f}s")
    # and it keeps following (blocks announced by validators, its own polling)
    target = max_height(cluster.validators()) + 5
    follower.wait_height(target, PROGRESS_TIMEOUT_S)
    cluster.assert_consistent(load)


def test_one_down_commits_two_down_halts_one_back_resumes(cluster: Cluster) -> None:
    load = cluster.start_load()
    cluster.warm_up(load)
    first, second = cluster.node("kaznu"), cluster.node("atameken")

    first.kill()  # f = 1 down: the other three still commit
    height = max_height(cluster.validators())
    wait_commits_beyond(cluster.validators(), height + 5, PROGRESS_TIMEOUT_S,
                        "three validators to commit")

    before = max_height(cluster.nodes)
    second.kill()  # two down: no quorum
    watched = [n for n in cluster.nodes if n.running()]
    assert len(watched) == 3  # two validators and the follower
    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    deadline = started + NO_QUORUM_WINDOW_S
    while time.monotonic() < deadline:  # a fixed observation window, sampled
        found = statuses(watched)
        assert len(found) == len(watched), f"a survivor stopped answering: {sorted(found)}"
        samples.append((time.monotonic() - started, max(int(s["height"]) for s in found.values())))
        load_alive = load.alive()
        assert load_alive, load.errors
        time.sleep(0.05)  # sampling period of the observation window
    halted = samples[-1][1]
    # A block already certified when the second validator died may still land (and blocks
    # may commit between reading `before` and the kill), but nothing after the first second.
    assert halted <= before + 3, samples
    settled = [h for t, h in samples if t >= 1.0]
    assert settled and min(settled) == max(settled) == halted, (
        f"commits without a quorum: {samples}")
    reported = cluster.ledger.snapshot()
    assert max(h for h, _ in reported.values()) <= halted

    # One back: a quorum again (it catches up first); commits resume.
    resumed_at = time.monotonic()
    cluster.net.start(first.slug)
    wait_commits_beyond(cluster.validators(), halted, PROGRESS_TIMEOUT_S,
                        f"commits once {first.slug} is back")
    print(f"\nquorum back: commits resumed {time.monotonic() - resumed_at:.2f}s after "
          f"restarting {first.slug} (halted at {halted})")
    wait_until(lambda: cluster.ledger.count_since(resumed_at) >= 20, PROGRESS_TIMEOUT_S,
               "20 transactions reported committed after the quorum came back")

    catch_up(cluster, second, "restarted validator")
    cluster.assert_consistent(load)
