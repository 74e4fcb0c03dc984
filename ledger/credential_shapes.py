"""Record shapes: what every record of one batch shares, worked out once.

A registrar's export gives the same field names for nearly every row (a few shapes
at most: an empty column is left out of a record). Hashing a record spends most of
its time on what follows from the names alone: each field hash's tagged,
length-prefixed name, the target hash's canonical encoding of the sorted names, and
the JSON text kept of the salted fields. A `RecordShape` holds those bytes for one
tuple of field names, so per record only the values and salts are encoded and hashed.
A batch (`ledger.credentials.hash_records`) goes further: its records are grouped by
shape (`ShapeRuns`) and each group is hashed in a few map() passes over all its fields
(`RecordShape.hash_rows`), so the interpreter does next to nothing per field.

The bytes are exactly those of the straightforward computation in
`ledger.credentials` (`field_hash`, `target_hash` and `json.dumps` of the fields),
which stays the definition; tests/node/test_credential_bytes.py pins both against
fixed salts. Anything a shape does not cover (an odd name, a too long value, text
that is not valid Unicode) goes the straightforward way, so errors read the same.

The salts come from `ledger/credential_salts.py` (`Salts`), drawn in bulk.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Mapping, Sequence
from itertools import chain, repeat
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses
from operator import itemgetter
from typing import Any, cast

from ledger.academic_checks import RecordCheck, record_check
from ledger.codec import encode
from ledger.credential_salts import Salts

SALT_BYTES = 16
MAX_FIELDS = 200
MAX_FIELD_NAME = 100
MAX_FIELD_VALUE = 10_000
FIELD_TAG = b"senim/field/v1\x00"
CREDENTIAL_TAG = b"senim/credential/v1"
# Distinct shapes kept per batch; an export has a handful (optional columns left
# empty), so more means rows without a common shape, hashed the straightforward way.
SHAPE_CACHE_MAX = 64

_HASH_PLACEHOLDER = bytes(32)
# hashlib's digest and int.to_bytes, unbound, for map() to apply in C.
_DIGEST = type(hashlib.sha256()).digest
# What json.dumps(ensure_ascii=False) escapes in a text, as UTF-8 bytes.
_JSON_ESCAPED = b'"\\' + bytes(range(0x20))
_TO_BYTES = cast(Callable[[int, int, str], bytes], int.to_bytes)


def field_prefix(name: str) -> bytes:
    """The tag and length-prefixed name that start a field's hash (UnicodeEncodeError
    for a name that is not valid Unicode text)."""
    name_bytes = name.encode()
    return FIELD_TAG + len(name_bytes).to_bytes(4, "big") + name_bytes


class RecordShape:
    """Everything about hashing a record that follows from its field names and the
    batch (chain, issuer, type, format)."""

    __slots__ = ("_field_prefixes", "_hex_salts", "_json", "_json_bytes", "_order", "_pick",
                 "_salts", "_target", "_target_pieces", "_target_start", "check", "count",
                 "names")

    def __init__(self, names: tuple[str, ...], document_format: str, chain_id: str,
                 issuer: bytes, credential_type: str, check: RecordCheck | None) -> None:
        self.names = names
        self.count = len(names)
        self.check = check
        self._field_prefixes = tuple(field_prefix(name) for name in names)
        # A record's salts, and their hex, cut from a run's in one C call a record
        # (a slice object and a call a field otherwise).
        self._salts = struct.Struct(f"{SALT_BYTES}s" * self.count)
        self._hex_salts = struct.Struct(f"{2 * SALT_BYTES}s" * self.count)
        # json.dumps({name: {"value": v, "salt": s}, ...}, ensure_ascii=False,
        # separators=(",", ":")) as a %-template of values and salts, in record order
        # (a name holding "%" is doubled so it stays literal).
        heads = [("{" if i == 0 else "},") + encode_basestring(name).replace("%", "%%")
                 + ':{"value":%s,"salt":"%s"' for i, name in enumerate(names)]
        self._json = "".join(heads) + "}}"
        # The same as UTF-8 with the quotes of each value in the template, for values
        # given as UTF-8 with JSON's escapes applied.
        self._json_bytes = self._json.replace(':{"value":%s,', ':{"value":"%s",').encode()
        # target_hash encodes [format, chain_id, issuer, type, [[name, hash], ...]]
        # with names sorted: msgpack is the concatenation of its elements' encodings,
        # so the hashes go between fixed pieces.
        self._order = tuple(sorted(range(self.count), key=names.__getitem__))
        items = [encode([names[i], _HASH_PLACEHOLDER]) for i in self._order]
        whole = encode([document_format, chain_id, issuer, credential_type,
                        [[names[i], _HASH_PLACEHOLDER] for i in self._order]])
        start = whole[:len(whole) - sum(map(len, items))]
        if start + b"".join(items) != whole or any(
                not item.endswith(_HASH_PLACEHOLDER) for item in items):
            raise RuntimeError("msgpack's encoding of the target hash's fields is not the "
                               "concatenation this shape relies on")
        self._target_start = CREDENTIAL_TAG + b"\x00" + start
        self._target_pieces = tuple(item[:-len(_HASH_PLACEHOLDER)] for item in items)
        # The same as a %-template of the hashes in sorted-name order (a "%" byte doubled),
        # and the picking of them from a record's hashes in its order (for one field,
        # itemgetter gives the hash itself, which bytes % takes as the one argument).
        self._target = b"%s".join(piece.replace(b"%", b"%%") for piece in (
            self._target_start + self._target_pieces[0], *self._target_pieces[1:], b""))
        self._pick = itemgetter(*self._order)

    def hash_texts(self, texts: list[str], raw: bytes, hexed: str, start: int
                   ) -> tuple[bytes, bytes]:
        """(packed fields JSON, target hash) of one record's value texts, in the shape's
        order, salted from raw[start:] (its hex at 2*start). UnicodeEncodeError for a
        value that is not valid Unicode text."""
        sha256 = hashlib.sha256
        hashes = []
        salt_parts: list[str] = []
        offset = start
        for prefix, text in zip(self._field_prefixes, texts, strict=True):
            value = text.encode()
            end = offset + SALT_BYTES
            hashes.append(sha256(prefix + len(value).to_bytes(4, "big") + value
                                 + raw[offset:end]).digest())
            salt_parts.append(encode_basestring(text))
            salt_parts.append(hexed[2 * offset:2 * end])
            offset = end
        target = sha256(self._target_start + b"".join(
            [piece + hashes[i] for piece, i in zip(self._target_pieces, self._order,
                                                    strict=True)])).digest()
        return (self._json % tuple(salt_parts)).encode(), target


    def hash_rows(self, rows: Sequence[Sequence[str]], raw: bytes, hexed: str
                  ) -> tuple[list[bytes], list[bytes]]:
        """(packed fields, target hashes) of records of this shape, as `hash_texts` makes
        them one by one: their value texts in the shape's order, and their salts one
        after the other in `raw` (its hex in `hexed`). Each step is one map() over every
        field of every record, so the per-field work runs in C rather than in the
        interpreter. UnicodeEncodeError for a value that is not valid Unicode text."""
        sha256 = hashlib.sha256
        values = list(chain.from_iterable(rows))
        if len(values) != self.count * len(rows) or len(raw) != SALT_BYTES * len(values) \
                or len(hexed) != 2 * len(raw):
            raise ValueError("rows, salts and their hex do not match the shape")
        encoded = list(map(str.encode, values))
        salts = chain.from_iterable(self._salts.iter_unpack(raw))
        hashes = list(map(_DIGEST, map(sha256, map(b"".join, zip(
            self._field_prefixes * len(rows),
            map(_TO_BYTES, map(len, encoded), repeat(4), repeat("big")), encoded, salts,
            strict=True)))))
        per_record = zip(*[iter(hashes)] * self.count, strict=True)
        targets = list(map(_DIGEST, map(sha256, map(self._target.__mod__,
                                                     map(self._pick, per_record)))))
        # The packed JSON is made as UTF-8 from the encoded values: a value JSON does
        # not escape is its own JSON text between quotes. Only ", \\ and controls are
        # escaped (ensure_ascii=False), and in UTF-8 their bytes stand only for them.
        joined = b"".join(encoded)
        if len(joined.translate(None, _JSON_ESCAPED)) != len(joined):  # one pass in C
            encoded = [value if len(value.translate(None, _JSON_ESCAPED)) == len(value)
                       else encode_basestring(text)[1:-1].encode()
                       for value, text in zip(encoded, values, strict=True)]
        hexes = chain.from_iterable(self._hex_salts.iter_unpack(hexed.encode()))
        fields = chain.from_iterable(zip(encoded, hexes, strict=True))
        packed = list(map(self._json_bytes.__mod__,
                          zip(*[fields] * (2 * self.count), strict=True)))
        return packed, targets


def shape_names(keys: tuple[object, ...]) -> tuple[str, ...] | None:
    """The field names of a record with these keys, if every one is a valid, distinct
    name (else None: the record goes the straightforward way, which says what is wrong)."""
    if not keys or len(keys) > MAX_FIELDS:
        return None
    names = tuple(str(key).strip() for key in keys)
    if len(set(names)) != len(names) or any(
            not name or len(name) > MAX_FIELD_NAME for name in names):
        return None
    try:
        for name in names:
            name.encode()
    except UnicodeEncodeError:
        return None
    return names


class ShapeBook:
    """The shapes of one batch's records, by their keys (at most SHAPE_CACHE_MAX kept)."""

    def __init__(self, credential_type: str, chain_id: str, issuer: bytes,
                 document_format: str) -> None:
        self.batch = (credential_type, chain_id, issuer)
        self._format = document_format
        self._shapes: dict[tuple[object, ...], RecordShape | None] = {}

    def shape(self, record: Mapping[Any, Any]) -> RecordShape | None:
        """The shape of this record, or None when it must go the straightforward way."""
        keys = tuple(record)
        try:
            return self._shapes[keys]
        except KeyError:
            pass
        names = shape_names(keys)
        credential_type, chain_id, issuer = self.batch
        shape = None if names is None else RecordShape(
            names, self._format, chain_id, issuer, credential_type,
            record_check(credential_type, names))
        # Only text keys are kept: 1 == True == 1.0 are one dict key, not one name.
        if len(self._shapes) < SHAPE_CACHE_MAX and all(key.__class__ is str for key in keys):
            self._shapes[keys] = shape
        return shape


