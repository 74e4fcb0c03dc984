"""`senim issue`'s checks: whether the chain lets this issuer issue this type at all,
the export read through registrar/, each row checked against the issuer's registry
of issued students (registrar.issued), and the job recorded in that registry once
it is marked committed.

Recording a job again changes nothing, so `senim issue --resume` on a committed job
also records it (that is how jobs from before the registry existed are added).

A job's students are first recorded as pending, after its files are written and
before its manifest holds a transaction to send: another job naming them is then
refused by row until this one is finished (`--resume`), unless this one's folder
no longer holds a job or it is still preparing (its resume checks its rows again).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli.commands import load_key_or_fail
from cli.errors import fail
from cli.issuer_registry import (
    RegistryChoiceError,
    issuer_registry,
    pointer_path,
    remember_registry,
)
from cli.job_folder import (
    CORRECTIONS_NAME,
    JobError,
    NoJob,
    credential_path,
    load_manifest,
    save_manifest,
)
from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.payloads import SUSPENSION_REASONS
from registrar import (
    ExportResult,
    Mapping,
    Schema,
    SchemaError,
    load_mapping,
    load_schema,
    read_export,
)
from registrar.course_rows import check_layout
from registrar.issued import (
    PENDING_HEIGHT,
    Earlier,
    Entry,
    IssuedRegistry,
    RegistryError,
    registry_above,
    registry_path_for,
)
from registrar.validate import RecordSink

WHEN_FORMAT = "%Y-%m-%d %H:%M:%S UTC"  # how the node's API prints a time
PROBLEMS_SHOWN_MAX = 50  # a registrar reads the first ones; the count says how many more


class IssuedCheck:
    """Asked by validation about every unique value of every row.

    In a correction job a row naming an issued student is not a problem: it is kept
    in `corrected` (row -> the credential it corrects)."""

    def __init__(self, registry: IssuedRegistry | None, credential_type: str,
                 chain_id: str | None, corrections: bool, job: Path | None = None) -> None:
        self.registry = registry
        self.credential_type = credential_type
        self.chain_id = chain_id
        self.corrections = corrections
        self.job = job.resolve() if job is not None else None  # this check's own job folder
        self.corrected: dict[int, Earlier] = {}
        self._states: dict[str, str | None] = {}

    @property
    def _a_type(self) -> str:
        article = "an" if self.credential_type[:1] in "aeiou" else "a"  # an attestat
        return f"{article} {self.credential_type}"

    def _unfinished(self, earlier: Earlier) -> str | None:
        """The state of a pending entry's job when that job may still put it on chain."""
        if earlier.job not in self._states:
            try:
                state: str | None = str(load_manifest(Path(earlier.job))["state"])
            except NoJob:
                state = None  # removed, or refused at its first send: nothing was sent
            except JobError:  # it may have sent its batch: its students stay taken
                state = "unknown: its manifest cannot be used"
            self._states[earlier.job] = state
        state = self._states[earlier.job]
        if Path(earlier.job) == self.job or state in (None, "preparing"):
            return None
        return state

    def __call__(self, row: int, field: str, value: str) -> str | None:
        if self.registry is None:
            return None
        earlier = self.registry.find(self.credential_type, field, value, self.chain_id)
        if earlier is None:
            return None
        if earlier.pending:
            state = self._unfinished(earlier)
            if state is None:
                return None
            return (f"{self._a_type} for this {field} is in the unfinished job "
                    f"{earlier.job} (state {state}), which may be on chain already: finish "
                    f"that job first with senim issue --resume {earlier.job}")
        if self.corrections:
            self.corrected.setdefault(row, earlier)
            return None
        chain = f" of chain {earlier.chain_id!r}" if self.chain_id is None else ""
        return (f"{self._a_type} was already issued to this {field} (job "
                f"{earlier.job}{chain}, batch {earlier.batch_root[:16]}…, height "
                f"{earlier.height}); to correct it, issue with --corrections and then "
                "supersede the old credential")


