"""States the ledger never writes, as a forged or buggy node might present them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.credentials import IssuedBatch, make_batch
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.records import Batch, Member, batch_key, member_key
from storage.kv import MemoryStore
from storage.state_tree import StateTree
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS


def unaccredited_batch(issuer: KeyPair, name: str, role: str,
                       records: Sequence[Mapping[str, Any]], credential_type: str
                       ) -> tuple[IssuedBatch, LocalFacts]:
    """A batch on chain from a member that was never accredited to issue it."""
    kv = MemoryStore()
    state = StateTree(kv, b"s/")
    batch = make_batch(records, credential_type, CHAIN_ID, issuer.member_id, name)
    overlay = state.overlay()
    overlay.set(member_key(issuer.member_id),
                Member(name, role, issuer.public_key, False, 0).encode())
    overlay.set(batch_key(issuer.member_id, batch.root),
                Batch(issuer.member_id, credential_type, len(records), 5, GENESIS_TIME_MS,
                      b"\x00" * 32).encode())
    kv.write(state.commit(overlay))
    state.committed(overlay)
    return batch, LocalFacts(state, "forged")
