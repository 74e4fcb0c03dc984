"""A revocation applies to one issuer's batch: another issuer cannot revoke by copying a hash."""

from __future__ import annotations

from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.facts import LocalFacts
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from ledger.verification import verify_credential
from storage.batch_tree import audit_path, tree_root
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_tx,
    random_hash,
)


def test_copying_a_target_hash_into_another_batch_does_not_revoke_the_original(
        net: Consortium, chain: Chain) -> None:
    commit(chain, [accredit(net, net.university, ["diploma"]),
                   accredit(net, net.university2, ["diploma"])])
    genuine = make_batch([{"name": "Aigerim", "iin": "990101400123"}], "diploma", CHAIN_ID,
                         net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", genuine.root, 1))])
    document = documents_of(genuine)[0]
    target = genuine.target_hashes[0]

    # A rival issuer puts the public target hash in a batch of its own and revokes it there.
    leaves = [target, random_hash()]
    rival_root = tree_root(leaves)
    commit(chain, [make_tx(net.university2, IssueBatchPayload("diploma", rival_root, 2))])
    commit(chain, [make_tx(net.university2, RevokePayload(
        CredentialRef(rival_root, target, 0, tuple(audit_path(leaves, 0))), "fraud"))])

    facts = LocalFacts(chain.state, "test")
    assert verify_credential(document, facts, CHAIN_ID).status == "valid"

    # The genuine issuer can still revoke its own credential.
    commit(chain, [make_tx(net.university, RevokePayload(
        CredentialRef(genuine.root, target, 0, ()), "issued_in_error"))])
    verdict = verify_credential(document, facts, CHAIN_ID)
    assert verdict.status == "revoked" and "issued in error" in verdict.reason
