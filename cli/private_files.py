"""Files holding a holder's personal data (a credential, a copy of it, its VC, its QR
code): owner-only (0600) from the first byte. A new one is created exclusively, so a
file that appeared meanwhile (by another command, or under the same name chosen twice)
is never written over; one replaced on request is written whole under a name of its
own first, then put in place, so that a kill never leaves it cut short."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_private(path: Path, data: bytes, *, replace: bool) -> None:
    """`data` at `path`, mode 0600. Without `replace`, FileExistsError if `path` is there,
    however late it appeared."""
    if not replace:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)  # left by a process of this number that was killed
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_private_json(path: Path, document: Any, *, replace: bool) -> None:
    """`document` as indented JSON (UTF-8, as written everywhere a credential is)."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    write_private(path, text.encode("utf-8"), replace=replace)
