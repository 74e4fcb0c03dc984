"""The EdDSA Cryptosuites v1.0 test vectors for eddsa-rdfc-2022, and did:key.

The vectors (key pair, unsigned Alumni credential, proof options, signature)
are the ones published with the specification; Ed25519 is deterministic, so
an exact proofValue match shows the transformation, hashing order and
encoding are the specification's.
"""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from typing import Any

import pytest

from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.vc.canon import BundledLoader, bundled_contexts, canonize
from ledger.vc.didkey import (
    did_key,
    multikey,
    public_key_of_did,
    public_key_of_multikey,
    seed_of_multikey,
    verification_method,
)
from ledger.vc.proofs import add_proof, hash_data, verify_proof

PUBLIC_MULTIBASE = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SECRET_MULTIBASE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
METHOD = f"https://vc.example/issuers/5678#{PUBLIC_MULTIBASE}"
CREATED = "2023-02-24T23:36:38Z"
SIGNED_PROOF_VALUE = ("z21EVs3eXERqTn4acNHT9viboqgzUaQ3kTmhPT3eA8qrVPE7CrQq78WkzctnMX5W4Crz"
                      "cKnHw8V6dvy5pgWYCU5e9")
PROOF_CANON = (
    '_:c14n0 <http://purl.org/dc/terms/created> "2023-02-24T23:36:38Z"'
    '^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
    '_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> '
    '<https://w3id.org/security#DataIntegrityProof> .\n'
    '_:c14n0 <https://w3id.org/security#cryptosuite> "eddsa-rdfc-2022"'
    '^^<https://w3id.org/security#cryptosuiteString> .\n'
    '_:c14n0 <https://w3id.org/security#proofPurpose> '
    '<https://w3id.org/security#assertionMethod> .\n'
    '_:c14n0 <https://w3id.org/security#verificationMethod> '
    f'<{METHOD}> .\n')
# The examples context of VC 2.0 (https://www.w3.org/ns/credentials/examples/v2) is
# not in any package this project bundles; it is one @vocab, as the vector's
# canonical N-Quads show. Tests only: the product never serves it.
EXAMPLES_V2 = {"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}
LOADER = BundledLoader({"https://www.w3.org/ns/credentials/examples/v2": EXAMPLES_V2})
UNSIGNED: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2",
                 "https://www.w3.org/ns/credentials/examples/v2"],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}


def vector_keys() -> KeyPair:
    keys = KeyPair.from_seed(seed_of_multikey(SECRET_MULTIBASE))
    assert multikey(keys.public_key) == PUBLIC_MULTIBASE
    return keys


def test_signature_matches_the_published_vector() -> None:
    signed = add_proof(UNSIGNED, vector_keys(), CREATED, method=METHOD, loader=LOADER)
    assert signed["proof"]["proofValue"] == SIGNED_PROOF_VALUE
    assert "proofValue" not in UNSIGNED and "proof" not in UNSIGNED


def test_proof_configuration_canonical_form_matches_the_vector() -> None:
    options = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
               "created": CREATED, "verificationMethod": METHOD,
               "proofPurpose": "assertionMethod", "@context": UNSIGNED["@context"]}
    assert canonize(options, LOADER) == PROOF_CANON
    data = hash_data(UNSIGNED, options, LOADER)
    assert data[:32] == hashlib.sha256(PROOF_CANON.encode()).digest()


def test_published_signed_vector_verifies_and_each_change_fails() -> None:
    signed = {**UNSIGNED, "proof": {
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "created": CREATED,
        "verificationMethod": METHOD, "proofPurpose": "assertionMethod",
        "proofValue": SIGNED_PROOF_VALUE}}
    key = public_key_of_multikey(PUBLIC_MULTIBASE)
    assert verify_proof(signed, public_key=key, loader=LOADER).ok
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    assert not verify_proof(tampered, public_key=key, loader=LOADER).ok
    later = copy.deepcopy(signed)
    later["proof"]["created"] = "2024-02-24T23:36:38Z"
    assert not verify_proof(later, public_key=key, loader=LOADER).ok
    other_key = KeyPair.from_seed(b"\x07" * 32).public_key
    assert not verify_proof(signed, public_key=other_key, loader=LOADER).ok
    # The W3C examples context is bundled (the W3C suites' credentials use it) ...
    assert verify_proof(signed, public_key=key).ok
    # ... but a context that is not bundled cannot be read: refused, never fetched.
    unknown = copy.deepcopy(signed)
    unknown["@context"] = [*signed["@context"][:-1], "https://vc.example/contexts/unknown/v1"]
    check = verify_proof(unknown, public_key=key)
    assert not check.ok and "unknown JSON-LD context" in check.detail


