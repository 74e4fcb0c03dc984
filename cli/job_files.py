"""A resumed job's credential files, read back before its kept batch is sent again.

A job is made files first (cli/issue_job.py), but between two runs anyone may remove,
edit or loosen them. A batch sent without its files whole would put on chain
credentials that no one holds (a file lost), or that the issued-students registry
cannot record (a field emptied: the student could be issued again). So `--resume`
reads every file the manifest names before anything is sent: each must be this job's
credential (its chain, issuer and type), its fields giving its target hash, its audit
path leading to the batch root, and every field shown. Its labels and issuer name are
not compared: a file whose words alone were edited still holds the credential.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from cli.job_folder import credential_path
from cli.spoken import Sentence
from ledger.credential_documents import parse_document
from ledger.credentials import target_hash
from ledger.errors import InvalidDocument
from storage.batch_tree import verify_inclusion

# A credential file as a resume reads it back: a transcript of many course lines is
# tens of kilobytes; a file past this is no file the job wrote.
CREDENTIAL_FILE_BYTES_MAX = 4 << 20


def credential_file_problem(job_dir: Path, manifest: dict[str, Any]) -> Sentence | None:
    """What is wrong with the first of the job's credential files that is not whole (see
    above), or None when all are. A file others may read is made private again (0600) on
    the way: the job wrote it so."""
    targets = [bytes.fromhex(t) for t in manifest["target_hashes"]]
    root = bytes.fromhex(manifest["batch_root"])
    for index, target in enumerate(targets):
        path = credential_path(job_dir, manifest["type"], index, len(targets), target.hex(),
                               int(manifest["files_per_dir"]))
        problem = _problem(path, manifest, index, len(targets), target, root)
        if problem is not None:
            return problem
    return None


def _problem(path: Path, manifest: dict[str, Any], index: int, count: int, target: bytes,
             root: bytes) -> Sentence | None:
    try:
        found = path.lstat()
        if not stat.S_ISREG(found.st_mode) or found.st_size > CREDENTIAL_FILE_BYTES_MAX:
            return Sentence("issue.files.not_credential", f"{path} is not a credential file "
                            "of this job", path=path)
        document = json.loads(path.read_bytes().decode("utf-8"))  # as the job wrote it
        if found.st_mode & 0o077:
            path.chmod(0o600)
    except FileNotFoundError:
        return Sentence("issue.files.missing", f"{path} is missing", path=path)
    except OSError as exc:
        return Sentence("issue.files.unreadable", f"{path} cannot be read: {exc.strerror}",
                        path=path, why=exc.strerror)
    except (ValueError, RecursionError):  # not UTF-8, or not JSON
        return Sentence("issue.files.not_credential", f"{path} is not a credential file of "
                        "this job", path=path)
    try:
        doc = parse_document(document)
    except InvalidDocument:
        return Sentence("issue.files.not_credential", f"{path} is not a credential file of "
                        "this job", path=path)
    if (doc.chain_id, doc.issuer.hex(), doc.credential_type) != (
            manifest["chain_id"], manifest["issuer"], manifest["type"]):
        return Sentence("issue.files.not_credential", f"{path} is not a credential file of "
                        "this job", path=path)
    if len(doc.revealed) != len(doc.field_hashes):
        return Sentence("issue.files.hidden", f"{path} hides fields; the job's files hold "
                        "every field", path=path)
    whole = (doc.target_hash == target and doc.batch_root == root
             and (doc.batch_index, doc.batch_size) == (index, count)
             and target_hash(doc.chain_id, doc.issuer, doc.credential_type, doc.field_hashes,
                             doc.document_format) == target
             and verify_inclusion(target, index, count, doc.batch_path, root))
    if not whole:
        return Sentence("issue.files.changed", f"{path} has been changed since the job "
                        "wrote it", path=path)
    return None
