"""End to end through real governance transactions: the ministries vote a validator in
and later another out; a light client that trusts only genesis follows both changes,
online (the node's proofs) and offline (a bundle), and refuses the retired set. Last,
the same on chains the real engines committed in the node simulator."""

from __future__ import annotations

import dataclasses

import pytest

from consensus import quorum_size
from ledger.blocks import Header
from ledger.light_client import UnprovenValidatorSet, follow_validator_sets
from ledger.offline import OfflineFacts, make_bundle
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from node.validators import certifies_by_keys
from tests.node.certificates import make_quorum_certificate
from tests.node.conftest import CHAIN_ID
from tests.node.set_changes import CertifiedChain, voted_chain
from tests.sim.set_change_sim import SetChangeSimulation

CERTIFIES = certifies_by_keys(CHAIN_ID)


@pytest.fixture
def voted() -> CertifiedChain:
    """KazNU voted in as a validator from block 6, validator 3 voted out from block 12."""
    return voted_chain()


def test_the_light_client_follows_the_votes(voted: CertifiedChain) -> None:
    chain, council = voted.chain, voted.council
    proofs = chain.set_change_proofs(0, 10)
    assert [p.from_height for p in proofs] == [6, 12]
    history = follow_validator_sets(council.genesis, proofs, CERTIFIES)
    assert council.university.public_key in history.set_at(6).public_keys
    assert council.validators[3].public_key in history.set_at(11).public_keys
    assert council.validators[3].public_key not in history.set_at(12).public_keys
    head = chain.head_header
    in_force = history.check_block(head, chain.get_certificate(head.height) or b"", CERTIFIES,
                                   chain.state.get(VALIDATOR_SET_INDEX_KEY))
    assert in_force.from_height == 12

    bundle = make_bundle(chain.state, head, chain.get_certificate(head.height) or b"",
                         [VALIDATOR_SET_INDEX_KEY], proofs)
    facts = OfflineFacts(bundle, council.genesis, CERTIFIES)
    assert "in force from block 12" in facts.describe()


def test_the_voted_out_validators_set_cannot_certify_after_the_change(
        voted: CertifiedChain) -> None:
    chain, council = voted.chain, voted.council
    history = follow_validator_sets(council.genesis, chain.set_change_proofs(0, 10),
                                    CERTIFIES)
    old_set = history.set_at(11)
    old_signers = [voted.keys[k] for k in old_set.public_keys][:quorum_size(5)]
    assert council.validators[3] in old_signers
    head = chain.head_header

    def signed_by_old_set(header: Header) -> bytes:
        return make_quorum_certificate(old_signers, CHAIN_ID, header.height, 0,
                                       header.block_hash)

    naming_itself = dataclasses.replace(head, validator_set_hash=old_set.set_hash)
    with pytest.raises(UnprovenValidatorSet, match="names another validator set"):
        history.check_block(naming_itself, signed_by_old_set(naming_itself), CERTIFIES)
    with pytest.raises(UnprovenValidatorSet, match="no valid commit certificate"):
        history.check_block(head, signed_by_old_set(head), CERTIFIES)
    # Only the first change shown: the block's own state names the second.
    partial = follow_validator_sets(council.genesis, chain.set_change_proofs(0, 1), CERTIFIES)
    with pytest.raises(UnprovenValidatorSet, match="change at block 12 that the proofs"):
        partial.check_block(naming_itself, signed_by_old_set(naming_itself), CERTIFIES,
                            chain.state.get(VALIDATOR_SET_INDEX_KEY))


@pytest.mark.parametrize("seed", [1, 3])
def test_a_light_client_follows_chains_the_engines_made_under_faults(seed: int) -> None:
    """The node simulator's engines vote a validator in and one out under crashes,
    partitions and a Byzantine validator; every honest node then serves the proofs
    that take a light client from genesis to its head's certificate."""
    simulation = SetChangeSimulation(seed, 4)
    assert simulation.run().set_changes == 2
    certifies = certifies_by_keys(simulation.genesis.chain_id)
    for node in simulation.nodes:
        if not node.honest or node.engine is None:
            continue
        chain = node.engine.chain
        proofs = chain.set_change_proofs(0, 10)
        assert len(proofs) == 2, node.index
        history = follow_validator_sets(simulation.genesis, proofs, certifies)
        head = chain.head_header
        history.check_block(head, chain.get_certificate(head.height) or b"", certifies,
                            chain.state.get(VALIDATOR_SET_INDEX_KEY))
        assert history.set_at(head.height).set_hash == head.validator_set_hash
