"""Shared fixtures for node tests: a small consortium, chains on MemoryStore, helpers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from consensus.quorum import quorum_size
from ledger.admission import prove_admission
from ledger.bft_time import CommitTimes
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.chain_run import Execution
from ledger.genesis import Genesis, GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, AddMemberPayload, Payload
from ledger.payloads_consortium import AddMemberAction
from ledger.transactions import Transaction, build_transaction
from node.api import make_app
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from node.validators import ValidatorSets
from storage.kv import KeyValueStore, MemoryStore
from tests.node.certificates import make_quorum_certificate

CHAIN_ID = "senim-test"
GENESIS_TIME_MS = 1_700_000_000_000
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
DEFAULT_EXPIRY = 1_000


# Every key `keys_from` made, by public key: blocks are certified by whichever of
# them form the validator set in force at the block's height.
_KNOWN_KEYS: dict[bytes, KeyPair] = {}


def keys_from(label: str) -> KeyPair:
    """Deterministic keys per label, so genesis hashes are stable across runs."""
    keys = KeyPair.from_seed(label.encode().ljust(32, b".")[:32])
    _KNOWN_KEYS[keys.public_key] = keys
    return keys


def certifiers(chain: Chain, height: int, fallback: KeyPair) -> list[KeyPair]:
    """A quorum of the validators in force at `height`, or `fallback` alone when a test
    made a validator's key some other way (such a test checks no certificates)."""
    in_force = ValidatorSets.for_chain(chain).at(height)
    known = [_KNOWN_KEYS.get(key) for key in in_force.public_keys.values()]
    if any(k is None for k in known):
        return [fallback]
    return [k for k in known if k is not None][:quorum_size(len(known))]


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
    genesis = current_rules_genesis(chain_id, GENESIS_TIME_MS, members)
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


@pytest.fixture
async def core(net: Consortium) -> AsyncIterator[NodeCore]:
    """A node's core on an empty store, with room for large submissions (a test file
    wanting other mempool limits defines its own `core`)."""
    node = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(max_txs=10_000, max_bytes=64 << 20, max_per_sender=10_000),
                    NodeMetrics())
    yield node
    node.worker.shutdown(wait=True)
    node.public_work.close()


def make_tx(keys: KeyPair, payload: Payload, expires_at: int = DEFAULT_EXPIRY,
            chain_id: str = CHAIN_ID) -> Transaction:
    return build_transaction(keys, chain_id, payload, expires_at)


def next_time(chain: Chain) -> int:
    return chain.head_header.time_ms + 1_000


def commit_times(chain: Chain) -> CommitTimes:
    """How a node reads a last commit's vote times: checked against the validators in
    force at the committed block's height."""
    return ValidatorSets.for_chain(chain).commit_times


def bft_basis(chain: Chain) -> tuple[bytes, int]:
    """The next block's last commit and the (BFT) time it gives, as a proposer builds."""
    return chain.next_block_basis(commit_times(chain))


def block_basis(chain: Chain, time_ms: int | None = None) -> tuple[bytes, int]:
    """A last commit for the next block and the time it gives that block.

    Without `time_ms`: the head's stored certificate (`bft_basis`). With it: a fresh
    certificate of the head by the lone validator whose vote was cast at `time_ms`,
    so the next block is valid at that time (if it is after the head's; block 1's
    time is always the genesis time + 1 ms, so at height 0 the block is valid only
    if never re-validated)."""
    if time_ms is None:
        return bft_basis(chain)
    if chain.height == 0:
        return b"", time_ms
    signers = certifiers(chain, chain.height, keys_from("ministry"))
    return make_quorum_certificate(signers, chain.chain_id, chain.height, 0, chain.head_hash,
                                   time_ms), time_ms


def commit(chain: Chain, txs: list[Transaction], time_ms: int | None = None,
           proposer: KeyPair | None = None) -> Block:
    """Build a block of `txs` on the head, insist every one is accepted, commit it.

    The block's time is its BFT time (see `block_basis`); its own certificate's vote
    says a second later, which is then the next block's time by default."""
    return commit_execution(chain, txs, time_ms, proposer).block


def commit_execution(chain: Chain, txs: list[Transaction], time_ms: int | None = None,
                     proposer: KeyPair | None = None) -> Execution:
    """`commit`, giving the execution committed (what the engine settles pending work by)."""
    keys = proposer or keys_from("ministry")
    last_commit, when = block_basis(chain, time_ms)
    execution = chain.build(txs, keys.member_id, 0, when, last_commit=last_commit)
    assert not execution.rejected, [(e.code, e.message) for _, e in execution.rejected]
    header = execution.header
    signers = certifiers(chain, header.height, keys)
    chain.commit(execution, make_quorum_certificate(signers, chain.chain_id, header.height, 0,
                                                    header.block_hash, header.time_ms + 1_000))
    return execution


def accredit(net: Consortium, issuer: KeyPair, types: list[str],
             start_ms: int = GENESIS_TIME_MS, end_ms: int = GENESIS_TIME_MS + 10 * YEAR_MS,
             ) -> Transaction:
    return make_tx(net.ministry, AccreditPayload(issuer.member_id, tuple(types), start_ms,
                                                  end_ms))


def admission(keys: KeyPair, name: str, role: str,
              chain_id: str = CHAIN_ID) -> AddMemberPayload:
    """A ministry's own admission of `keys`' holder, with the holder's proof of possession
    that the current rules ask for (`ledger.admission`)."""
    return AddMemberPayload(name, role, keys.public_key,
                            prove_admission(keys, chain_id, name, role))


def admission_action(keys: KeyPair, name: str, role: str,
                     chain_id: str = CHAIN_ID) -> AddMemberAction:
    """Governance's admission of `keys`' holder, with its proof, as `admission`."""
    return AddMemberAction(name, role, keys.public_key,
                           prove_admission(keys, chain_id, name, role))


def snapshot(kv: KeyValueStore) -> dict[bytes, bytes]:
    return dict(kv.iterate_prefix(b""))


def random_hash() -> bytes:
    return os.urandom(32)


def documents_of(batch: Any) -> list[dict[str, Any]]:
    """The documents of an IssuedBatch (built on demand by `documents()`)."""
    documents = batch.documents
    return list(documents() if callable(documents) else documents)


@dataclass
class Budget:
    core: NodeCore
    app: web.Application
    client: TestClient[web.Request, web.Application]


@pytest.fixture
async def budget(net: Consortium) -> AsyncIterator[Budget]:
    """A node's API with no address exempt from the client limits."""
    core = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(10_000, 64 << 20, 10_000), NodeMetrics())
    app = make_app(core, "budget", rate_exempt=frozenset())
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Budget(core, app, client)
    finally:
        await client.close()
        core.worker.shutdown(wait=True)
