"""`GET /v1/governance` is kept a proposal at a time (`node.governance_answers`): after a
change only the fragments of the proposals it may touch are worked out again, and the
body joined from them is the same bytes as the answer worked out in full
(`governance_view.governance_json`), over any sequence of proposals, votes, expiries,
approvals and revocations; and as worked out with every revocation's audit paths checked
again (`why_cannot_apply` does not: each was checked when it was proposed)."""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterator

import pytest

from ledger.chain import Chain
from ledger.credentials import IssuedBatch, make_batch
from ledger.errors import TxRejected
from ledger.governance import Proposal, load_open_ids, load_policy, why_cannot_apply
from ledger.governance_actions import check_action
from ledger.governance_policy import GovernancePolicy
from ledger.identity import MemberId
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AddMemberAction,
    AddMemberPayload,
    AnchorPayload,
    GovernanceAction,
    IssueBatchPayload,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    RulesVersionAction,
    VotePayload,
)
from ledger.rules import StateReader
from ledger.rules_version import BULK_REVOCATION_FROM, rules_version_at
from ledger.transactions import Transaction
from node import governance_answers, governance_view
from node.governance_answers import governance_answer
from node.governance_view import governance_json
from node.public_work import CommittedView
from storage.kv import MemoryStore
from tests.node.conftest import CHAIN_ID, accredit, commit, keys_from, make_tx
from tests.node.test_consortium_revocation import ref_of
from tests.node.test_governance import (
    Council,
    approve,
    commit_until,
    make_council,
    member_action,
    proposal,
)

RETIRED_AT = 10
DEADLINE_S = 10.0
COHORT = 48
NEWCOMERS = [keys_from(f"governance-fragments-newcomer-{i}") for i in range(3)]


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    governance_answers.forget()
    yield
    governance_answers.forget()


