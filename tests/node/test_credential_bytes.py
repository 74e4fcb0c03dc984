"""The bytes a batch is made of do not change: issued credentials must go on verifying.

The pins below were computed by the batch code before record shapes
(`ledger/credential_shapes.py`) existed, with the same salts; every batch is also
checked against a straightforward computation written out here, from the salts its
own documents carry.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Mapping, Sequence
from typing import Any

import msgpack
import pytest

from ledger.credential_documents import parse_document
from ledger.credential_salts import SALT_CHUNK_BYTES, FixedSalts, SaltPool
from ledger.credential_shapes import (
    _JSON_ESCAPED,
    MAX_FIELD_VALUE,
    SALT_BYTES,
    SHAPE_CACHE_MAX,
    ShapeBook,
    ShapeRuns,
)
from ledger.credentials import (
    DOCUMENT_FORMAT,
    RUN_RECORDS_MAX,
    BatchBuilder,
    IssuedBatch,
    _hash_record,
    field_hash,
    hash_record,
    hash_records,
    make_batch,
)
from ledger.errors import InvalidDocument
from storage.batch_tree import verify_inclusion

STREAM = bytes(i % 251 for i in range(SALT_CHUNK_BYTES))
ISSUER = bytes(range(20))
CHAIN_ID = "senim-test"
PINNED_RECORDS: list[dict[str, Any]] = [
    {"full_name": "Әсел Қайратқызы Нұрланова", "iin": "010101500123", "gpa": "3.50",
     "programme": "Ақпараттық жүйелер", "graduation_date": "2026-06-30"},
    {" honours ": "с отличием", "gpa": 3.5, "note": "50% \"quoted\" \\ \u2028", "list": [1, "ä"]},
    {"full_name": "Nurlan"},
]


def fixed_salts() -> SaltPool:
    return SaltPool(lambda size: STREAM[:size])


def line(parts: dict[str, str]) -> str:
    return json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def test_a_batch_is_pinned_byte_for_byte() -> None:
    batch = make_batch(PINNED_RECORDS, "diploma", CHAIN_ID, ISSUER, "KazNU",
                       salts=fixed_salts())
    assert batch.root.hex() == (
        "7e2a503a054079ef41c1511c2d1ef34d11c603a352d1d530d4b92cbe45640d7e")
    assert [t.hex() for t in batch.target_hashes] == [
        "36906921872063f1a2ee6a000529e3f41cca5b04415b1c09c4a6b674754da151",
        "871358534b947c93b3ef81f275c1b90610ad3038b1958cbec48d48c9f734dce5",
        "f12c390d5da40c2ffb2d1d8c7e189fb4b861217d5f2da1cf553e63c2437265bd"]
    assert batch.packed[1].decode() == (
        '{"honours":{"value":"с отличием","salt":"505152535455565758595a5b5c5d5e5f"},'
        '"gpa":{"value":"3.5","salt":"606162636465666768696a6b6c6d6e6f"},'
        '"note":{"value":"50% \\"quoted\\" \\\\ \u2028","salt":"707172737475767778797a7b7c7d7e7f"},'
        '"list":{"value":"[1, \\"ä\\"]","salt":"808182838485868788898a8b8c8d8e8f"}}')
    documents = list(batch.documents())
    assert hashlib.sha256(json.dumps(documents, ensure_ascii=False, sort_keys=True).encode()
                          ).hexdigest() == (
        "6efd43e5531da4d04f18f5e0403b5bb6bc66df07a165098a4983fa85850745b2")
    assert documents[0]["fields"]["full_name"]["salt"] == STREAM[:16].hex()
    assert field_hash("full_name", PINNED_RECORDS[0]["full_name"], STREAM[:16]).hex() == (
        "ccb3b008cea9bb913303835b0fe2241a92f5f35571d10d58b4f2d0d4da5d14f6")


def reference_target(document: Mapping[str, Any]) -> bytes:
    """The definition, written out: field hashes over tag, length-prefixed name and value
    and the salt; the target hash over the msgpack of format, chain, issuer, type and
    the sorted (name, hash) pairs."""
    pairs = []
    for name in sorted(document["fields"]):
        entry = document["fields"][name]
        name_bytes, value = name.encode(), entry["value"].encode()
        digest = hashlib.sha256(b"senim/field/v1\x00" + len(name_bytes).to_bytes(4, "big")
                                + name_bytes + len(value).to_bytes(4, "big") + value
                                + bytes.fromhex(entry["salt"])).digest()
        pairs.append([name, digest])
    encoded = msgpack.packb([document["format"], document["chain_id"],
                             bytes.fromhex(document["issuer"]["member_id"]), document["type"],
                             pairs], use_bin_type=True)
    return hashlib.sha256(b"senim/credential/v1\x00" + encoded).digest()


def check_against_reference(batch: IssuedBatch, records: Sequence[Mapping[str, Any]]) -> None:
    for record, document in zip(records, batch.documents(), strict=True):
        assert list(document["fields"]) == [str(k).strip() for k in record]
        for (key, value), entry in zip(record.items(), document["fields"].values(),
                                       strict=True):
            text = value if isinstance(value, str) else json.dumps(
                value, sort_keys=True, ensure_ascii=False)
            assert entry["value"] == text, key
        # the packed JSON is json.dumps of the fields as they always were
        assert document["format"] == DOCUMENT_FORMAT
        target = reference_target(document)
        assert document["target_hash"] == target.hex()
        assert parse_document(document).target_hash == target
        batch_part = document["batch"]
        assert verify_inclusion(target, batch_part["index"], batch_part["size"],
                                [bytes.fromhex(p) for p in batch_part["path"]], batch.root)
    for index, packed in enumerate(batch.packed):
        fields = json.loads(packed)
        assert packed == json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode(), \
            index


def transcript_record(number: int) -> dict[str, str]:
    return {"full_name": f"Student {number}", "gpa": "3.50", "total_credits": "10",
            "course.01": line({"code": "MAT101", "credits": "5", "grade": "A",
                               "title_en": "Calculus, 100% of it"}),
            "course.02": line({"code": "HIS101", "credits": "5", "grade": "B"})}


@pytest.mark.parametrize(("credential_type", "records"), [
    ("diploma", [*PINNED_RECORDS, {"z": "1", "a": "2", "M": "3", "ё": "Ё", "😀": "😀"},
                 {1: "one", "%s": "%d"}, {True: "yes", "%s": "%d"}, {1.0: "x", "%s": "%d"},
                 {"iin": "x" * MAX_FIELD_VALUE},
                 {"full_name": "A\x00\x1f\"", "empty": ""}]),
    ("transcript", [transcript_record(n) for n in range(20)] + [{"full_name": "no lines"}]),
    ("attestat", [{"full_name": f"P{n}", "subject.algebra": str(1 + n % 5),
                   "subject.physics": "5"} for n in range(20)]),
    ("employment", [{"full_name": "A", "position": "Analyst", "organisation": "Kaspi",
                     "start_date": "2024-01-15", "end_date": "2025-01-15"}]),
])
def test_every_shape_hashes_as_the_definition_says(credential_type: str,
                                                   records: list[Mapping[str, Any]]) -> None:
    check_against_reference(make_batch(records, credential_type, CHAIN_ID, ISSUER, "U"),
                            records)


def test_more_shapes_than_are_kept_still_hash_as_defined() -> None:
    records: list[dict[str, str]] = [{f"field{n}": "v", "name": str(n)}
                                     for n in range(SHAPE_CACHE_MAX * 2)] * 2
    check_against_reference(make_batch(records, "diploma", CHAIN_ID, ISSUER, "U"), records)


@pytest.mark.parametrize(("credential_type", "record"), [
    ("diploma", {}),
    ("diploma", {f"f{n}": "v" for n in range(201)}),
    ("diploma", {"a": "1", " ": "2"}),
    ("diploma", {"a": "1", "b" * 101: "2"}),
    ("diploma", {"a": "1", "b": "x" * (MAX_FIELD_VALUE + 1)}),
    ("diploma", {"a": "x" * (MAX_FIELD_VALUE + 1), " ": "2"}),
    ("diploma", {"a": "1", " a ": "2"}),
    ("diploma", {"a": "lone \udc80 surrogate"}),
    ("diploma", {"\udc80": "name"}),
    ("transcript", {**transcript_record(1), "gpa": "2.00"}),
    ("transcript", {**transcript_record(1), "course.x": "{}"}),
    ("transcript", {**transcript_record(1), "course.100": "{}", "course.99": "[]"}),
    ("transcript", {**transcript_record(1), "course.02": line({"code": "X", "credits": "5",
                                                               "grade": "Z"})}),
    ("attestat", {"full_name": "P", "subject.algebra": "5", "subject.physics": "6",
                  "subject.history": "0"}),
    ("attestat", {"full_name": "P", "subject.Algebra": "5"}),
    ("employment", {"full_name": "A"}),
])
def test_a_refused_record_reads_as_the_definition_refuses_it(
        credential_type: str, record: dict[Any, Any]) -> None:
    with pytest.raises(InvalidDocument) as reference:
        _hash_record(3, record, credential_type, CHAIN_ID, ISSUER, fixed_salts())
    good = {"full_name": "A", "position": "Analyst", "organisation": "Kaspi",
            "start_date": "2024-01-15"} if credential_type == "employment" else {"name": "A"}
    with pytest.raises(InvalidDocument) as fast:
        make_batch([good, good, record], credential_type, CHAIN_ID, ISSUER, "U")
    assert str(fast.value) == str(reference.value)
    assert str(fast.value)  # a sentence, not an empty error


def test_a_worker_with_exactly_its_salts_names_a_bad_text_too() -> None:
    """A worker holds just its part's salts: a text that is not valid Unicode is
    refused by name, not by running out of salts."""
    book = ShapeBook("diploma", CHAIN_ID, ISSUER, DOCUMENT_FORMAT)
    record = {"name": "A", "note": "lone \udc80 surrogate"}
    with pytest.raises(InvalidDocument, match=r"^record 1: field 'note' is not valid Unicode"):
        hash_record(book, 1, record, FixedSalts(bytes(SALT_BYTES * len(record))))


@pytest.mark.parametrize("position", [2, RUN_RECORDS_MAX + 40])  # in the first run, a later
@pytest.mark.parametrize(("bad", "name"), [
    ({"full_name": "C", "iin": "lone \ud800"}, "iin"),  # the batch's shape: in its run
    ({"full_name": "C", "note": "lone \ud800"}, "note"),  # a shape of its own
    ({"full_name": "C", "iin": ["lone \ud800"]}, "iin"),  # not text: made text first
    ({"full_name": "C", "\ud800": "x"}, "\ud800"),  # a name: the straightforward way
])
def test_a_text_that_is_not_valid_unicode_is_refused_with_its_record_number(
        bad: dict[str, Any], name: str, position: int) -> None:
    """As every other refusal of a record: one by one, in runs, in a part of a batch
    (numbered from where the part starts) and by the definition."""
    records: list[Mapping[str, Any]] = [{"full_name": f"A{n}", "iin": str(n)}
                                        for n in range(position + 3)]
    records[position] = bad
    expected = f"record {position + 1}: field {name!r} is not valid Unicode text"
    with pytest.raises(InvalidDocument) as alone:
        one_by_one(records)
    with pytest.raises(InvalidDocument) as in_runs:
        make_batch(records, "diploma", CHAIN_ID, ISSUER, "U", salts=fixed_salts())
    book = ShapeBook("diploma", CHAIN_ID, ISSUER, DOCUMENT_FORMAT)
    with pytest.raises(InvalidDocument) as part:
        hash_records(book, 1001, records, FixedSalts(bytes(SALT_BYTES * 2 * len(records))))
    with pytest.raises(InvalidDocument) as definition:
        _hash_record(position + 1, bad, "diploma", CHAIN_ID, ISSUER, fixed_salts())
    assert [str(alone.value), str(in_runs.value), str(definition.value)] == [expected] * 3
    assert str(part.value) == expected.replace(f"record {position + 1}:",
                                               f"record {position + 1001}:")


def test_salts_come_a_chunk_at_a_time_and_never_twice() -> None:
    calls: list[int] = []

    def source(size: int) -> bytes:
        calls.append(size)
        return hashlib.shake_256(len(calls).to_bytes(4, "big")).digest(size)

    pool = SaltPool(source)
    records = [{f"f{n}": "v" for n in range(10)} for _ in range(1_000)]  # 160 B each
    batch = make_batch(records, "diploma", CHAIN_ID, ISSUER, "U", salts=pool)
    assert calls == [SALT_CHUNK_BYTES] * 3  # 160,000 bytes, not 1,000 calls
    salts = [entry["salt"] for packed in batch.packed for entry in json.loads(packed).values()]
    assert len(salts) == len(set(salts)) == 10_000
    with pytest.raises(ValueError, match="at most"):
        pool.take(SALT_CHUNK_BYTES + 1)
    with pytest.raises(ValueError, match="wrong number"):
        SaltPool(lambda size: b"short").take(16)


def _child_takes(pool: SaltPool, out: Any) -> None:
    out.put(pool.take_each([64]))


def test_a_forked_process_does_not_hand_out_its_parents_salts() -> None:
    pool = SaltPool()
    pool.take_each([16])  # the chunk the child inherits
    queue: Any = multiprocessing.get_context("fork").SimpleQueue()
    child = multiprocessing.get_context("fork").Process(target=_child_takes,
                                                         args=(pool, queue))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert queue.get() != pool.take_each([64])


@pytest.mark.parametrize("sizes", [[160] * 1_000, [0, 16, 0, 3200, 16] * 50, [4096], [],
                                   [3996, 0, 4096, 0, 1, 4095, 0, 0]])  # chunks filled exactly
def test_salts_taken_for_a_part_are_the_salts_taken_one_by_one(sizes: list[int]) -> None:
    def source() -> SaltPool:
        counter = [0]

        def draw(size: int) -> bytes:
            counter[0] += 1
            return hashlib.shake_256(counter[0].to_bytes(4, "big")).digest(size)

        return SaltPool(draw, chunk=4096)  # chunk ends skipped between takes

    one_by_one, at_once = source(), source()
    one_by_one.take_each([100])
    at_once.take_each([100])
    assert at_once.take_each(sizes) == b"".join(one_by_one.take_each([n]) for n in sizes)
    assert at_once.take_each([64]) == one_by_one.take_each([64])  # both left at one place
    raw, hexed, _ = at_once.take(4000)  # a chunk drawn by take_each has its hex made later
    assert hexed == raw.hex()
    given = hashlib.shake_256(b"given").digest(100 + sum(sizes) + 64)
    fixed_one_by_one, fixed_at_once = FixedSalts(given), FixedSalts(given)
    fixed_one_by_one.take(100)
    fixed_at_once.take(100)
    assert fixed_at_once.take_each(sizes) == b"".join(
        raw[start:start + n] for n in sizes for raw, _, start in [fixed_one_by_one.take(n)])
    assert fixed_at_once.take(64)[2] == fixed_one_by_one.take(64)[2] == 100 + sum(sizes)


def test_values_of_any_sum_of_lengths_within_the_limit_each_hash_as_defined() -> None:
    """The fast check of a record's values (one join) falls back to one by one when
    the sum passes the limit or a value is not text."""
    records: list[Mapping[str, Any]] = [
        {"a": "x" * MAX_FIELD_VALUE, "b": "y" * MAX_FIELD_VALUE},
        {"a": "x" * (MAX_FIELD_VALUE - 1), "b": 7},
        {"a": "é" * 10, "b": ["z"]}]
    check_against_reference(make_batch(records, "diploma", CHAIN_ID, ISSUER, "U"), records)
    with pytest.raises(InvalidDocument, match="record 2: field 'b' is empty or too long"):
        make_batch([records[0], {"a": "x", "b": "y" * (MAX_FIELD_VALUE + 1)}], "diploma",
                   CHAIN_ID, ISSUER, "U")


def one_by_one(records: list[Mapping[str, Any]], credential_type: str = "diploma"
               ) -> IssuedBatch:
    builder = BatchBuilder(credential_type, CHAIN_ID, ISSUER, "U", salts=fixed_salts())
    for record in records:
        builder.add(record)
    return builder.finish()


def mixed_records(count: int) -> list[Mapping[str, Any]]:
    """Shapes mixed as an export mixes them (optional columns empty in some rows), texts
    JSON escapes now and then, a record of its own way here and there."""
    records: list[Mapping[str, Any]] = []
    for n in range(count):
        record: dict[Any, Any] = {"full_name": f"Әсел {n}", "iin": f"{n:012d}"}
        if n % 3 == 0:
            record["honours"] = "с отличием"
        if n % 7 == 0:
            record["note"] = f"{n}% \"q\" \\ \n\x01 é"
        if n % 11 == 0:
            record["gpa"] = 3.5
        if n % 13 == 0:
            record = {1: "one", **record}
        records.append(record)
    return records


def test_records_hashed_by_shape_in_runs_are_the_records_hashed_one_by_one() -> None:
    records = mixed_records(RUN_RECORDS_MAX * 2 + 37)  # runs end by size and at the end
    batch = make_batch(records, "diploma", CHAIN_ID, ISSUER, "U", salts=fixed_salts())
    reference = one_by_one(records)
    assert batch.target_hashes == reference.target_hashes
    assert batch.packed == reference.packed
    check_against_reference(batch, records)


@pytest.mark.parametrize("later", [
    {"full_name": "B", "iin": "2", "extra": "bad \udc80"},  # another shape, also bad
    {"full_name": "B", " full_name ": "C"},  # refused by the straightforward way
    {"full_name": "B", "iin": "x" * (MAX_FIELD_VALUE + 1)},  # too long
])
def test_the_first_bad_record_is_named_though_its_run_is_hashed_later(
        later: dict[str, str]) -> None:
    records: list[Mapping[str, Any]] = [
        {"full_name": "A", "iin": "1"}, {"full_name": "A", "note": "lone \udc80"},
        {"full_name": "B", "iin": "3"}, later]
    with pytest.raises(InvalidDocument) as expected:
        one_by_one(records)
    assert str(expected.value) == "record 2: field 'note' is not valid Unicode text"
    with pytest.raises(InvalidDocument) as got:
        make_batch(records, "diploma", CHAIN_ID, ISSUER, "U", salts=fixed_salts())
    assert str(got.value) == str(expected.value)


def test_runs_take_their_salts_as_records_one_by_one_do() -> None:
    """A run's records take their salts as they come, so a pool's chunk ends (a record
    starts a new chunk when it does not fit) fall where they fall one by one."""
    records = mixed_records(500)

    def pool() -> SaltPool:
        counter = [0]

        def draw(size: int) -> bytes:
            counter[0] += 1
            return hashlib.shake_256(counter[0].to_bytes(4, "big")).digest(size)

        return SaltPool(draw, chunk=1000)

    runs = ShapeRuns(pool(), RUN_RECORDS_MAX)
    builder = BatchBuilder("diploma", CHAIN_ID, ISSUER, "U", salts=pool())
    builder.add_records(records)
    alone = BatchBuilder("diploma", CHAIN_ID, ISSUER, "U", salts=pool())
    for record in records:
        alone.add(record)
    assert builder.finish().packed == alone.finish().packed
    runs.flush()  # nothing added: nothing to hash
    assert runs.targets == runs.packed == []


def test_the_bytes_a_run_leaves_unescaped_are_those_json_leaves_unescaped() -> None:
    # UTF-8 spends bytes below 0x80 only on ASCII: every code point of one and two
    # bytes, and a sample of the longer ones, say it all
    for code in [*range(0x800), *range(0x800, 0xD800, 97), *range(0xE000, 0x110000, 997)]:
        text = chr(code)
        data = text.encode()
        escaped = json.dumps(text, ensure_ascii=False) != f'"{text}"'
        assert escaped == (len(data.translate(None, _JSON_ESCAPED)) != len(data)), code
