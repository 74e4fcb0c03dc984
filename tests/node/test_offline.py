"""Offline proofs: a credential verifies from its bundle and the genesis file alone."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from ledger.blocks import Header
from ledger.chain import Chain
from ledger.credential_documents import disclose
from ledger.credentials import make_batch
from ledger.errors import InvalidDocument
from ledger.genesis import Genesis, GenesisMember
from ledger.light_client import SetCertificateCheck
from ledger.offline import OfflineFacts, make_bundle, proof_keys
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from ledger.verification import verify_credential
from node.validators import certifies_by_keys
from storage.batch_tree import audit_path
from storage.kv import MemoryStore
from storage.state_tree import StateTree
from tests.node.certificates import make_certificate
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)
from tests.node.set_changes import commit_as, record_of, validator_keys


def _certifies(genesis: Genesis) -> SetCertificateCheck:
    return certifies_by_keys(genesis.chain_id)


RECORDS = [{"full_name": f"Graduate {i}", "iin": f"{i:012d}", "gpa": "3.1"} for i in range(5)]


def issue(net: Consortium, chain: Chain) -> tuple[list[dict[str, Any]], Any]:
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root,
                                                             len(batch.target_hashes)))])
    return documents_of(batch), batch


def with_proof(chain: Chain, document: dict[str, Any], net: Consortium) -> dict[str, Any]:
    keys = proof_keys(bytes.fromhex(document["batch"]["root"]), net.university.member_id,
                      bytes.fromhex(document["target_hash"]), [net.ministry.member_id])
    header = chain.head_header
    proved = copy.deepcopy(document)
    proved["proof"] = make_bundle(chain.state, header,
                                  chain.get_certificate(header.height) or b"", keys)
    return proved


def test_a_proved_credential_verifies_offline(net: Consortium, chain: Chain) -> None:
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[2], net)
    verdict = verify_credential(proved, OfflineFacts(proved["proof"], net.genesis,
                                                   _certifies(net.genesis)), CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert "KazNU" in verdict.reason


def test_a_disclosed_copy_keeps_its_offline_proof(net: Consortium, chain: Chain) -> None:
    documents, _ = issue(net, chain)
    shared = disclose(with_proof(chain, documents[0], net), ["iin"])
    verdict = verify_credential(shared, OfflineFacts(shared["proof"], net.genesis,
                                                   _certifies(net.genesis)), CHAIN_ID)
    assert verdict.valid and "Graduate 0" in str(shared) and "000000000000" not in str(shared)


def test_an_altered_entry_is_refused(net: Consortium, chain: Chain) -> None:
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[0], net)
    entry = proved["proof"]["entries"][3]  # the revocation entry: absent
    assert entry["value"] is None
    entry["value"] = "00"  # claim a revocation the state root does not hold
    with pytest.raises(InvalidDocument, match="altered"):
        OfflineFacts(proved["proof"], net.genesis,
                                                   _certifies(net.genesis))


def test_a_header_without_a_valid_certificate_is_refused(net: Consortium, chain: Chain) -> None:
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[0], net)
    header = bytearray(bytes.fromhex(proved["proof"]["header"]))
    header[-74] ^= 1  # inside the state root
    proved["proof"]["header"] = bytes(header).hex()
    with pytest.raises(InvalidDocument):
        OfflineFacts(proved["proof"], net.genesis,
                                                   _certifies(net.genesis))


def test_another_consortiums_genesis_does_not_vouch(net: Consortium, chain: Chain) -> None:
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[0], net)
    other = make_consortium("senim-elsewhere").genesis
    with pytest.raises(InvalidDocument, match="network"):
        OfflineFacts(proved["proof"], other,
                                                   _certifies(other))
    fake_validator = GenesisMember("Fake", "ministry", b"\x01" * 32, True)
    impostor = dataclasses.replace(net.genesis,
                                   members=(*net.genesis.members[1:2], fake_validator))
    with pytest.raises(InvalidDocument, match="validator set"):
        OfflineFacts(proved["proof"], impostor,
                                                   _certifies(impostor))


def test_a_tampered_document_fails_even_with_a_good_proof(net: Consortium, chain: Chain) -> None:
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[1], net)
    proved["fields"]["gpa"]["value"] = "4.0"
    verdict = verify_credential(proved, OfflineFacts(proved["proof"], net.genesis,
                                                   _certifies(net.genesis)), CHAIN_ID)
    assert not verdict.valid and verdict.status == "tampered"


def test_a_proof_made_after_revocation_says_revoked(net: Consortium, chain: Chain) -> None:
    documents, batch = issue(net, chain)
    target = batch.target_hashes[4]
    commit(chain, [make_tx(net.university, RevokePayload(
        CredentialRef(batch.root, target, 4, tuple(audit_path(batch.target_hashes, 4))),
        "issued_in_error"))])
    proved = with_proof(chain, documents[4], net)
    verdict = verify_credential(proved, OfflineFacts(proved["proof"], net.genesis,
                                                   _certifies(net.genesis)), CHAIN_ID)
    assert verdict.status == "revoked" and "issued in error" in verdict.reason


def test_a_bundle_missing_an_entry_cannot_answer(net: Consortium, chain: Chain) -> None:
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[0], net)
    proved["proof"]["entries"].pop(3)
    facts = OfflineFacts(proved["proof"], net.genesis,
                                                   _certifies(net.genesis))
    with pytest.raises(InvalidDocument, match="lacks"):
        verify_credential(proved, facts, CHAIN_ID)


def _issued_after_a_set_change(net: Consortium, chain: Chain, label: str
                               ) -> tuple[dict[str, Any], list[bytes]]:
    """A diploma issued in block 3, the first the validator set that the genesis
    validator scheduled in block 1 certifies; with the keys of its proof's entries."""
    new_set = validator_keys(label, 4)
    commit_as(chain, [accredit(net, net.university, ["diploma"])], [net.ministry],
              schedule=record_of(3, new_set))
    commit_as(chain, [], [net.ministry])
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit_as(chain, [make_tx(net.university, IssueBatchPayload(
        "diploma", batch.root, len(batch.target_hashes)))], new_set, new_set[:3])
    document = documents_of(batch)[0]
    return document, proof_keys(batch.root, net.university.member_id,
                                bytes.fromhex(document["target_hash"]),
                                [net.ministry.member_id])


