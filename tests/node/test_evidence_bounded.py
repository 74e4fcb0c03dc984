"""Rules version 11 bounds the evidence one validator can put on chain: of heights the
chain has reached, and at most MAX_EVIDENCE_PER_VALIDATOR records against one validator.
Before it, a validator (or a thief holding its key) signed conflicting prepares at height
10**12 and at 4,095 views of height 1, filled every place for evidence, and genuine
evidence against any other validator was refused for good (`evidence_full`). Version 13
takes the first evidence of each kind against a member past those caps."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cli.evidence import describe
from cli.language import Words
from consensus.messages import Commit
from consensus.types import Digest, Height, View
from ledger import equivocation
from ledger.chain import Chain
from ledger.equivocation import (
    KINDS_KEPT_PAST_THE_CAPS,
    MAX_EVIDENCE_PER_MEMBER,
    MAX_EVIDENCE_PER_VALIDATOR,
    evidence_count,
)
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import (
    ProposePayload,
    ReportCompromisePayload,
    RotateKeyPayload,
    RulesVersionAction,
    SubmitEvidencePayload,
    VotePayload,
)
from ledger.rules_version import EVIDENCE_BOUNDED_FROM, EVIDENCE_KINDS_KEPT_FROM
from node.evidence import EQUIVOCATION_KINDS, chain_evidence_page, check_equivocation
from storage.kv import MemoryStore
from tests.node.conftest import CHAIN_ID, commit, keys_from, make_tx
from tests.node.test_governance import Council, make_council
from tests.node.test_ledger_evidence import signed, two_prepares
from tests.node.test_ledger_refusals import assert_refused


def council_chain(version: int) -> Iterator[tuple[Council, Chain]]:
    council = make_council(rules_version=version)
    kv = MemoryStore()
    yield council, Chain(kv, council.genesis, evidence_check=check_equivocation)
    kv.close()


@pytest.fixture
def bounded() -> Iterator[tuple[Council, Chain]]:
    yield from council_chain(EVIDENCE_BOUNDED_FROM)


def test_evidence_of_a_height_the_chain_has_not_reached_is_refused(
        bounded: tuple[Council, Chain]) -> None:
    council, chain = bounded
    byzantine, reporter = council.validators[1], council.university
    commit(chain, [])  # the chain at height 1: the next block is 2
    assert_refused(chain, make_tx(reporter, two_prepares(byzantine, height=10**12, view=7)),
                   "evidence_ahead")
    assert_refused(chain, make_tx(reporter, two_prepares(byzantine, height=3)),
                   "evidence_ahead")
    commit(chain, [make_tx(reporter, two_prepares(byzantine, height=2))])  # its own block's
    assert evidence_count(chain.state) == 1


def test_one_validator_cannot_take_the_places_of_the_evidence_against_others(
        bounded: tuple[Council, Chain], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(equivocation, "MAX_EVIDENCE_RECORDS", MAX_EVIDENCE_PER_VALIDATOR + 2)
    council, chain = bounded
    byzantine, honest_but_caught = council.validators[1], council.validators[2]
    commit(chain, [])
    commit(chain, [make_tx(byzantine, two_prepares(byzantine, height=1, view=view))
                   for view in range(MAX_EVIDENCE_PER_VALIDATOR)])  # against itself
    assert evidence_count(chain.state, byzantine.member_id) == MAX_EVIDENCE_PER_VALIDATOR
    assert_refused(chain, make_tx(byzantine, two_prepares(byzantine, height=1, view=999)),
                   "evidence_enough")
    # the places left take evidence against another validator
    commit(chain, [make_tx(council.university, two_prepares(honest_but_caught, height=2))])
    assert evidence_count(chain.state) == MAX_EVIDENCE_PER_VALIDATOR + 1
    assert evidence_count(chain.state, honest_but_caught.member_id) == 1


@pytest.mark.parametrize("version", [1, EVIDENCE_BOUNDED_FROM - 1])
def test_before_version_11_a_chain_replays_as_it_committed(version: int) -> None:
    """What earlier rules took stays taken: a chain that committed such evidence replays."""
    for council, chain in council_chain(version):
        byzantine = council.validators[1]
        commit(chain, [make_tx(byzantine, two_prepares(byzantine, height=10**12, view=7))])
        commit(chain, [make_tx(byzantine, two_prepares(byzantine, height=1, view=view))
                       for view in range(MAX_EVIDENCE_PER_VALIDATOR + 1)])
        assert evidence_count(chain.state) == MAX_EVIDENCE_PER_VALIDATOR + 2
        assert evidence_count(chain.state, byzantine.member_id) == 0  # counted from 11 on


def test_evidence_signed_with_a_key_reported_stolen_says_so() -> None:
    """A validator rotated away from a key and reported it stolen from block 1; then
    messages signed with that key, at a height it held it, were submitted as evidence:
    `senim evidence list` blamed the member and said nothing of the theft."""
    for council, chain in council_chain(EVIDENCE_BOUNDED_FROM):
        seat = council.validators[1]
        commit(chain, [])
        # a key keys_from made certifies the blocks after the rotation (a rotated member
        # validates under its new key's id)
        fresh = keys_from("validator0-rotated")
        as_seat = KeyPair.from_seed(fresh.seed, seat.member_id)
        commit(chain, [make_tx(seat, RotateKeyPayload(fresh.public_key, prove_possession(
            fresh, CHAIN_ID, seat.member_id)))])
        rotated_at = chain.height
        commit(chain, [make_tx(as_seat, ReportCompromisePayload(seat.public_key, 1))])
        # the old key certifies a block or two after the rotation: a thief's time too
        commit(chain, [make_tx(council.university, two_prepares(seat, height=2, view=5)),
                       make_tx(council.university, two_prepares(seat, height=rotated_at + 1,
                                                                 view=5))])
        rows = chain_evidence_page(chain.state)["evidence"]
        assert [r["key_compromised_from"] for r in rows] == [1, 1], rows
        row = rows[0]
        assert row["public_key"] == seat.public_key.hex()
        said = describe(row)
        assert str(said).endswith(": signed with a key of Validator 0 ("
                                  + row["member_id"][:16] + ") distrusted from block 1 "
                                  "(reported stolen, or replaced), so a thief may have made "
                                  "these messages"), str(said)
        assert "которому не доверяют с блока 1" in said.said(Words("ru"))
        # evidence signed with a key no one reported stolen says nothing of it
        commit(chain, [make_tx(council.university, two_prepares(council.validators[2],
                                                                height=3))])
        rows = chain_evidence_page(chain.state)["evidence"]
        assert [r["key_compromised_from"] for r in rows].count(None) == 1, rows


def two_commits(keys: KeyPair, height: int, view: int = 0) -> SubmitEvidencePayload:
    return SubmitEvidencePayload(
        *(signed(keys, Commit(View(view), Height(height), Digest(os.urandom(32)), 0))
          for _ in range(2)))


@pytest.mark.parametrize("self_reported", [True, False])
def test_a_flood_of_prepares_does_not_keep_the_first_commit_off_the_chain(
        self_reported: bool) -> None:
    """A validator filled its places with conflicting prepares of its own choosing (or had
    a friend submit them), then signed two commits for one height: the evidence of the
    attack itself was refused as `evidence_enough`. From version 13 the first of each kind
    against a member goes on chain past its caps; the second does not."""
    for council, chain in council_chain(EVIDENCE_KINDS_KEPT_FROM):
        byzantine = council.validators[1]
        submitter = byzantine if self_reported else council.university
        commit(chain, [])
        commit(chain, [make_tx(submitter, two_prepares(byzantine, height=1, view=view))
                       for view in range(MAX_EVIDENCE_PER_VALIDATOR)])
        assert_refused(chain, make_tx(council.university, two_prepares(byzantine, height=2)),
                       "evidence_enough")
        commit(chain, [make_tx(council.university, two_commits(byzantine, height=2))])
        assert evidence_count(chain.state, byzantine.member_id) == (
            MAX_EVIDENCE_PER_VALIDATOR + 1)
        assert [r["kind"] for r in chain_evidence_page(chain.state)["evidence"]].count(
            "conflicting-commit") == 1
        assert_refused(chain, make_tx(council.university, two_commits(byzantine, height=1)),
                       "evidence_enough")


def test_before_version_13_the_first_commit_past_the_caps_is_refused() -> None:
    for council, chain in council_chain(EVIDENCE_KINDS_KEPT_FROM - 1):
        byzantine = council.validators[1]
        commit(chain, [])
        commit(chain, [make_tx(byzantine, two_prepares(byzantine, height=1, view=view))
                       for view in range(MAX_EVIDENCE_PER_VALIDATOR)])
        assert_refused(chain, make_tx(council.university, two_commits(byzantine, height=2)),
                       "evidence_enough")


def test_the_kinds_kept_are_the_kinds_the_check_proves() -> None:
    assert set(EQUIVOCATION_KINDS.values()) == KINDS_KEPT_PAST_THE_CAPS


def test_no_round_is_held_at_height_0(bounded: tuple[Council, Chain]) -> None:
    council, chain = bounded
    commit(chain, [])
    assert_refused(chain, make_tx(council.university, two_prepares(council.validators[1],
                                                                   height=0, view=5)),
                   "evidence_height_zero")


def test_a_member_rotating_its_key_does_not_get_new_places(
        bounded: tuple[Council, Chain]) -> None:
    """Counted per validator key alone, each rotation gave a member 16 places more: 56
    rotations, 896 records, and five members filled the chain again."""
    council, chain = bounded
    seat = council.validators[1]
    signer, consensus = seat, seat
    for rotation in range(MAX_EVIDENCE_PER_MEMBER // MAX_EVIDENCE_PER_VALIDATOR):
        commit(chain, [])
        height = chain.height
        commit(chain, [make_tx(council.university, two_prepares(consensus, height=height,
                                                                view=view))
                       for view in range(MAX_EVIDENCE_PER_VALIDATOR)])
        fresh = keys_from(f"validator0-rotation-{rotation}")
        commit(chain, [make_tx(signer, RotateKeyPayload(fresh.public_key, prove_possession(
            fresh, CHAIN_ID, seat.member_id)))])
        signer, consensus = KeyPair.from_seed(fresh.seed, seat.member_id), fresh
        commit(chain, [])
        commit(chain, [])
    commit(chain, [])
    assert_refused(chain, make_tx(council.university, two_prepares(consensus,
                                                                   height=chain.height)),
                   "evidence_enough")  # its fifth key: the member's places are taken
    commit(chain, [make_tx(council.university, two_prepares(council.validators[2],
                                                            height=chain.height))])


def test_a_chain_filled_before_version_11_takes_evidence_under_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The cap from version 11 counts its own records: a chain flooded under version 10 (or
    in the blocks before the upgrade's height) took no evidence again, for good."""
    monkeypatch.setattr(equivocation, "MAX_EVIDENCE_RECORDS", 2)
    for council, chain in council_chain(EVIDENCE_BOUNDED_FROM - 1):
        byzantine = council.validators[1]
        commit(chain, [make_tx(byzantine, two_prepares(byzantine, height=1, view=view))
                       for view in range(2)])
        assert_refused(chain, make_tx(council.university,
                                      two_prepares(council.validators[2], height=1)),
                       "evidence_full")
        effective = chain.height + 4
        upgrade = make_tx(council.ministry, ProposePayload(
            RulesVersionAction(EVIDENCE_BOUNDED_FROM), effective, effective - 2))
        commit(chain, [upgrade])
        commit(chain, [make_tx(council.ministry2, VotePayload(upgrade.tx_id))])
        while chain.height < effective - 1:
            commit(chain, [])
        commit(chain, [make_tx(council.university,
                               two_prepares(council.validators[2], height=chain.height))])
        assert evidence_count(chain.state) == 3
