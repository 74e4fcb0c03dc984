"""Evidence records: one per (validator, kind, height, view), capped, paged newest first."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import consensus
from consensus.messages import Prepare, SignedMessage, ViewChange, encode_signed
from consensus.types import Digest, Height, ValidatorId, View
from ledger.codec import encode
from node import evidence
from node.evidence import (
    EVIDENCE_MESSAGE_BYTES_MAX,
    EVIDENCE_PAGE_MAX,
    EVIDENCE_PREFIX,
    FAULT_KINDS,
    evidence_page,
    list_evidence,
    record_evidence,
)
from storage.errors import CorruptStateError
from storage.kv import MemoryStore

ALICE = b"\x01" * 20
BOB = b"\x02" * 20


def prepare(height: int, view: int, sender: bytes = ALICE) -> bytes:
    message = Prepare(View(view), Height(height), Digest(os.urandom(32)))
    return encode_signed(SignedMessage(ValidatorId(sender), message, os.urandom(64)))


def view_change(height: int, new_view: int, sender: bytes = ALICE) -> bytes:
    message = ViewChange(View(new_view), Height(height), None)
    return encode_signed(SignedMessage(ValidatorId(sender), message, os.urandom(64)))


def test_records_are_listed_newest_first_with_height_and_view() -> None:
    kv = MemoryStore()
    assert record_evidence(kv, "conflicting-prepare", ALICE, prepare(5, 2), prepare(5, 2))
    assert record_evidence(kv, "invalid-view-change", BOB, view_change(7, 3, BOB), b"")
    rows = list_evidence(kv)
    assert [row["kind"] for row in rows] == ["invalid-view-change", "conflicting-prepare"]
    assert (rows[1]["height"], rows[1]["view"], rows[1]["validator"]) == (5, 2, "01" * 20)
    assert (rows[0]["height"], rows[0]["view"]) == (7, 3)
    assert list_evidence(kv, limit=1) == rows[:1]


def test_a_resent_fault_is_kept_once() -> None:
    kv = MemoryStore()
    assert record_evidence(kv, "conflicting-prepare", ALICE, prepare(5, 2), prepare(5, 2))
    for _ in range(50):  # the same vote pair, or new conflicting ones, for the same slot
        assert not record_evidence(kv, "conflicting-prepare", ALICE, prepare(5, 2),
                                   prepare(5, 2))
    assert record_evidence(kv, "conflicting-commit", ALICE, prepare(5, 2), b"")  # other kind
    assert record_evidence(kv, "conflicting-prepare", ALICE, prepare(5, 3), b"")  # other view
    assert record_evidence(kv, "conflicting-prepare", BOB, prepare(5, 2, BOB), b"")
    assert evidence_page(kv)["total"] == 4
    # Messages that do not decode share one slot per validator and kind.
    assert record_evidence(kv, "invalid-view-change", ALICE, b"\xc1junk", b"")
    assert not record_evidence(kv, "invalid-view-change", ALICE, os.urandom(100), b"")
    assert list_evidence(kv)[0]["height"] is None


def test_caps_keep_the_oldest_and_count_the_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "EVIDENCE_MAX", 6)
    monkeypatch.setattr(evidence, "EVIDENCE_PER_VALIDATOR_MAX", 4)
    kv = MemoryStore()
    stored = [record_evidence(kv, "conflicting-prepare", ALICE, prepare(h, 0), b"")
              for h in range(1, 11)]
    assert stored == [True] * 4 + [False] * 6  # one validator cannot fill the store
    stored = [record_evidence(kv, "conflicting-prepare", BOB, prepare(h, 0, BOB), b"")
              for h in range(1, 5)]
    assert stored == [True, True, False, False]  # the total cap
    page = evidence_page(kv)
    assert (page["total"], page["dropped"]) == (6, 8)
    assert sorted(row["height"] for row in page["evidence"] if row["validator"] == ALICE.hex()
                  ) == [1, 2, 3, 4]
    assert len(dict(kv.iterate_prefix(EVIDENCE_PREFIX + b"r"))) == 6


def test_a_flood_of_one_kind_does_not_keep_out_the_first_of_another(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A validator that filled its places with conflicting prepares at views never held
    kept its first conflicting commit (the attack) from being recorded, and so from
    being submitted on chain: the first of each kind is kept past its cap."""
    monkeypatch.setattr(evidence, "EVIDENCE_PER_VALIDATOR_MAX", 4)
    kv = MemoryStore()
    assert all(record_evidence(kv, "conflicting-prepare", ALICE, prepare(1, view), b"")
               for view in range(4))
    assert not record_evidence(kv, "conflicting-prepare", ALICE, prepare(1, 99), b"")
    assert record_evidence(kv, "conflicting-commit", ALICE, prepare(9, 0), b"")
    assert record_evidence(kv, "conflicting-pre-prepare", ALICE, prepare(9, 0), b"")
    # one of each kind: a second commit, or a kind the replica never reports, is not kept
    assert not record_evidence(kv, "conflicting-commit", ALICE, prepare(10, 0), b"")
    assert not record_evidence(kv, "made-up", ALICE, prepare(10, 0), b"")
    page = evidence_page(kv)
    assert (page["total"], page["dropped"]) == (6, 3)
    assert [row["kind"] for row in page["evidence"][:2]] == [
        "conflicting-pre-prepare", "conflicting-commit"]


