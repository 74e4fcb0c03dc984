"""The light-client walk: from the genesis set through certified set changes, refusing
every way a chain of proofs can be wrong.

The chains here are built in memory: a StateTree holding validator-set records,
headers naming a set, certificates signed by test keys (a quorum of 3 of 4).
Set A (genesis) certifies blocks 1-2, set B blocks 3-5, set C from block 6.
"""

from __future__ import annotations

import dataclasses

import pytest

from cli.fsck import check_store
from ledger.blocks import ZERO_HASH, Header, last_commit_hash
from ledger.chain import Chain
from ledger.chain_layout import CERT_PREFIX
from ledger.codec import encode
from ledger.genesis import GenesisMember, current_rules_genesis
from ledger.identity import KeyPair, MemberId
from ledger.light_client import (
    ProvenEntry,
    SetChangeProof,
    UnprovenValidatorSet,
    follow_validator_sets,
    genesis_history,
)
from ledger.validator_sets import (
    VALIDATOR_SET_INDEX_KEY,
    ValidatorSetRecord,
    validator_set_hash,
    validator_set_key,
    write_validator_set,
)
from node.validators import ValidatorSets, certifies_by_keys
from storage.errors import CorruptStateError
from storage.kv import MemoryStore
from storage.state_tree import StateTree
from tests.node.certificates import make_certificate, make_quorum_certificate
from tests.node.conftest import Consortium
from tests.node.set_changes import commit_as, record_of, validator_keys

CHAIN_ID = "senim-light"
SET_A = validator_keys("set-a", 4)
SET_B = validator_keys("set-b", 4)
SET_C = validator_keys("set-c", 4)
CERTIFIES = certifies_by_keys(CHAIN_ID)
GENESIS = current_rules_genesis(CHAIN_ID, 0, tuple(
    GenesisMember(f"Ministry {i}", "ministry", k.public_key, True) for i, k in enumerate(SET_A)))


def state(*records: ValidatorSetRecord, index: list[int] | None = None) -> StateTree:
    """A state holding the genesis set and `records` (and `index` if given, as is)."""
    store = MemoryStore()
    tree = StateTree(store, b"s/")
    overlay = tree.overlay()
    for key, value in GENESIS.initial_state().items():
        overlay.set(key, value)
    for record in records:
        write_validator_set(overlay, record)
    if index is not None:
        overlay.set(VALIDATOR_SET_INDEX_KEY, encode(index))
    store.write(tree.commit(overlay))
    tree.committed(overlay)
    return tree


def block(height: int, tree: StateTree, named: list[KeyPair],
          signers: list[KeyPair] | None = None, chain_id: str = CHAIN_ID
          ) -> tuple[Header, bytes]:
    """A header over `tree` naming `named`, certified by `signers` (3 of `named`)."""
    header = Header(chain_id, height, ZERO_HASH, height * 1000, MemberId(b"\x00" * 20), 0,
                    ZERO_HASH, tree.root, validator_set_hash([k.public_key for k in named]),
                    last_commit_hash(b""))
    quorum = signers if signers is not None else named[:3]
    return header, make_quorum_certificate(quorum, chain_id, height, 0, header.block_hash)


def change_proof(height: int, tree: StateTree, named: list[KeyPair],
                 signers: list[KeyPair] | None = None) -> SetChangeProof:
    """The proof, from block `height`, of the change that takes effect at `height + 1`."""
    header, certificate = block(height, tree, named, signers)
    record_key = validator_set_key(height + 1)
    return SetChangeProof(
        header, certificate,
        ProvenEntry(tree.get(VALIDATOR_SET_INDEX_KEY), tree.prove(VALIDATOR_SET_INDEX_KEY)),
        ProvenEntry(tree.get(record_key), tree.prove(record_key)))


B_FROM_3 = record_of(3, SET_B)
C_FROM_6 = record_of(6, SET_C)
STATE_AFTER_1 = state(B_FROM_3)  # block 1 scheduled B
STATE_AFTER_4 = state(B_FROM_3, C_FROM_6)  # block 4 scheduled C
PROOF_3 = change_proof(2, STATE_AFTER_1, SET_A)
PROOF_6 = change_proof(5, STATE_AFTER_4, SET_B)


def refused(proofs: list[SetChangeProof], match: str) -> None:
    with pytest.raises(UnprovenValidatorSet, match=match):
        follow_validator_sets(GENESIS, proofs, CERTIFIES)


