"""What `senim verify` makes of a file before its checks can say anything: the JSON in it,
read in any encoding JSON allows (as the node reads a posted body), and a plain sentence
for a file no check can start from: an empty one, a credential cut short or with other
text around it, and, offline, a file that is no credential at all."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Any, NoReturn

from cli.consortium_words import genesis_refusal
from cli.errors import EXIT_BAD_INPUT
from cli.named_issuer import names_of_issuer
from cli.node_answers import MAX_ANSWER_BYTES
from cli.spoken import Sentence, kind_of, os_reason, refuse
from ledger import json_objects
from ledger.credential_shapes import SALT_BYTES
from ledger.errors import ConfigError
from ledger.genesis import Genesis
from ledger.json_objects import DuplicateKey
from ledger.payload_fields import HASH_BYTES
from ledger.verification import Check, Verdict
from node.files import UnfitFile, load_genesis, not_regular, read_bounded

CREDENTIAL_START_BYTES = 4_096  # where a credential file names its format
CREDENTIAL_MARK = b'"senim-credential/'
VC_MARK = b'"VerifiableCredential"'  # as the portal tells a W3C VC cut short (portal.js)
SOURCE = "the file alone"


# A credential, a W3C VC, or either with its offline proof: a few KiB to a few hundred,
# and at most what `senim prove` takes from a node (MAX_ANSWER_BYTES) as it writes it,
# indented, which four times that covers. A larger file is no document but may be one
# anchored (a thesis PDF), which is hashed as it is read, never held whole.
DOCUMENT_FILE_BYTES_MAX = 4 * MAX_ANSWER_BYTES
HASH_CHUNK_BYTES = 1 << 20


def load_trusted_genesis(genesis_path: Path | None) -> Genesis | None:
    """The genesis file a verifier (or a proof's maker) trusts, if given; refused by field."""
    if genesis_path is None:
        return None
    try:
        return load_genesis(genesis_path)
    except ConfigError as exc:
        refuse(genesis_refusal(exc, genesis_path), EXIT_BAD_INPUT)


def refuse_out_over_input(file: Path, out_file: Path, what: str) -> None:
    """Refuse an --out that names the input itself: writing `what` over it would replace the
    holder's credential, and the values and salts of what it hides could not be had back."""
    try:
        same = out_file.exists() and os.path.samefile(file, out_file)
    except OSError:
        return  # an --out that cannot be looked at is reported when it is written
    if same:
        refuse(Sentence("cli.file.out_is_input", f"--out {out_file} is the credential itself: "
                        f"writing {what} over it would lose the original for good; give a new "
                        "file for the copy", path=out_file), EXIT_BAD_INPUT)


def refuse_out_taken(out_file: Path, force: bool) -> None:
    """Refuse an --out that is already there unless `force`: it may be another of the
    holder's credentials, whose hidden values and salts could not be had back."""
    if not force and os.path.lexists(out_file):
        refuse_out_exists(out_file)


def refuse_out_exists(out_file: Path) -> NoReturn:
    refuse(Sentence("cli.file.out_exists", f"{out_file} exists: give a new file, or "
                    "--force to replace it", path=out_file), EXIT_BAD_INPUT)


def _not_regular(path: Path, mode: int) -> NoReturn:
    refuse(Sentence("cli.file.not_regular", not_regular(path, mode, "document"), path=path,
                    kind=kind_of(mode)), EXIT_BAD_INPUT)


def _unreadable(path: Path, exc: OSError) -> NoReturn:
    refuse(Sentence("cli.file.unreadable", None, path=path, why=os_reason(exc)),
           EXIT_BAD_INPUT)


def load_json_file(path: Path) -> Any | None:
    """The file's JSON, or None when it holds none (a file past DOCUMENT_FILE_BYTES_MAX
    included); exit 2 for what is no regular file (/dev/zero, a named pipe, a folder),
    which would be read for ever or not at all. json.loads on bytes takes UTF-8 with or
    without a byte order mark, UTF-16 and UTF-32 (Notepad's "Unicode"), as the node does."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            _not_regular(path, status.st_mode)
        if status.st_size > DOCUMENT_FILE_BYTES_MAX:
            return None
        data = read_bounded(path, DOCUMENT_FILE_BYTES_MAX, "document").data
        try:
            return json_objects.loads(data)
        except DuplicateKey as exc:
            # Refused in a credential or a VC, whose fields a reader would see otherwise
            # than a check does, read by its first key or its last, and in a file whose
            # "issuer" names another by its first key than by its last (the one compared
            # with its recorder, cli.named_issuer, need not be the one shown); any other
            # JSON is an anchored document, checked by its bytes alone (RFC 8259 only asks
            # that keys be unique), and read as json reads it, by its last key. One reading
            # is held at a time: a file near DOCUMENT_FILE_BYTES_MAX takes gigabytes, and
            # seconds, the first-key reading most (a Python hook on every object); so it is
            # made only when it could differ from the last-key one in what is asked of it.
            named_first = None
            if _may_read_otherwise_by_first_key(data):
                first_wins = json.loads(data, object_pairs_hook=_first_key_wins)
                if _credential_or_vc(first_wins):
                    refuse(duplicate_key(path, exc), EXIT_BAD_INPUT)
                named_first = names_of_issuer(first_wins)
                del first_wins
            last_wins = json.loads(data)
            if _credential_or_vc(last_wins):
                refuse(duplicate_key(path, exc), EXIT_BAD_INPUT)
            if named_first is not None and names_of_issuer(last_wins) != named_first:
                refuse(duplicate_key(path, DuplicateKey("issuer")), EXIT_BAD_INPUT)
            return last_wins
    except UnfitFile:  # grown past the limit, or swapped for no regular file, since
        return None
    except OSError as exc:
        _unreadable(path, exc)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


# The top-level keys that decide whether a JSON object is a credential or a VC
# (`_credential_or_vc`) and whom it names as its issuer (cli.named_issuer), as UTF-8
# text holds them; a file holding none reads alike in those by its first key and its last.
_KEYS_ASKED_OF_A_READING = (b'"issuer"', b'"format"', b'"@context"', b'"fields"', b'"batch"',
                            b'"target_hash"')
# An ASCII letter, "@" or "_" written as an escape ("\u0069ssuer"): a key spelt so is
# not found by its bytes.
_ESCAPED_KEY_CHARACTER = re.compile(rb"\\u00[4-7]")


def _may_read_otherwise_by_first_key(data: bytes) -> bool:
    """Whether `data`, JSON with a key given twice, may be a credential or a VC, or name
    another issuer, by its first key than by its last: when it holds one of the keys
    those are told by, spells a key's letter as an escape, or is text json reads in
    UTF-16 or UTF-32, where the keys' UTF-8 bytes are not looked for."""
    if not json.detect_encoding(data).startswith("utf-8"):
        return True
    return (any(key in data for key in _KEYS_ASKED_OF_A_READING)
            or _ESCAPED_KEY_CHARACTER.search(data) is not None)


def _first_key_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object read keeping the first value of a key given twice (json keeps the last)."""
    return dict(reversed(pairs))


def _credential_or_vc(document: object) -> bool:
    return is_credential(document) or (isinstance(document, dict) and "@context" in document)


def file_digest(path: Path) -> bytes:
    """SHA-256 of a file as it is read (`ledger.anchor_verification.document_hash` of its bytes):
    what an anchor records, of a file of any size; exit 2 for no regular file."""
    digest = hashlib.sha256()
    try:
        # O_NONBLOCK: a named pipe is refused by its type, not waited on (a regular file
        # ignores the flag).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                _not_regular(path, mode)
            while chunk := os.read(fd, HASH_CHUNK_BYTES):
                digest.update(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        _unreadable(path, exc)
    return digest.digest()


def duplicate_key(path: Path, exc: DuplicateKey) -> Sentence:
    return Sentence("cli.file.duplicate_key", None, path=path, key=exc.key[:60])


def load_checked_json(path: Path) -> Any | None:
    """`load_json_file`, refusing (exit 2) text that no hash or file can hold."""
    value = load_json_file(path)
    try:  # JSON may escape lone UTF-16 surrogates, which no hash or file can hold
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        refuse(Sentence("cli.file.surrogate", path=path), EXIT_BAD_INPUT)
    return value


# The keys every Senim credential must hold (ledger.credential_documents.parse_document).
CREDENTIAL_KEYS = frozenset({"issuer", "batch", "fields", "chain_id", "type"})
# How many of a credential's own structures (`_credential_structures`) make a JSON object
# one, whatever its format and keys say.
CREDENTIAL_STRUCTURES_MIN = 2


def is_credential(document: Any) -> bool:
    """A Senim credential: a JSON object whose format names one, of any version (a later
    one is said to be newer), that holds all of a credential's own keys, or that holds
    CREDENTIAL_STRUCTURES_MIN of the structures only a credential has, whatever its format
    and keys say. Each of these is a credential failing its own checks (MALFORMED), not an
    anchored document: any member may anchor any bytes, so a diploma with its format edited
    and a key deleted, anchored by an employer, was said VALID, "recorded by" it.

    No generic key name makes a file a credential: a registrar's export with a "format", an
    "issuer" or "fields" of its own is an anchored document, looked up by its bytes (it was
    MALFORMED, "nothing a node could say would change that", though the chain recorded
    it). Two structures are asked for, not one, so that an export sharing one by chance
    (a "target_hash" column, "fields" whose entries each give a "hash", another Merkle
    proof's "root" and "path", the format of another Senim file such as an issue job's
    manifest) stays one; a diploma keeps at least two with its format edited and any one
    key deleted or renamed."""
    return isinstance(document, dict) and (
        (isinstance(document.get("format"), str)
         and document["format"].startswith(CREDENTIAL_MARK[1:].decode()))
        or document.keys() >= CREDENTIAL_KEYS
        or _credential_structures(document) >= CREDENTIAL_STRUCTURES_MIN)


def _credential_structures(document: dict[str, Any]) -> int:
    """How many of a Senim credential's own structures `document` holds, each counted only
    when shaped as a credential's is (a key of that name alone is any export's): a "format"
    naming Senim (`_names_senim`), salted or hashed fields ("fields" an object with an
    object holding a "salt" of SALT_BYTES or a "hash" of 32 bytes, in hex), an audit path
    ("batch" an object with a 32-byte hex "root" and a list "path") and a 32-byte hex
    "target_hash"."""
    fields, batch, format_ = (document.get(key) for key in ("fields", "batch", "format"))
    return sum((
        isinstance(format_, str) and _names_senim(format_),
        isinstance(fields, dict) and any(
            isinstance(entry, dict) and (_hex_of(entry.get("salt"), SALT_BYTES)
                                         or _hex_of(entry.get("hash"), HASH_BYTES))
            for entry in fields.values()),
        isinstance(batch, dict) and _hex_of(batch.get("root"), HASH_BYTES)
        and isinstance(batch.get("path"), list),
        _hex_of(document.get("target_hash"), HASH_BYTES)))


def _names_senim(format_: str) -> bool:
    """Whether a format names Senim: its NFKC form, lower-cased, with every character that
    is no ASCII letter dropped, starts with "senim" (portal-anchored.js's namesSenim reads
    it alike). NFKC makes a long s and fullwidth letters the ASCII ones they stand for, so a
    diploma whose format reads "ſenim diploma" stays a credential (MALFORMED), not a
    document its anchorer vouched for; spaces, dashes and invisible characters anywhere are
    dropped, which can only count more files as credentials, the safe side for a verifier.
    Lower-cased after NFKC (which makes "Ｓ" an "S"), and only ASCII letters kept after
    that: Python's lower and JavaScript's toLowerCase then leave the same letters, where
    strip/casefold and trim/toLowerCase read "\\x85senim" and "ſenim" apart."""
    folded = unicodedata.normalize("NFKC", format_).lower()
    return _NOT_ASCII_LETTER.sub("", folded).startswith("senim")


_NOT_ASCII_LETTER = re.compile("[^a-z]+")


def _hex_of(value: object, size: int) -> bool:
    """Whether `value` is `size` bytes in hex."""
    return isinstance(value, str) and re.fullmatch(f"[0-9a-fA-F]{{{2 * size}}}", value) is not None


def _holds_a_credential(path: Path, parsed: bool) -> bool:
    """Whether the file's start looks like a credential's. `parsed`: the file is JSON, so
    a "format" key alone is no sign of a credential cut short."""
    with path.open("rb") as file:
        start = file.read(CREDENTIAL_START_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    return ((not parsed and start.startswith(b"{") and b'"format"' in start)
            or CREDENTIAL_MARK in start or VC_MARK in start)


# What people hand over instead of the credential file: a PDF, a photo or a scan of the
# paper diploma, a video of it; told by their first bytes, as the portal tells them
# (node/static/portal.js, NOT_CREDENTIALS).
PICTURE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
PICTURE_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
                  b"mif2", b"avif", b"avis")
VIDEO_BRANDS = re.compile(rb"^(iso[m2-9]|mp4[12]|avc1|dash|qt  |M4V[ HP]|3g[p2][0-9a-z ]|"
                          rb"mmp4|XAVC)")


def _no_document_kind(head: bytes) -> str | None:
    """"file_pdf", "file_image" or "file_video" (status.<kind> in the catalogue), by the
    file's first bytes; None for anything else."""
    if head.startswith(b"%PDF"):
        return "file_pdf"
    if head.startswith(PICTURE_MAGIC) or (head.startswith(b"RIFF") and head[8:12] == b"WEBP"):
        return "file_image"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return ("file_image" if brand in PICTURE_BRANDS else
                "file_video" if VIDEO_BRANDS.match(brand) else None)
    return None


