"""Whatever JSON comes in, the verifiers answer with a verdict, never an exception."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.presentation import verify_presentation
from ledger.vc.proofs import add_proof
from ledger.vc.verify import verify_vc
from tests.vc.conftest import NOW

KEYS = KeyPair.from_seed(b"\x61" * 32)
SIGNED = add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
                    "issuer": did_key(KEYS.public_key),
                    "credentialSubject": {"id": "did:example:1", "name": "N"}},
                   KEYS, "2025-01-01T00:00:00Z")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.sampled_from(["@id", "@type", "@context", "@json", CREDENTIALS_V2,
                                              "VerifiableCredential", "did:key:z6Mk"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["@context", "type", "id", "issuer", "credentialSubject", "proof",
                         "credentialStatus", "validFrom", "@id", "@type", "name", "x"]),
        inner, max_size=5),
    max_leaves=20)
KEYS_TO_REPLACE = st.sampled_from(["@context", "type", "issuer", "credentialSubject", "proof",
                                   "validFrom", "credentialStatus", "id", "verifiableCredential"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=JSON)
def test_arbitrary_json_gets_a_verdict(document: Any) -> None:
    assert verify_vc(document, NOW).valid is False
    assert verify_presentation(document, NOW, "c", "d").valid is False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=KEYS_TO_REPLACE, value=JSON)
def test_a_signed_credential_with_any_field_replaced_gets_a_verdict(key: str,
                                                                   value: Any) -> None:
    document = copy.deepcopy(SIGNED)
    document[key] = value
    verdict = verify_vc(document, NOW)
    assert isinstance(verdict.valid, bool) and (verdict.valid or verdict.reason)
