"""Chain facts for verification, read through the ledger's own record loaders.

`StateFacts` decodes records from any `get(key)` source: the local state tree
here, a node over HTTP (`cli.remote`), or an offline proof (`ledger.offline`).
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.key_events import KeyHistory, load_key_history
from ledger.records import Accreditation, Anchor, Batch, EmploymentEnd, Member, Revocation
from ledger.rules import (
    load_accreditation,
    load_anchor,
    load_batch,
    load_employment_end,
    load_member,
    load_revocation,
)
from storage.state_tree import StateTree


class StateFacts:
    """Chain facts decoded by the ledger's own loaders from any `get(key)` source.

    Subclasses say where raw state values come from (and how they are checked);
    the decoding of members, accreditations, batches, revocations and anchors
    lives in one place, `ledger.rules`. `height` is the block the facts are read at,
    when the source knows it (an open employment is reported "as of" it)."""

    height: int | None = None

    def describe(self) -> str:
        raise NotImplementedError

    def get(self, key: bytes) -> bytes | None:
        raise NotImplementedError

    def member(self, member: bytes) -> Member | None:
        return load_member(self, member)

    def accreditation(self, member: bytes) -> Accreditation:
        return load_accreditation(self, member)

    def batch(self, issuer: bytes, root: bytes) -> Batch | None:
        return load_batch(self, issuer, root)

    def revocation(self, issuer: bytes, batch_root: bytes, target: bytes
                   ) -> Revocation | None:
        return load_revocation(self, issuer, batch_root, target)

    def anchor(self, document_hash: bytes) -> Anchor | None:
        return load_anchor(self, document_hash)

    def employment_end(self, issuer: bytes, batch_root: bytes, target: bytes
                       ) -> EmploymentEnd | None:
        return load_employment_end(self, issuer, batch_root, target)

    def key_history(self, member: bytes) -> KeyHistory | None:
        return load_key_history(self, member)

    def block_time(self, height: int) -> int | None:
        """The time of block `height`, where the source vouches for it; here it cannot."""
        return None


class LocalFacts(StateFacts):
    def __init__(self, state: StateTree, describe: str, height: int | None = None,
                 block_times: Callable[[int], int | None] | None = None) -> None:
        self._state = state
        self._describe = describe
        self.height = height
        self._block_times = block_times  # the chain's own committed headers, if given

    def block_time(self, height: int) -> int | None:
        return self._block_times(height) if self._block_times is not None else None

    def describe(self) -> str:
        return self._describe

    def get(self, key: bytes) -> bytes | None:
        return self._state.get(key)
