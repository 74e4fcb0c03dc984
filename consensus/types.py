"""Names for the values consensus talks about, so a view is never mixed up with a height."""

from typing import NewType

ValidatorId = NewType("ValidatorId", bytes)
"""Opaque validator identifier (the node derives it from the Ed25519 key, e.g. 20 bytes)."""

View = NewType("View", int)
"""Consensus view number; it only ever grows, across heights and restarts."""

Height = NewType("Height", int)
"""Block height; the first block after genesis is height 1."""

Digest = NewType("Digest", bytes)
"""SHA-256 of a block header, computed by the node: exactly DIGEST_BYTES long."""

DIGEST_BYTES = 32
