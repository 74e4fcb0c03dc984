"""Credential documents: what a graduate holds.

Each field value is salted and hashed; the document's target hash commits to
the field names and their hashes, so a holder can hide a value (keeping only
its salted hash) and the document still verifies. A registrar's batch of
target hashes forms an RFC 6962 tree whose root goes on chain in one
transaction; each document carries its audit path.

Document formats: v1 (fields only) and v2, which adds `labels`: kk/ru/en words for
the standard fields of its type (`ledger.labels`). Labels are presentation, not
salted and not in the target hash: they follow from the field names and the
public table, and a verifier shows the table's labels, not the document's copy,
so an edited label cannot relabel a value. The format string IS in the target
hash, so a v1 credential cannot be passed off as v2 or the other way round.
Both verify.

Structured fields (course lines, subject grades, a recognition's reference, an
employment's dates) are checked by `ledger.academic_checks.check_record` when the
batch is hashed, so nothing unsound is issued.

Field values never leave this module's documents: the chain sees only the root.
Reading a document a holder shows, and hiding its fields, is
`ledger.credential_documents`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.academic_checks import check_record
from ledger.codec import encode, tagged_hash
from ledger.credential_salts import DEFAULT_SALTS, Salts
from ledger.credential_shapes import (
    CREDENTIAL_TAG,
    MAX_FIELD_NAME,
    MAX_FIELD_VALUE,
    MAX_FIELDS,
    SALT_BYTES,
    RecordShape,
    ShapeBook,
    ShapeRuns,
    field_prefix,
)
from ledger.errors import InvalidDocument
from ledger.labels import labels_for
from ledger.transactions import CREDENTIAL_TYPES
from storage.batch_tree import BatchTree

DOCUMENT_FORMAT_V1 = "senim-credential/v1"
DOCUMENT_FORMAT_V2 = "senim-credential/v2"
DOCUMENT_FORMAT = DOCUMENT_FORMAT_V2  # what is issued now
DOCUMENT_FORMATS = (DOCUMENT_FORMAT_V1, DOCUMENT_FORMAT_V2)
# Records hashed together (by shape): enough that setting up a run costs next to
# nothing per record, few enough that a run's texts are a few hundred KB.
RUN_RECORDS_MAX = 512


def field_hash(name: str, value: str, salt: bytes) -> bytes:
    """SHA-256 over length-prefixed name and value and the salt (no ambiguity)."""
    try:
        value_bytes = value.encode()
        prefix = _field_prefix(name)
    except UnicodeEncodeError as exc:  # JSON allows lone surrogates; UTF-8 does not
        raise InvalidDocument(f"field {name!r} is not valid Unicode text", "field_unicode",
                              field=repr(name)[:80]) from exc
    return hashlib.sha256(b"".join((prefix, len(value_bytes).to_bytes(4, "big"), value_bytes,
                                    salt))).digest()


# A batch going the straightforward way hashes the same few names once per record.
_field_prefix = functools.lru_cache(maxsize=1024)(field_prefix)


def target_hash(chain_id: str, issuer: bytes, credential_type: str,
                field_hashes: Mapping[str, bytes], document_format: str = DOCUMENT_FORMAT
                ) -> bytes:
    fields = [[name, field_hashes[name]] for name in sorted(field_hashes)]
    return tagged_hash(CREDENTIAL_TAG,
                       encode([document_format, chain_id, issuer, credential_type, fields]))


def value_text(value: Any) -> str:
    """Registrar exports give text; JSON inputs may give numbers or lists."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass
class IssuedBatch:
    """A hashed batch. Documents are built on demand, one at a time: formatting
    100,000 of them is the slow part, and the chain only needs the root. Each
    record's salted fields are kept as one compact JSON text (`packed`), a few
    hundred bytes, not a tree of Python objects."""

    tree: BatchTree
    target_hashes: list[bytes]
    packed: list[bytes]
    chain_id: str
    credential_type: str
    issuer: bytes
    issuer_name: str

    @property
    def root(self) -> bytes:
        return self.tree.root

    def documents(self, *, release: bool = False) -> Iterator[dict[str, Any]]:
        """Every document in batch order. With `release`, each record's fields are
        dropped once its document is made: a writer holds less as it goes."""
        size = len(self.target_hashes)
        root_hex = self.root.hex()
        issuer = {"member_id": self.issuer.hex(), "name": self.issuer_name}
        for index, target in enumerate(self.target_hashes):
            fields = json.loads(self.packed[index])
            if release:
                self.packed[index] = b""
            yield {
                "format": DOCUMENT_FORMAT,
                "chain_id": self.chain_id,
                "type": self.credential_type,
                "issuer": dict(issuer),
                "fields": fields,
                "labels": labels_for(self.credential_type, list(fields)),
                "target_hash": target.hex(),
                "batch": {"root": root_hex, "index": index, "size": size,
                          "path": [p.hex() for p in self.tree.path(index)]},
            }