NOT_DOCUMENTS = {"file_pdf": "a PDF", "file_video": "a video"}


def _malformed(reason: str, source: str) -> Verdict:
    return Verdict(False, "malformed", reason, source, [Check("document", False, reason)])


def unreadable_kind(path: Path, document: Any, offline: bool) -> str | None:
    """What a file no credential check can start from is, as the portal's catalogue names
    it (status.<kind>), or None."""
    if path.stat().st_size == 0:
        return "file_empty"
    with path.open("rb") as file:
        no_document = _no_document_kind(file.read(12))
    if no_document is not None:
        return no_document
    if not is_credential(document) and _holds_a_credential(path, document is not None):
        return "damaged"
    if offline and not is_credential(document):
        return "malformed"
    return None


def unreadable(path: Path, document: Any, offline: bool, source: str = SOURCE
               ) -> Verdict | None:
    """The verdict for a file no credential check can start from, or None. Online it is
    asked only once the bytes turned out to be no anchored document either."""
    kind = unreadable_kind(path, document, offline)
    if kind == "file_empty":
        return _malformed("the file is empty (0 bytes): there is nothing to check; ask its "
                          "holder for the file again", source)
    if kind == "damaged":
        # "No record of this document" would send the reader looking for an anchor.
        return _malformed("this file holds what looks like a Senim credential, but not as "
                          "one whole credential: cut short or damaged, or with other text "
                          "around it; ask its holder for the credential file again", source)
    if kind == "file_image":  # a QR code of a link too: what to do with one is said
        return _malformed("this file is an image, not a Senim credential file: only a "
                          "credential file (.json) or a credential's link is checked. If it "
                          "is a QR code, scan it and give the link it holds to `senim "
                          "verify`. A photo or a scan of a paper document cannot be checked. "
                          "Ask its holder for the credential file (.json) they were given, or "
                          "its link", source)
    if kind in NOT_DOCUMENTS:
        return _malformed(f"this file is {NOT_DOCUMENTS[kind]}, not a Senim credential file: "
                          "ask its holder for the credential file (.json) they were given",
                          source)
    if kind == "malformed":
        return _malformed("this file is not a Senim credential, so it holds no offline proof "
                          "(--offline checks a credential file made by `senim prove`)", source)
    return None