def test_a_bundle_carries_the_set_changes_from_genesis(net: Consortium, chain: Chain) -> None:
    document, keys = _issued_after_a_set_change(net, chain, "offline-new-set")
    header = chain.head_header
    bundle = make_bundle(chain.state, header, chain.get_certificate(header.height) or b"",
                         keys, chain.set_change_proofs(0, 10))
    assert [c["from_height"] for c in bundle["set_changes"]] == [3]
    facts = OfflineFacts(copy.deepcopy(bundle), net.genesis, _certifies(net.genesis))
    assert verify_credential({**document, "proof": bundle}, facts, CHAIN_ID).valid
    assert "in force from block 3" in facts.describe()
    without = {**bundle, "set_changes": []}
    with pytest.raises(InvalidDocument, match="names another validator set"):
        OfflineFacts(without, net.genesis, _certifies(net.genesis))
    # The old set (the genesis validator) signs the head over again, naming itself.
    forged = Header.decode(bytes.fromhex(bundle["header"]))
    forged = dataclasses.replace(forged, validator_set_hash=net.genesis.validator_set_hash)
    old_set = {**without, "header": forged.encode().hex(), "certificate": make_certificate(
        net.ministry, CHAIN_ID, forged.height, 0, forged.block_hash).hex()}
    with pytest.raises(InvalidDocument, match="change at block 3 that the proofs skipped"):
        OfflineFacts(old_set, net.genesis, _certifies(net.genesis))