def _hash_record(number: int, record: Mapping[str, Any], credential_type: str,
                 chain_id: str, issuer: bytes, salts: Salts) -> tuple[bytes, bytes]:
    """The straightforward computation, and the definition: (packed fields, target hash).
    Records whose shape `hash_record` does not cover come here, so errors read alike."""
    if not record or len(record) > MAX_FIELDS:
        raise InvalidDocument(f"record {number} must have 1 to {MAX_FIELDS} fields",
                              "record_fields", record=number, most=MAX_FIELDS)
    texts: dict[str, str] = {}
    for raw_name, raw in record.items():
        name = str(raw_name).strip()
        text = value_text(raw)
        if not name or len(name) > MAX_FIELD_NAME or len(text) > MAX_FIELD_VALUE:
            raise InvalidDocument(f"record {number}: field {name!r} is empty or too long",
                                  "field_empty_or_long", record=number, field=repr(name)[:80])
        if name in texts:
            raise InvalidDocument(f"record {number}: field {name!r} is given twice",
                                  "field_twice", record=number, field=repr(name)[:80])
        texts[name] = text
    try:
        check_record(credential_type, texts)
    except InvalidDocument as exc:
        raise exc.within(f"record {number}", record=number) from None
    raw_salts, hex_salts, first = salts.take(SALT_BYTES * len(texts))
    fields: dict[str, dict[str, str]] = {}
    hashes: dict[str, bytes] = {}
    start = first
    for name, text in texts.items():
        end = start + SALT_BYTES
        fields[name] = {"value": text, "salt": hex_salts[2 * start:2 * end]}
        try:
            hashes[name] = field_hash(name, text, raw_salts[start:end])
        except InvalidDocument as exc:  # a name or value that is not valid Unicode
            raise exc.within(f"record {number}", record=number) from None
        start = end
    packed = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return packed, target_hash(chain_id, issuer, credential_type, hashes)


def _shaped(shapes: ShapeBook, number: int, record: Mapping[str, Any]
            ) -> tuple[RecordShape, list[str]] | None:
    """Record `number`'s shape and value texts, checked, when it goes by its shape
    (None: it goes the straightforward way, which says what is wrong with it)."""
    shape = shapes.shape(record)
    if shape is None:
        return None
    texts = list(record.values())
    try:
        # One C call for the common record: all text (join refuses anything else)
        # and, the sum being within the limit, every value too.
        fits = len("".join(texts)) <= MAX_FIELD_VALUE
    except TypeError:
        fits = False
    if not fits:
        texts = [value if value.__class__ is str else value_text(value) for value in texts]
        if max(map(len, texts)) > MAX_FIELD_VALUE:
            return None
    if shape.check is not None:
        try:
            shape.check(dict(zip(shape.names, texts, strict=True)))
        except InvalidDocument as exc:
            raise exc.within(f"record {number}", record=number) from None
    return shape, texts


def _name_bad_text(records: Iterable[tuple[int, RecordShape, Sequence[str]]]) -> None:
    """Raise the straightforward way's error for the first text that is not valid
    Unicode, given (record number, shape, texts) in record order (without taking salts
    again: a worker holds exactly its part's salts)."""
    for number, shape, texts in records:
        for name, text in zip(shape.names, texts, strict=True):
            try:
                field_hash(name, text, bytes(SALT_BYTES))
            except InvalidDocument as exc:
                raise exc.within(f"record {number}", record=number) from None


def hash_record(shapes: ShapeBook, number: int, record: Mapping[str, Any], salts: Salts
                ) -> tuple[bytes, bytes]:
    """(packed fields, target hash) of record `number` (1-based), as `_hash_record` makes
    them, by its shape's precomputed bytes when it has one."""
    shaped = _shaped(shapes, number, record)
    if shaped is None:
        credential_type, chain_id, issuer = shapes.batch
        return _hash_record(number, record, credential_type, chain_id, issuer, salts)
    shape, texts = shaped
    raw, hexed, start = salts.take(SALT_BYTES * shape.count)
    try:
        return shape.hash_texts(texts, raw, hexed, start)
    except UnicodeEncodeError:
        _name_bad_text([(number, shape, texts)])
        raise


