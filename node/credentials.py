"""Credential documents: what a graduate holds.

Each field value is salted and hashed; the document's target hash commits to
the field names and their hashes, so a holder can hide a value (keeping only
its salted hash) and the document still verifies. A registrar's batch of
target hashes forms an RFC 6962 tree whose root goes on chain in one
transaction; each document carries its audit path.

Field values never leave this module's documents: the chain sees only the root.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from node.codec import encode, tagged_hash
from node.errors import InvalidDocument
from node.transactions import CREDENTIAL_TYPES
from storage.batch_tree import audit_paths, tree_root

DOCUMENT_FORMAT = "senim-credential/v1"
SALT_BYTES = 16
MAX_FIELDS = 200
MAX_FIELD_NAME = 100
MAX_FIELD_VALUE = 10_000


def field_hash(name: str, value: str, salt: bytes) -> bytes:
    return tagged_hash(b"senim/field/v1", encode([name, value, salt]))


def target_hash(chain_id: str, issuer: bytes, credential_type: str,
                field_hashes: Mapping[str, bytes]) -> bytes:
    fields = [[name, field_hashes[name]] for name in sorted(field_hashes)]
    return tagged_hash(b"senim/credential/v1",
                       encode([DOCUMENT_FORMAT, chain_id, issuer, credential_type, fields]))


def value_text(value: Any) -> str:
    """Registrar exports give text; JSON inputs may give numbers or lists."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class IssuedBatch:
    root: bytes
    documents: list[dict[str, Any]]
    target_hashes: list[bytes]


def make_batch(records: Sequence[Mapping[str, Any]], credential_type: str, chain_id: str,
               issuer: bytes, issuer_name: str) -> IssuedBatch:
    """Salt and hash every field of every record; build the batch tree and documents."""
    if credential_type not in CREDENTIAL_TYPES:
        raise InvalidDocument(f"unknown credential type {credential_type!r}")
    if not records:
        raise InvalidDocument("no records to issue")
    prepared = []
    targets = []
    for number, record in enumerate(records, start=1):
        if not record or len(record) > MAX_FIELDS:
            raise InvalidDocument(f"record {number} must have 1 to {MAX_FIELDS} fields")
        fields: dict[str, dict[str, str]] = {}
        hashes: dict[str, bytes] = {}
        for name, raw in record.items():
            name = str(name).strip()
            text = value_text(raw)
            if not name or len(name) > MAX_FIELD_NAME or len(text) > MAX_FIELD_VALUE:
                raise InvalidDocument(f"record {number}: field {name!r} is empty or too long")
            salt = os.urandom(SALT_BYTES)
            fields[name] = {"value": text, "salt": salt.hex()}
            hashes[name] = field_hash(name, text, salt)
        target = target_hash(chain_id, issuer, credential_type, hashes)
        prepared.append(fields)
        targets.append(target)
    root = tree_root(targets)
    paths = audit_paths(targets)
    documents = []
    for index, (fields, target, path) in enumerate(zip(prepared, targets, paths, strict=True)):
        documents.append({
            "format": DOCUMENT_FORMAT,
            "chain_id": chain_id,
            "type": credential_type,
            "issuer": {"member_id": issuer.hex(), "name": issuer_name},
            "fields": fields,
            "target_hash": target.hex(),
            "batch": {"root": root.hex(), "index": index, "size": len(targets),
                      "path": [p.hex() for p in path]},
        })
    return IssuedBatch(root, documents, targets)


@dataclass(frozen=True)
class ParsedDocument:
    chain_id: str
    credential_type: str
    issuer: bytes
    issuer_name: str
    field_hashes: dict[str, bytes]
    revealed: dict[str, str]
    target_hash: bytes
    batch_root: bytes
    batch_index: int
    batch_size: int
    batch_path: list[bytes]


def _hex(value: Any, what: str, size: int | None = 32) -> bytes:
    try:
        data = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if data is None or (size is not None and len(data) != size):
        raise InvalidDocument(f"{what} must be {size} bytes of hex")
    return data


def parse_document(document: Any) -> ParsedDocument:
    """Check the shape of a credential document; recompute each field's hash."""
    if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
        raise InvalidDocument(f"not a Senim credential (format must be {DOCUMENT_FORMAT})")
    try:
        issuer = document["issuer"]
        batch = document["batch"]
        fields = document["fields"]
        chain_id, ctype = document["chain_id"], document["type"]
    except (KeyError, TypeError) as exc:
        raise InvalidDocument(f"credential lacks {exc}") from exc
    if not (isinstance(chain_id, str) and isinstance(ctype, str) and isinstance(issuer, dict)
            and isinstance(batch, dict) and isinstance(fields, dict) and fields):
        raise InvalidDocument("credential has fields of the wrong type")
    hashes: dict[str, bytes] = {}
    revealed: dict[str, str] = {}
    for name, entry in fields.items():
        if not isinstance(entry, dict):
            raise InvalidDocument(f"field {name!r} must be an object")
        if "hash" in entry:
            hashes[name] = _hex(entry["hash"], f"hash of hidden field {name!r}")
        elif isinstance(entry.get("value"), str):
            salt = _hex(entry.get("salt"), f"salt of field {name!r}", SALT_BYTES)
            hashes[name] = field_hash(name, entry["value"], salt)
            revealed[name] = entry["value"]
        else:
            raise InvalidDocument(f"field {name!r} has neither a value and salt nor a hash")
    index, size, path = batch.get("index"), batch.get("size"), batch.get("path")
    if not (isinstance(index, int) and isinstance(size, int) and isinstance(path, list)):
        raise InvalidDocument("batch must give index, size and path")
    return ParsedDocument(
        chain_id=chain_id, credential_type=ctype,
        issuer=_hex(issuer.get("member_id"), "issuer member id", 20),
        issuer_name=str(issuer.get("name", "")),
        field_hashes=hashes, revealed=revealed,
        target_hash=_hex(document.get("target_hash"), "target hash"),
        batch_root=_hex(batch.get("root"), "batch root"),
        batch_index=index, batch_size=size,
        batch_path=[_hex(p, "audit path entry") for p in path],
    )


def disclose(document: dict[str, Any], hide: Sequence[str]) -> dict[str, Any]:
    """A copy with the named fields' values and salts replaced by their salted hash."""
    parsed = parse_document(document)
    unknown = [name for name in hide if name not in parsed.field_hashes]
    if unknown:
        raise InvalidDocument(f"no such field(s): {', '.join(unknown)}")
    copy: dict[str, Any] = json.loads(json.dumps(document))
    for name in hide:
        copy["fields"][name] = {"hash": parsed.field_hashes[name].hex()}
    return copy
