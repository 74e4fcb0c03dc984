"""Any VC 2.0 a node issues over the VC-API, anchored on chain as a Senim credential.

The credential's content need not be Senim's (the W3C suites send their own
subjects), so it is anchored through a native credential of one salted field,
`vc_sha256`: the SHA-256 of the VC's canonical N-Quads (RDFC-1.0, what its proof signs)
without its proof, its `senim` section and the status entry naming its own batch (those
are added after the batch is on chain). Only the batch root goes on chain; the salt
keeps even a guessable credential from being confirmed from the root.

The VC's `senim` section has the same shape as an exported VC's, marked
`"covers": "credential-rdfc"`, so a verifier recomputes the field from the VC itself
and runs the native chain checks (on chain, accredited, not revoked). Until session 57
the field hashed the VC's JSON text (sorted keys, compact), marked `"covers":
"credential"`, which is still read: a wallet that wrote the issuer as `{"id": …}`, put
the types in another order or one type in a list kept the VC's meaning and its proof,
and its anchor no longer matched ("TAMPERED").
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ledger.credentials import DOCUMENT_FORMAT
from ledger.errors import InvalidDocument
from ledger.vc.canon import SENIM_CONTEXT, canonize
from ledger.vc.export import STATUS_PATH, native_of_vc, status_list_id

ANCHOR_FIELD = "vc_sha256"
# Inline, not the Senim context's URL: a verifier elsewhere (the W3C suites among them)
# cannot fetch that URL, and an inline context needs no fetching. It defines only
# `senim`, as in the bundled Senim context (a JSON literal, so the proof covers it).
ANCHOR_CONTEXT: dict[str, Any] = {
    "senim": {"@id": "https://senim.kz/ns/v1#anchoring", "@type": "@json"}}
COVERS_CANONICAL = "credential-rdfc"
COVERS_CREDENTIAL = "credential"  # anchored before session 57: the JSON text hashed
# Added by the issuing node, so never part of the anchored content.
ADDED_KEYS = ("proof", "senim")


def with_senim_context(credential: dict[str, Any]) -> dict[str, Any]:
    """The credential with a context that defines `senim` appended."""
    contexts = credential.get("@context")
    contexts = list(contexts) if isinstance(contexts, list) else [contexts]
    if SENIM_CONTEXT not in contexts and ANCHOR_CONTEXT not in contexts:
        contexts.append(ANCHOR_CONTEXT)
    return {**credential, "@context": contexts}


def _own_entry(entry: Any, list_id_hex: str | None) -> bool:
    url = entry.get("statusListCredential") if isinstance(entry, dict) else None
    return list_id_hex is not None and isinstance(url, str) and url.endswith(
        STATUS_PATH + list_id_hex)


def _covered(credential: dict[str, Any], list_id_hex: str | None) -> dict[str, Any]:
    """What the anchor covers. The status entries the caller gave stay covered (always as
    a list); the one naming list `list_id_hex` is the node's own."""
    content = {k: v for k, v in credential.items() if k not in ADDED_KEYS}
    if "credentialStatus" in content:
        given = content.pop("credentialStatus")
        entries = [e for e in (given if isinstance(given, list) else [given])
                   if not _own_entry(e, list_id_hex)]
        if entries:
            content["credentialStatus"] = entries
    return content


def canonical_digest(credential: dict[str, Any], list_id_hex: str | None = None) -> str:
    """SHA-256 (hex) of the canonical N-Quads of what the anchor covers (`_covered`)."""
    nquads = canonize(_covered(credential, list_id_hex))
    return hashlib.sha256(nquads.encode()).hexdigest()


def content_digest(credential: dict[str, Any], list_id_hex: str | None = None) -> str:
    """SHA-256 (hex) of the JSON text of what the anchor covers: the field of a VC
    anchored before session 57 (`"covers": "credential"`)."""
    content = _covered(credential, list_id_hex)
    try:
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()
    except (ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise InvalidDocument(f"the credential cannot be hashed as JSON text: {exc}",
                              "vc_not_json") from exc


def anchor_record(credential: dict[str, Any]) -> dict[str, str]:
    """The one-field record to hash into a batch (`ledger.credentials.make_batch`)."""
    return {ANCHOR_FIELD: canonical_digest(credential)}


def anchoring_section(document: dict[str, Any], block_height: int) -> dict[str, Any]:
    """The `senim` section for the VC anchored by native `document` (a batch document)."""
    batch = document["batch"]
    return {
        "format": document["format"], "covers": COVERS_CANONICAL,
        "chain_id": document["chain_id"], "credential_type": document["type"],
        "issuer_member_id": document["issuer"]["member_id"],
        "target_hash": document["target_hash"], "block_height": block_height,
        "batch": {"root": batch["root"], "index": batch["index"], "size": batch["size"],
                  "path": list(batch["path"])},
        "salts": {ANCHOR_FIELD: document["fields"][ANCHOR_FIELD]["salt"]}, "hidden": {},
    }


def native_of_senim_vc(credential: dict[str, Any]) -> dict[str, Any]:
    """The native document a Senim VC stands for: exported, or anchored as a whole."""
    senim = credential.get("senim")
    covers = senim.get("covers") if isinstance(senim, dict) else None
    if not isinstance(senim, dict) or covers not in (COVERS_CANONICAL, COVERS_CREDENTIAL):
        return native_of_vc(credential)
    salts, batch = senim.get("salts"), senim.get("batch")
    issuer, root = senim.get("issuer_member_id"), batch.get("root") if isinstance(
        batch, dict) else None
    if not isinstance(salts, dict) or set(salts) != {ANCHOR_FIELD} or senim.get("hidden"):
        raise InvalidDocument(f"an anchored VC's senim section salts {ANCHOR_FIELD} only",
                              "vc_senim_section")
    if senim.get("format") != DOCUMENT_FORMAT:
        raise InvalidDocument("the anchored VC's senim format is not the current one",
                              "vc_senim_format")
    try:
        list_id = status_list_id(bytes.fromhex(str(issuer)), bytes.fromhex(str(root))).hex()
    except ValueError as exc:
        raise InvalidDocument("the anchored VC's issuer or batch root is not hex",
                              "vc_senim_section") from exc
    digest = canonical_digest if covers == COVERS_CANONICAL else content_digest
    field = {"value": digest(credential, list_id), "salt": salts[ANCHOR_FIELD]}
    return {"format": senim.get("format"), "chain_id": senim.get("chain_id"),
            "type": senim.get("credential_type"), "issuer": {"member_id": issuer, "name": ""},
            "fields": {ANCHOR_FIELD: field}, "target_hash": senim.get("target_hash"),
            "batch": batch}