def _cohort(threshold: int) -> tuple[Council, Chain, IssuedBatch]:
    """KazNU accredited, a cohort of COHORT diplomas issued, then retired from RETIRED_AT
    (approved by three votes, whatever the threshold)."""
    council = make_council(GovernancePolicy(threshold), BULK_REVOCATION_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    uni = council.university
    commit(chain, [accredit(council, uni, ["diploma"])])  # type: ignore[arg-type]
    batch = make_batch([{"name": f"Graduate {i}"} for i in range(COHORT)], "diploma",
                       CHAIN_ID, uni.member_id, "KazNU")
    commit(chain, [make_tx(uni, IssueBatchPayload("diploma", batch.root, COHORT))])
    retire = proposal(council.ministry, member_action(ACTION_RETIRE_MEMBER, uni), RETIRED_AT,
                      RETIRED_AT - 2)
    commit(chain, [retire])
    for voter in (council.ministry2, council.ministry3)[:max(0, threshold - 1)]:
        commit(chain, [make_tx(voter, VotePayload(retire.tx_id))])
    commit_until(chain, RETIRED_AT)
    return council, chain, batch


def _revoke(council: Council, batch: IssuedBatch, indices: list[int]
            ) -> RevokeCredentialsAction | RevokeCredentialAction:
    issuer = MemberId(council.university.member_id)
    if len(indices) == 1:
        return RevokeCredentialAction(issuer, ref_of(batch, indices[0]), "fraud")
    return RevokeCredentialsAction(issuer, tuple(ref_of(batch, i) for i in indices), "fraud")


def _answer(chain: Chain) -> bytes:
    """As the API asks (`node.api_chain._governance_answer`): over a committed view of the
    chain, renewed if behind what is kept."""
    with CommittedView(chain) as view:
        return _asked(chain, view)


def _asked(chain: Chain, view: CommittedView) -> bytes:
    return governance_answer(view.state, view.state.root, view.height,
                             lambda: CommittedView(chain)).body()


def _in_full(chain: Chain) -> bytes:
    return json.dumps(governance_json(chain.state, chain.height)).encode()


def _paths_checked_too(state: StateReader, proposal: Proposal, height: int
                       ) -> TxRejected | None:
    """`why_cannot_apply` as the vote that approves checks: every audit path too."""
    try:
        check_action(state, proposal.action, proposal.effective_height, load_policy(state),
                     height, rules_version_at(state, height))
    except TxRejected as exc:
        return exc
    return None


def _commit_what_passes(chain: Chain, txs: list[Transaction]) -> None:
    """Commit a block of those of `txs` the ledger accepts together."""
    for _ in range(len(txs) + 1):
        execution = chain.build(txs, keys_from("ministry").member_id, 0,
                                chain.head_header.time_ms + 1_000)
        refused = {tx.tx_id for tx, _ in execution.rejected}
        if not refused:
            break
        txs = [tx for tx in txs if tx.tx_id not in refused]
    commit(chain, txs)


def _random_tx(rng: random.Random, council: Council, chain: Chain, batch: IssuedBatch
               ) -> Transaction:
    ministries = (council.ministry, council.ministry2, council.ministry3)
    sender = rng.choice(ministries)
    head = chain.height
    roll = rng.random()
    open_ids = load_open_ids(chain.state)
    if roll < 0.5 and open_ids:
        return make_tx(sender, VotePayload(rng.choice(open_ids)))
    if roll < 0.6:
        return make_tx(council.ministry, AnchorPayload(os.urandom(32)))
    if roll < 0.65:  # no governance: makes a proposal to admit it impossible
        return make_tx(council.ministry, AddMemberPayload(
            "Newcomer", "employer", rng.choice(NEWCOMERS).public_key))
    action: GovernanceAction
    if roll < 0.85:
        # from a few credentials at a time, so that open proposals name the same ones
        hot = range(head // 20 * 5 % (COHORT - 6), head // 20 * 5 % (COHORT - 6) + 6)
        action = _revoke(council, batch, rng.sample(hot, rng.randint(1, 3)))
    elif roll < 0.97:
        action = AddMemberAction("Newcomer", "employer", rng.choice(NEWCOMERS).public_key)
    else:
        action = RulesVersionAction(5)
    effective = head + rng.randint(4, 40)
    return proposal(sender, action, effective, rng.randint(max(head + 1, effective - 20),
                                                         effective - 2))


@pytest.mark.parametrize(("threshold", "seed"), [(3, 4), (3, 6), (2, 2), (2, 3), (1, 1)])
def test_the_answer_kept_in_fragments_is_the_answer_worked_out_in_full(
        threshold: int, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    council, chain, batch = _cohort(threshold)
    asked = kept_whole = behind = 0
    statuses: set[str] = set()
    old = CommittedView(chain)  # a request's view, taken a few blocks back
    try:
        for _ in range(150):
            txs = [_random_tx(rng, council, chain, batch)
                   for _ in range(rng.choice((0, 1, 1, 2, 3)))]
            _commit_what_passes(chain, txs)
            head_asked = rng.random() < 0.8
            if head_asked:
                before = governance_answers.fragments_worked_out
                answer = _answer(chain)
                assert answer == _in_full(chain), chain.height
                with monkeypatch.context() as patched:  # as if every audit path were checked
                    patched.setattr(governance_view, "why_cannot_apply", _paths_checked_too)
                    assert answer == _in_full(chain), chain.height
                asked += 1
                kept_whole += governance_answers.fragments_worked_out == before
                statuses.update(p.get("reason_code") or p["status"]
                                for p in json.loads(answer)["proposals"])
            if old.height < chain.height and rng.random() < 0.3:
                behind += _ask_behind(chain, old, head_asked)
            if rng.random() < 0.3:
                old.release()
                old = CommittedView(chain)
    finally:
        old.release()
    # what the sequence went through, so that the comparisons meant something
    assert asked > 100 and kept_whole > 5 and behind > 20, (asked, kept_whole, behind)
    assert {"in_force"} | ({"open", "expired", "already_revoked"}
                           if threshold > 1 else set()) <= statuses, statuses


def _ask_behind(chain: Chain, old: CommittedView, head_asked: bool) -> int:
    """Ask with a view older than the head, as a request that took it before the latest
    blocks: answered as of its block without a fresh view; with one, as of the head if what
    is kept is newer than its view; neither takes the place of a newer answer kept (then the
    head's, if asked already, is worked out no more). Returns 1 if that was checked."""
    as_of_old = json.dumps(governance_json(old.state, old.height)).encode()
    assert governance_answer(old.state, old.state.root, old.height).body() == as_of_old
    kept = governance_answers._kept
    newer = kept is not None and kept.seen[1] > old.height
    renewed = governance_answer(old.state, old.state.root, old.height,
                                lambda: CommittedView(chain)).body()
    assert renewed == (_in_full(chain) if newer else as_of_old), (old.height, chain.height)
    if not head_asked:
        return 0
    before = governance_answers.fragments_worked_out
    assert _answer(chain) == renewed
    assert governance_answers.fragments_worked_out == before, old.height
    return 1


def _counted(chain: Chain) -> int:
    """The fragments worked out for the answer to the head, checked against the answer
    worked out in full."""
    before = governance_answers.fragments_worked_out
    assert _answer(chain) == _in_full(chain)
    return governance_answers.fragments_worked_out - before


def test_a_change_works_out_again_only_the_proposals_it_touches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[bytes] = []

    def why(state: StateReader, proposal: Proposal, height: int) -> TxRejected | None:
        checked.append(proposal.proposal_id)
        return why_cannot_apply(state, proposal, height)

    monkeypatch.setattr(governance_answers, "why_cannot_apply", why)
    council, chain, batch = _cohort(3)
    head = chain.height
    a, b, c, d = (proposal(council.ministry, _revoke(council, batch, indices), head + 40 + n,
                           head + 30 + n)
                  for n, indices in enumerate(([0, 1], [1, 2], [3, 4], [5])))
    e = proposal(council.ministry, AddMemberAction("Newcomer", "employer",
                                                   NEWCOMERS[0].public_key), head + 20, head + 12)
    commit(chain, [a, b, c, d, e])
    assert _counted(chain) == 6  # and the retirement, among the recent
    commit(chain, [make_tx(council.ministry, AnchorPayload(os.urandom(32)))])
    assert _counted(chain) == 0
    checked.clear()
    commit(chain, [make_tx(council.ministry2, VotePayload(c.tx_id))])  # 2 of 3
    assert _counted(chain) == 1
    assert not checked  # the vote changed C's votes, not whether its action may apply
    commit(chain, [make_tx(council.ministry2, VotePayload(a.tx_id))])
    commit(chain, [make_tx(council.ministry3, VotePayload(a.tx_id))])  # approves A
    # A's, and B's: A revoked credential 1, which B names too
    assert _counted(chain) == 2 and checked == [b.tx_id]
    shown = {p["proposal_id"]: p for p in json.loads(_answer(chain))["proposals"]}
    assert shown[a.tx_id.hex()]["status"] == "in_force"
    assert (shown[b.tx_id.hex()]["status"], shown[b.tx_id.hex()]["reason_code"]) == (
        "cannot_apply", "already_revoked")
    assert shown[c.tx_id.hex()]["status"] == "open"
    f = proposal(council.ministry2, _revoke(council, batch, [6]), head + 60, head + 50)
    commit(chain, [f])
    assert _counted(chain) == 1
    commit_until(chain, head + 11)  # E: open at head + 12 (its expiry), expired after
    assert _counted(chain) == 0
    commit(chain, [])
    assert _counted(chain) == 1
    shown = {p["proposal_id"]: p for p in json.loads(_answer(chain))["proposals"]}
    assert shown[e.tx_id.hex()]["status"] == "expired"


def test_an_approval_no_longer_listed_has_everything_worked_out_again() -> None:
    """A revocation approved, then pushed out of the recent proposals by newer ones, all
    between two answers: nothing left in `g:open` or `g:recent` tells what it wrote."""
    council, chain, batch = _cohort(2)
    head = chain.height
    kept = proposal(council.ministry, _revoke(council, batch, [0]), head + 400, head + 300)
    commit(chain, [kept])
    assert _counted(chain) == 2  # and the retirement
    worked = governance_answers.worked_out
    approve(chain, council, _revoke(council, batch, [0, 1]), head + 200)
    newcomers = [keys_from(f"governance-fragments-pusher-{i}") for i in range(64)]
    for start in range(0, len(newcomers), 16):
        proposals = [proposal(council.ministry, AddMemberAction(
            f"Pusher {n}", "employer", keys.public_key), head + 200, head + 100)
            for n, keys in enumerate(newcomers[start:start + 16], start)]
        commit(chain, proposals)
        commit(chain, [make_tx(council.ministry2, VotePayload(p.tx_id)) for p in proposals])
    assert _counted(chain) > 64 and governance_answers.worked_out == worked + 1
    shown = {p["proposal_id"]: p for p in json.loads(_answer(chain))["proposals"]}
    assert shown[kept.tx_id.hex()]["reason_code"] == "already_revoked"
    held = governance_answers._kept
    assert held is not None and len(held.fragments) <= governance_answers.MAX_KEPT_FRAGMENTS


class _WatchedLock:
    """A lock that says when the thread named "second" comes to take it."""

    def __init__(self, arrived: threading.Event) -> None:
        self._inner = threading.Lock()
        self._arrived = arrived

    def __enter__(self) -> None:
        if threading.current_thread().name == "second":
            self._arrived.set()
        self._inner.acquire()

    def __exit__(self, *_: object) -> None:
        self._inner.release()


@pytest.mark.parametrize("behind", [False, True])
def test_requests_that_arrive_together_after_a_block_work_it_out_once(
        behind: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind: the second request's view was taken a block before the first's (and after
    the answer kept), so it would work out an older answer than the one it waited for."""
    council, chain, batch = _cohort(3)
    _answer(chain)
    commit(chain, [proposal(council.ministry, _revoke(council, batch, [2]),
                            chain.height + 40, chain.height + 30)])
    old = CommittedView(chain)
    commit(chain, [proposal(council.ministry, _revoke(council, batch, [0, 1]),
                            chain.height + 40, chain.height + 30)])
    entered = threading.Event()  # the first request is working the answer out
    arrived = threading.Event()  # the second came to work it out, or to wait for it
    release = threading.Event()
    real = governance_view.frame_json
    frames: list[str] = []

    def held(state: StateReader, head_height: int) -> dict[str, object]:
        frames.append(threading.current_thread().name)
        if threading.current_thread().name == "second":
            arrived.set()
        else:
            entered.set()
            assert release.wait(DEADLINE_S)
        return real(state, head_height)

    monkeypatch.setattr(governance_view, "frame_json", held)
    monkeypatch.setattr(governance_answers, "_work", _WatchedLock(arrived))
    answers: dict[str, bytes] = {}

    def ask() -> None:
        name = threading.current_thread().name
        answers[name] = _asked(chain, old) if behind and name == "second" else _answer(chain)

    first = threading.Thread(target=ask, name="first")
    second = threading.Thread(target=ask, name="second")
    try:
        first.start()
        assert entered.wait(DEADLINE_S)
        second.start()
        assert arrived.wait(DEADLINE_S)
        release.set()
        for thread in (first, second):
            thread.join(DEADLINE_S)
    finally:
        release.set()
        old.release()
    assert frames == ["first"]
    assert answers["first"] == answers["second"] == _in_full(chain)
