"""BFT time: a block's time is the median of its last commit's vote times, never a primary's pick.

Four validators (f = 1, quorum 3). Block h+1 carries a certificate of block h;
each vote in it carries (and signs) its validator's clock.
"""

from __future__ import annotations

import os
import random

import pytest

from consensus import Digest, Height, ValidatorId, View, commit_signing_bytes, encode_certificate
from consensus.certificate import make_certificate
from ledger.bft_time import median_time, next_block_time
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.errors import MalformedInput
from ledger.genesis import Genesis, GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from node.validators import ValidatorSet
from storage.kv import MemoryStore
from tests.node.conftest import keys_from, make_tx, snapshot

CHAIN_ID = "senim-bft-time"
GENESIS_MS = 1_700_000_000_000
WILD_MS = 10 * 365 * 86_400_000  # a Byzantine clock ten years off
VALIDATORS = [keys_from(f"bft-validator-{i}") for i in range(4)]
REGISTRAR = keys_from("bft-registrar")


def genesis() -> Genesis:
    members = [GenesisMember(f"Ministry {i}", "ministry", k.public_key, True)
               for i, k in enumerate(VALIDATORS)]
    members.append(GenesisMember("Registrar", "university", REGISTRAR.public_key, False))
    return current_rules_genesis(CHAIN_ID, GENESIS_MS, tuple(members))


GENESIS = genesis()
COMMIT_TIMES = ValidatorSet.from_genesis(GENESIS).commit_times


def certify(block: Block, votes: dict[KeyPair, int]) -> bytes:
    """A commit certificate of `block`: each signer's vote carries the given clock."""
    height, digest = Height(block.header.height), Digest(block.block_hash)
    signed = {ValidatorId(k.member_id): (time_ms, k.sign_raw(commit_signing_bytes(
        CHAIN_ID.encode(), height, View(0), digest, time_ms))) for k, time_ms in votes.items()}
    return encode_certificate(make_certificate(height, View(0), digest, signed))


def propose(chain: Chain, last_commit: bytes, time_ms: int | None = None) -> Block:
    """The next block with `last_commit`; at the time it gives unless `time_ms` says otherwise."""
    if time_ms is None:
        time_ms = next_block_time(chain.head_header, last_commit, COMMIT_TIMES)
    tx = make_tx(REGISTRAR, AnchorPayload(os.urandom(32)), chain_id=CHAIN_ID)
    proposer = VALIDATORS[(chain.height + 1) % 4]
    return chain.build([tx], proposer.member_id, 0, time_ms, last_commit=last_commit).block


def extend(chain: Chain, votes: dict[KeyPair, int]) -> bytes:
    """Validate and commit the next block; return the certificate its votes made."""
    last_commit = chain.get_certificate(chain.height) or b"" if chain.height else b""
    block = propose(chain, last_commit)
    execution = chain.validate(block, commit_times=COMMIT_TIMES)
    certificate = certify(block, votes)
    chain.commit(execution, certificate)
    return certificate


@pytest.fixture
def chain() -> Chain:
    chain = Chain(MemoryStore(), GENESIS)
    honest = {k: GENESIS_MS + 5_000 for k in VALIDATORS[:3]}
    extend(chain, honest)
    assert chain.head_header.time_ms == GENESIS_MS + 1  # block 1: the genesis time's floor
    return chain


@pytest.mark.parametrize("wild_ms", [WILD_MS, -GENESIS_MS + 1])
def test_a_wild_clock_cannot_move_the_time_beyond_the_honest_range(chain: Chain,
                                                                    wild_ms: int) -> None:
    honest = [GENESIS_MS + 60_000, GENESIS_MS + 61_000]
    votes = dict(zip(VALIDATORS[:2], honest, strict=True))
    votes[VALIDATORS[3]] = GENESIS_MS + wild_ms  # the Byzantine validator's vote
    extend(chain, votes)  # block 2, certified by these votes
    extend(chain, votes)  # block 3, whose time they give
    assert min(honest) <= chain.head_header.time_ms <= max(honest)
    # and a primary who would rather have the wild time is refused, the store unchanged
    before = snapshot(chain.kv)
    head = chain.get_block(chain.height)
    assert head is not None
    with pytest.raises(MalformedInput, match="not the time its last commit gives"):
        chain.validate(propose(chain, certify(head, votes), GENESIS_MS + wild_ms),
                       commit_times=COMMIT_TIMES)
    assert snapshot(chain.kv) == before


