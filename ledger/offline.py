"""Offline proofs: a credential that verifies without trusting (or reaching) a node.

A proof bundle holds one block header, its commit certificate, Merkle proofs
against that header's state root for every state entry verification reads
(batch, issuer, its key history, accreditation, granting ministry, revocation and,
for one by the consortium, the ministry that proposed it, the validator-set index, and
a recognition's original transcript: its batch, issuer, accreditation and revocation),
and the validator-set changes from genesis to that
block (`ledger.light_client`). A verifier who trusts only the consortium's
genesis file follows the validator set through those changes, checks the
certificate against the set in force at the block, then each entry against the
certified state root. A bundle made before any change carries no changes and is
checked against the genesis validators; it still carries its block's `v:index`, which
must list no change the walk skipped (`_require_index`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


class ProofRefused(InvalidDocument):
    """An offline proof that shows nothing, with a stable `code` a verifier words in its
    reader's language (the message stays the English technical detail)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)  # said by cli.proof.<code>


def proof_keys(batch_root: bytes, issuer: bytes, target: bytes,
               ministries: Sequence[bytes]) -> list[bytes]:
    """Every state key a credential's verification reads; `ministries` are the members
    it names (the granting ministries, and the proposer of a revocation by governance),
    each with its key history (whether it granted with a key reported stolen)."""
    keys = [batch_key(issuer, batch_root), member_key(issuer), accreditation_key(issuer),
            revocation_key(issuer, batch_root, target),
            employment_end_key(issuer, batch_root, target), key_history_key(issuer)]
    keys += [member_key(m) for m in ministries]
    keys += [key_history_key(m) for m in ministries]
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
            revocation_key(ref.issuer, ref.batch_root, ref.target_hash),
            key_history_key(ref.issuer)]


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


@dataclass(frozen=True)
class BundleParts:
    """What a proof bundle holds, checked as far as no genesis file is needed: its block
    decodes, each entry's Merkle proof matches the block's state root, and the block's
    validator-set index is among them. Who certified the block is not checked here."""

    header: Header
    certificate: bytes
    values: dict[bytes, bytes | None]
    index: bytes
    set_changes: list[Any]  # as the bundle gives them: SetChangeProof.from_json reads each


def bundle_parts(bundle: Any, chain_id: str | None = None) -> BundleParts:
    """The parts of `bundle`, for a verifier (`OfflineFacts`) or for its maker, `senim
    prove`, which checks what a node handed it before writing it; ProofRefused if they do
    not hold together. `chain_id`: the network the verifier's genesis file is of."""
    if bundle is not None and (not isinstance(bundle, dict) or "format" not in bundle):
        # something in the proof's place, which no `senim prove` wrote: damaged, not
        # missing (the holder would be told to add one it has)
        raise ProofRefused("proof_malformed", "the credential's offline proof is damaged: "
                           "it is no proof `senim prove` writes; its holder runs it again")
    if not isinstance(bundle, dict) or bundle.get("format") != PROOF_FORMAT:
        raise ProofRefused("proof_missing", f"the credential carries no offline proof "
                           f"({PROOF_FORMAT}): its holder adds one with `senim prove`, "
                           "or check it online")
    try:
        header = Header.decode(bytes.fromhex(bundle["header"]))
        certificate = bytes.fromhex(bundle["certificate"])
        entries = bundle["entries"]
    except (KeyError, TypeError, ValueError, MalformedInput) as exc:
        raise ProofRefused("proof_malformed",
                           f"the offline proof is malformed: {exc}") from exc
    if chain_id is not None and header.chain_id != chain_id:
        raise ProofRefused("proof_other_network",
                           f"the proof is for network {header.chain_id!r}, "
                           f"the genesis file is for {chain_id!r}")
    changes = bundle.get("set_changes", [])
    if not isinstance(changes, list) or len(changes) > MAX_SET_CHANGE_PROOFS:
        raise ProofRefused("proof_malformed",
                           "the proof's validator-set changes must be a list")
    values = _checked_entries(entries, header.state_root)
    return BundleParts(header, certificate, values, _require_index(bundle, values), changes)


