"""Offline proofs: a credential that verifies without trusting (or reaching) a node.

A proof bundle holds one block header, its commit certificate, Merkle proofs
against that header's state root for every state entry verification reads
(batch, issuer, its key history, accreditation, granting ministry, revocation,
the validator-set index, and a recognition's original transcript: its batch, issuer,
accreditation and revocation), and the validator-set changes from genesis to that
block (`ledger.light_client`). A verifier who trusts only the consortium's
genesis file follows the validator set through those changes, checks the
certificate against the set in force at the block, then each entry against the
certified state root. A bundle made before any change (or before bundles carried
them) has none and is checked against the genesis validators.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.academic import ORIGINAL_FIELD, parse_original
from ledger.blocks import Header
from ledger.credential_documents import ParsedDocument
from ledger.errors import InvalidDocument, MalformedInput
from ledger.facts import StateFacts
from ledger.genesis import Genesis
from ledger.key_events import key_history_key
from ledger.light_client import (
    MAX_SET_CHANGE_PROOFS,
    SetCertificateCheck,
    SetChangeProof,
    UnprovenValidatorSet,
    follow_validator_sets,
)
from ledger.records import (
    accreditation_key,
    batch_key,
    employment_end_key,
    member_key,
    revocation_key,
)
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from ledger.verification import when
from storage.errors import MalformedProofError
from storage.state_tree import (
    StateTree,
    state_proof_from_json,
    state_proof_to_json,
    verify_state_proof,
)

PROOF_FORMAT = "senim-proof/v1"
MAX_ENTRIES = 32


def proof_keys(batch_root: bytes, issuer: bytes, target: bytes,
               ministries: Sequence[bytes]) -> list[bytes]:
    """Every state key a credential's verification reads."""
    keys = [batch_key(issuer, batch_root), member_key(issuer), accreditation_key(issuer),
            revocation_key(issuer, batch_root, target),
            employment_end_key(issuer, batch_root, target), key_history_key(issuer)]
    keys += [member_key(m) for m in ministries]
    return [*keys, VALIDATOR_SET_INDEX_KEY]


def original_proof_keys(doc: ParsedDocument) -> list[bytes]:
    """The state keys checking a recognition's original transcript reads (none for another
    type, or when the reference is hidden or unreadable, which no entry can help)."""
    text = doc.revealed.get(ORIGINAL_FIELD) if doc.credential_type == "recognition" else None
    if text is None:
        return []
    try:
        ref = parse_original(text)
    except InvalidDocument:
        return []
    return [batch_key(ref.issuer, ref.batch_root), member_key(ref.issuer),
            accreditation_key(ref.issuer),
            revocation_key(ref.issuer, ref.batch_root, ref.target_hash)]


def make_bundle(state: StateTree, header: Header, certificate: bytes,
                keys: Sequence[bytes], set_changes: Sequence[SetChangeProof] = ()
                ) -> dict[str, Any]:
    """The proof bundle for `keys` at the committed `header` (state must be at it)."""
    assert state.root == header.state_root, "state and header must be of one block"
    entries = []
    for key in keys:
        value = state.get(key)
        entries.append({"key": key.hex(), "value": None if value is None else value.hex(),
                        "proof": state_proof_to_json(state.prove(key))})
    return {"format": PROOF_FORMAT, "height": header.height, "header": header.encode().hex(),
            "certificate": certificate.hex(), "entries": entries,
            "set_changes": [change.to_json() for change in set_changes]}


class OfflineFacts(StateFacts):
    """Chain facts taken only from a proof bundle, after checking it end to end."""

    def __init__(self, bundle: Any, genesis: Genesis, certified: SetCertificateCheck) -> None:
        if not isinstance(bundle, dict) or bundle.get("format") != PROOF_FORMAT:
            raise InvalidDocument(f"the credential carries no offline proof ({PROOF_FORMAT}): "
                                  "its holder adds one with `senim prove`, or check it online")
        try:
            header = Header.decode(bytes.fromhex(bundle["header"]))
            certificate = bytes.fromhex(bundle["certificate"])
            entries = bundle["entries"]
        except (KeyError, TypeError, ValueError, MalformedInput) as exc:
            raise InvalidDocument(f"the offline proof is malformed: {exc}") from exc
        if header.chain_id != genesis.chain_id:
            raise InvalidDocument(f"the proof is for network {header.chain_id!r}, "
                                  f"the genesis file is for {genesis.chain_id!r}")
        changes = bundle.get("set_changes", [])
        if not isinstance(changes, list) or len(changes) > MAX_SET_CHANGE_PROOFS:
            raise InvalidDocument("the proof's validator-set changes must be a list")
        values = self._check_entries(entries, header.state_root)
        try:
            history = follow_validator_sets(
                genesis, [SetChangeProof.from_json(c) for c in changes], certified)
            in_force = history.check_block(header, certificate, certified,
                                           values.get(VALIDATOR_SET_INDEX_KEY))
        except UnprovenValidatorSet as exc:
            raise InvalidDocument(f"the proof's block is not certified by the validators "
                                  f"followed from genesis: {exc}") from exc
        self.header = header
        self.height = header.height
        self.values = values
        self.set_changes = len(history.records) - 1
        self.certifiers = ("the genesis validators" if in_force.from_height == 1 else
                           f"the validators in force from block {in_force.from_height} "
                           f"(followed from genesis through {self.set_changes} change(s))")

    @staticmethod
    def _check_entries(entries: Any, state_root: bytes) -> dict[bytes, bytes | None]:
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            raise InvalidDocument("the proof's entries must be a short list")
        values: dict[bytes, bytes | None] = {}
        for entry in entries:
            try:
                key = bytes.fromhex(entry["key"])
                value = None if entry["value"] is None else bytes.fromhex(entry["value"])
                proof = state_proof_from_json(entry["proof"])
            except (KeyError, TypeError, ValueError, MalformedProofError) as exc:
                raise InvalidDocument(f"a proof entry is malformed: {exc}") from exc
            if not verify_state_proof(state_root, key, value, proof):
                raise InvalidDocument("a Merkle proof in the bundle does not match the "
                                      "certified state root: the proof was altered")
            values[key] = value
        return values

    def describe(self) -> str:
        return (f"offline proof: block {self.header.height} ({when(self.header.time_ms)}) "
                f"certified by {self.certifiers}")

    def get(self, key: bytes) -> bytes | None:
        if key not in self.values:
            raise InvalidDocument("the offline proof lacks an entry this check needs")
        return self.values[key]
