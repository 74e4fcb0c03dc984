"""What `senim governance revoke` reads: the credential files an officer names, one by one
or as folders (an issuing job's folder, as `senim issue --out` made it, gives its
credential files; any other folder, the JSON files under it, and those of any job folder
in it), each read as a credential
or said to be none, by file, so that one bad file among hundreds is named, not hidden
behind the first error.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from cli.job_folder import CREDENTIALS_DIR, MANIFEST_NAME, credential_files
from cli.spoken import Sentence, kind_of, os_reason
from cli.vc import is_vc_document
from ledger.credential_documents import ParsedDocument, parse_document
from ledger.errors import InvalidDocument, NewerFormat
from ledger.vc.anchored import native_of_senim_vc
from storage.bounded_read import UnfitFile, read_bounded

# A credential file is a few KiB; a Senim VC of one a few more. Past this, it is none.
CREDENTIAL_FILE_BYTES_MAX = 1 << 20
# Entries (files and folders, whatever their names) seen under each folder given, and
# credential files found, at most: enough to say how far past the cap of one proposal a
# list is, without walking a whole disk (a home folder or / given by mistake) to say it.
MAX_FILES_COUNTED = 100_000


@dataclass(frozen=True)
class Read:
    """One file given: the credential in it, or why it holds none."""

    path: Path
    document: ParsedDocument | None
    problem: Sentence | None = None


class TooManyFiles(Exception):
    """More than MAX_FILES_COUNTED files under the paths given."""


def _is_job(folder: Path) -> bool:
    return (folder / MANIFEST_NAME).is_file() and (folder / CREDENTIALS_DIR).is_dir()


def _folder_files(folder: Path) -> Iterator[Path]:
    """The JSON files under `folder`, in name order; of an issuing job's folder (at any
    depth) only its credential files, not its manifest, corrections or VC copies.
    TooManyFiles once the walk has seen more than MAX_FILES_COUNTED entries."""
    if _is_job(folder):
        yield from credential_files(folder)
        return
    seen = 0
    for walked, folders, files in os.walk(folder):
        seen += len(folders) + len(files)
        if seen > MAX_FILES_COUNTED:
            raise TooManyFiles
        here = Path(walked)
        folders.sort()
        jobs = [name for name in folders if _is_job(here / name)]
        folders[:] = [name for name in folders if name not in jobs]
        for name in sorted(files):
            if name.endswith(".json") and (here / name).is_file():
                yield here / name
        for name in jobs:
            yield from credential_files(here / name)


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """The files the paths name, in order (a folder's sorted), each once. TooManyFiles
    past MAX_FILES_COUNTED."""
    found: dict[Path, Path] = {}
    for given in paths:
        files = _folder_files(given) if given.is_dir() else iter((given,))
        for path in islice(files, MAX_FILES_COUNTED + 1):
            found.setdefault(path.resolve(), path)
            if len(found) > MAX_FILES_COUNTED:
                raise TooManyFiles
    return list(found.values())


def read_credential(path: Path) -> Read:
    """The credential in `path` (a Senim credential file, or a Senim VC of one, which
    names its batch in its `senim` section as `senim revoke` reads it)."""
    try:
        document = json.loads(read_bounded(path, CREDENTIAL_FILE_BYTES_MAX,
                                           "credential file").data)
        if isinstance(document, dict) and is_vc_document(document):
            document = native_of_senim_vc(document)
        return Read(path, parse_document(document))
    except UnfitFile as exc:
        return Read(path, None, _unfit(path, exc.fault))
    except OSError as exc:
        return Read(path, None, Sentence("gov.file.unreadable",
                                         f"not readable: {exc.strerror or exc}",
                                         why=os_reason(exc)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return Read(path, None, Sentence("gov.file.no_json", "not a credential: no JSON in it"))
    except NewerFormat as exc:
        return Read(path, None, Sentence("gov.file.newer", f"{exc}; update senim to read it"))
    except InvalidDocument as exc:
        return Read(path, None, Sentence("gov.file.not_credential",
                                         f"not a Senim credential file: {exc}"))


def _unfit(path: Path, fault: str) -> Sentence:
    """A file refused unread: what it is instead, or that it is too large to be one."""
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = stat.S_IFREG
    if not stat.S_ISREG(mode):
        return Sentence("gov.file.not_regular", f"not a credential: {fault}", kind=kind_of(mode))
    return Sentence("gov.file.too_large", f"not a credential: {fault}")