@dataclass(frozen=True)
class ReaderOptions:
    """How an export is read and checked: kept in the job, so --resume reads it the same way."""

    encoding: str | None = None
    mapping: str | None = None  # "platonus", "kundelik" or a TOML file
    schema: str | None = None  # a TOML file overriding the built-in schema
    registry: str | None = None  # the issued-students registry, if not the default one
    corrections: bool = False  # rows naming issued students are corrected credentials

    def to_json(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "mapping": self.mapping, "schema": self.schema,
                "registry": self.registry, "corrections": self.corrections}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReaderOptions:
        return cls(data.get("encoding"), data.get("mapping"), data.get("schema"),
                   data.get("registry"), bool(data.get("corrections")))


def accreditation_problem(members: list[dict[str, Any]], keys: KeyPair,
                           credential_type: str) -> str | None:
    """Refuse before writing files when the chain would refuse anyway, with the ledger's
    own codes; the ledger still decides."""
    me = next((m for m in members if m["member_id"] == keys.member_id.hex()), None)
    if me is None:
        return f"{keys.member_id.hex()} is not a consortium member (unknown_sender)"
    now = datetime.now(UTC)
    held: set[str] = set()
    causes: list[str] = []
    for grant in me["accreditations"]:
        held.update(grant["types"])
        if credential_type not in grant["types"]:
            continue
        if grant["suspended_height"] is not None:
            reason = grant.get("suspend_reason") or "other"
            causes.append(f"suspended since height {grant['suspended_height']} "
                          f"({SUSPENSION_REASONS.get(reason, reason)}) [issuer_suspended]")
            continue
        try:
            start = datetime.strptime(grant["from"], WHEN_FORMAT).replace(tzinfo=UTC)
            end = datetime.strptime(grant["until"], WHEN_FORMAT).replace(tzinfo=UTC)
        except (KeyError, TypeError, ValueError):
            return None  # a period this client cannot read: the ledger decides
        if start <= now < end:
            return None
        causes.append(f"accreditation starts on {start:%Y-%m-%d} [accreditation_not_started]"
                      if now < start else
                      f"accreditation ended on {end:%Y-%m-%d} [accreditation_ended]")
    if causes:
        return f"{me['name']} may not issue {credential_type} credentials now: " + \
            "; ".join(causes)
    if held:
        return (f"{me['name']} is not accredited for {credential_type} "
                f"(accredited for: {', '.join(sorted(held))}) [type_not_accredited]")
    return f"{me['name']} is not accredited to issue anything [not_accredited]"


def load_schema_or_fail(credential_type: str, options: ReaderOptions
                        ) -> tuple[Mapping | None, Schema]:
    try:
        mapping = load_mapping(options.mapping) if options.mapping else None
        schema = load_schema(credential_type, Path(options.schema) if options.schema else None)
        if mapping is not None:
            check_layout(schema, mapping)
    except SchemaError as exc:
        fail(str(exc), 2)
    return mapping, schema


@contextmanager
def preparing_alone(out_dir: Path, options: ReaderOptions, say: Callable[[str], None]
                    ) -> Iterator[None]:
    """Held from a job's check until its students are recorded as pending: another
    `senim issue` preparing a job with the same registry then checks its rows against
    them rather than beside them. The lock is on the registry's folder, so nothing is
    written for it; a folder that does not exist yet (made with the job) holds no
    registry to check against, and is not locked."""
    path = registry_path_for(out_dir, Path(options.registry) if options.registry else None)
    try:
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield
        return
    except OSError as exc:
        fail(f"cannot lock the folder of the issued-students registry {path}: "
             f"{exc.strerror or exc}", 2)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another senim issue preparing a job with the registry {path}…")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


