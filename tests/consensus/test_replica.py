"""Hand-written replica scenarios: normal case, bad input, view change, restart, catch-up."""

import pytest

from consensus import (
    BlockExecuted,
    Broadcast,
    Commit,
    CorruptSafetyState,
    ExecuteBlock,
    Height,
    Message,
    MessageReceived,
    NewView,
    Phase,
    Prepare,
    PrePrepare,
    Rejected,
    Replica,
    ReportEvidence,
    RequestSync,
    SafetyState,
    SignedMessage,
    Tick,
    ValidatorId,
    View,
    ViewChange,
    WorkAvailable,
    decode_safety_state,
    decode_signed,
    encode_safety_state,
    encode_signed,
    sign_message,
    verify_certificate,
)
from tests.consensus.harness import CHAIN, Cluster, block_for, sent
from tests.sim.keys import make_signer, verify


def signed_by(sender: bytes, message: Message) -> bytes:
    """`message` correctly signed by `sender` (an outsider's key fails verification)."""
    return encode_signed(sign_message(CHAIN, ValidatorId(sender), message,
                                      make_signer(ValidatorId(sender))))


def proposal(height: int, view: int, tag: bytes = b"") -> PrePrepare:
    block, digest = block_for(height, view, tag)
    return PrePrepare(View(view), Height(height), digest, block)


def committed_digests(cluster: Cluster) -> dict[bytes, list[bytes]]:
    return {v: [c.digest for c in node.committed] for v, node in cluster.nodes.items()}


def test_single_validator_commits_alone() -> None:
    cluster = Cluster(1)
    (me,) = cluster.ids
    for height in (1, 2, 3):
        cluster.step(me, WorkAvailable())
        node = cluster.nodes[me]
        assert len(node.committed) == height
        commit = node.committed[-1]
        assert commit.height == height
        assert verify_certificate(commit.certificate, CHAIN, cluster.ids, verify)
    assert node.replica.height == 4 and node.replica.view == 0


def test_each_commit_vote_carries_its_signers_clock_into_the_certificate() -> None:
    cluster = Cluster(4)
    cluster.clock_offsets = {v: offset for v, offset in
                             zip(cluster.ids, (0, 7, -3, 10**12), strict=True)}
    for v in cluster.ids:
        cluster.step(v, WorkAvailable())
    cluster.deliver_all()
    for node in cluster.nodes.values():
        certificate = node.committed[0].certificate
        assert verify_certificate(certificate, CHAIN, cluster.ids, verify)
        assert len(certificate.signatures) >= 3
        for vote in certificate.signatures:
            assert vote.time_ms == cluster.clock_ms + cluster.clock_offsets[vote.validator]
    # the time is signed: a vote moved to another time no longer verifies
    certificate = cluster.nodes[cluster.ids[0]].committed[0].certificate
    moved = certificate.signatures[0]._replace(time_ms=0)
    tampered = type(certificate)(certificate.height, certificate.view, certificate.digest,
                                 (moved, *certificate.signatures[1:]))
    assert not verify_certificate(tampered, CHAIN, cluster.ids, verify)


def test_four_validators_commit_the_same_block_with_a_valid_certificate() -> None:
    cluster = Cluster(4)
    for v in cluster.ids:
        cluster.step(v, WorkAvailable())
    cluster.deliver_all()
    digests = committed_digests(cluster)
    assert all(d == [block_for(1, 0)[1]] for d in digests.values())
    for node in cluster.nodes.values():
        assert verify_certificate(node.committed[0].certificate, CHAIN, cluster.ids, verify)
        assert node.replica.height == 2 and node.replica.view == 0
        # per block: at most a pre-prepare or prepare, and a commit, from each replica
        assert len([a for a in node.actions if isinstance(a, Broadcast)]) == 2


def test_duplicated_and_reordered_messages_commit_exactly_once() -> None:
    cluster = Cluster(4)
    for v in cluster.ids:
        cluster.step(v, WorkAvailable())
    for _ in range(20):  # bounded: each round moves the protocol forward or empties the wire
        if not cluster.wire:
            break
        batch = cluster.wire[::-1] + cluster.wire  # every message twice, newest first
        cluster.wire = []
        for sender, to, data in batch:
            cluster.step(to, MessageReceived(sender, data))
    assert all(len(node.committed) == 1 for node in cluster.nodes.values())
    assert len(set(d[0] for d in committed_digests(cluster).values())) == 1


