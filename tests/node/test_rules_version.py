"""The rules version (`ledger.rules_version`): in genesis, scheduled by governance, read by
the ledger rules for the block being executed, and a version this release does not know
stops block execution before anything is judged.

The gated rule is `duplicate_proposal` (from version 2): a version 1 chain that committed
a duplicate proposal must replay as it was committed.
"""

from __future__ import annotations

import dataclasses

import pytest

import ledger.rules_version as rules_version
from ledger.chain import Chain
from ledger.codec import encode, tagged_hash
from ledger.errors import ConfigError, MalformedInput, RulesVersionUnknown
from ledger.genesis import genesis_from_json
from ledger.governance import open_proposals
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AnchorPayload,
    ProposePayload,
    RulesVersionAction,
    VotePayload,
    decode_payload,
)
from ledger.rules_version import (
    MAX_KNOWN_RULES_VERSION,
    RULES_VERSION_KEY,
    rules_version_at,
    scheduled_rules_versions,
)
from storage.kv import MemoryStore
from tests.node.conftest import commit, commit_times, make_tx, snapshot
from tests.node.test_governance import (
    Council,
    approve,
    commit_until,
    make_council,
    member_action,
    proposal,
)
from tests.node.test_ledger_refusals import assert_refused

UNKNOWN = MAX_KNOWN_RULES_VERSION + 1


def _chain(council: Council) -> Chain:
    return Chain(MemoryStore(), council.genesis)


def _replay(source: Chain, council: Council) -> Chain:
    """A fresh store of the same genesis that validates and commits every block of
    `source`, as a node syncing it from genesis does."""
    replica = _chain(council)
    for height in range(1, source.height + 1):
        block, certificate = source.get_block(height), source.get_certificate(height)
        assert block is not None and certificate is not None
        replica.commit(replica.validate(block, commit_times=commit_times(replica)),
                       certificate)
    return replica


def version_1_council() -> Council:
    """A council whose genesis states no rules version (version 1, as every chain made
    before versions existed): where this file's gated rule, schedules and genesis start."""
    council = make_council()
    return dataclasses.replace(council,
                               genesis=dataclasses.replace(council.genesis, rules_version=None))


# ---- the gate, both ways -------------------------------------------------------------------

def test_a_version_1_chain_accepts_a_duplicate_proposal_and_replays_it() -> None:
    council = version_1_council()
    chain = _chain(council)
    retire = member_action(ACTION_RETIRE_MEMBER, council.university)
    commit(chain, [proposal(council.ministry, retire, 20, 10)])
    commit(chain, [proposal(council.ministry2, retire, 20, 12)])  # identical: accepted
    assert len(open_proposals(chain.state, chain.height + 1)) == 2
    replica = _replay(chain, council)
    assert (replica.height, replica.state.root) == (chain.height, chain.state.root)


def test_from_the_scheduled_height_the_duplicate_is_refused() -> None:
    council = version_1_council()
    chain = _chain(council)
    approve(chain, council, RulesVersionAction(2), 8)  # proposed in block 1, approved in 2
    assert [rules_version_at(chain.state, h) for h in (7, 8, 9)] == [1, 2, 2]
    retire = member_action(ACTION_RETIRE_MEMBER, council.university)
    commit(chain, [proposal(council.ministry, retire, 30, 20)])
    commit_until(chain, 6)
    commit(chain, [proposal(council.ministry2, retire, 30, 20)])  # block 7: version 1
    refusal = assert_refused(chain, proposal(council.ministry3, retire, 30, 20),
                             "duplicate_proposal")  # block 8: version 2
    assert "vote for it instead" in refusal.message
    assert chain.height == 7
    replica = _replay(chain, council)
    assert replica.state.root == chain.state.root


def test_a_genesis_may_start_at_version_2() -> None:
    council = make_council(rules_version=2)
    chain = _chain(council)
    assert rules_version_at(chain.state, 1) == 2
    retire = member_action(ACTION_RETIRE_MEMBER, council.university)
    commit(chain, [proposal(council.ministry, retire, 20, 10)])
    assert_refused(chain, proposal(council.ministry2, retire, 20, 12), "duplicate_proposal")


# ---- scheduling: only upwards, in order ----------------------------------------------------

def test_a_rules_version_must_rise_and_follow_the_scheduled_one() -> None:
    council = version_1_council()
    chain = _chain(council)

    refusal = assert_refused(chain, proposal(council.ministry, RulesVersionAction(1), 10, 8),
                             "rules_version_not_above")
    assert "already version 1 from height 0" in refusal.message
    approve(chain, council, RulesVersionAction(UNKNOWN), 20)
    assert scheduled_rules_versions(chain.state, chain.height) == [
        rules_version.RulesVersionChange(20, UNKNOWN)]
    for version in (UNKNOWN, 2):
        assert_refused(chain, proposal(council.ministry, RulesVersionAction(version), 30, 28),
                       "rules_version_not_above")
    for effective in (15, 20):
        refusal = assert_refused(chain, proposal(council.ministry,
                                                 RulesVersionAction(UNKNOWN + 1), effective,
                                                 effective - 2), "rules_version_out_of_order")
        assert "scheduled from height 20" in refusal.message
    commit(chain, [proposal(council.ministry, RulesVersionAction(UNKNOWN + 1), 25, 23)])