def registry_for_key(options: ReaderOptions, key_path: Path, say: Callable[[str], None]
                     ) -> ReaderOptions:
    """`options` with the registry of the issuer whose key this is (cli/issuer_registry.py):
    a real run and a dry run given the key then check against the same one."""
    issuer = load_key_or_fail(key_path).member_id.hex()
    given = Path(options.registry) if options.registry else None
    try:
        chosen = issuer_registry(key_path, issuer, given)
    except RegistryChoiceError as exc:
        fail(str(exc), 2)
    if chosen is not None and given is None:
        say(f"the issued-students registry of this issuer: {chosen} (named in "
            f"{pointer_path(key_path, issuer)})")
    return replace(options, registry=None if chosen is None else str(chosen))


def _holder(path: Path) -> str | None:
    """The issuer whose jobs the registry at `path` records (None: none yet, or unreadable,
    which opening it again reports)."""
    try:
        registry = IssuedRegistry.open(path)
    except RegistryError:
        return None
    if registry is None:
        return None
    try:
        return registry.issuer()
    finally:
        registry.close()


def registry_check(credential_type: str, options: ReaderOptions, out_dir: Path | None,
                   chain_id: str | None, issuer: str | None = None, dry_run: bool = False
                   ) -> tuple[Path, IssuedCheck]:
    """The registry these rows are checked against. `dry_run`: one found in the folder,
    not named for this issuer (a dry run given --key, no registry recorded beside it),
    that records another issuer's jobs is left unread (check.registry None) rather than
    refused: it says nothing of this issuer's students."""
    path = registry_path_for(out_dir, Path(options.registry) if options.registry else None)
    above = registry_above(out_dir) if options.registry is None and out_dir is not None \
        and not path.exists() else None
    if above is not None and issuer is not None and _holder(above) not in (None, issuer):
        # Another issuer's (a university's, above a school's first job): none of this
        # issuer's students are in it, and --registry naming it would be refused.
        above = None
    if above is not None:
        # A job a folder deeper than the earlier ones would start a registry of its own,
        # checking its students against none of theirs.
        fail(f"there is no issued-students registry beside {out_dir} yet, but {above} "
             f"records earlier jobs: give --registry {above} to check these students against "
             f"them (or --registry {path} to start a new registry there)", 2)
    try:
        registry = IssuedRegistry.open(path)
        holder = None if registry is None else registry.issuer()
    except RegistryError as exc:
        fail(str(exc), 2)
    if issuer is not None and holder not in (None, issuer) and dry_run \
            and options.registry is None and registry is not None:
        registry.close()
        return path, IssuedCheck(None, credential_type, chain_id, options.corrections, out_dir)
    if issuer is not None and holder not in (None, issuer):
        fail(f"the issued-students registry {path} records the jobs of issuer {holder}, not "
             f"of {issuer} (this key): give this issuer's own registry with --registry", 2)
    return path, IssuedCheck(registry, credential_type, chain_id, options.corrections, out_dir)


def check_export(path: Path, credential_type: str, options: ReaderOptions, check: IssuedCheck,
                 on_record: RecordSink | None = None) -> ExportResult:
    """Read and check the whole export: the same reading for a dry run and an issue."""
    mapping, schema = load_schema_or_fail(credential_type, options)
    try:
        return read_export(path, credential_type, encoding=options.encoding, mapping=mapping,
                           schema=schema, on_record=on_record, issued=check)
    except RegistryError as exc:
        fail(str(exc), 2)
    except InvalidDocument as exc:  # the ledger's own check of a record, after registrar's
        fail(f"{path}: {exc}; nothing was issued", 2)
    finally:
        if check.registry is not None:
            check.registry.close()


