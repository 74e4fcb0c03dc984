"""The issuer's own record of whom it has issued each credential type to.

The chain sees only batch roots, so it cannot tell a registrar that a student in
this year's file already holds a diploma from last year's. This registry can: a
SQLite file in the registrar's working area, beside the job folders
(`senim-issued.db`, mode 0600), holding for every committed job one keyed hash of
(credential type, field, value) per unique field of the schema (IIN and student
id for the university and school types) with the job folder and credential file
it points to, and apart from those (which a correction takes over) the values each
credential was recorded with. It is consulted when an export is validated and on a
dry run, and written twice: as pending once a job's files are written, before its transaction
can be sent (so a second job for the same students, run while the first is
unfinished, is caught), and again when the job is marked committed.

The hash is an HMAC under a random secret made with the registry, so the file holds
no IIN or student id in the clear and hashes from one registry match nothing in
another. It is not encryption: anyone holding the file can test a guessed IIN, so
it is kept 0600 like the credential files beside it.

A row naming an already issued student is refused by row, unless the job is a
correction (`senim issue --corrections`): then the row is a corrected credential,
the registry points at the new one once it commits, and the old one is to be
superseded (`senim supersede OLD --by NEW`; the job lists the pairs).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import os
import sqlite3
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from registrar.phrases import Phrase, phrase

REGISTRY_NAME = "senim-issued.db"
REGISTRY_FORMAT = "senim-issued/v1"
SECRET_BYTES = 32
# A record store with a named bound: ten million entries is decades of a large
# university's graduates (two unique fields each).
MAX_REGISTRY_ENTRIES = 10_000_000
# More unique fields than any schema shipped names (two each): bounds what is read of one
# credential's entries (a schema naming more is read only so far, finding fewer values
# that differ, never more).
MAX_UNIQUE_FIELDS = 16
# Entries written in runs of this many, a statement each: an execute an entry took a class
# of 40,000 (80,000 entries) 2.0-2.7 s to record, runs 1.6-2.1 s.
RECORD_RUN_ENTRIES = 1024
_BUSY_TIMEOUT_S = 30.0  # another `senim issue` recording its job holds the write lock
# The height of an entry whose job is not yet known to be committed.
PENDING_HEIGHT = -1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS issued (
    digest BLOB NOT NULL,
    chain_id TEXT NOT NULL,
    credential_type TEXT NOT NULL,
    job TEXT NOT NULL,
    credential TEXT NOT NULL,
    batch_root TEXT NOT NULL,
    height INTEGER NOT NULL,
    PRIMARY KEY (digest, chain_id)
) WITHOUT ROWID;
"""
# Added after registries were in use: made with a new registry, and in an older one by its
# next record() (inside that write), never on open, so a registry that cannot be written (a
# read-only copy or mount, an immutable file) or is being written by another job still
# opens. `recorded` is what each credential was recorded with, never overwritten: `issued`
# says who holds a value now, and a committed correction takes over the values it shares
# with the credential it corrects.
_ADDED_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS recorded (
    chain_id TEXT NOT NULL,
    job TEXT NOT NULL,
    credential TEXT NOT NULL,
    batch_root TEXT NOT NULL,
    digest BLOB NOT NULL,
    PRIMARY KEY (chain_id, job, credential, batch_root, digest)
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS issued_by_credential ON issued (chain_id, job, credential)",
)


class RegistryError(Exception):
    """The registry file cannot be used; the message is one sentence for the registrar
    (`said`: the same as a phrase of the registrar's language, where one is written)."""

    def __init__(self, message: str | Phrase) -> None:
        super().__init__(str(message))
        self.said = message if isinstance(message, Phrase) else None


@dataclass(frozen=True)
class Earlier:
    """Where a student's credential of this type was already issued."""

    chain_id: str
    job: str
    credential: str  # the credential file, relative to the job folder
    batch_root: str
    height: int

    def credential_path(self) -> Path:
        return Path(self.job) / self.credential

    @property
    def pending(self) -> bool:
        """Recorded when its job's files were written; the job may never have been sent."""
        return self.height == PENDING_HEIGHT


@dataclass(frozen=True)
class Entry:
    digest: bytes
    credential: str


