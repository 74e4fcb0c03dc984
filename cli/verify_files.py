"""What `senim verify` makes of a file before its checks can say anything: the JSON in it,
read in any encoding JSON allows (as the node reads a posted body), and a plain sentence
for a file no check can start from: an empty one, a credential cut short or with other
text around it, and, offline, a file that is no credential at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ledger.verification import Check, Verdict

CREDENTIAL_START_BYTES = 4_096  # where a credential file names its format
CREDENTIAL_MARK = b'"senim-credential/'
SOURCE = "the file alone"


def load_json_file(path: Path) -> Any | None:
    """The file's JSON, or None when it holds none. json.loads on bytes takes UTF-8 with or
    without a byte order mark, UTF-16 and UTF-32 (Notepad's "Unicode"), as the node does."""
    try:
        return json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def is_credential(document: Any) -> bool:
    return isinstance(document, dict) and "format" in document


def _holds_a_credential(path: Path) -> bool:
    with path.open("rb") as file:
        start = file.read(CREDENTIAL_START_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    return (start.startswith(b"{") and b'"format"' in start) or CREDENTIAL_MARK in start


def _malformed(reason: str, source: str) -> Verdict:
    return Verdict(False, "malformed", reason, source, [Check("document", False, reason)])


def unreadable(path: Path, document: Any, offline: bool, source: str = SOURCE
               ) -> Verdict | None:
    """The verdict for a file no credential check can start from, or None. Online it is
    asked only once the bytes turned out to be no anchored document either."""
    if path.stat().st_size == 0:
        return _malformed("the file is empty (0 bytes): there is nothing to check; ask its "
                          "holder for the file again", source)
    if not is_credential(document) and _holds_a_credential(path):
        # "No record of this document" would send the reader looking for an anchor.
        return _malformed("this file holds what looks like a Senim credential, but not as "
                          "one whole credential: cut short or damaged, or with other text "
                          "around it; ask its holder for the credential file again", source)
    if offline and not is_credential(document):
        return _malformed("this file is not a Senim credential, so it holds no offline proof "
                          "(--offline checks a credential file made by `senim prove`)", source)
    return None