def test_every_kind_the_replica_reports_is_a_fault_kind() -> None:
    """The kinds kept past the cap are the replica's own: a kind it names anew is kept too."""
    reported = set()
    for path in Path(consensus.__file__).parent.glob("*.py"):
        reported |= set(re.findall(r'ReportEvidence\(\s*"([a-z-]+)"', path.read_text()))
    assert reported == FAULT_KINDS


def test_a_huge_message_is_kept_as_its_hash() -> None:
    kv = MemoryStore()
    huge = os.urandom(EVIDENCE_MESSAGE_BYTES_MAX + 1)
    record_evidence(kv, "invalid-view-change", ALICE, huge, b"")
    row = list_evidence(kv)[0]
    assert row["first"].startswith("sha256:") and row["second"] == ""
    assert sum(len(v) for _, v in kv.iterate_prefix(EVIDENCE_PREFIX)) < 1_000


def test_pages_follow_the_cursor_and_reads_are_gets_not_scans() -> None:
    kv = MemoryStore()
    for height in range(1, 8):
        record_evidence(kv, "conflicting-prepare", ALICE, prepare(height, 0), b"")
    first = evidence_page(kv, limit=3)
    assert [row["height"] for row in first["evidence"]] == [7, 6, 5]
    second = evidence_page(kv, limit=3, before=first["next"])
    assert [row["height"] for row in second["evidence"]] == [4, 3, 2]
    last = evidence_page(kv, limit=3, before=second["next"])
    assert [row["height"] for row in last["evidence"]] == [1] and last["next"] is None
    assert len(evidence_page(kv, limit=10_000)["evidence"]) == 7
    assert evidence_page(kv, limit=10_000, before=10**30)["evidence"][0]["height"] == 7

    def no_scan(prefix: bytes) -> None:
        raise AssertionError("a page must not scan the store")

    kv.iterate_prefix = no_scan  # type: ignore[method-assign,assignment]
    assert len(evidence_page(kv, limit=EVIDENCE_PAGE_MAX)["evidence"]) == 7


@pytest.mark.parametrize("counter", [encode([10**9, 10**9, 0]), encode([5, 3, 0]),
                                     b"\xc1garbage", encode(["x", 1, 0]), encode([1, 2])])
def test_a_damaged_counter_is_damage_not_a_walk_of_a_billion_reads(counter: bytes) -> None:
    # [10**9, 10**9, 0] pinned the event loop for minutes; garbage answered 400 `malformed`
    kv = MemoryStore()
    record_evidence(kv, "conflicting-prepare", ALICE, prepare(5, 2), b"")
    kv.write({EVIDENCE_PREFIX + b"m": counter})
    with pytest.raises(CorruptStateError, match="evidence counter"):
        evidence_page(kv)
    with pytest.raises(CorruptStateError, match="evidence counter"):
        record_evidence(kv, "conflicting-prepare", BOB, prepare(6, 2, BOB), b"")