class OfflineFacts(StateFacts):
    """Chain facts taken only from a proof bundle, after checking it end to end."""

    def __init__(self, bundle: Any, genesis: Genesis, certified: SetCertificateCheck) -> None:
        parts = bundle_parts(bundle, genesis.chain_id)
        try:
            history = follow_validator_sets(
                genesis, [SetChangeProof.from_json(c) for c in parts.set_changes], certified)
            in_force = history.check_block(parts.header, parts.certificate, certified,
                                           parts.index)
        except UnprovenValidatorSet as exc:
            raise ProofRefused("proof_uncertified", f"the proof's block is not certified by "
                               f"the validators followed from genesis: {exc}") from exc
        self.header = parts.header
        self.height = parts.header.height
        self.values = parts.values
        self.set_changes = len(history.records) - 1
        self.certified_from = in_force.from_height
        self.certifiers = ("the genesis validators" if in_force.from_height == 1 else
                           f"the validators in force from block {in_force.from_height} "
                           f"(followed from genesis through {self.set_changes} change(s))")

    def describe(self) -> str:
        return (f"offline proof: block {self.header.height} ({when(self.header.time_ms)}) "
                f"certified by {self.certifiers}")

    def get(self, key: bytes) -> bytes | None:
        if key not in self.values:
            raise ProofRefused("proof_lacks_entry",
                                "the offline proof lacks an entry this check needs")
        return self.values[key]


def _checked_entries(entries: Any, state_root: bytes) -> dict[bytes, bytes | None]:
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise ProofRefused("proof_malformed", "the proof's entries must be a short list")
    values: dict[bytes, bytes | None] = {}
    for entry in entries:
        try:
            key = bytes.fromhex(entry["key"])
            value = None if entry["value"] is None else bytes.fromhex(entry["value"])
            proof = state_proof_from_json(entry["proof"])
        except (KeyError, TypeError, ValueError, MalformedProofError) as exc:
            raise ProofRefused("proof_malformed", f"a proof entry is malformed: {exc}") from exc
        if not verify_state_proof(state_root, key, value, proof):
            raise ProofRefused("proof_altered", "a Merkle proof in the bundle does not "
                               "match the certified state root: the proof was altered")
        values[key] = value
    return values


def _require_index(bundle: dict[str, Any], values: dict[bytes, bytes | None]) -> bytes:
    """`v:index` as the proof's block's state holds it, proven against its root.

    The walk from genesis may stop short of the truth (a bundle's set changes are
    whatever its maker chose to include), so the block's own index is what shows that no
    change at or below its height was left out: then a set the chain retired cannot sign
    a later state over again as if still in force. Each entry has its own Merkle proof,
    so an entry cut out of a bundle breaks none of the others: without this check a
    bundle missing the index was read as a state that has none, and passed.

    Every bundle `senim prove` has made since bundles carried set changes holds the
    index, whatever the chain's history; no genuine proof lacks it by design, not even
    from a chain whose genesis set never changed. A bundle from before (2026-11-30, no
    `set_changes` field) lacks it too, but it cannot be told from a newer one with both
    removed, and accepting it would let the retired set's forgery through by dropping
    one more field: it is refused with its own sentence, since its holder can make a
    new one."""
    if VALIDATOR_SET_INDEX_KEY not in values:
        if "set_changes" not in bundle:
            raise ProofRefused(
                "proof_before_set_changes",
                "this offline proof was made by an older `senim prove`, before proofs "
                "carried the validator-set changes and index, so it cannot show which "
                "validators were in force at its block: ask its holder to run `senim "
                "prove` again")
        raise ProofRefused(
            "proof_no_index",
            "the offline proof lacks the validator-set index of its block's state, so it "
            "cannot show that no change of validators was left out: it was cut down or "
            "altered; ask its holder to run `senim prove` again")
    index = values[VALIDATOR_SET_INDEX_KEY]
    if index is None:  # genesis writes it (ledger.genesis), so every real state holds it
        raise ProofRefused(
            "proof_no_index",
            "the offline proof's block holds no validator-set index, which every Senim "
            "chain holds from genesis on: the block is not one of this chain")
    return index