def test_the_approving_vote_is_refused_once_a_higher_version_is_scheduled() -> None:
    council = version_1_council()
    chain = _chain(council)
    lower = proposal(council.ministry, RulesVersionAction(2), 30, 25)
    higher = proposal(council.ministry, RulesVersionAction(UNKNOWN), 20, 15)
    commit(chain, [lower, higher])  # both open: nothing scheduled yet
    commit(chain, [make_tx(council.ministry2, VotePayload(higher.tx_id))])
    assert_refused(chain, make_tx(council.ministry2, VotePayload(lower.tx_id)),
                   "rules_version_not_above")


def test_the_action_decodes_and_bad_versions_are_malformed() -> None:
    payload = ProposePayload(RulesVersionAction(7), 30, 20)
    assert decode_payload(payload.KIND, payload.to_array()) == payload
    for bad in (0, -1, "2", True, rules_version.MAX_RULES_VERSION + 1):
        with pytest.raises(MalformedInput, match="rules version"):
            decode_payload(payload.KIND, [["set_rules_version", bad], 30, 20])
    with pytest.raises(MalformedInput):
        decode_payload(payload.KIND, [["set_rules_version"], 30, 20])


# ---- a version this release does not know --------------------------------------------------

def test_a_block_under_an_unknown_version_is_neither_built_nor_judged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    council = version_1_council()
    chain = _chain(council)
    approve(chain, council, RulesVersionAction(UNKNOWN), 6)
    commit_until(chain, 5)
    before, root = snapshot(chain.kv), chain.state.root
    anchor = make_tx(council.ministry, AnchorPayload(b"\x07" * 32))
    with pytest.raises(RulesVersionUnknown) as info:
        commit(chain, [anchor])
    assert (info.value.version, info.value.height, info.value.known) == (UNKNOWN, 6,
                                                                       MAX_KNOWN_RULES_VERSION)
    assert f"version {UNKNOWN} from block 6" in str(info.value)
    assert "upgrade" in str(info.value)

    # a block made by a release that knows the version: this one does not judge it
    monkeypatch.setattr(rules_version, "MAX_KNOWN_RULES_VERSION", UNKNOWN)
    upgraded = _replay(chain, council)
    commit(upgraded, [anchor])
    block = upgraded.get_block(6)
    assert block is not None
    monkeypatch.setattr(rules_version, "MAX_KNOWN_RULES_VERSION", MAX_KNOWN_RULES_VERSION)
    with pytest.raises(RulesVersionUnknown):
        chain.validate(block, commit_times=commit_times(chain))
    assert snapshot(chain.kv) == before and chain.state.root == root

    # after the upgrade the same store goes on from block 6
    monkeypatch.setattr(rules_version, "MAX_KNOWN_RULES_VERSION", UNKNOWN)
    certificate = upgraded.get_certificate(6)
    assert certificate is not None
    chain.commit(chain.validate(block, commit_times=commit_times(chain)), certificate)
    assert chain.state.root == upgraded.state.root


def test_a_sync_run_ends_before_the_version_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """So a node that stops there has committed every block before it."""
    council = version_1_council()
    chain = _chain(council)
    approve(chain, council, RulesVersionAction(UNKNOWN), 6)
    monkeypatch.setattr(rules_version, "MAX_KNOWN_RULES_VERSION", UNKNOWN)
    commit_until(chain, 7)
    monkeypatch.setattr(rules_version, "MAX_KNOWN_RULES_VERSION", MAX_KNOWN_RULES_VERSION)
    replica = _chain(council)
    run = replica.start_run()
    for height in range(1, 6):
        assert not run.ended
        block = chain.get_block(height)
        assert block is not None
        replica.validate(block, commit_times=commit_times(replica), run=run)
    assert run.ended
    replica.commit_run([(e, chain.get_certificate(e.header.height) or b"")
                        for e in run.executions])
    assert replica.height == 5
    block = chain.get_block(6)
    assert block is not None
    with pytest.raises(RulesVersionUnknown):
        replica.validate(block, commit_times=commit_times(replica), run=replica.start_run())


# ---- genesis ----------------------------------------------------------------------------------

def test_a_genesis_that_states_no_version_keeps_its_hash_and_state() -> None:
    genesis = version_1_council().genesis
    members = [[m.name, m.role, m.public_key, m.validator] for m in genesis.members]
    policy = genesis.policy
    # the hash as computed before rules versions existed
    assert genesis.genesis_hash == tagged_hash(b"senim/genesis/v1", encode([
        genesis.chain_id, genesis.genesis_time_ms, members,
        [policy.threshold, policy.voters, policy.min_validators]]))
    assert RULES_VERSION_KEY not in genesis.initial_state()
    assert "rules_version" not in genesis.to_json()
    stated = genesis_from_json({**genesis.to_json(), "rules_version": 1})
    assert stated.genesis_hash == genesis.genesis_hash
    assert stated.initial_state() == genesis.initial_state()
    assert stated.to_json()["rules_version"] == 1


def test_a_genesis_at_version_2_is_another_chain() -> None:
    genesis = version_1_council().genesis
    later = genesis_from_json({**genesis.to_json(), "rules_version": 2})
    assert later.rules_version == 2
    assert later.genesis_hash != genesis.genesis_hash
    assert genesis_from_json(later.to_json()) == later
    assert RULES_VERSION_KEY in later.initial_state()
    for bad in (0, -3, "2", 2.0, True, None, rules_version.MAX_RULES_VERSION + 1):
        document = {**genesis.to_json(), "rules_version": bad}
        if bad is None:
            assert genesis_from_json(document) == genesis
            continue
        with pytest.raises(ConfigError) as info:
            genesis_from_json(document)
        assert info.value.field == "genesis.rules_version"
