"""Equivocation evidence on chain: checked by the node's check, one record per slot, capped."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from consensus.messages import (
    Commit,
    Message,
    Prepare,
    SignedMessage,
    encode_signed,
    sign_message,
)
from consensus.types import Digest, Height, ValidatorId, View
from ledger import equivocation
from ledger.chain import Chain
from ledger.equivocation import (
    EVIDENCE_COUNT_KEY,
    EvidenceRecord,
    evidence_count,
    evidence_key,
)
from ledger.identity import KeyPair
from ledger.payloads import SubmitEvidencePayload
from node.evidence import check_equivocation
from storage.kv import MemoryStore
from tests.node.conftest import CHAIN_ID, Consortium, commit, make_tx
from tests.node.test_ledger_refusals import assert_refused


@pytest.fixture
def checked_chain(net: Consortium) -> Iterator[Chain]:
    kv = MemoryStore()
    chain = Chain(kv, net.genesis, evidence_check=check_equivocation)
    # Evidence is of a height the chain has reached (rules version 11 on): the tests' own
    # heights go up to 8.
    for _ in range(8):
        commit(chain, [])
    yield chain
    kv.close()


def signed(keys: KeyPair, message: Message, chain_id: str = CHAIN_ID) -> bytes:
    return encode_signed(sign_message(chain_id.encode(), ValidatorId(keys.member_id), message,
                                      keys.sign_raw))


def two_prepares(keys: KeyPair, height: int = 7, view: int = 1) -> SubmitEvidencePayload:
    return SubmitEvidencePayload(
        signed(keys, Prepare(View(view), Height(height), Digest(os.urandom(32)))),
        signed(keys, Prepare(View(view), Height(height), Digest(os.urandom(32)))))


def test_conflicting_votes_go_on_chain_once(checked_chain: Chain, net: Consortium) -> None:
    chain = checked_chain
    payload = two_prepares(net.ministry)
    tx = make_tx(net.employer, payload)  # any member may submit what it saw
    commit(chain, [tx])
    key = evidence_key(net.ministry.member_id, "conflicting-prepare", 7, 1)
    stored = chain.state.get(key)
    assert stored is not None
    record = EvidenceRecord.decode(stored)
    assert (record.validator_key, record.kind, record.height, record.view, record.tx_id,
            record.submitted_by) == (net.ministry.public_key, "conflicting-prepare", 7, 1,
                                     tx.tx_id, net.employer.member_id)
    assert evidence_count(chain.state) == 1
    # the same slot again, even with other messages, adds nothing
    assert_refused(chain, make_tx(net.employer, two_prepares(net.ministry)),
                   "duplicate_evidence")
    # another slot is another record
    commit(chain, [make_tx(net.employer, two_prepares(net.ministry, height=8))])
    assert evidence_count(chain.state) == 2


@pytest.mark.parametrize("case", ["not_a_validator", "other_chain", "other_height",
                                  "other_kind", "same_block", "junk"])
def test_invalid_evidence(checked_chain: Chain, net: Consortium, case: str) -> None:
    ministry = net.ministry
    first = signed(ministry, Prepare(View(1), Height(7), Digest(b"\x01" * 32)))
    second = {
        "not_a_validator": None,
        "other_chain": signed(ministry, Prepare(View(1), Height(7), Digest(b"\x02" * 32)),
                              "senim-other"),
        "other_height": signed(ministry, Prepare(View(1), Height(8), Digest(b"\x02" * 32))),
        "other_kind": signed(ministry, Commit(View(1), Height(7), Digest(b"\x02" * 32), 0)),
        "same_block": encode_signed(SignedMessage(
            ValidatorId(ministry.member_id), Prepare(View(1), Height(7), Digest(b"\x01" * 32)),
            b"\x00" * 64)),
        "junk": b"\x93junk",
    }[case]
    if second is None:
        payload = two_prepares(net.university)
    else:
        payload = SubmitEvidencePayload(first, second)
    assert_refused(checked_chain, make_tx(net.employer, payload), "invalid_evidence")


def test_a_forged_signature_is_no_evidence(checked_chain: Chain, net: Consortium) -> None:
    real = signed(net.ministry, Prepare(View(1), Height(7), Digest(b"\x01" * 32)))
    message = Prepare(View(1), Height(7), Digest(b"\x02" * 32))
    forged = encode_signed(sign_message(CHAIN_ID.encode(), ValidatorId(net.ministry.member_id),
                                        message, net.university.sign_raw))
    assert_refused(checked_chain, make_tx(net.employer, SubmitEvidencePayload(real, forged)),
                   "invalid_evidence")


def test_a_ledger_without_the_check_refuses_evidence(chain: Chain, net: Consortium) -> None:
    assert_refused(chain, make_tx(net.employer, two_prepares(net.ministry)),
                   "evidence_unchecked")


def test_evidence_is_capped(checked_chain: Chain, net: Consortium,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(equivocation, "MAX_EVIDENCE_RECORDS", 1)
    commit(checked_chain, [make_tx(net.employer, two_prepares(net.ministry, height=3))])
    assert checked_chain.state.get(EVIDENCE_COUNT_KEY) is not None
    assert_refused(checked_chain, make_tx(net.employer, two_prepares(net.ministry, height=4)),
                   "evidence_full")