def test_equivocating_primary_is_reported_and_only_the_first_block_is_executed() -> None:
    cluster = Cluster(4)
    primary, backup = cluster.primary(), cluster.ids[0]
    assert primary != backup
    first = proposal(1, 0, b"a")
    second = proposal(1, 0, b"b")
    actions = cluster.step(backup, MessageReceived(primary, signed_by(primary, first)))
    actions += cluster.step(backup, MessageReceived(primary, signed_by(primary, second)))
    evidence = [a for a in actions if isinstance(a, ReportEvidence)]
    assert len(evidence) == 1 and evidence[0].kind == "conflicting-pre-prepare"
    assert evidence[0].validator == primary
    executed = [a.digest for a in actions if isinstance(a, ExecuteBlock)]
    assert executed == [first.digest]
    prepares = [m.message for m in sent(actions) if isinstance(m.message, Prepare)]
    assert [p.digest for p in prepares] == [first.digest]


def test_bad_input_is_rejected_never_raised() -> None:
    cluster = Cluster(4)
    me, other = cluster.ids[0], cluster.ids[2]
    not_primary = proposal(1, 0)
    good = signed_by(other, Prepare(View(0), Height(1), block_for(1, 0)[1]))
    forged = good[:-1] + bytes([good[-1] ^ 1])
    other_chain = encode_signed(SignedMessage(other, Prepare(View(0), Height(1),
                                block_for(1, 0)[1]), make_signer(other)(b"wrong")))
    inputs = [b"", b"\x00junk", forged, other_chain, signed_by(other, not_primary),
              signed_by(b"outsider", not_primary)]
    reasons = []
    for data in inputs:
        actions = cluster.step(me, MessageReceived(other, data))
        reasons += [a.reason for a in actions if isinstance(a, Rejected)]
    assert len(reasons) == len(inputs)
    assert any("not the primary" in r for r in reasons)
    assert any("malformed" in r for r in reasons)
    assert cluster.nodes[me].replica.phase is Phase.IDLE


def drop_commits(cluster: Cluster) -> None:
    cluster.wire = [w for w in cluster.wire
                    if not isinstance(decode_signed(w[2]).message, Commit)]


def test_view_change_keeps_a_block_that_may_have_committed() -> None:
    cluster = Cluster(4)
    for v in cluster.ids:
        cluster.step(v, WorkAvailable())
    for _ in range(10):  # deliver everything except commits: all prepare, nobody commits
        drop_commits(cluster)
        cluster.deliver_batch()
    drop_commits(cluster)
    assert all(n.replica.phase is Phase.COMMITTING for n in cluster.nodes.values())
    prepared_digest = block_for(1, 0)[1]
    cluster.tick(10)  # progress timers expire: everyone asks for view 1
    assert all(n.replica.phase is Phase.VIEW_CHANGE for n in cluster.nodes.values())
    cluster.deliver_all()
    for node in cluster.nodes.values():
        assert node.replica.view == 1
        assert [c.digest for c in node.committed] == [prepared_digest]
        assert node.committed[0].certificate.view == 1


def test_restart_mid_round_never_signs_a_second_block() -> None:
    cluster = Cluster(4)
    primary, backup = cluster.primary(), cluster.ids[0]
    first = proposal(1, 0, b"a")
    second = proposal(1, 0, b"b")
    actions = cluster.step(backup, MessageReceived(primary, signed_by(primary, first)))
    assert any(isinstance(m.message, Prepare) for m in sent(actions))
    cluster.restart(backup)
    actions = cluster.step(backup, MessageReceived(primary, signed_by(primary, second)))
    assert not any(isinstance(a, ExecuteBlock) for a in actions)
    assert not sent(actions)
    # the same block again is fine (e.g. a retransmission): same vote, no conflict
    actions = cluster.step(backup, MessageReceived(primary, signed_by(primary, first)))
    assert [m.message.digest for m in sent(actions)] == [first.digest]  # type: ignore[union-attr]


def test_restart_keeps_view_and_pending_view_change() -> None:
    cluster = Cluster(4)
    me = cluster.ids[0]
    cluster.step(me, WorkAvailable())
    cluster.tick(10, only=[me])
    assert cluster.nodes[me].replica.phase is Phase.VIEW_CHANGE
    cluster.restart(me)
    replica = cluster.nodes[me].replica
    assert (replica.view, replica.phase) == (1, Phase.VIEW_CHANGE)
    actions = cluster.step(me, Tick())
    assert [type(m.message) for m in sent(actions)] == [ViewChange]