def test_did_key_round_trip() -> None:
    keys = vector_keys()
    assert did_key(keys.public_key) == f"did:key:{PUBLIC_MULTIBASE}"
    assert public_key_of_did(verification_method(keys.public_key)) == keys.public_key
    for bad in ("did:web:example.com", f"did:key:{PUBLIC_MULTIBASE}#other",
                "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "did:key:x"):
        with pytest.raises(InvalidDocument):
            public_key_of_did(bad)


def test_did_key_proof_round_trip() -> None:
    keys = KeyPair.from_seed(b"\x05" * 32)
    document = {**UNSIGNED, "issuer": did_key(keys.public_key)}
    signed = add_proof(document, keys, CREATED, loader=LOADER)
    assert verify_proof(signed, loader=LOADER).ok
    assert not verify_proof(signed, purpose="authentication", loader=LOADER).ok


def test_a_blank_node_key_added_after_signing_fails_the_proof() -> None:
    """A key "_:x" passed the safe mode and, RDF having no blank node predicates, left
    the signed N-Quads: claims added so verified, shown beside the signed ones."""
    keys = KeyPair.from_seed(b"\x05" * 32)
    signed = add_proof({**UNSIGNED, "issuer": did_key(keys.public_key)}, keys, CREATED,
                       loader=LOADER)
    for where in ("top", "subject"):
        added = copy.deepcopy(signed)
        (added if where == "top" else added["credentialSubject"])["_:degree"] = "PhD"
        check = verify_proof(added, loader=LOADER)
        assert not check.ok and "not defined by the document's contexts" in check.detail


def test_bundled_contexts_are_byte_identical_to_their_recorded_hashes() -> None:
    folder = resources.files("ledger.vc").joinpath("contexts")
    lines = [line.split() for line in folder.joinpath("SHA256SUMS").read_text().splitlines()
             if line and not line.startswith("#")]
    assert {row[2] for row in lines} == set(bundled_contexts())
    for digest, name, _url, *_source in lines:
        assert hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest() == digest
    assert json.loads(folder.joinpath("credentials-v2.jsonld").read_bytes())["@context"]


def test_unknown_context_and_null_terms_are_refused() -> None:
    with pytest.raises(InvalidDocument, match="unknown JSON-LD context"):
        canonize({"@context": "https://evil.example/ctx", "a": 1})
    with pytest.raises(InvalidDocument, match="null"):
        canonize({"@context": ["https://www.w3.org/ns/credentials/v2", {"hidden": None}],
                  "hidden": "not signed"})
    with pytest.raises(InvalidDocument, match="null"):
        canonize({"@context": [{"@version": 1.1, "x": {"@id": "https://e.org/x",
                                                         "@context": {"y": None}}}],
                  "x": {"y": 1}})
    inline = {"@context": [{"nullable": "https://vocab.example/nullable"}], "nullable": "ok"}
    assert "nullable" in canonize(inline)


@pytest.mark.parametrize(("change", "reason"), [
    ({"credentialSubject": {"id": "did:example:1", "undefinedTerm": "x"}}, "not defined"),
    ({"credentialSubject": {"id": "did:example:1", "_:degree": "PhD"}}, "not defined"),
    ({"_:note": "added after signing"}, "not defined"),
    ({"@context": ["https://www.w3.org/ns/credentials/v2", {"degree": "_:degree"}],
      "credentialSubject": {"id": "did:example:1", "degree": "PhD"}}, "not defined"),
    ({"type": ["VerifiableCredential", "UndefinedType"]}, "absolute IRI"),
    ({"id": "relative/credential"}, "absolute IRI"),
])
def test_safe_mode_refuses_what_the_proof_would_not_cover(change: dict[str, Any],
                                                         reason: str) -> None:
    """PyLD drops these from the N-Quads silently; signed or verified, they would be
    shown to a reader without being covered by the signature."""
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"], "issuer": "did:example:issuer",
                "credentialSubject": {"id": "did:example:1"}, **change}
    with pytest.raises(InvalidDocument, match=reason):
        canonize(document)