def hash_records(shapes: ShapeBook, first_number: int, records: Iterable[Mapping[str, Any]],
                 salts: Salts) -> tuple[list[bytes], list[bytes]]:
    """(target hashes, packed fields) of consecutive records, the first numbered
    `first_number`: a part of a batch, hashed wherever the caller likes. The bytes,
    the salts taken and the first refusal are those of `hash_record` one by one."""
    runs = ShapeRuns(salts, RUN_RECORDS_MAX)
    try:
        _hash_in_runs(runs, shapes, first_number, records, salts)
    except UnicodeEncodeError:
        if runs.failed is not None:
            _name_bad_text((first_number + index, shape, texts)
                           for index, shape, texts in runs.failed)
        raise
    return runs.targets, runs.packed


def _hash_in_runs(runs: ShapeRuns, shapes: ShapeBook, first_number: int,
                  records: Iterable[Mapping[str, Any]], salts: Salts) -> None:
    credential_type, chain_id, issuer = shapes.batch
    for number, record in enumerate(records, start=first_number):
        try:
            shaped = _shaped(shapes, number, record)
            if shaped is None:
                runs.add_hashed(*_hash_record(number, record, credential_type, chain_id,
                                              issuer, salts))
            else:
                runs.add(*shaped)
        except InvalidDocument:
            runs.flush()  # a record before it may hold a text that is not valid Unicode
            raise
    runs.flush()


def salts_needed(record: Mapping[str, Any]) -> int:
    """How many salt bytes hashing `record` takes (0 for one it refuses by its size)."""
    return SALT_BYTES * len(record) if 0 < len(record) <= MAX_FIELDS else 0


def salts_needed_each(records: Sequence[Mapping[str, Any]]) -> list[int]:
    """`salts_needed` of each record, in C passes when every record's size is allowed."""
    counts = list(map(len, records))
    if counts and (min(counts) < 1 or max(counts) > MAX_FIELDS):
        return list(map(salts_needed, records))
    return list(map(SALT_BYTES.__mul__, counts))


class BatchBuilder:
    """Hashes records one at a time as they are read, so a caller never holds the
    records and the batch at once. `salts` defaults to the process's random pool."""

    def __init__(self, credential_type: str, chain_id: str, issuer: bytes,
                 issuer_name: str, *, salts: Salts | None = None) -> None:
        if credential_type not in CREDENTIAL_TYPES:
            raise InvalidDocument(f"unknown credential type {credential_type!r}",
                                  "unknown_type", type=repr(credential_type)[:80])
        self.credential_type = credential_type
        self.chain_id = chain_id
        self.issuer = issuer
        self.issuer_name = issuer_name
        self.shapes = ShapeBook(credential_type, chain_id, issuer, DOCUMENT_FORMAT)
        self.salts: Salts = DEFAULT_SALTS if salts is None else salts
        self._targets: list[bytes] = []
        self._packed: list[bytes] = []
        # The tree's levels over each run of records hashed elsewhere with them
        # (`storage.batch_tree.subtree_levels`); None once any record came without.
        self._spans: list[list[bytes]] | None = []

    def __len__(self) -> int:
        return len(self._targets)

    def add(self, record: Mapping[str, Any]) -> None:
        packed, target = hash_record(self.shapes, len(self._targets) + 1, record, self.salts)
        self._packed.append(packed)
        self._targets.append(target)
        self._spans = None

    def add_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """`add` for each record in turn, hashed together: a refusal is raised for the
        first refused record (with its number) once the records before it are in."""
        targets, packed = hash_records(self.shapes, len(self._targets) + 1, records,
                                       self.salts)
        self.add_hashed(targets, packed)

    def add_hashed(self, targets: list[bytes], packed: list[bytes],
                   levels: list[bytes] | None = None) -> None:
        """Records hashed elsewhere (`hash_records`), next in batch order, with the
        `subtree_levels` of their target hashes if they were made there too (spans that
        join: see `BatchTree.from_spans`)."""
        self._targets.extend(targets)
        self._packed.extend(packed)
        if levels is None or self._spans is None:
            self._spans = None
        else:
            self._spans.append(levels)

    def finish(self) -> IssuedBatch:
        if not self._targets:
            raise InvalidDocument("no records to issue", "no_records")
        if self._spans:
            tree = BatchTree.from_spans(self._spans)
            if tree.size != len(self._targets):
                raise ValueError("the tree's spans do not cover the batch's records")
        else:
            tree = BatchTree(self._targets)
        return IssuedBatch(tree, self._targets, self._packed, self.chain_id,
                           self.credential_type, self.issuer, self.issuer_name)


def make_batch(records: Iterable[Mapping[str, Any]], credential_type: str, chain_id: str,
               issuer: bytes, issuer_name: str, *, salts: Salts | None = None) -> IssuedBatch:
    """Salt and hash every field of every record; compute the batch root."""
    builder = BatchBuilder(credential_type, chain_id, issuer, issuer_name, salts=salts)
    builder.add_records(records)
    return builder.finish()
