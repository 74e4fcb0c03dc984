"""An issuing job's folder: its manifest, its credential files and how they reach the disk.

A job's folder is made (0700) and its manifest written before any credential file;
every credential file (0600) is on disk and synced before the manifest records the
signed transaction (state ``prepared``), and only then may it be sent
(cli/issue_job.py drives the states). The manifest is replaced atomically, so a
crash at any instant leaves the old one or the new one.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import itertools
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.private_files import write_private_json
from cli.progress import progress
from cli.spoken import Sentence
from ledger.credentials import IssuedBatch
from ledger.identity import KeyPair

JOB_FORMAT = "senim-issue-job/v1"
MANIFEST_NAME = "manifest.json"
CREDENTIALS_DIR = "credentials"
CORRECTIONS_NAME = "corrections.json"  # which new credential replaces which old one
FILES_PER_DIR = 1000  # no directory of a job holds more credential files than this
PROGRESS_FROM = 200  # below this a progress bar is noise
# Test hooks: SENIM_ISSUE_CRASH_AT=<point> makes `senim issue` exit abruptly at that
# point, as a kill would; SENIM_ISSUE_PAUSE_AT=<point> makes it say "paused at <point>"
# on stderr and wait there (at most PAUSE_S) for the test's signal. Unset (always, in
# production) they do nothing at all.
CRASH_ENV = "SENIM_ISSUE_CRASH_AT"
CRASH_POINTS = ("preparing", "writing", "prepared", "submitting", "submitted", "seen-committed")
CRASH_EXIT = 86
PAUSE_ENV = "SENIM_ISSUE_PAUSE_AT"
PAUSE_POINTS = ("hashing", *CRASH_POINTS, "committed")
PAUSE_S = 60.0


class JobError(Exception):
    """The job cannot go on; the message says why and what is left in the folder (a
    Sentence: in the registrar's language too, cli.spoken.reason)."""

    def __init__(self, message: str | Sentence, exit_code: int = 1) -> None:
        super().__init__(str(message))
        self.exit_code = exit_code
        if isinstance(message, Sentence):
            self.sentence = message


class NoJob(JobError):
    """The folder holds no manifest (or is gone): no job of it can have sent anything."""


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(CRASH_EXIT)
    if os.environ.get(PAUSE_ENV) == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(PAUSE_S)


def check_out_dir(out_dir: Path) -> None:
    """--out must be new or an empty directory: an earlier job is never overwritten."""
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise JobError(Sentence("issue.out.not_a_folder", f"--out {out_dir} exists and is not "
                                "a directory; give a new or empty directory", path=out_dir), 2)
    if out_dir.is_dir():
        _drop_first_manifest_left(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise JobError(Sentence("issue.out.not_empty", f"--out {out_dir} is not empty; give a "
                                "new or empty directory (to finish a job there: senim issue "
                                f"--resume {out_dir})", path=out_dir), 2)


def _drop_first_manifest_left(out_dir: Path) -> None:
    """A folder holding nothing but a manifest's temporary file is a job killed while it
    wrote its first manifest: nothing of it was written or sent, so the folder counts as
    empty (it was refused both as not empty and, to --resume, as no job)."""
    first_two = list(itertools.islice(out_dir.iterdir(), 2))
    if [entry.name for entry in first_two] == [f".{MANIFEST_NAME}.tmp"]:
        first_two[0].unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_folders(job_dir: Path, folder: Path) -> None:
    """`folder` and each folder between it and `job_dir`, made 0700 where missing
    (mkdir's `parents` makes those between with the umask's mode: credentials/ was 0755)."""
    below = [f for f in [folder, *folder.parents] if job_dir in f.parents]
    for each in reversed(below):
        each.mkdir(mode=0o700, exist_ok=True)


def _sync_filesystem_of(path: Path) -> None:
    """Flush every file written under `path` at once: one fsync per file of 100,000
    costs minutes, syncfs(2) one wait. Falls back to sync(2) where syncfs is missing."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None:
            os.sync()
        elif syncfs(fd) != 0:
            code = ctypes.get_errno()
            if code != errno.ENOSYS:
                # a disk that lost a file's pages (EIO): sync(2) reports nothing, and the
                # batch would have been sent with a credential's file lost on disk
                raise OSError(code, os.strerror(code), str(path))
            os.sync()
    finally:
        os.close(fd)


def save_manifest(job_dir: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically and durably: readers see the old or the new one."""
    temp = job_dir / f".{MANIFEST_NAME}.tmp"
    temp.unlink(missing_ok=True)  # left by a crash mid-write; the manifest itself is intact
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write((json.dumps(manifest, indent=1) + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:  # a full disk: a new job's folder stays empty, to start again in
        temp.unlink(missing_ok=True)
        raise
    os.replace(temp, job_dir / MANIFEST_NAME)
    _fsync_dir(job_dir)


def load_manifest(job_dir: Path) -> dict[str, Any]:
    path = job_dir / MANIFEST_NAME
    if job_dir.exists() and not job_dir.is_dir():
        raise JobError(Sentence("issue.job.a_file", f"{job_dir} is a file, not an issuing "
                                "job's folder", path=job_dir), 2)
    if not job_dir.exists():  # a mistyped folder: "holds no manifest" read as a broken job
        raise NoJob(Sentence("issue.job.no_folder", f"there is no folder {job_dir}: give the "
                             "--out folder of the job to finish", path=job_dir), 2)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NoJob(Sentence("issue.job.no_manifest", f"{job_dir} holds no {MANIFEST_NAME}: "
                             "it is not an issuing job", path=job_dir, name=MANIFEST_NAME),
                    2) from exc
    except (OSError, ValueError) as exc:
        why = getattr(exc, 'strerror', None) or str(exc)
        raise JobError(Sentence("issue.job.unreadable", f"cannot read {path}: {why}",
                                path=path, why=why), 2) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != JOB_FORMAT:
        raise JobError(Sentence("issue.job.not_a_manifest", f"{path} is not a {JOB_FORMAT} "
                                "manifest", path=path, format=JOB_FORMAT), 2)
    problem = manifest_problem(manifest)
    if problem is not None:
        raise JobError(Sentence("issue.job.damaged", f"{path} cannot be used: {problem} "
                                "(edited, or damaged?); this run sent nothing", path=path,
                                why=problem), 2)
    return manifest


JOB_STATES = ("preparing", "prepared", "submitted", "committed", "refused")


def never_sent(manifest: dict[str, Any]) -> bool:
    """Whether no node can have seen any batch transaction of this job: it is writing
    its files, or prepared for its first send. A batch signed anew once its first
    transaction expired is prepared again, but marked ``sent_before`` (cli/issue_job.py):
    the first may have reached a node, so it is never taken for a job that sent nothing."""
    state = manifest.get("state")
    return state == "preparing" or (state == "prepared" and not manifest.get("sent_before"))
_HEX = re.compile(r"(?:[0-9a-f]{2})+")


def manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What a manifest lacks that a job in its state needs (each value the job reads,
    of its type), or None: a manifest written by hand or damaged is refused whole
    rather than half-used."""
    def bad(name: str, kind: str, ok: bool) -> str | None:
        return None if ok else f"{name} is missing or not {kind}"

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def is_hex(value: Any) -> bool:
        return isinstance(value, str) and _HEX.fullmatch(value) is not None

    state = manifest.get("state")
    if state not in JOB_STATES:
        return f"its state {state!r} is none of {', '.join(JOB_STATES)}"
    unique, issuance = manifest.get("unique", []), manifest.get("issuance")
    checks = [
        *(bad(name, "text", isinstance(manifest.get(name), str) and bool(manifest[name]))
          for name in ("chain_id", "type", "input", "input_sha256", "key")),
        bad("issuer", "hex", is_hex(manifest.get("issuer"))),
        bad("files_per_dir", "a whole number", is_int(manifest.get("files_per_dir"))
            and manifest["files_per_dir"] >= 1),
        bad("reader", "an object", isinstance(manifest.get("reader", {}), dict)),
        bad("unique", "a list of names", isinstance(unique, list)
            and all(isinstance(name, str) for name in unique)),
        bad("registered", "text", isinstance(manifest.get("registered"), str | None)),
        bad("sent_before", "true or false", isinstance(manifest.get("sent_before", False),
                                                       bool))]
    if state != "preparing":
        count: Any = manifest.get("count")
        targets = manifest.get("target_hashes")
        checks += [
            bad("count", "a whole number", is_int(count) and count >= 1),
            *(bad(name, "hex", is_hex(manifest.get(name)))
              for name in ("batch_root", "tx_id", "tx")),
            bad("expires_at", "a whole number", is_int(manifest.get("expires_at"))),
            bad("target_hashes", "a list of hex, one per credential",
                isinstance(targets, list) and len(targets) == count
                and all(is_hex(target) for target in targets))]
    if state == "committed":
        checks.append(bad("issuance", "an object of tx_id, height, block_hash and time",
                          isinstance(issuance, dict) and is_hex(issuance.get("tx_id"))
                          and is_int(issuance.get("height"))
                          and isinstance(issuance.get("block_hash"), str)
                          and "time" in issuance))
    return next((problem for problem in checks if problem is not None), None)


def credential_path(job_dir: Path, credential_type: str, index: int, count: int,
                    target_hex: str, per_dir: int) -> Path:
    folders = max(3, len(str((count - 1) // per_dir)))
    width = max(5, len(str(count)))
    return (job_dir / CREDENTIALS_DIR / f"{index // per_dir:0{folders}d}"
            / f"{credential_type}-{index + 1:0{width}d}-{target_hex[:8]}.json")


def credential_files(job_dir: Path) -> list[Path]:
    return sorted((job_dir / CREDENTIALS_DIR).glob("*/*.json"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---- preparing -------------------------------------------------------------------------------
def start_job(job_dir: Path, *, credential_type: str, chain_id: str, issuer_name: str,
              keys: KeyPair, key_path: Path, input_path: Path,
              reader: dict[str, Any] | None = None, unique: tuple[str, ...] = (),
              again: bool = False) -> dict[str, Any]:
    """Create the folder (0700) and record what the job is made of, before any file.

    `again`: the folder holds a job that stopped while preparing, whose files were
    removed; its manifest is replaced (never removed first, so the folder stays a
    job that `--resume` finishes, whenever this stops)."""
    if again:
        if load_manifest(job_dir)["state"] != "preparing":
            raise JobError(f"{job_dir} holds a job that is past preparing", 2)
    else:
        check_out_dir(job_dir)
        job_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        job_dir.chmod(0o700)
        check_out_dir(job_dir)  # nothing appeared meanwhile
    manifest: dict[str, Any] = {
        "format": JOB_FORMAT, "state": "preparing", "on_chain": False,
        "note": "not yet on chain: finish with `senim issue --resume` on this folder",
        "type": credential_type, "chain_id": chain_id, "issuer": keys.member_id.hex(),
        "issuer_name": issuer_name, "input": str(input_path.resolve()),
        "input_sha256": file_sha256(input_path), "key": str(key_path.resolve()),
        "reader": reader or {}, "unique": list(unique), "registered": None,
        "files_per_dir": FILES_PER_DIR}
    save_manifest(job_dir, manifest)
    return manifest


def write_credentials(job_dir: Path, manifest: dict[str, Any], batch: IssuedBatch,
                      tx_bytes: bytes, tx_id: str, expires_at: int,
                      before_prepared: Callable[[], None] | None = None) -> None:
    """Every credential file, durably, then `before_prepared`, then the manifest as
    prepared (not yet on chain)."""
    crash_point("preparing")
    count = len(batch.target_hashes)
    per_dir = int(manifest["files_per_dir"])
    made: set[Path] = set()
    for index, document in enumerate(progress(batch.documents(release=True),
                                              Sentence("issue.progress.writing",
                                                       "writing credentials"), count, "doc",
                                              quiet=count < PROGRESS_FROM)):
        path = credential_path(job_dir, batch.credential_type, index, count,
                               document["target_hash"], per_dir)
        if path.parent not in made:
            _private_folders(job_dir, path.parent)
            made.add(path.parent)
        write_private_json(path, document, replace=False)
        if index == count // 2:
            crash_point("writing")
    _sync_filesystem_of(job_dir)
    for folder in [*sorted(made), job_dir / CREDENTIALS_DIR]:
        _fsync_dir(folder)
    if before_prepared is not None:
        before_prepared()
    manifest.update({
        "state": "prepared", "count": count, "batch_root": batch.root.hex(),
        "tx_id": tx_id, "tx": tx_bytes.hex(), "expires_at": expires_at,
        "target_hashes": [t.hex() for t in batch.target_hashes],
        "issuance": None, "refusal": None})
    save_manifest(job_dir, manifest)
    crash_point("prepared")


def discard_credentials(job_dir: Path) -> None:
    """Only for a job whose transaction was never sent: its files can never be valid."""
    shutil.rmtree(job_dir / CREDENTIALS_DIR, ignore_errors=True)
    (job_dir / CORRECTIONS_NAME).unlink(missing_ok=True)
