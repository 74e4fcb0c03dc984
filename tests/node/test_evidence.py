"""Evidence records: stored as received, listed newest first, junk skipped."""

from __future__ import annotations

from node.evidence import EVIDENCE_PREFIX, list_evidence, record_evidence
from storage.kv import MemoryStore


def test_evidence_is_listed_newest_first_with_the_signed_messages() -> None:
    kv = MemoryStore()
    record_evidence(kv, "equivocating-prepare", b"\x01" * 20, b"first-vote", b"second-vote")
    record_evidence(kv, "forged-view-change", b"\x02" * 20, b"only", b"")
    kv.write({EVIDENCE_PREFIX + b"\xff" * 8 + b"x": b"not msgpack \xc1"})
    rows = list_evidence(kv)
    assert [row["kind"] for row in rows] == ["forged-view-change", "equivocating-prepare"]
    assert rows[1]["first"] == b"first-vote".hex() and rows[1]["validator"] == "01" * 20
    assert list_evidence(kv, limit=1) == rows[:1]