def test_the_walk_follows_every_change_to_the_set_in_force() -> None:
    history = follow_validator_sets(GENESIS, [PROOF_3, PROOF_6], CERTIFIES)
    assert [r.from_height for r in history.records] == [1, 3, 6]
    assert history.set_at(2).public_keys == record_of(1, SET_A).public_keys
    assert history.set_at(5) == B_FROM_3 and history.set_at(6) == C_FROM_6
    header, certificate = block(9, STATE_AFTER_4, SET_C, SET_C[1:])
    in_force = history.check_block(header, certificate, CERTIFIES,
                                   STATE_AFTER_4.get(VALIDATOR_SET_INDEX_KEY))
    assert in_force == C_FROM_6
    header, certificate = block(4, STATE_AFTER_1, SET_B)
    assert history.check_block(header, certificate, CERTIFIES) == B_FROM_3


def test_without_changes_the_genesis_set_certifies_every_block() -> None:
    history = follow_validator_sets(GENESIS, [], CERTIFIES)
    assert history == genesis_history(GENESIS)
    header, certificate = block(40, state(), SET_A)
    assert history.check_block(header, certificate, CERTIFIES,
                               state().get(VALIDATOR_SET_INDEX_KEY)).from_height == 1


def test_proofs_survive_their_json_form() -> None:
    again = [SetChangeProof.from_json(p.to_json()) for p in (PROOF_3, PROOF_6)]
    assert again == [PROOF_3, PROOF_6]
    for broken in ({}, {"header": "zz"}, {**PROOF_3.to_json(), "index": {"value": 1}}):
        with pytest.raises(UnprovenValidatorSet, match="malformed"):
            SetChangeProof.from_json(broken)


def test_a_gap_in_the_proofs_is_refused() -> None:
    # Block 5 names set B, which the walk (still at A) has not been shown.
    refused([PROOF_6], "names another validator set")


def test_a_change_the_proofs_skip_is_found_in_the_blocks_state() -> None:
    history = follow_validator_sets(GENESIS, [PROOF_3], CERTIFIES)
    index_at_7 = STATE_AFTER_4.get(VALIDATOR_SET_INDEX_KEY)
    with pytest.raises(UnprovenValidatorSet, match="change at block 6 that the proofs skipped"):
        history.check_index(7, index_at_7)
    history.check_index(5, index_at_7)  # scheduled, not yet in force: nothing hidden
    # A state proven to hold no index is none of this chain's: genesis writes one.
    with pytest.raises(UnprovenValidatorSet, match="holds no validator-set index"):
        history.check_index(7, None)


def test_a_proof_against_another_root_is_refused() -> None:
    forged_record = dataclasses.replace(PROOF_3.record, value=record_of(3, SET_C).encode())
    refused([dataclasses.replace(PROOF_3, record=forged_record)], "does not match")
    other_index = STATE_AFTER_4.get(VALIDATOR_SET_INDEX_KEY)
    forged_index = ProvenEntry(other_index, STATE_AFTER_4.prove(VALIDATOR_SET_INDEX_KEY))
    refused([dataclasses.replace(PROOF_3, index=forged_index)], "does not match")


def test_a_certificate_from_the_old_set_after_a_change_is_refused() -> None:
    history = follow_validator_sets(GENESIS, [PROOF_3, PROOF_6], CERTIFIES)
    # The old set signs a block after the change, naming itself...
    header, certificate = block(4, STATE_AFTER_1, SET_A)
    with pytest.raises(UnprovenValidatorSet, match="names another validator set"):
        history.check_block(header, certificate, CERTIFIES)
    # ...or naming the new set.
    header, certificate = block(7, STATE_AFTER_4, SET_C, SET_B[:3])
    with pytest.raises(UnprovenValidatorSet, match="no valid commit certificate"):
        history.check_block(header, certificate, CERTIFIES)
    # A change proof signed by the set it replaces' predecessor.
    refused([PROOF_3, change_proof(5, STATE_AFTER_4, SET_B, SET_A[:3])],
            "no valid commit certificate")
    # The old set proves a change of its own from a block after its term ended.
    forged = state(B_FROM_3, record_of(6, SET_A))
    refused([change_proof(5, forged, SET_A)], "skip the validator-set change at block 3")


def test_a_certificate_below_quorum_or_by_strangers_is_refused() -> None:
    refused([change_proof(2, STATE_AFTER_1, SET_A, SET_A[:2])], "no valid commit certificate")
    refused([change_proof(2, STATE_AFTER_1, SET_A, SET_C[:3])], "no valid commit certificate")


def test_a_change_must_be_proven_from_the_block_right_before_it() -> None:
    refused([change_proof(1, STATE_AFTER_1, SET_A)], "schedules no validator-set change at "
            "block 2")
    refused([change_proof(2, state(), SET_A)], "schedules no validator-set change")


