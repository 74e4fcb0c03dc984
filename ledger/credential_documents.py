"""Reading a credential document a holder shows: its shape checked, the hash of each
revealed field recomputed from its value and salt, and its labels checked (v2); and
`disclose`, the copy a holder shares with chosen fields hidden. What a document is,
and how a batch makes them, is `ledger.credentials`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.credential_shapes import MAX_FIELD_NAME, MAX_FIELDS, SALT_BYTES
from ledger.credentials import DOCUMENT_FORMAT_V1, DOCUMENT_FORMATS, field_hash
from ledger.errors import InvalidDocument, NewerFormat
from ledger.labels import Label


@dataclass(frozen=True)
class ParsedDocument:
    document_format: str
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
    labels: dict[str, Label]


def _hex(value: Any, what: str, code: str, size: int = 32, **params: str | int) -> bytes:
    """`value` as `size` bytes from hex; else InvalidDocument `code` (`params` name the
    part, as `what` does in English)."""
    try:
        data = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if data is None or len(data) != size:
        raise InvalidDocument(f"{what} must be {size} bytes of hex", code, bytes=size, **params)
    return data


def _name(name: object) -> str:
    """A field's name as a problem names it: as Python writes it (quoted, escaped), and
    short: it is what a file said."""
    return repr(name)[:80]


FORMAT_VERSION = re.compile(r"senim-credential/v([1-9][0-9]{0,5})")
NEWEST_VERSION = max(int(m.group(1)) for m in map(FORMAT_VERSION.fullmatch, DOCUMENT_FORMATS)
                     if m)


def _refuse_newer_format(document: Any) -> None:
    """A later release's document is named as such: "not a Senim credential" would tell
    a verifier running an older node that a genuine document is junk."""
    found = (FORMAT_VERSION.fullmatch(document["format"])
             if isinstance(document, dict) and isinstance(document.get("format"), str)
             else None)
    if found and int(found.group(1)) > NEWEST_VERSION:
        raise NewerFormat(f"the credential is in a newer format ({found.group(0)}) than this "
                          f"version of Senim reads (up to {DOCUMENT_FORMATS[-1]}): check it "
                          "with an updated senim or node", "newer_format",
                          format=found.group(0), newest=DOCUMENT_FORMATS[-1])


def parse_document(document: Any) -> ParsedDocument:
    """Check the shape of a credential document; recompute each field's hash."""
    _refuse_newer_format(document)
    if not isinstance(document, dict) or document.get("format") not in DOCUMENT_FORMATS:
        raise InvalidDocument("not a Senim credential (format must be one of "
                              f"{', '.join(DOCUMENT_FORMATS)})", "not_credential",
                              formats=", ".join(DOCUMENT_FORMATS))
    try:  # every text is hashed as UTF-8: refuse lone surrogates (JSON escapes carry them)
        json.dumps(document, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidDocument("the credential holds text that is not valid Unicode (a lone "
                              "surrogate): it was damaged or made by hand",
                              "surrogate") from exc
    try:
        issuer = document["issuer"]
        batch = document["batch"]
        fields = document["fields"]
        chain_id, ctype = document["chain_id"], document["type"]
    except (KeyError, TypeError) as exc:
        raise InvalidDocument(f"credential lacks {exc}", "lacks",
                              part=_name(exc.args[0] if exc.args else "")) from exc
    if not (isinstance(chain_id, str) and isinstance(ctype, str) and isinstance(issuer, dict)
            and isinstance(batch, dict) and isinstance(fields, dict) and fields):
        raise InvalidDocument("credential has fields of the wrong type", "wrong_types")
    hashes: dict[str, bytes] = {}
    revealed: dict[str, str] = {}
    for name, entry in fields.items():
        if not isinstance(entry, dict):
            raise InvalidDocument(f"field {name!r} must be an object", "field_not_object",
                                  field=_name(name))
        if "hash" in entry and ("value" in entry or "salt" in entry):
            # Only the hash would be checked, and a reader would show the value.
            raise InvalidDocument(f"field {name!r} is both shown and hidden (a value beside "
                                  "its hash): the document was altered", "field_both",
                                  field=_name(name))
        if "hash" in entry:
            hashes[name] = _hex(entry["hash"], f"hash of hidden field {name!r}",
                                "hidden_hash", field=_name(name))
        elif isinstance(entry.get("value"), str):
            salt = _hex(entry.get("salt"), f"salt of field {name!r}", "salt", SALT_BYTES,
                        field=_name(name))
            hashes[name] = field_hash(name, entry["value"], salt)
            revealed[name] = entry["value"]
        elif "value" in entry:  # a number or a list where the issuer wrote text
            raise InvalidDocument(f"field {name!r} has a value that is not text (issued "
                                  "values are text, in quotes): the document was altered",
                                  "field_value_not_text", field=_name(name))
        else:
            raise InvalidDocument(f"field {name!r} has neither a value and salt nor a hash",
                                  "field_neither", field=_name(name))
    index, size, path = batch.get("index"), batch.get("size"), batch.get("path")
    if not (isinstance(index, int) and isinstance(size, int) and isinstance(path, list)):
        raise InvalidDocument("batch must give index, size and path", "batch_shape")
    return ParsedDocument(
        document_format=document["format"], chain_id=chain_id, credential_type=ctype,
        issuer=_hex(issuer.get("member_id"), "issuer member id", "issuer_id", 20),
        issuer_name=str(issuer.get("name", "")),
        field_hashes=hashes, revealed=revealed,
        target_hash=_hex(document.get("target_hash"), "target hash", "target_hash"),
        batch_root=_hex(batch.get("root"), "batch root", "batch_root"),
        batch_index=index, batch_size=size,
        batch_path=[_hex(p, "audit path entry", "audit_path") for p in path],
        labels=_labels(document, hashes),
    )


def _labels(document: dict[str, Any], field_names: Mapping[str, bytes]) -> dict[str, Label]:
    """The document's own labels (v2), shape-checked; v1 documents have none."""
    labels = document.get("labels", {})
    if document["format"] == DOCUMENT_FORMAT_V1 or labels is None:
        return {}
    if not isinstance(labels, dict) or len(labels) > MAX_FIELDS:
        raise InvalidDocument("labels must be an object, one entry per field", "labels")
    checked: dict[str, Label] = {}
    for name, label in labels.items():
        if name not in field_names:
            raise InvalidDocument(f"a label names no field of the document ({name!r})",
                                  "label_unknown", field=_name(name))
        if not (isinstance(label, dict) and all(
                isinstance(k, str) and isinstance(v, str) and len(v) <= MAX_FIELD_NAME * 3
                for k, v in label.items()) and len(label) <= 8):
            raise InvalidDocument(f"the label of {name!r} must map languages to short text",
                                  "label_shape", field=_name(name))
        checked[name] = dict(label)
    return checked


def disclose(document: dict[str, Any], hide: Sequence[str]) -> dict[str, Any]:
    """A copy with the named fields' values and salts replaced by their salted hash."""
    parsed = parse_document(document)
    unknown = [name for name in hide if name not in parsed.field_hashes]
    if unknown:
        raise InvalidDocument(f"no such field(s): {', '.join(unknown)}", "no_such_fields",
                              names=", ".join(unknown))
    copy: dict[str, Any] = json.loads(json.dumps(document))
    for name in hide:
        copy["fields"][name] = {"hash": parsed.field_hashes[name].hex()}
    return copy
