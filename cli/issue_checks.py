"""`senim issue`'s checks: whether the chain lets this issuer issue this type at all,
the export read through registrar/, and each row checked against the issuer's registry
of issued students (registrar.issued); a job is recorded in that registry by
`cli.job_registration`.
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

from cli.errors import EXIT_BAD_INPUT
from cli.issue_words import load_issuer_key, sentence
from cli.issued_check import IssuedCheck
from cli.issuer_registry import (
    RegistryChoiceError,
    issuer_registry,
    pointer_path,
)
from cli.job_folder import CORRECTIONS_NAME, credential_path
from cli.spoken import Joined, Sentence, document_problem, refuse
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
    Earlier,
    IssuedRegistry,
    RegistryError,
    registry_above,
    registry_path_for,
)
from registrar.validate import RecordSink

WHEN_FORMAT = "%Y-%m-%d %H:%M:%S UTC"  # how the node's API prints a time


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


def registry_refusal(exc: RegistryError | RegistryChoiceError) -> Sentence:
    if isinstance(exc, RegistryChoiceError):
        return exc.sentence
    return sentence(exc.said) if exc.said is not None else Sentence(
        "issue.error.registry", str(exc), why=str(exc))


def accreditation_problem(members: list[dict[str, Any]], keys: KeyPair,
                           credential_type: str) -> Sentence | None:
    """Refuse before writing files when the chain would refuse anyway, with the ledger's
    own codes; the ledger still decides."""
    me = next((m for m in members if m["member_id"] == keys.member_id.hex()), None)
    if me is None:
        member = keys.member_id.hex()
        return Sentence("issue.accredit.unknown", f"{member} is not a consortium member "
                        "(unknown_sender)", member=member)
    doubted_from = me.get("admission_doubted_from")
    if isinstance(doubted_from, int) and not isinstance(doubted_from, bool):
        # the ledger takes the batch, and every verifier doubts it (admission_compromised)
        return Sentence("issue.accredit.admission_doubted", f"{me['name']} was admitted to "
                        "the consortium with a ministry's key declared stolen from height "
                        f"{doubted_from}: nothing it issues is recognised until the ministries "
                        "confirm its admission (senim governance propose --action "
                        "confirm-admission)", name=me["name"], height=doubted_from)
    now = datetime.now(UTC)
    held: set[str] = set()
    causes: list[Sentence] = []
    for grant in me["accreditations"]:
        held.update(grant["types"])
        if credential_type not in grant["types"]:
            continue
        if grant["suspended_height"] is not None:
            reason = grant.get("suspend_reason") or "other"
            why = SUSPENSION_REASONS.get(reason, reason)
            causes.append(Sentence("issue.accredit.suspended", f"suspended since height "
                                   f"{grant['suspended_height']} ({why}) [issuer_suspended]",
                                   height=grant["suspended_height"],
                                   why=Sentence(f"issue.suspension.{reason}")
                                   if reason in SUSPENSION_REASONS else why))
            continue
        try:
            start = datetime.strptime(grant["from"], WHEN_FORMAT).replace(tzinfo=UTC)
            end = datetime.strptime(grant["until"], WHEN_FORMAT).replace(tzinfo=UTC)
        except (KeyError, TypeError, ValueError):
            return None  # a period this client cannot read: the ledger decides
        distrusted_from = grant.get("key_distrusted_from")
        if (start <= now < end and isinstance(distrusted_from, int)
                and not isinstance(distrusted_from, bool)):
            # the ledger takes the batch, and every verifier doubts it (trusted_grant)
            causes.append(Sentence("issue.accredit.doubted", "accredited with a ministry's key "
                                   f"declared stolen from height {distrusted_from}: nothing "
                                   "issued under that accreditation alone is relied on; ask a "
                                   "ministry to accredit it again", height=distrusted_from))
            continue
        if start <= now < end:
            return None
        causes.append(Sentence("issue.accredit.not_started", f"accreditation starts on "
                               f"{start:%Y-%m-%d} [accreditation_not_started]",
                               day=f"{start:%Y-%m-%d}") if now < start else
                      Sentence("issue.accredit.ended", f"accreditation ended on {end:%Y-%m-%d} "
                               "[accreditation_ended]", day=f"{end:%Y-%m-%d}"))
    name, kind = me["name"], Sentence(f"type.{credential_type}")
    if causes:
        joined = causes[0]
        for cause in causes[1:]:
            joined = Sentence("issue.accredit.and", f"{joined}; {cause}", first=joined,
                              then=cause)
        return Sentence("issue.accredit.not_now", f"{name} may not issue {credential_type} "
                        f"credentials now: {joined}", name=name, type=kind, why=joined)
    if held:
        return Sentence("issue.accredit.other_types", f"{name} is not accredited for "
                        f"{credential_type} (accredited for: {', '.join(sorted(held))}) "
                        "[type_not_accredited]", name=name, type=kind,
                        types=Joined([Sentence(f"type.{held_type}") for held_type in
                                      sorted(held)], ", "))
    return Sentence("issue.accredit.none", f"{name} is not accredited to issue anything "
                    "[not_accredited]", name=name)


def load_schema_or_fail(credential_type: str, options: ReaderOptions
                        ) -> tuple[Mapping | None, Schema]:
    try:
        mapping = load_mapping(options.mapping) if options.mapping else None
        schema = load_schema(credential_type, Path(options.schema) if options.schema else None)
        if mapping is not None:
            check_layout(schema, mapping)
    except SchemaError as exc:
        refuse(sentence(exc.said) if exc.said is not None else
               Sentence("issue.error.schema", str(exc), why=str(exc)), EXIT_BAD_INPUT)
    return mapping, schema


@contextmanager
def issuer_preparing_alone(key_path: Path, say: Callable[[Sentence], None]) -> Iterator[None]:
    """Held while a job of this key's issuer chooses its registry, checks its rows and
    records them as pending (which names the registry beside the key): two first jobs of
    one issuer started together each chose a registry of its own beside its folder, found
    the other's students in neither, and issued them twice. The lock is on the key's
    folder (where the registry is named), so nothing is written for it and a folder the
    registrar may only read still locks."""
    folder = key_path.resolve().parent
    with _folder_locked(folder, Sentence("issue.issuer.waiting", f"waiting for another senim "
                                         f"issue with a key in {folder} to finish preparing "
                                         "its job…", path=folder), say):
        yield


@contextmanager
def _folder_locked(folder: Path, waiting: Sentence, say: Callable[[Sentence], None]
                   ) -> Iterator[None]:
    """Held with `folder`'s exclusive flock (none if the folder is not there), `waiting`
    said while another process holds it."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield
        return
    except OSError as exc:
        why = exc.strerror or str(exc)
        refuse(Sentence("issue.registry.no_lock", f"cannot lock the folder of the "
                        f"issued-students registry {folder}: {why}", path=folder, why=why),
               EXIT_BAD_INPUT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(waiting)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


@contextmanager
def preparing_alone(out_dir: Path, options: ReaderOptions, say: Callable[[Sentence], None],
                    key_folder: Path | None = None) -> Iterator[None]:
    """Held from a job's check until its students are recorded as pending: another
    `senim issue` preparing a job with the same registry then checks its rows against
    them rather than beside them. The lock is on the registry's folder, so nothing is
    written for it; a folder that does not exist yet (made with the job) holds no
    registry to check against, and is not locked; nor is `key_folder`, whose lock the
    caller holds already (a second flock of it would wait on the first)."""
    path = registry_path_for(out_dir, Path(options.registry) if options.registry else None)
    if key_folder is not None and path.parent.resolve() == key_folder:
        yield
        return
    with _folder_locked(path.parent, Sentence("issue.registry.waiting", f"waiting for another "
                                              f"senim issue preparing a job with the registry "
                                              f"{path}…", path=path), say):
        yield


def registry_for_key(options: ReaderOptions, key_path: Path, say: Callable[[Sentence], None]
                     ) -> ReaderOptions:
    """`options` with the registry of the issuer whose key this is (cli/issuer_registry.py):
    a real run and a dry run given the key then check against the same one."""
    issuer = load_issuer_key(key_path).member_id.hex()
    given = Path(options.registry) if options.registry else None
    try:
        chosen = issuer_registry(key_path, issuer, given)
    except RegistryChoiceError as exc:
        refuse(registry_refusal(exc), EXIT_BAD_INPUT)
    if chosen is not None and given is None:
        pointer = pointer_path(key_path, issuer)
        say(Sentence("issue.registry.of_issuer", f"the issued-students registry of this "
                     f"issuer: {chosen} (named in {pointer})", path=chosen, pointer=pointer))
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
    unique = load_schema_or_fail(credential_type, options)[1].unique
    above = registry_above(out_dir) if options.registry is None and out_dir is not None \
        and not path.exists() else None
    if above is not None and issuer is not None and _holder(above) not in (None, issuer):
        # Another issuer's (a university's, above a school's first job): none of this
        # issuer's students are in it, and --registry naming it would be refused.
        above = None
    if above is not None:
        # A job a folder deeper than the earlier ones would start a registry of its own,
        # checking its students against none of theirs.
        refuse(Sentence("issue.registry.above", f"there is no issued-students registry beside "
                        f"{out_dir} yet, but {above} records earlier jobs: give --registry "
                        f"{above} to check these students against them (or --registry {path} "
                        "to start a new registry there)", folder=out_dir, above=above,
                        path=path), EXIT_BAD_INPUT)
    try:
        registry = IssuedRegistry.open(path)
        holder = None if registry is None else registry.issuer()
    except RegistryError as exc:
        refuse(registry_refusal(exc), EXIT_BAD_INPUT)
    if issuer is not None and holder not in (None, issuer) and dry_run \
            and options.registry is None and registry is not None:
        registry.close()
        return path, IssuedCheck(None, credential_type, chain_id, options.corrections, out_dir,
                                 unique=unique)
    if issuer is not None and holder not in (None, issuer):
        refuse(Sentence("issue.registry.another", f"the issued-students registry {path} "
                        f"records the jobs of issuer {holder}, not of {issuer} (this key): "
                        "give this issuer's own registry with --registry", path=path,
                        holder=holder, issuer=issuer), EXIT_BAD_INPUT)
    return path, IssuedCheck(registry, credential_type, chain_id, options.corrections,
                             out_dir, unique=unique)


def check_export(path: Path, credential_type: str, options: ReaderOptions, check: IssuedCheck,
                 on_record: RecordSink | None = None) -> ExportResult:
    """Read and check the whole export: the same reading for a dry run and an issue."""
    mapping, schema = load_schema_or_fail(credential_type, options)
    try:
        return check.settled(read_export(path, credential_type, encoding=options.encoding,
                                         mapping=mapping, schema=schema, on_record=on_record,
                                         issued=check))
    except RegistryError as exc:
        refuse(registry_refusal(exc), EXIT_BAD_INPUT)
    except InvalidDocument as exc:  # the ledger's own check of a record, after registrar's
        refuse(Sentence("issue.error.document", f"{path}: {exc}; nothing was issued",
                        path=path, why=document_problem(exc)), EXIT_BAD_INPUT)
    finally:
        if check.registry is not None:
            check.registry.close()


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
