"""Which line of a text export holds the first byte its encoding cannot read.

Python decodes a file in chunks of thousands of bytes, so the error it raises comes
with the first line of the chunk holding the byte, often the header's: "the header
cannot be read as utf-8" of a file whose row 57 alone was saved in cp1251. The
registrar is told the line instead."""

from __future__ import annotations

import codecs
from pathlib import Path

# Read at most this much of a line at a time: a file of one endless line is bounded.
_PIECE_BYTES = 1024 * 1024


def first_bad_line(path: Path, encoding: str) -> int | None:
    """The line (from 1) where `path` stops decoding as `encoding`; None when it decodes
    throughout, or fails for another reason than a byte (UTF-16 without a BOM)."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        return None
    line = 1
    try:
        with path.open("rb") as handle:
            while piece := handle.readline(_PIECE_BYTES):
                try:
                    text = decoder.decode(piece)
                except UnicodeDecodeError:
                    return line
                line += text.count("\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return line
    except (ValueError, TypeError, OSError):  # UTF-16's missing BOM; a codec of bytes
        return None
    return None