def test_proofs_out_of_order_or_repeated_are_refused() -> None:
    refused([PROOF_3, PROOF_3], "in order")
    refused([PROOF_6, PROOF_3], "names another validator set")


def test_an_index_without_the_set_in_force_or_record_is_refused() -> None:
    without_b = state(C_FROM_6, index=[1, 6])
    refused([PROOF_3, change_proof(5, without_b, SET_B)], "lacks the set in force from block 3")
    no_record = state(index=[1, 3])
    refused([change_proof(2, no_record, SET_A)], "holds no validator set for block 3")
    refused([change_proof(2, state(index=[3]), SET_A)], "index is malformed")


def test_another_networks_block_is_refused() -> None:
    header, certificate = block(2, STATE_AFTER_1, SET_A, chain_id="senim-elsewhere")
    with pytest.raises(UnprovenValidatorSet, match="network"):
        genesis_history(GENESIS).check_block(header, certificate, CERTIFIES)


def test_an_overlay_proves_what_its_commit_will_hold() -> None:
    store = MemoryStore()
    tree = StateTree(store, b"s/")
    overlay = tree.overlay()
    for number in range(200):
        overlay.set(b"k%d" % number, b"v%d" % number)
    store.write(tree.commit(overlay))
    tree.committed(overlay)
    overlay = tree.overlay()
    write_validator_set(overlay, C_FROM_6)
    overlay.delete(b"k7")
    keys = [VALIDATOR_SET_INDEX_KEY, validator_set_key(6), validator_set_key(9), b"k7", b"k8"]
    before = [overlay.prove(key) for key in keys]
    root = overlay.root()
    store.write(tree.commit(overlay))
    tree.committed(overlay)
    assert tree.root == root and before == [tree.prove(key) for key in keys]


def test_a_chain_keeps_each_change_proof_from_the_block_before_it(net: Consortium,
                                                                   chain: Chain) -> None:
    certifies = certifies_by_keys(net.genesis.chain_id)
    commit_as(chain, [], [net.ministry], schedule=record_of(3, SET_B))
    assert chain.set_change_proofs(0, 10) == []  # block 2 may still change the record
    commit_as(chain, [], [net.ministry])
    commit_as(chain, [], SET_B, SET_B[:3])
    commit_as(chain, [], SET_B, SET_B[1:], schedule=record_of(9, SET_C))
    proofs = chain.set_change_proofs(0, 10)
    assert [p.from_height for p in proofs] == [3]
    history = follow_validator_sets(net.genesis, proofs, certifies)
    head = chain.head_header
    certificate = chain.get_certificate(head.height) or b""
    assert history.check_block(head, certificate, certifies,
                               chain.state.get(VALIDATOR_SET_INDEX_KEY)) == record_of(3, SET_B)
    assert chain.set_change_proofs(3, 10) == []
    assert Chain(chain.kv, net.genesis).set_change_proofs(0, 10) == proofs  # kept on disk
    # The change at 9 is proven only once block 8 is committed, by the set in force.
    for _ in range(4):
        commit_as(chain, [], SET_B, SET_B[:3])
    later = chain.set_change_proofs(3, 10)
    assert [p.from_height for p in later] == [9] and chain.set_change_proofs(0, 1) == proofs
    assert follow_validator_sets(net.genesis, proofs + later, certifies).set_at(9) == \
        record_of(9, SET_C)


def test_stored_certificates_are_checked_against_the_set_in_force(net: Consortium,
                                                                  chain: Chain) -> None:
    """What the daemon (start-up) and `senim fsck` check after a set change."""
    commit_as(chain, [], [net.ministry], schedule=record_of(3, SET_B))
    commit_as(chain, [], [net.ministry])
    commit_as(chain, [], SET_B, SET_B[:3])
    commit_as(chain, [], SET_B, SET_B[1:])
    assert check_store(chain.kv, net.genesis).problems == []
    reopened = Chain(chain.kv, net.genesis)
    reopened.check_certificates(ValidatorSets.for_chain(reopened).certifies)
    # Block 3's certificate swapped for one by the old set (the genesis validator).
    block_3 = chain.get_block(3)
    assert block_3 is not None
    chain.kv.write({CERT_PREFIX + (3).to_bytes(8, "big"): make_certificate(
        net.ministry, net.genesis.chain_id, 3, 0, block_3.block_hash)})
    reopened = Chain(chain.kv, net.genesis)
    with pytest.raises(CorruptStateError, match="block 3 is not the block named by its cert"):
        reopened.check_certificates(ValidatorSets.for_chain(reopened).certifies)
    assert [p for p in check_store(chain.kv, net.genesis).problems if "block 3" in p]
