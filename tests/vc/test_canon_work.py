"""RDFC-1.0's blank-node disambiguation is bounded: a small document of blank nodes
that cannot be told apart (each linked to all the others) grows as a factorial, and
is refused in a fraction of a second instead of holding a VC worker for hours."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2, canonize
from ledger.vc.didkey import did_key, multibase_encode, verification_method
from ledger.vc.verify import verify_vc

TERMS = {"q": "https://example.org/q", "p": "https://example.org/p"}


def linked_blank_nodes(count: int) -> dict[str, Any]:
    """A VC whose subject lists `count` blank nodes, each linked to every other one,
    with a proof of the right shape and a signature of nothing."""
    keys = KeyPair.generate()
    nodes = [{"id": f"_:b{i}", "p": [{"id": f"_:b{j}"} for j in range(count) if j != i]}
             for i in range(count)]
    return {"@context": [CREDENTIALS_V2, TERMS], "type": ["VerifiableCredential"],
            "issuer": did_key(keys.public_key), "credentialSubject": {"q": nodes},
            "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                      "created": "2026-01-01T00:00:00Z", "proofPurpose": "assertionMethod",
                      "verificationMethod": verification_method(keys.public_key),
                      "proofValue": multibase_encode(bytes(64))}}


def test_few_indistinguishable_blank_nodes_still_canonicalise() -> None:
    document = linked_blank_nodes(3)
    del document["proof"]
    assert canonize(document).count("_:c14n") > 0


def test_many_indistinguishable_blank_nodes_are_refused_quickly() -> None:
    document = linked_blank_nodes(6)  # unbounded: about 45,000 steps, seconds of CPU
    del document["proof"]
    started = time.process_time()
    with pytest.raises(InvalidDocument, match="indistinguishable blank nodes"):
        canonize(document)
    assert time.process_time() - started < 1.0


def test_verify_names_the_refusal() -> None:
    verdict = verify_vc(linked_blank_nodes(7), datetime.now(tz=UTC))
    assert not verdict.valid
    assert "indistinguishable blank nodes" in verdict.reason


def test_many_values_of_one_property_are_refused_before_canonicalising() -> None:
    """PyLD compares each value of a property with all before it: 8,000 short strings
    (63 KB) took 20 s of CPU, and a 256 KB document minutes."""
    document = linked_blank_nodes(1)
    del document["proof"]
    document["credentialSubject"] = {"q": [str(i) for i in range(8_000)]}
    started = time.process_time()
    with pytest.raises(InvalidDocument, match="JSON values"):
        canonize(document)
    assert time.process_time() - started < 1.0
    document["credentialSubject"] = {"q": [str(i) for i in range(500)]}
    assert canonize(document).count("https://example.org/q") == 500
