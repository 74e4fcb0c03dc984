"""Evidence of validator misbehaviour: kept locally, shown to operators.

Consensus reports provable faults (two signed votes for one height and view, a
forged view change); the node stores the signed messages as received so an
operator (or, later, governance) can act on them.
"""

from __future__ import annotations

import time
from typing import Any

from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from storage.kv import KeyValueStore

EVIDENCE_PREFIX = b"E"
LIST_MAX = 100


def record_evidence(kv: KeyValueStore, kind: str, validator: bytes, first: bytes,
                    second: bytes) -> None:
    key = EVIDENCE_PREFIX + time.time_ns().to_bytes(8, "big") + validator
    kv.write({key: encode([kind, validator, first, second])}, sync=False)


def list_evidence(kv: KeyValueStore, limit: int = LIST_MAX) -> list[dict[str, Any]]:
    """The newest records first, at most `limit`."""
    rows: list[dict[str, Any]] = []
    for key, value in kv.iterate_prefix(EVIDENCE_PREFIX):
        try:
            kind, validator, first, second = decode(value)
        except (MalformedInput, ValueError, TypeError):
            continue
        rows.append({"recorded_ns": int.from_bytes(key[1:9], "big"), "kind": kind,
                     "validator": validator.hex(), "first": first.hex(),
                     "second": second.hex()})
    return sorted(rows, key=lambda row: row["recorded_ns"], reverse=True)[:limit]
