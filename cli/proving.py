"""What a proof `senim prove` just fetched says of the credential, before it is written.

A proof shows the holder's credential as the node's chain records it: altered, never
issued there (another network's, say), or revoked, it would show just that to whoever
checks it. The holder is told so at once, and no proof is written, rather than learn it
from an employer.

Nor is a proof written that no verifier could read: a node, hostile or broken, could
hand the holder a bundle whose block does not decode, whose records do not match the
block's state root, or that lacks a record a verifier needs, and the holder would
learn of it only when an employer refused a genuine diploma. With the consortium's
genesis file (`--genesis`) the bundle is checked exactly as a verifier will check it,
its block's certifiers included; without it, as far as no genesis file is needed: its
block's certificate by its shape and the block it names, not by who signed it.
"""

from __future__ import annotations

from typing import Any

from consensus.certificate import decode_certificate
from consensus.errors import MalformedMessage
from ledger.blocks import Header
from ledger.facts import StateFacts
from ledger.genesis import Genesis
from ledger.light_client import SetChangeProof, UnprovenValidatorSet
from ledger.offline import OfflineFacts, ProofRefused, bundle_parts
from ledger.verification import Verdict, verify_credential
from node.validators import certifies_by_keys


class _UnsignedFacts(StateFacts):
    """A bundle's state values, its block's certifiers left to whoever holds genesis."""

    def __init__(self, bundle: Any) -> None:
        parts = bundle_parts(bundle)
        try:
            certificate = decode_certificate(parts.certificate)
            for change in parts.set_changes:
                SetChangeProof.from_json(change)
        except (MalformedMessage, UnprovenValidatorSet) as exc:
            raise ProofRefused("proof_malformed",
                               f"the offline proof is malformed: {exc}") from exc
        if (certificate.height != parts.header.height
                or certificate.digest != parts.header.block_hash):
            raise ProofRefused("proof_uncertified", "the proof's certificate is of another "
                               "block than the proof's")
        self.header: Header = parts.header
        self.height = parts.header.height
        self.values = parts.values

    def describe(self) -> str:
        return f"the proof as of block {self.header.height}"

    def get(self, key: bytes) -> bytes | None:
        if key not in self.values:
            raise ProofRefused("proof_lacks_entry",
                               "the offline proof lacks an entry this check needs")
        return self.values[key]


def proof_verdict(document: Any, bundle: Any, genesis: Genesis | None) -> Verdict:
    """The verdict the proof gives the document, as a verifier holding `genesis` will
    find it (without one, as far as the module docstring says). ProofRefused when no
    verifier could take the proof; MalformedInput when a record in it has a shape this
    release cannot read, which a verifier of this release could not read either."""
    facts: OfflineFacts | _UnsignedFacts = (
        _UnsignedFacts(bundle) if genesis is None else
        OfflineFacts(bundle, genesis, certifies_by_keys(genesis.chain_id)))
    return verify_credential(document, facts, facts.header.chain_id)
