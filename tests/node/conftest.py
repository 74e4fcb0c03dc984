"""Shared fixtures for node tests: a small consortium, chains on MemoryStore, helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ledger.blocks import Block
from ledger.chain import Chain
from ledger.genesis import Genesis, GenesisMember
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, Payload
from ledger.transactions import Transaction, build_transaction
from storage.kv import KeyValueStore, MemoryStore
from tests.node.certificates import make_certificate

CHAIN_ID = "senim-test"
GENESIS_TIME_MS = 1_700_000_000_000
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
DEFAULT_EXPIRY = 1_000


def keys_from(label: str) -> KeyPair:
    """Deterministic keys per label, so genesis hashes are stable across runs."""
    return KeyPair.from_seed(label.encode().ljust(32, b".")[:32])


@dataclass(frozen=True)
class Consortium:
    ministry: KeyPair
    university: KeyPair
    university2: KeyPair
    employer: KeyPair
    outsider: KeyPair  # never a member
    genesis: Genesis


def make_consortium(chain_id: str = CHAIN_ID) -> Consortium:
    ministry = keys_from("ministry")
    university = keys_from("university")
    university2 = keys_from("university2")
    employer = keys_from("employer")
    members = (
        GenesisMember("Ministry of Science", "ministry", ministry.public_key, True),
        GenesisMember("KazNU", "university", university.public_key, False),
        GenesisMember("ENU", "university", university2.public_key, False),
        GenesisMember("Kaspi", "employer", employer.public_key, False),
    )
    genesis = Genesis(chain_id, GENESIS_TIME_MS, members)
    return Consortium(ministry, university, university2, employer, keys_from("outsider"),
                      genesis)


@pytest.fixture
def net() -> Consortium:
    return make_consortium()


@pytest.fixture
def chain(net: Consortium) -> Iterator[Chain]:
    kv = MemoryStore()
    yield Chain(kv, net.genesis)
    kv.close()


def make_tx(keys: KeyPair, payload: Payload, expires_at: int = DEFAULT_EXPIRY,
            chain_id: str = CHAIN_ID) -> Transaction:
    return build_transaction(keys, chain_id, payload, expires_at)


def next_time(chain: Chain) -> int:
    return chain.head_header.time_ms + 1_000


def commit(chain: Chain, txs: list[Transaction], time_ms: int | None = None,
           proposer: KeyPair | None = None) -> Block:
    """Build a block of `txs` on the head, insist every one is accepted, commit it."""
    when = next_time(chain) if time_ms is None else time_ms
    keys = proposer or keys_from("ministry")
    execution = chain.build(txs, keys.member_id, 0, when)
    assert not execution.rejected, [(e.code, e.message) for _, e in execution.rejected]
    header = execution.header
    chain.commit(execution, make_certificate(keys, chain.chain_id, header.height, 0,
                                             header.block_hash))
    return execution.block


def accredit(net: Consortium, issuer: KeyPair, types: list[str],
             start_ms: int = GENESIS_TIME_MS, end_ms: int = GENESIS_TIME_MS + 10 * YEAR_MS,
             ) -> Transaction:
    return make_tx(net.ministry, AccreditPayload(issuer.member_id, tuple(types), start_ms,
                                                  end_ms))


def snapshot(kv: KeyValueStore) -> dict[bytes, bytes]:
    return dict(kv.iterate_prefix(b""))


def random_hash() -> bytes:
    return os.urandom(32)


def documents_of(batch: Any) -> list[dict[str, Any]]:
    """The documents of an IssuedBatch (built on demand by `documents()`)."""
    documents = batch.documents
    return list(documents() if callable(documents) else documents)
