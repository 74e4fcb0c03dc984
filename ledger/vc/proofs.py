"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (EdDSA Cryptosuites v1.0).

Transformation: RDFC-1.0 canonical N-Quads of the document without its proof.
Proof configuration: the proof's options without `proofValue`, under the
document's `@context`, canonicalised the same way. Hashing: SHA-256 of each;
the signed data is the configuration's hash followed by the document's. The
signature is raw Ed25519, multibase base58btc in `proofValue`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.errors import InvalidDocument
from ledger.identity import SIGNATURE_BYTES, KeyPair, verify_signature
from ledger.vc.canon import Loader, canonize
from ledger.vc.didkey import multibase_decode, multibase_encode, public_key_of_did
from ledger.vc.didkey import verification_method as did_key_method

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
XSD_DATETIME = re.compile(
    r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
MAX_OPTION_CHARS = 2_000


@dataclass(frozen=True)
class ProofCheck:
    ok: bool
    detail: str
    public_key: bytes = b""
    verification_method: str = ""
    # The document's problem, coded (a term no context defines, say), when that is why:
    # said in the reader's language as that, not as a signature that does not match.
    problem: InvalidDocument | None = None


def hash_data(document: Mapping[str, Any], proof_options: Mapping[str, Any],
              loader: Loader | None = None) -> bytes:
    """SHA-256(canonical proof configuration) || SHA-256(canonical document)."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    if "@context" not in unsecured:
        raise InvalidDocument("the document has no @context", "vc_no_context")
    config["@context"] = unsecured["@context"]
    config_hash = hashlib.sha256(canonize(config, loader).encode()).digest()
    document_hash = hashlib.sha256(canonize(unsecured, loader).encode()).digest()
    return config_hash + document_hash


def add_proof(document: Mapping[str, Any], keys: KeyPair, created: str,
              purpose: str = "assertionMethod", challenge: str | None = None,
              domain: str | None = None, method: str | None = None,
              loader: Loader | None = None) -> dict[str, Any]:
    """A copy of `document` with an `eddsa-rdfc-2022` proof by `keys`."""
    if not XSD_DATETIME.match(created):
        raise InvalidDocument(f"created must be an XML Schema dateTime, got {created!r}",
                              "vc_created", got=repr(created)[:40])
    options: dict[str, Any] = {
        "type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": created,
        "verificationMethod": method or did_key_method(keys.public_key),
        "proofPurpose": purpose}
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain
    signature = keys.sign_raw(hash_data(document, options, loader))
    signed = {k: v for k, v in document.items() if k != "proof"}
    signed["proof"] = {**options, "proofValue": multibase_encode(signature)}
    return signed


def instant(value: Any) -> datetime | None:
    """An XML Schema dateTime as an aware datetime (UTC when it names no zone), or None."""
    if not isinstance(value, str) or not XSD_DATETIME.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def single_proof(document: Mapping[str, Any]) -> dict[str, Any]:
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, dict):
        raise InvalidDocument("the document has no proof (one Data Integrity proof expected)",
                              "vc_no_proof")
    return proof


def _check_options(document: Mapping[str, Any], proof: Mapping[str, Any], purpose: str,
                   now: datetime | None) -> str | None:
    """Why the proof's options are unacceptable, or None. The challenge and domain a
    verifier asks for are checked once the signature holds, each as its own check
    (`ledger.vc.verify.signed_for`)."""
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return (f"the proof is {proof.get('type')!r}/{proof.get('cryptosuite')!r}; only "
                f"{PROOF_TYPE} with {CRYPTOSUITE} is supported")
    if proof.get("proofPurpose") != purpose:
        return f"the proof's purpose is {proof.get('proofPurpose')!r}, not {purpose!r}"
    for name in ("created", "expires"):
        if name in proof and instant(proof[name]) is None:
            return f"the proof's {name} is not an XML Schema dateTime"
    if any(isinstance(v, str) and len(v) > MAX_OPTION_CHARS for v in proof.values()):
        return "a proof option is too long"
    expires = instant(proof.get("expires"))
    if now is not None and expires is not None and expires <= now:
        return f"the proof expired at {proof['expires']}"
    if "@context" in proof:
        # Data Integrity: a proof's own @context must open the document's @context.
        own = proof["@context"] if isinstance(proof["@context"], list) else [proof["@context"]]
        outer = document.get("@context")
        outer = outer if isinstance(outer, list) else [outer]
        if outer[:len(own)] != own:
            return "the proof's @context does not match the document's"
    return None


def verify_proof(document: Mapping[str, Any], purpose: str = "assertionMethod",
                 public_key: bytes | None = None, loader: Loader | None = None,
                 now: datetime | None = None) -> ProofCheck:
    """Check the document's proof. The key comes from its did:key verification method
    unless the caller, who resolved some other method, gives it."""
    try:
        proof = single_proof(document)
        refusal = _check_options(document, proof, purpose, now)
        if refusal is not None:
            return ProofCheck(False, refusal)
        method = proof.get("verificationMethod")
        if not isinstance(method, str):
            return ProofCheck(False, "the proof names no verification method")
        key = public_key if public_key is not None else public_key_of_did(method)
        signature = multibase_decode(proof.get("proofValue", ""))
        if len(signature) != SIGNATURE_BYTES:
            return ProofCheck(False, "the proof value is not an Ed25519 signature")
        data = hash_data(document, proof, loader)
    except InvalidDocument as exc:
        return ProofCheck(False, str(exc), problem=exc)
    if not verify_signature(key, data, signature):
        return ProofCheck(False, "the signature does not match the document: it was altered "
                          "or signed by another key", key, method)
    return ProofCheck(True, f"{CRYPTOSUITE} signature by {method[:48]}… is valid", key, method)
