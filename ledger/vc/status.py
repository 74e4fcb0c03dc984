"""Bitstring Status List v1.0: the revocation list of one Senim batch.

Each batch on chain has its own list; a credential's position in it is its
leaf index in the batch, so any node derives the list from the chain's
revocations alone. Bit 0 is the most significant bit of the first byte; the
list is GZIP-compressed and multibase base64url encoded (prefix 'u'), and
never shorter than the specification's 131,072 bits (herd privacy).
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Iterable
from typing import Any

from ledger.errors import InvalidDocument
from ledger.vc.canon import CREDENTIALS_V2, Loader
from ledger.vc.proofs import verify_proof

MIN_LIST_BITS = 131_072
# The status a set bit means, per purpose; "message" lists need statusSize/statusMessage.
PURPOSE_STATUS = {"revocation": "revoked", "suspension": "suspended"}
MAX_LIST_BITS = 16 * MIN_LIST_BITS * 8  # 16,777,216: above the largest batch (10,000,000)
STATUS_INDEX_DIGITS_MAX = len(str(MAX_LIST_BITS))  # no list holds an index of more digits
STATUS_PURPOSE = "revocation"
NOT_THE_ISSUERS = "not_the_issuers"  # entry_status: a list another key signed
# entry_status: a list outside its own validity period (a replayed list of before a
# revocation, say), which the caller words with when it ended or begins
OUT_OF_DATE = "out_of_date"
# entry_status: a list that cannot be read for the entry, by what is wrong with it. The
# credential may be sound; only its revocation status is unconfirmed, which the caller
# says (as it says of an out-of-date list), not that the credential is malformed.
NOT_A_STATUS_LIST = "not_a_status_list"
NOT_FOR_PURPOSE = "not_for_purpose"
UNDECODABLE = "undecodable"
INDEX_OUTSIDE = "index_outside"
LIST_UNUSABLE = (NOT_A_STATUS_LIST, NOT_FOR_PURPOSE, UNDECODABLE, INDEX_OUTSIDE)


def list_bits(batch_size: int) -> int:
    """The list length for a batch: at least the minimum, whole bytes."""
    return max(MIN_LIST_BITS, (batch_size + 7) // 8 * 8)


def encode_list(set_bits: Iterable[int], length: int) -> str:
    if not MIN_LIST_BITS <= length <= MAX_LIST_BITS or length % 8:
        raise ValueError(f"a status list has {MIN_LIST_BITS} to {MAX_LIST_BITS} bits")
    bits = bytearray(length // 8)
    for index in set_bits:
        if not 0 <= index < length:
            raise ValueError(f"status index {index} is outside the list")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)  # mtime 0: every node serves equal bytes
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_list(encoded: str) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise InvalidDocument("encodedList must be multibase base64url (starting with 'u')",
                              "status_list")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        # Bounded decompression: a small list may not expand into gigabytes.
        inflater = zlib.decompressobj(wbits=31)
        bits = inflater.decompress(compressed, MAX_LIST_BITS // 8 + 1)
    except (ValueError, zlib.error) as exc:
        raise InvalidDocument(f"encodedList does not decode: {exc}", "status_list") from exc
    if len(bits) > MAX_LIST_BITS // 8 or len(bits) * 8 < MIN_LIST_BITS:
        raise InvalidDocument("encodedList decodes to a list of the wrong length", "status_list")
    return bits


def bit_is_set(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise InvalidDocument(f"status index {index} is outside the list", "status_index",
                              index=index)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_entry(list_url: str, index: int) -> dict[str, Any]:
    return {"id": f"{list_url}#{index}", "type": "BitstringStatusListEntry",
            "statusPurpose": STATUS_PURPOSE, "statusListIndex": str(index),
            "statusListCredential": list_url}


def status_list_credential(list_url: str, issuer: str, valid_from: str,
                           revoked: Iterable[int], batch_size: int,
                           valid_until: str | None = None) -> dict[str, Any]:
    """The unsigned status list credential (the caller signs it)."""
    return {
        "@context": [CREDENTIALS_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        **({"validUntil": valid_until} if valid_until is not None else {}),
        "credentialSubject": {
            "id": f"{list_url}#list", "type": "BitstringStatusList",
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encode_list(revoked, list_bits(batch_size)),
        },
    }


def entry_status(entry: Any, listed: Any, now_ok: Any, loader: Loader | None = None,
                 signer: bytes | None = None) -> tuple[str | None, str]:
    """(status, detail) of one BitstringStatusListEntry against its list credential:
    status None means "not set"; "malformed", that the entry itself is; "unknown", that
    the list's proof fails; one of LIST_UNUSABLE, that the list cannot be read for it;
    NOT_THE_ISSUERS, that `signer` (when given) did not sign it, so it says nothing;
    OUT_OF_DATE, that it is outside its own validity period (`now_ok(document)` says
    whether it is within it), so it says nothing of now either."""
    purpose, index_text = entry.get("statusPurpose"), entry.get("statusListIndex")
    # ASCII digits, and few: str.isdigit takes "²", and int() refuses it and 5,000 digits
    if not (isinstance(index_text, str) and index_text.isascii() and index_text.isdigit()
            and len(index_text) <= STATUS_INDEX_DIGITS_MAX):
        return "malformed", (f"statusListIndex must be a string of at most "
                             f"{STATUS_INDEX_DIGITS_MAX} digits")
    if not isinstance(purpose, str) or not purpose:
        # the entry's fault, not its list's: no list is for a purpose left out
        return "malformed", "the status entry's statusPurpose must be a non-empty string"
    if not isinstance(listed, dict) or "BitstringStatusListCredential" not in (
            listed.get("type") or []):
        return NOT_A_STATUS_LIST, "the status list is not a BitstringStatusListCredential"
    subject = listed.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        return NOT_A_STATUS_LIST, "the status list's subject is not a BitstringStatusList"
    purposes = subject.get("statusPurpose")
    purposes = purposes if isinstance(purposes, list) else [purposes]
    if purpose not in purposes:
        return NOT_FOR_PURPOSE, f"the status list is not for {purpose[:40]!r}"
    proof = verify_proof(listed, loader=loader)
    if not proof.ok:
        return "unknown", ("the revocation status could not be confirmed: the status list "
                           "offered does not verify (its proof does not hold); do not rely on "
                           "the credential until a genuine status list is available")
    if signer is not None and proof.public_key != signer:
        return NOT_THE_ISSUERS, "the status list is not signed by the credential's issuer"
    if not now_ok(listed):
        return OUT_OF_DATE, "the status list is outside its validity period"
    try:
        bits = decode_list(subject.get("encodedList", ""))
    except InvalidDocument as exc:
        return UNDECODABLE, f"the status list's {exc}"
    try:
        is_set = bit_is_set(bits, int(index_text))
    except InvalidDocument:
        return INDEX_OUTSIDE, (f"the status list holds {len(bits) * 8} entries, and the "
                               f"credential's index {index_text} is beyond them")
    if is_set and purpose in PURPOSE_STATUS:
        return PURPOSE_STATUS[purpose], f"{PURPOSE_STATUS[purpose]}: its bit is set in the " \
            "issuer's status list"
    marked = PURPOSE_STATUS.get(purpose, "") or f"marked for {purpose!r}"
    return None, f"not {marked} in its status list"