def _retired_set_signs_the_head(net: Consortium, chain: Chain) -> dict[str, Any]:
    """The genesis validator, retired at block 3, signs the real head over again naming
    itself, in a bundle that leaves out the change that retired it (the forgery the
    block's own `v:index` exposes). Returns the forged credential with its bundle."""
    document, keys = _issued_after_a_set_change(net, chain, "offline-retired")
    header = chain.head_header
    bundle = make_bundle(chain.state, header, b"", keys)
    forged = dataclasses.replace(header, validator_set_hash=net.genesis.validator_set_hash)
    bundle.update(header=forged.encode().hex(), certificate=make_certificate(
        net.ministry, CHAIN_ID, forged.height, 0, forged.block_hash).hex())
    return {**document, "proof": bundle}


def _without_index(bundle: dict[str, Any]) -> dict[str, Any]:
    entries = [e for e in bundle["entries"] if e["key"] != VALIDATOR_SET_INDEX_KEY.hex()]
    assert len(entries) == len(bundle["entries"]) - 1
    return {**bundle, "entries": entries}


def test_a_bundle_without_its_validator_set_index_is_refused(net: Consortium,
                                                            chain: Chain) -> None:
    """Without its block's `v:index` a bundle cannot show that the walk skipped no
    change: the retired set's forgery of the head, refused with the entry, passed once
    the entry was cut out of the bundle."""
    forged = _retired_set_signs_the_head(net, chain)
    with pytest.raises(InvalidDocument, match="change at block 3 that the proofs skipped"):
        OfflineFacts(forged["proof"], net.genesis, _certifies(net.genesis))
    with pytest.raises(InvalidDocument, match="lacks the validator-set index") as refused:
        OfflineFacts(_without_index(forged["proof"]), net.genesis, _certifies(net.genesis))
    assert getattr(refused.value, "code", None) == "proof_no_index"
    legacy_looking = _without_index(forged["proof"])  # and no set_changes, as before them
    legacy_looking.pop("set_changes")
    with pytest.raises(InvalidDocument, match="senim prove"):
        OfflineFacts(legacy_looking, net.genesis, _certifies(net.genesis))


def test_a_genuine_bundle_cut_down_is_refused_too(net: Consortium, chain: Chain) -> None:
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[1], net)
    assert verify_credential(proved, OfflineFacts(proved["proof"], net.genesis,
                                                  _certifies(net.genesis)), CHAIN_ID).valid
    with pytest.raises(InvalidDocument, match="lacks the validator-set index"):
        OfflineFacts(_without_index(proved["proof"]), net.genesis, _certifies(net.genesis))


def test_a_state_without_an_index_is_no_state_of_this_chain(net: Consortium,
                                                           chain: Chain) -> None:
    """Genesis writes `v:index`, so a block whose state proves it absent was made up."""
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[1], net)
    store = MemoryStore()
    tree = StateTree(store, b"s/")
    overlay = tree.overlay()
    for entry in proved["proof"]["entries"]:
        if entry["value"] is not None and entry["key"] != VALIDATOR_SET_INDEX_KEY.hex():
            overlay.set(bytes.fromhex(entry["key"]), bytes.fromhex(entry["value"]))
    store.write(tree.commit(overlay))
    tree.committed(overlay)
    header = dataclasses.replace(chain.head_header, state_root=tree.root)
    keys = [bytes.fromhex(e["key"]) for e in proved["proof"]["entries"]]
    bundle = make_bundle(tree, header, make_certificate(
        net.ministry, CHAIN_ID, header.height, 0, header.block_hash), keys)
    with pytest.raises(InvalidDocument, match="holds no validator-set index"):
        OfflineFacts(bundle, net.genesis, _certifies(net.genesis))


def test_a_bundle_from_before_set_changes_is_refused_with_a_way_forward(
        net: Consortium, chain: Chain) -> None:
    """A bundle made before bundles carried set changes (before 2026-11-30) lacks the
    index too, and looks exactly like a newer one cut down: it is refused, naming the
    remedy, since accepting it would let the forgery above through by dropping one more
    field."""
    documents, _ = issue(net, chain)
    proved = with_proof(chain, documents[1], net)
    legacy = _without_index(proved["proof"])
    legacy.pop("set_changes")
    with pytest.raises(InvalidDocument, match="senim prove") as refused:
        OfflineFacts(legacy, net.genesis, _certifies(net.genesis))
    assert getattr(refused.value, "code", None) == "proof_before_set_changes"
