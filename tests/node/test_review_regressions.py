"""Regressions from the design review: each test fails on the code before its fix."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.blocks import transactions_root
from ledger.chain import Chain
from ledger.credential_documents import parse_document
from ledger.credentials import make_batch
from ledger.errors import InvalidDocument
from ledger.facts import LocalFacts
from ledger.payloads import AnchorPayload, IssueBatchPayload, SuspendPayload
from ledger.verification import verify_credential
from node.mempool import Mempool, MempoolLimits
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_tx,
    random_hash,
)


def test_a_swapped_signature_changes_the_block_hash(net: Consortium) -> None:
    tx = make_tx(net.university, AnchorPayload(random_hash()))
    forged = dataclasses.replace(tx, signature=bytes(64))
    assert forged.tx_id == tx.tx_id  # the id does not cover the signature...
    assert transactions_root([forged]) != transactions_root([tx])  # ...the block does


def test_the_mempool_vouches_only_for_the_signature_it_checked(net: Consortium) -> None:
    mempool = Mempool(MempoolLimits(10, 1 << 20, 10))
    tx = make_tx(net.university, AnchorPayload(random_hash()))
    mempool.add(tx, len(tx.encode()))
    forged = dataclasses.replace(tx, signature=bytes(64))
    assert mempool.already_verified([tx]) == {tx.tx_id}
    assert mempool.already_verified([forged]) == frozenset()


def test_an_issue_and_a_suspension_in_one_block_agree_with_verification(
        net: Consortium, chain: Chain) -> None:
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch([{"name": "Dana"}], "diploma", CHAIN_ID, net.university.member_id,
                       "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 1)),
                   make_tx(net.ministry, SuspendPayload(net.university.member_id,
                                                                 "investigation"))])
    verdict = verify_credential(documents_of(batch)[0], LocalFacts(chain.state, "t"), CHAIN_ID)
    assert verdict.status == "valid", verdict.reason


def test_a_lone_surrogate_in_a_field_is_a_clear_refusal(net: Consortium) -> None:
    batch = make_batch([{"name": "Dana"}], "diploma", CHAIN_ID, net.university.member_id, "U")
    document = documents_of(batch)[0]
    document["fields"]["name"]["value"] = "\ud800"
    with pytest.raises(InvalidDocument, match="Unicode"):
        parse_document(document)
