"""Rules version 11 bounds the evidence one validator can put on chain: of heights the
chain has reached, and at most MAX_EVIDENCE_PER_VALIDATOR records against one validator.
Before it, a validator (or a thief holding its key) signed conflicting prepares at height
10**12 and at 4,095 views of height 1, filled every place for evidence, and genuine
evidence against any other validator was refused for good (`evidence_full`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli.evidence import describe
from cli.language import Words
from ledger import equivocation
from ledger.chain import Chain
from ledger.equivocation import MAX_EVIDENCE_PER_VALIDATOR, evidence_count
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import ReportCompromisePayload, RotateKeyPayload
from ledger.rules_version import EVIDENCE_BOUNDED_FROM
from node.evidence import chain_evidence_page, check_equivocation
from storage.kv import MemoryStore
from tests.node.conftest import CHAIN_ID, commit, keys_from, make_tx
from tests.node.test_governance import Council, make_council
from tests.node.test_ledger_evidence import two_prepares
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
        commit(chain, [make_tx(as_seat, ReportCompromisePayload(seat.public_key, 1))])
        commit(chain, [make_tx(council.university, two_prepares(seat, height=2, view=5))])
        [row] = chain_evidence_page(chain.state)["evidence"]
        assert row["key_compromised_from"] == 1 and row["public_key"] == seat.public_key.hex()
        said = describe(row)
        assert str(said).endswith(": signed with a key Validator 0 (" + row["member_id"][:16]
                                  + ") reported stolen from block 1, so a thief may have made "
                                  "these messages"), str(said)
        assert "подписано ключом, о краже которого" in said.said(Words("ru"))
        # evidence signed with a key no one reported stolen says nothing of it
        commit(chain, [make_tx(council.university, two_prepares(council.validators[2],
                                                                height=3))])
        rows = chain_evidence_page(chain.state)["evidence"]
        assert [r["key_compromised_from"] for r in rows].count(None) == 1
