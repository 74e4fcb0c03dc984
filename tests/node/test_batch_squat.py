"""Batch roots are keyed by issuer and root: no issuer can take another's root first.

The attack (issue 10): issuer B watches the mempool (or guesses) and submits A's
batch root before A does. When batches were keyed by root alone, A was refused
`duplicate_batch` and A's graduates' documents verified as "issued by B".
"""

from __future__ import annotations

import copy

from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.facts import LocalFacts
from ledger.offline import OfflineFacts, make_bundle, proof_keys
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from ledger.records import batch_key
from ledger.verification import verify_credential
from node.validators import certifies_by_keys
from storage.batch_tree import audit_path
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of, make_tx

RECORDS = [{"full_name": "Aigerim Bekova", "iin": "990101400123"},
           {"full_name": "Nurlan Serikov", "iin": "980202300456"}]


def test_a_squatted_root_does_not_block_or_impersonate_its_issuer(
        net: Consortium, chain: Chain) -> None:
    commit(chain, [accredit(net, net.university, ["diploma"]),
                   accredit(net, net.university2, ["diploma"])])
    genuine = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")

    # ENU puts KazNU's root on chain first, in the same block order an attacker would win.
    squat = make_tx(net.university2, IssueBatchPayload("diploma", genuine.root, 2))
    commit(chain, [squat])
    # KazNU's own issuance of the same root is still accepted.
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", genuine.root, 2))])
    kaznu_height = chain.height
    assert chain.state.get(batch_key(net.university.member_id, genuine.root)) is not None
    assert chain.state.get(batch_key(net.university2.member_id, genuine.root)) is not None

    facts = LocalFacts(chain.state, "test")
    for document in documents_of(genuine):
        verdict = verify_credential(document, facts, CHAIN_ID)
        assert verdict.status == "valid", verdict.reason
        assert verdict.facts["issuer"] == "KazNU"
        assert verdict.facts["height"] == kaznu_height

    # The squatter cannot revoke KazNU's graduates through its copy of the root either.
    document = documents_of(genuine)[0]
    commit(chain, [make_tx(net.university2, RevokePayload(CredentialRef(
        genuine.root, genuine.target_hashes[0], 0, tuple(audit_path(genuine.target_hashes, 0))),
        "fraud"))])
    assert verify_credential(document, facts, CHAIN_ID).status == "valid"


def test_a_document_claiming_the_squatter_as_issuer_does_not_verify(
        net: Consortium, chain: Chain) -> None:
    commit(chain, [accredit(net, net.university, ["diploma"]),
                   accredit(net, net.university2, ["diploma"])])
    genuine = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university2, IssueBatchPayload("diploma", genuine.root, 2))])
    relabelled = copy.deepcopy(documents_of(genuine)[0])
    relabelled["issuer"] = {"member_id": net.university2.member_id.hex(), "name": "ENU"}
    verdict = verify_credential(relabelled, LocalFacts(chain.state, "test"), CHAIN_ID)
    assert verdict.status == "tampered"  # the target hash commits to the issuer
    # and KazNU's own document finds no KazNU batch: not issued (yet), not "by ENU"
    verdict = verify_credential(documents_of(genuine)[0], LocalFacts(chain.state, "t"),
                                CHAIN_ID)
    assert verdict.status == "unknown" and "ENU" not in verdict.reason


def test_offline_proof_reads_the_issuers_batch(net: Consortium, chain: Chain) -> None:
    commit(chain, [accredit(net, net.university, ["diploma"]),
                   accredit(net, net.university2, ["diploma"])])
    genuine = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university2, IssueBatchPayload("diploma", genuine.root, 2))])
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", genuine.root, 2))])
    document = documents_of(genuine)[1]
    keys = proof_keys(genuine.root, net.university.member_id, genuine.target_hashes[1],
                      [net.ministry.member_id])
    header = chain.head_header
    document["proof"] = make_bundle(chain.state, header,
                                    chain.get_certificate(header.height) or b"", keys)
    facts = OfflineFacts(document["proof"], net.genesis,
                         certifies_by_keys(net.genesis.chain_id))
    verdict = verify_credential(document, facts, CHAIN_ID)
    assert verdict.status == "valid" and verdict.facts["issuer"] == "KazNU", verdict.reason