def test_lonely_replica_restates_its_view_change_but_never_runs_ahead() -> None:
    cluster = Cluster(4)
    me = cluster.ids[0]
    cluster.step(me, WorkAvailable())
    cluster.tick(500, only=[me])
    views = {m.message.new_view for m in sent(cluster.nodes[me].actions)
             if isinstance(m.message, ViewChange)}
    assert views == {1}
    assert cluster.nodes[me].replica.view == 1


def test_timeouts_double_while_views_fail_and_reset_after_a_commit() -> None:
    cluster = Cluster(4)
    dead = cluster.primary(height=1, view=1)
    alive = [v for v in cluster.ids if v != dead]
    idle_primary = cluster.primary(height=1, view=0)
    for v in alive:  # view 0 fails too: its primary has no work, so it never proposes
        if v != idle_primary:
            cluster.step(v, WorkAvailable())
    watcher = cluster.nodes[next(v for v in alive if v != idle_primary)]
    first_view_change_at: dict[int, int] = {}
    for tick in range(1, 200):
        cluster.tick(1, only=alive)
        cluster.deliver_all(drop_to={dead})
        view = watcher.replica.view
        first_view_change_at.setdefault(view, tick)
        if watcher.committed:
            break
    assert first_view_change_at[1] == 10  # base timeout
    assert first_view_change_at[2] - first_view_change_at[1] == 20  # doubled
    assert watcher.committed and watcher.replica.view == 2
    # Height 2: its view-2 primary again has no work, so view 2 fails; after a commit the
    # timer starts again from the base timeout, not from the doubled one.
    idle_primary = cluster.primary(height=2, view=2)
    second_watcher = cluster.nodes[next(v for v in alive if v != idle_primary)]
    for v in alive:
        if v != idle_primary:
            cluster.step(v, WorkAvailable())
    elapsed = 0
    while second_watcher.replica.view < 3 and elapsed < 100:
        elapsed += 1
        cluster.tick(1, only=alive)
        cluster.deliver_all(drop_to={dead})
    assert elapsed == 10


def test_forged_new_view_is_reported_and_ignored() -> None:
    cluster = Cluster(4)
    me = cluster.ids[0]
    new_primary = cluster.primary(view=1)
    forged_changes = tuple(
        SignedMessage(v, ViewChange(View(1), Height(1), None), b"\x00" * 32) for v in cluster.ids)
    data = signed_by(new_primary, NewView(View(1), Height(1), forged_changes, None))
    actions = cluster.step(me, MessageReceived(new_primary, data))
    assert [a.kind for a in actions if isinstance(a, ReportEvidence)] == ["invalid-new-view"]
    assert cluster.nodes[me].replica.view == 0


def test_lagging_replica_is_told_to_sync_by_a_commit_certificate() -> None:
    cluster = Cluster(4)
    laggard = cluster.ids[0]
    for v in cluster.ids:
        cluster.step(v, WorkAvailable())
    cluster.deliver_all(drop_to={laggard})
    assert all(len(cluster.nodes[v].committed) == 1 for v in cluster.ids if v != laggard)
    cluster.tick(10, only=[laggard])  # its timer fires; its view change reaches the others
    cluster.deliver_all()
    requests = [a for a in cluster.nodes[laggard].actions if isinstance(a, RequestSync)]
    assert requests and requests[0].target_height == 1


def test_invalid_block_from_primary_triggers_a_view_change() -> None:
    cluster = Cluster(4, execute_valid=False)
    backup = cluster.ids[0]
    bad = proposal(1, 0)
    actions = cluster.step(backup, MessageReceived(cluster.primary(),
                                                   signed_by(cluster.primary(), bad)))
    assert any(isinstance(a, Rejected) for a in actions)
    assert cluster.nodes[backup].replica.phase is Phase.VIEW_CHANGE
    stale = cluster.step(backup, BlockExecuted(Height(1), View(0), bad.digest, True))
    assert stale == []


def test_safety_state_round_trips_and_corruption_is_a_local_error() -> None:
    state = SafetyState(Height(3), View(2), False, None, None)
    assert decode_safety_state(encode_safety_state(state), 1024) == state
    with pytest.raises(CorruptSafetyState):
        decode_safety_state(b"\x93garbage", 1024)
    cluster = Cluster(4)
    config = cluster.nodes[cluster.ids[0]].config
    ahead = encode_safety_state(SafetyState(Height(9), View(0), True, None, None))
    with pytest.raises(CorruptSafetyState, match="height"):
        Replica(config, make_signer(cluster.ids[0]), verify, 2, ahead, clock_ms=lambda: 0)
