"""A proposal's transactions are found in the mempool by their exact bytes
(`Mempool.held_encodings`, which `decode_block` uses), so a validator neither decodes
nor hashes again what it admitted; anything else is decoded from its bytes."""

from __future__ import annotations

import dataclasses

from ledger.payloads import AnchorPayload
from ledger.transactions import decode_transaction
from node.mempool import Mempool, MempoolLimits
from tests.node.conftest import Consortium, make_tx, random_hash


def test_a_pending_transaction_is_found_by_its_exact_bytes_only(net: Consortium) -> None:
    mempool = Mempool(MempoolLimits(10, 1 << 20, 10))
    tx = decode_transaction(make_tx(net.university, AnchorPayload(random_hash())).encode())
    mempool.add(tx, len(tx.encode()))
    same_bytes = bytes(bytearray(tx.encode()))  # another object, as a proposal brings
    forged = dataclasses.replace(tx, signature=bytes(64))  # the same id, other bytes
    other = make_tx(net.university, AnchorPayload(random_hash()))
    found = mempool.held_encodings([same_bytes, forged.encode(), other.encode(), b"\x90"])
    assert found[0] is tx
    assert found[1:] == [None, None, None]


def test_what_leaves_the_mempool_is_no_longer_found(net: Consortium) -> None:
    mempool = Mempool(MempoolLimits(10, 1 << 20, 10))
    committed = make_tx(net.university, AnchorPayload(random_hash()))
    expiring = make_tx(net.university, AnchorPayload(random_hash()), expires_at=2)
    kept = make_tx(net.university, AnchorPayload(random_hash()))
    for tx in (committed, expiring, kept):
        mempool.add(tx, len(tx.encode()))
    mempool.remove([committed.tx_id])
    assert mempool.take_expired(3) == [expiring]
    found = mempool.held_encodings([committed.encode(), expiring.encode(), kept.encode()])
    assert found == [None, None, kept]
    mempool.add(committed, len(committed.encode()))  # pending again, found again
    assert mempool.held_encodings([committed.encode()]) == [committed]


def test_a_refused_transaction_is_not_found(net: Consortium) -> None:
    mempool = Mempool(MempoolLimits(1, 1 << 20, 10))
    first, second = (make_tx(net.university, AnchorPayload(random_hash())) for _ in range(2))
    outcomes, added = mempool.add_many([(first, len(first.encode())),
                                        (second, len(second.encode()))])
    assert added == 1 and outcomes[1] is not None and outcomes[1].code == "mempool_full"
    assert mempool.held_encodings([first.encode(), second.encode()]) == [first, None]