class IssuedRegistry:
    def __init__(self, path: Path, connection: sqlite3.Connection, secret: bytes, *,
                 keeps_history: bool) -> None:
        self.path = path
        self._db = connection
        self._secret = secret
        self._keeps_history = keeps_history  # the `recorded` table is there

    @classmethod
    def open(cls, path: Path, *, create: bool = False) -> IssuedRegistry | None:
        """The registry at `path`; None when it does not exist and `create` is false.

        A new registry is made whole beside its place, then put there: so a registry file
        that holds no registry is damage (emptied, truncated, or another file), refused
        rather than made anew, which would forget every student it recorded and issue
        them again."""
        try:
            if create and not path.exists():
                cls._create(path)
            info = path.stat()
        except FileNotFoundError:
            return None
        except (OSError, sqlite3.Error) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            raise RegistryError(phrase("reg.registry.unopened", f"cannot open the "
                                       f"issued-students registry {path}: {why}",
                                       path=str(path), why=why)) from exc
        if not stat.S_ISREG(info.st_mode):
            raise RegistryError(phrase("reg.registry.not_a_file", f"the issued-students "
                                       f"registry {path} is not a file", path=str(path)))
        if info.st_mode & 0o077:
            mode = f"{stat.S_IMODE(info.st_mode):o}"
            raise RegistryError(phrase("reg.registry.open", f"the issued-students registry "
                                       f"{path} is readable by others (mode {mode}); chmod 600 "
                                       "it", path=str(path), mode=mode))
        try:
            connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            tables = {name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                connection.close()
                raise RegistryError(phrase(
                    "reg.registry.emptied", f"the issued-students registry {path} holds no "
                    "registry (emptied or damaged): restore it from a backup; a new one would "
                    "not know the students already issued, and would issue them again",
                    path=str(path)))
            connection.executescript(_SCHEMA)  # no write where its tables are there
            secret = cls._secret_of(connection)
        except sqlite3.Error as exc:
            raise RegistryError(phrase("reg.registry.unreadable", f"{path} is not a readable "
                                       f"issued-students registry: {exc}", path=str(path),
                                       why=str(exc))) from exc
        return cls(path, connection, secret, keeps_history="recorded" in tables)

    @staticmethod
    def _create(path: Path) -> None:
        """A new registry at `path`, made 0600 (never with the umask's mode) and whole
        under a name of its own first; one another job put there meanwhile is kept."""
        spare = path.with_name(f".{path.name}.new-{os.getpid()}")
        spare.unlink(missing_ok=True)
        os.close(os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        try:
            connection = sqlite3.connect(spare, isolation_level=None)
            try:
                connection.executescript(_SCHEMA + ";\n".join(_ADDED_SCHEMA) + ";")
                connection.executemany("INSERT INTO meta VALUES (?, ?)", (
                    ("format", REGISTRY_FORMAT.encode()),
                    ("secret", os.urandom(SECRET_BYTES))))
            finally:
                connection.close()
            with contextlib.suppress(FileExistsError):  # another job's: theirs stands
                os.link(spare, path)
        finally:
            spare.unlink(missing_ok=True)

    @staticmethod
    def _secret_of(connection: sqlite3.Connection) -> bytes:
        rows = dict(connection.execute("SELECT name, value FROM meta"))
        if rows.get("format") != REGISTRY_FORMAT.encode() or \
                len(rows.get("secret", b"")) != SECRET_BYTES:
            raise sqlite3.DatabaseError(f"not a {REGISTRY_FORMAT} registry")
        return bytes(rows["secret"])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> IssuedRegistry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def issuer(self) -> str | None:
        """The issuer (member id, hex) whose jobs this registry records, once one was
        recorded by a release that says so; None before."""
        try:
            row = self._db.execute("SELECT value FROM meta WHERE name = 'issuer'").fetchone()
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot read the registry {self.path}: {exc}") from exc
        return bytes(row[0]).decode("ascii", "replace") if row else None

    def claim(self, issuer: str) -> None:
        """Mark the registry as `issuer`'s unless it is another's (RegistryError): one
        registry is one issuer's, since its keyed hashes say nothing of who issued."""
        try:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('issuer', ?)",
                             (issuer.encode("ascii"),))
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot write the registry {self.path}: {exc}") from exc
        holder = self.issuer()
        if holder != issuer:
            raise RegistryError(f"the issued-students registry {self.path} records the jobs "
                                f"of issuer {holder}, not of {issuer} (this job's key): give "
                                "this issuer's own registry with --registry")

    def digest(self, credential_type: str, field: str, value: str) -> bytes:
        message = b"".join(len(part).to_bytes(4, "big") + part for part in (
            credential_type.encode(), field.encode(), value.encode("utf-8", "surrogatepass")))
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def find(self, credential_type: str, field: str, value: str,
             chain_id: str | None = None) -> Earlier | None:
        """The credential this value was issued in, on `chain_id` (any chain if None)."""
        query = ("SELECT chain_id, job, credential, batch_root, height FROM issued "
                 "WHERE digest = ?")
        args: tuple[object, ...] = (self.digest(credential_type, field, value),)
        if chain_id is not None:
            query += " AND chain_id = ?"
            args += (chain_id,)
        try:
            row = self._db.execute(query + " LIMIT 1", args).fetchone()
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot read the registry {self.path}: {exc}") from exc
        return Earlier(*row) if row else None

    def recorded_values(self, earlier: Earlier) -> frozenset[bytes]:
        """The keyed hashes of the values `earlier`'s credential was recorded with (one
        per unique field it held), a later correction's taking over some of them or not.
        A credential issued without a student id has none of a student id.

        A credential recorded before the registry kept `recorded` has only the values
        `issued` still points at it: a committed correction took over those it shares."""
        credential = (earlier.chain_id, earlier.job, earlier.credential)
        try:
            rows = self._db.execute(
                "SELECT digest FROM recorded WHERE chain_id = ? AND job = ? AND credential = ? "
                "AND batch_root = ? LIMIT ?", (*credential, earlier.batch_root,
                                               MAX_UNIQUE_FIELDS + 1)).fetchall() \
                if self._keeps_history else []
            if not rows:  # without issued_by_credential (not yet made) a scan, still right
                rows = self._db.execute(
                    "SELECT digest FROM issued WHERE chain_id = ? AND job = ? AND "
                    "credential = ? LIMIT ?", (*credential, MAX_UNIQUE_FIELDS + 1)).fetchall()
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot read the registry {self.path}: {exc}") from exc
        return frozenset(bytes(digest) for (digest,) in rows)

    def record(self, entries: Iterable[Entry], *, chain_id: str, credential_type: str,
               job: Path, batch_root: str, height: int) -> int:
        """Record a job's entries in one transaction (`height` PENDING_HEIGHT before it is
        known to be committed); recording the same job again changes nothing, and a
        committed correction's entries replace the earlier ones (a pending entry never
        replaces a committed one: the correction may never be sent). Each credential's
        values are kept in `recorded` too, as recorded, for recorded_values. Returns how
        many committed entries are new."""
        keep_committed = " WHERE issued.height = ?" if height == PENDING_HEIGHT else ""
        statement = ("INSERT INTO issued VALUES (?,?,?,?,?,?,?) ON CONFLICT (digest, chain_id) "
                     "DO UPDATE SET credential_type = excluded.credential_type, "
                     "job = excluded.job, credential = excluded.credential, "
                     "batch_root = excluded.batch_root, height = excluded.height"
                     + keep_committed)
        pending_kept = (PENDING_HEIGHT,) if keep_committed else ()
        entries = iter(entries)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for made in _ADDED_SCHEMA:
                    self._db.execute(made)
                before = self._committed_count()
                # In runs: a job's entries are read from its files as they are written here
                while run := list(itertools.islice(entries, RECORD_RUN_ENTRIES)):
                    self._db.executemany(statement, ((
                        entry.digest, chain_id, credential_type, str(job), entry.credential,
                        batch_root, height, *pending_kept) for entry in run))
                    self._db.executemany("INSERT OR IGNORE INTO recorded VALUES (?,?,?,?,?)", (
                        (chain_id, str(job), entry.credential, batch_root, entry.digest)
                        for entry in run))
                after = self._committed_count()
                total = max(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                            for table in ("issued", "recorded"))
                if total > MAX_REGISTRY_ENTRIES:
                    raise RegistryError(f"the registry {self.path} would hold more than "
                                        f"{MAX_REGISTRY_ENTRIES} entries; start a new "
                                        "working area")
                self._db.execute("COMMIT")
                self._keeps_history = True
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot write the registry {self.path}: {exc}") from exc
        return int(after - before)

    def _committed_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM issued WHERE height != ?",
                                    (PENDING_HEIGHT,)).fetchone()[0])


# How many folders above the one a job's registry goes in are looked in for another
# registry before a new one is started: enough for jobs kept by year or by type under
# the folder of the first ones (jobs/2027/june beside jobs/senim-issued.db), bounded
# because a registry far above a job is no working area of its issuer's.
REGISTRY_SEARCH_LEVELS = 2


def registry_above(job_dir: Path) -> Path | None:
    """The nearest registry in the REGISTRY_SEARCH_LEVELS folders above the one
    `job_dir`'s registry goes in by default, if any."""
    for folder in list(job_dir.resolve().parent.parents)[:REGISTRY_SEARCH_LEVELS]:
        if (folder / REGISTRY_NAME).exists():
            return folder / REGISTRY_NAME
    return None


def registry_path_for(job_dir: Path | None, given: Path | None) -> Path:
    """`--registry` if given, else the file beside the job folder (or in the current
    directory when there is no job folder, as on a dry run)."""
    if given is not None:
        return given
    base = job_dir.resolve().parent if job_dir is not None else Path.cwd()
    return base / REGISTRY_NAME
