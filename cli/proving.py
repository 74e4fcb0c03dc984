"""What a proof `senim prove` just fetched says of the credential, before it is written.

A proof shows the holder's credential as the node's chain records it: altered, never
issued there (another network's, say), or revoked, it would show just that to whoever
checks it. The holder is told so at once, and no proof is written, rather than learn it
from an employer. The node is taken at its word here; a verifier checks the proof
against genesis (`ledger.offline`).
"""

from __future__ import annotations

from typing import Any

from ledger.blocks import Header
from ledger.errors import InvalidDocument, MalformedInput
from ledger.facts import StateFacts
from ledger.verification import Verdict, verify_credential


class _BundleFacts(StateFacts):
    """The state values a proof bundle holds, as the node served them."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.header = Header.decode(bytes.fromhex(bundle["header"]))
        self.height = self.header.height
        self.values = {bytes.fromhex(entry["key"]):
                       None if entry["value"] is None else bytes.fromhex(entry["value"])
                       for entry in bundle["entries"]}

    def describe(self) -> str:
        return f"the proof as of block {self.header.height}"

    def get(self, key: bytes) -> bytes | None:
        if key not in self.values:
            raise InvalidDocument("the proof lacks an entry this check needs",
                                  "proof_lacks_entry")
        return self.values[key]


def proof_verdict(document: Any, bundle: dict[str, Any]) -> Verdict | None:
    """The verdict the proof gives the document, or None when it cannot be told here (a
    check needs an entry the bundle does not hold)."""
    try:
        facts = _BundleFacts(bundle)
        return verify_credential(document, facts, facts.header.chain_id)
    except (InvalidDocument, MalformedInput, KeyError, TypeError, ValueError, AttributeError,
            OverflowError):
        return None
