"""State sync after the validator set changed: the joiner follows the set from genesis
through the proofs the offer carries, and refuses an offer that hides a change or whose
certificate comes from a retired set."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from consensus import quorum_size
from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.genesis import Genesis
from ledger.validator_sets import validator_set_at
from node import state_serve
from node.state_sync import Phase, StateSync
from node.state_wire import ASK_OFFER
from node.validators import certifies_by_keys
from storage.kv import MemoryStore
from tests.node.certificates import make_quorum_certificate
from tests.node.conftest import Consortium
from tests.node.set_changes import (
    CertifiedChain,
    commit_as,
    record_of,
    validator_keys,
    voted_chain,
)
from tests.node.test_state_sync import HONEST, LIAR, join, serving, tampered

SET_B = validator_keys("set-b", 4)


@pytest.fixture
def voted() -> CertifiedChain:
    """KazNU voted in as a validator from block 6, validator 3 voted out from block 12
    (`tests.node.set_changes.voted_chain`), each block certified by its set."""
    return voted_chain()


def sync_for(genesis: Genesis) -> StateSync:
    return StateSync(genesis, certifies_by_keys(genesis.chain_id))


def joined_like(source: Chain, kv: MemoryStore) -> Chain:
    joined = Chain(kv, source.genesis)
    assert (joined.height, joined.base_height) == (source.height, source.height)
    assert joined.head_hash == source.head_hash and joined.state.root == source.state.root
    assert dict(joined.state.iterate_items()) == dict(source.state.iterate_items())
    return joined


def test_a_chain_whose_set_was_voted_twice_is_joined(voted: CertifiedChain) -> None:
    source = voted.chain
    answer = decode(serving(source).answer(encode([ASK_OFFER])) or b"")
    assert answer[1] == source.height == 14 and len(answer[4]) == 2  # changes at 6 and 12
    sync = sync_for(voted.council.genesis)
    kv = MemoryStore()
    join(sync, {HONEST: serving(source).answer}, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted and sync.restarts == 0
    assert sync.snapshot is not None
    assert [r.from_height for r in sync.snapshot.history.records] == [1, 6, 12]
    joined = joined_like(source, kv)
    assert validator_set_at(joined.state, 14) == validator_set_at(source.state, 14)


def _old_set_certificate(voted: CertifiedChain) -> bytes:
    """A quorum of the genesis set signs the head, which the set from block 12 certifies:
    the retired validator and as few others as a genesis quorum needs."""
    source, genesis_keys = voted.chain, list(voted.council.validators)
    in_force = set(validator_set_at(source.state, source.height).public_keys)
    retired = [k for k in genesis_keys if k.public_key not in in_force]
    signers = (retired + [k for k in genesis_keys if k not in retired])[
        :quorum_size(len(genesis_keys))]
    assert sum(k.public_key in in_force for k in signers) < quorum_size(len(in_force))
    return make_quorum_certificate(signers, source.chain_id, source.height, 0,
                                   source.head_hash)


def _flip_proof_certificate(answer: list[object]) -> None:
    proofs = answer[4]
    assert isinstance(proofs, list) and proofs
    certificate = proofs[0][1]
    proofs[0][1] = certificate[:-1] + bytes([certificate[-1] ^ 1])


@pytest.mark.parametrize("lie", ["no proofs", "skips the second change",
                                 "skips the first change", "forged proof", "old set signs",
                                 "malformed proofs"])
def test_an_offer_that_hides_a_change_or_comes_from_the_old_set_is_refused_at_once(
        voted: CertifiedChain, lie: str) -> None:
    source = voted.chain
    old_certificate = _old_set_certificate(voted)
    changes: dict[str, Callable[[list[object]], None]] = {
        "no proofs": lambda a: a.__setitem__(4, []),
        "skips the second change": lambda a: a.__setitem__(4, a[4][:1]),  # type: ignore
        "skips the first change": lambda a: a.__setitem__(4, a[4][1:]),  # type: ignore
        "forged proof": _flip_proof_certificate,
        "old set signs": lambda a: a.__setitem__(3, old_certificate),
        "malformed proofs": lambda a: a.__setitem__(4, [[b"x", b"y"]]),
    }
    snapshots = serving(source)
    sync = sync_for(voted.council.genesis)
    kv = MemoryStore()
    join(sync, {LIAR: tampered(snapshots.answer, ASK_OFFER, changes[lie]),
                HONEST: snapshots.answer}, kv)
    # Refused at the offer: nothing of the liar's snapshot was copied or wiped.
    assert sync.phase is Phase.DONE and sync.distrusted == {LIAR} and sync.restarts == 0
    joined_like(source, kv)


def test_a_change_the_offer_skips_is_found_in_the_copied_state_and_the_join_restarts(
        net: Consortium, chain: Chain) -> None:
    """The set goes to B at block 3 and back to genesis's at 6: a block after 6 names the
    genesis set and is certified by it, so only its own `v:index` shows what was hidden."""
    genesis_set = [net.ministry]
    commit_as(chain, [], genesis_set, schedule=record_of(3, SET_B))
    commit_as(chain, [], genesis_set)
    commit_as(chain, [], SET_B, SET_B[:3], schedule=record_of(6, genesis_set))
    for _ in range(5):
        named = SET_B if chain.height < 5 else genesis_set
        commit_as(chain, [], named, named[:3])
    assert chain.height == 8
    snapshots = serving(chain)
    assert len(decode(snapshots.answer(encode([ASK_OFFER])) or b"")[4]) == 2
    sync = sync_for(net.genesis)
    kv = MemoryStore()
    join(sync, {LIAR: tampered(snapshots.answer, ASK_OFFER, lambda a: a.__setitem__(4, [])),
                HONEST: snapshots.answer}, kv)
    assert sync.phase is Phase.DONE and sync.distrusted == {LIAR} and sync.restarts == 1
    assert sync.snapshot is not None and sync.snapshot.offered_by == HONEST
    joined_like(chain, kv)


def test_an_offer_carries_only_the_proofs_that_fit_in_an_answer(
        voted: CertifiedChain, monkeypatch: pytest.MonkeyPatch) -> None:
    """Proofs past the answer's byte limit are left out whole, for the joiner to ask by
    pages (tests/node/test_state_sync_joined_serves.py)."""
    full = decode(serving(voted.chain).answer(encode([ASK_OFFER])) or b"")
    first = full[4][0]
    room = len(full[2]) + len(full[3]) + sum(len(part) for part in first) + 16
    monkeypatch.setattr(state_serve, "SET_CHANGES_ANSWER_BYTES", room)
    cut = decode(serving(voted.chain).answer(encode([ASK_OFFER])) or b"")
    assert len(full) == 5 and cut[:4] == full[:4] and cut[4:] == [[first], True]
    monkeypatch.setattr(state_serve, "SET_CHANGES_ANSWER_BYTES", room - 1)
    assert decode(serving(voted.chain).answer(encode([ASK_OFFER])) or b"")[4:] == [[], True]