class ShapeRuns:
    """Records hashed a shape at a time (`RecordShape.hash_rows`), up to `run_max`
    together, their results put back in record order. An export has a handful of
    shapes, mixed (an optional column empty in some rows), so records are grouped by
    shape, not only consecutive ones. Salts are taken as each record is added, in record
    order, as one by one. A text that is not valid Unicode raises UnicodeEncodeError
    from `flush`, with `failed` holding every record of the run in order, each as
    (index, shape, texts): the index counts every record added, from 0."""

    def __init__(self, salts: Salts, run_max: int) -> None:
        self.salts = salts
        self.run_max = run_max
        self.targets: list[bytes] = []
        self.packed: list[bytes] = []
        self.failed: list[tuple[int, RecordShape, list[str]]] | None = None
        self._count = 0
        # per shape: record places in the run, texts, salts and their hex
        self._groups: dict[RecordShape, tuple[list[int], list[list[str]], list[bytes],
                                              list[str]]] = {}
        self._hashed: list[tuple[int, bytes, bytes]] = []  # (place, packed, target)

    def add(self, shape: RecordShape, texts: list[str]) -> None:
        size = SALT_BYTES * shape.count
        raw, hexed, start = self.salts.take(size)
        group = self._groups.get(shape)
        if group is None:
            group = self._groups[shape] = ([], [], [], [])
        group[0].append(self._count)
        group[1].append(texts)
        group[2].append(raw[start:start + size])
        group[3].append(hexed[2 * start:2 * (start + size)])
        self._count += 1
        if self._count >= self.run_max:
            self.flush()

    def add_hashed(self, packed: bytes, target: bytes) -> None:
        """A record hashed another way, next in record order."""
        self._hashed.append((self._count, packed, target))
        self._count += 1
        if self._count >= self.run_max:
            self.flush()

    def flush(self) -> None:
        groups, hashed, self._groups, self._hashed = self._groups, self._hashed, {}, []
        self._count = 0
        places: list[int] = []
        packed: list[bytes] = []
        targets: list[bytes] = []
        for shape, (where, rows, salts, hexes) in groups.items():
            try:
                shape_packed, shape_targets = shape.hash_rows(rows, b"".join(salts),
                                                              "".join(hexes))
            except UnicodeEncodeError:
                done = len(self.targets)  # the records of earlier runs
                self.failed = sorted(
                    (done + place, shape, texts) for shape, (places_of, rows_of, _, _)
                    in groups.items() for place, texts in zip(places_of, rows_of,
                                                             strict=True))
                raise
            places += where
            packed += shape_packed
            targets += shape_targets
        for place, one_packed, target in hashed:
            places.append(place)
            packed.append(one_packed)
            targets.append(target)
        in_order = sorted(range(len(places)), key=places.__getitem__)
        self.packed.extend(map(packed.__getitem__, in_order))
        self.targets.extend(map(targets.__getitem__, in_order))