@pytest.mark.parametrize("offset_ms", [-1, 1, -60_000, 3_600_000])
def test_a_primary_proposing_another_time_than_the_median_is_refused(
        chain: Chain, offset_ms: int) -> None:
    last_commit = certify(chain.get_block(1) or Block(chain.head_header, ()),
                          {VALIDATORS[0]: GENESIS_MS + 70_000, VALIDATORS[1]: GENESIS_MS + 80_000,
                           VALIDATORS[2]: GENESIS_MS + 90_000})
    before = snapshot(chain.kv)
    with pytest.raises(MalformedInput, match="not the time its last commit gives"):
        chain.validate(propose(chain, last_commit, GENESIS_MS + 80_000 + offset_ms),
                       commit_times=COMMIT_TIMES)
    assert snapshot(chain.kv) == before and chain.height == 1
    honest = chain.validate(propose(chain, last_commit), commit_times=COMMIT_TIMES)
    assert honest.header.time_ms == GENESIS_MS + 80_000


def test_the_time_is_strictly_increasing_even_if_the_votes_are_older(chain: Chain) -> None:
    times = [chain.head_header.time_ms]
    for votes_at in (GENESIS_MS + 9_000, GENESIS_MS + 2_000, GENESIS_MS, GENESIS_MS + 9_500):
        extend(chain, dict.fromkeys(VALIDATORS[:3], votes_at))
        times.append(chain.head_header.time_ms)
    assert times == sorted(set(times)), times
    # block 2 took block 1's votes (5 s); block 3 the 9 s votes; then the floor, + 1 ms each
    assert times[1:4] == [GENESIS_MS + 5_000, GENESIS_MS + 9_000, GENESIS_MS + 9_001]


def test_a_last_commit_that_does_not_certify_the_head_is_refused(chain: Chain) -> None:
    head = chain.get_block(1)
    assert head is not None
    before = snapshot(chain.kv)
    too_few = certify(head, {VALIDATORS[0]: GENESIS_MS + 1, VALIDATORS[1]: GENESIS_MS + 2})
    good = certify(head, dict.fromkeys(VALIDATORS[:3], GENESIS_MS + 3_000))
    retimed = good.replace((GENESIS_MS + 3_000).to_bytes(8, "big"),
                           (GENESIS_MS + 999_000).to_bytes(8, "big"), 1)
    assert retimed != good  # a vote's time moved: its signature no longer holds
    outsider = certify(head, {keys_from("outsider"): GENESIS_MS, **dict.fromkeys(
        VALIDATORS[:2], GENESIS_MS)})
    for last_commit in (b"", too_few, retimed, outsider, b"junk"):
        block = propose(chain, last_commit, GENESIS_MS + 3_000)
        with pytest.raises(MalformedInput, match="does not certify block 1"):
            chain.validate(block, commit_times=COMMIT_TIMES)
    assert snapshot(chain.kv) == before


def test_block_one_carries_no_last_commit_and_takes_the_genesis_floor() -> None:
    chain = Chain(MemoryStore(), GENESIS)
    with pytest.raises(MalformedInput, match="not the time its last commit gives"):
        chain.validate(propose(chain, b"", GENESIS_MS + 1_000), commit_times=COMMIT_TIMES)
    genesis_block = chain.get_block(0)
    assert genesis_block is not None
    with pytest.raises(MalformedInput, match="no last commit"):
        chain.validate(propose(chain, certify(genesis_block, dict.fromkeys(VALIDATORS, 1)),
                               GENESIS_MS + 1), commit_times=COMMIT_TIMES)
    assert chain.validate(propose(chain, b""), commit_times=COMMIT_TIMES).header.time_ms == (
        GENESIS_MS + 1)


def test_the_median_stays_within_the_honest_clocks_whatever_f_liars_say() -> None:
    rng = random.Random(7)
    for n in (4, 7, 10, 13):
        faulty = (n - 1) // 3
        for _ in range(200):
            signers = rng.randint(2 * faulty + 1, n)
            liars = rng.randint(0, faulty)
            honest = [rng.randint(0, 1_000) for _ in range(signers - liars)]
            wild = [rng.choice([-(10**12), 10**12]) for _ in range(liars)]
            assert min(honest) <= median_time(honest + wild) <= max(honest)