def refuse_problems(path: Path, result: ExportResult) -> None:
    """One line per problem (the first ones), then exit 2: nothing is issued unless the
    whole file is clean (registrar/ decides what is)."""
    if not result.problems:
        return
    for problem in result.problems[:PROBLEMS_SHOWN_MAX]:
        click.echo(f"  {problem}", err=True)
    more = result.problem_count - PROBLEMS_SHOWN_MAX
    if more > 0:
        click.echo(f"  … and {more} more", err=True)
    fail(f"{path}: {result.problem_count} problem(s); nothing was issued (fix the export, "
         "or try --dry-run to see the rows as they will read)", 2)


def write_corrections(job_dir: Path, manifest: dict[str, Any], target_hashes: list[bytes],
                      corrected: list[tuple[int, int, Earlier]]) -> None:
    """List which new credential replaces which old one, for `senim supersede`."""
    count, per_dir = len(target_hashes), int(manifest["files_per_dir"])
    pairs = [{"row": row, "old": str(earlier.credential_path()),
              "new": str(credential_path(job_dir, manifest["type"], index, count,
                                         target_hashes[index].hex(), per_dir)
                         .relative_to(job_dir))}
             for index, row, earlier in corrected]
    path = job_dir / CORRECTIONS_NAME
    path.unlink(missing_ok=True)  # a preparation that is being redone
    path.touch(mode=0o600)
    path.write_text(json.dumps(pairs, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def corrections_of(job_dir: Path) -> list[dict[str, Any]]:
    path = job_dir / CORRECTIONS_NAME
    if not path.exists():
        return []
    pairs: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return pairs


def _entries(job_dir: Path, manifest: dict[str, Any], targets: list[str],
             registry: IssuedRegistry) -> Iterator[Entry]:
    """One entry per unique field of each credential, read back from its file (one at
    a time), so the job folder alone decides what is recorded."""
    credential_type, per_dir = manifest["type"], int(manifest["files_per_dir"])
    for index, target_hex in enumerate(targets):
        path = credential_path(job_dir, credential_type, index, len(targets), target_hex,
                               per_dir)
        fields = json.loads(path.read_text(encoding="utf-8"))["fields"]
        for name in manifest.get("unique", ()):
            value = fields.get(name, {}).get("value")
            if isinstance(value, str):
                yield Entry(registry.digest(credential_type, name, value),
                            str(path.relative_to(job_dir)))


def _record(job_dir: Path, manifest: dict[str, Any], targets: list[str], batch_root: str,
            height: int) -> tuple[Path, int]:
    path = registry_path_for(job_dir, Path(manifest["reader"]["registry"])
                             if manifest.get("reader", {}).get("registry") else None)
    registry = IssuedRegistry.open(path, create=True)
    assert registry is not None
    with registry:
        registry.claim(manifest["issuer"])
        added = registry.record(_entries(job_dir, manifest, targets, registry),
                                chain_id=manifest["chain_id"],
                                credential_type=manifest["type"], job=job_dir.resolve(),
                                batch_root=batch_root, height=height)
    # Later jobs of this issuer find this registry wherever their folders are.
    trouble = remember_registry(Path(manifest["key"]), manifest["issuer"],
                                str(manifest.get("issuer_name", "")), path)
    if trouble:
        click.secho(f"warning: {trouble}", fg="yellow", err=True)
    return path, added


def register_pending(job_dir: Path, manifest: dict[str, Any], target_hashes: list[bytes],
                     batch_root: bytes) -> None:
    """Record a job whose files are written, before it can be sent. Raises RegistryError
    or OSError."""
    _record(job_dir, manifest, [t.hex() for t in target_hashes], batch_root.hex(),
            PENDING_HEIGHT)


def register_job(job_dir: Path, manifest: dict[str, Any]) -> tuple[Path, int]:
    """Record a committed job in its registry (made if missing); returns the registry
    and how many entries were new. Raises RegistryError or OSError."""
    path, added = _record(job_dir, manifest, manifest["target_hashes"], manifest["batch_root"],
                          int(manifest["issuance"]["height"]))
    manifest["registered"] = str(path.resolve())
    save_manifest(job_dir, manifest)
    return path, added
