"""`senim fsck`: check a stopped node's store (cli.fsck) and say what is damaged, in its
operator's language (--lang kk|ru|en, or the locale: cli.spoken); English as it was.
Exit 0 if the store is sound, 1 if it is damaged, 2 if it cannot be checked (bad
config, the node is running, or the disk refuses what opening the store does: a write on
a full or read-only disk, a read or write of files that are not this user's or are
locked, at the opening or at a later read), in every language.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from cli.fsck import Findings, check_store
from cli.fsck_words import config_refusal, detail, holder
from cli.language import lang_option
from cli.spoken import Sentence, echo, kind_of, refuse
from cli.worded_command import WordedCommand, WordedPath
from ledger.chain_layout import GENESIS_KEY
from ledger.errors import ConfigError
from ledger.genesis import Genesis, fingerprint_of
from node.config import load_config
from node.files import load_genesis
from node.signed_mark import SIGNED_MARK_NAME, check_mark
from node.start_checks import refuse_store_in_use
from node.store_access import MARK_NOT_A_FILE, FileRefused, check_store_access
from storage.errors import AccessRefused, CorruptStateError, DiskRefused
from storage.kv import KeyValueStore, LevelDBStore, holds_no_store, leveldb_reason

PROBLEMS_SHOWN_MAX = 50
EXIT_SOUND, EXIT_DAMAGED, EXIT_UNCHECKED = 0, 1, 2
RECOVERY = ("recovery: with the node stopped, `senim node --config {config} --resync` "
            "moves {store} aside (kept for diagnosis) and resyncs the chain from its peers")
# node.start_checks.refuse_store_in_use's two refusals, after "field: "
IN_USE = re.compile(r"(?P<store>.+) is in use by (?P<holder>.+); stop it first", re.S)
UNWRITABLE = re.compile(r"cannot use (?P<store>.+?): (?P<lock>.+): (?P<why>[^:;]+); the node "
                        r"writes its chain there, .*", re.S)
# What the system says (strerror) when it refuses the store's lock, or a read or write of
# its files (`_disk_refused`).
SYSTEM_REFUSALS = {"Permission denied": "cli.os.permission",
                   "Read-only file system": "fsck.os.read_only",
                   "No space left on device": "fsck.os.no_space",
                   "Disk quota exceeded": "fsck.os.quota",
                   "Operation not permitted": "fsck.os.not_permitted"}


class ConfigPath(WordedPath):
    """The --config file: a folder given is refused as not being the config, in words."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            path = os.fsdecode(value)
            if Path(path).is_dir():
                exc.sentence = Sentence(  # type: ignore[attr-defined]
                    "fsck.config_folder", None, path=path)
            raise


@click.command("fsck", cls=WordedCommand)
@click.option("--config", "config_path", required=True,
              type=ConfigPath(exists=True, dir_okay=False, path_type=Path),
              help="The stopped node's config file.")
@lang_option
def fsck_command(config_path: Path, language: str) -> None:
    """Check a stopped node's chain database and say what is damaged (exit 1 if any)."""
    try:
        config = load_config(config_path)
        genesis = load_genesis(config.genesis_file)
    except ConfigError as exc:
        refuse(Sentence("fsck.bad_config", f"bad config {config_path}: {exc}",
                        path=config_path, why=config_refusal(exc)), EXIT_UNCHECKED)
    store = config.data_dir / "chain.ldb"
    if not store.is_dir():
        refuse(Sentence("fsck.no_store", f"no chain database at {store}", store=store),
               EXIT_UNCHECKED)
    if holds_no_store(store):
        # Opened, it would be made new here (and, with no genesis record, called damaged,
        # with --resync advised): a node started on it begins its chain there.
        refuse(Sentence("fsck.empty_store", f"no chain database at {store}: the folder holds "
                        "none (a node started on it makes a new one)", store=store),
               EXIT_UNCHECKED)
    try:  # in the node's order (start_checks.check_before_start): files this user may
        # not use, then a running node, or a disk that refuses the lock LevelDB takes even
        # to read; all before LevelDB's opening, which writes even when a file it needs is
        # refused (an unreadable mark was called damaged, to be deleted)
        check_store_access(config.data_dir, store, mark_written=False)
        refuse_store_in_use(store, "node.data_dir")
    except AccessRefused as exc:
        refuse(_disk_refused(store, exc), EXIT_UNCHECKED)
    except ConfigError as exc:
        if exc.code == MARK_NOT_A_FILE:
            refuse(Sentence("fsck.mark_not_file", str(exc), path=exc.params["path"],
                            kind=kind_of(int(exc.params["mode"]))), EXIT_UNCHECKED)
        refuse(_in_use(exc), EXIT_UNCHECKED)
    recovery = Sentence("fsck.recovery", RECOVERY.format(store=store, config=config_path),
                        store=store, config=config_path)
    try:
        kv = LevelDBStore(str(store))
    except CorruptStateError as exc:
        echo(Sentence("fsck.unopened", f"damaged: the store does not open: {exc}",
                      why=detail(exc)))
        echo(recovery)
        sys.exit(EXIT_DAMAGED)
    except DiskRefused as exc:  # opening writes (LevelDB folds its log into a table)
        refuse(_disk_refused(store, exc), EXIT_UNCHECKED)
    except Exception as exc:  # plyvel's own errors: an unreadable file, or a write the
        # disk refuses for another reason than space or mode (EIO, EFBIG)
        reason = leveldb_reason(exc)
        refuse(Sentence("fsck.cannot_open", f"cannot open {store}: {reason}", store=store,
                        why=detail(f"LevelDB refuses to open {store}: {reason}")),
               EXIT_UNCHECKED)
    try:
        _refuse_another_genesis(kv, genesis, config.genesis_file, config_path)
        found = check_store(kv, genesis)
    except DiskRefused as exc:  # a table file LevelDB opens at the first read that needs it
        refuse(_disk_refused(store, exc), EXIT_UNCHECKED)
    finally:
        kv.close()
    mark = config.data_dir / SIGNED_MARK_NAME  # beside the store: the node reads it at start
    if mark.exists():
        try:
            check_mark(mark, genesis.genesis_hash)
        except (CorruptStateError, OSError):
            found.damaged("signed_mark", f"{mark}, what this validator last signed, is "
                          "damaged: if the chain store beside it is this node's own and "
                          "current, delete the file (the node writes it anew); else keep "
                          "the node stopped", path=mark)
            if len(found.said) == 1:  # the store is sound: --resync would set it aside
                recovery = Sentence("fsck.recovery_mark", f"recovery: with the node stopped "
                                    f"and this chain store in place, delete {mark} (the node "
                                    "writes it anew from the store's record); do not run "
                                    "--resync first: it sets the store aside, and with it "
                                    "the one record left of what this validator signed",
                                    path=mark)
    _report(found, store, recovery)


def _report(found: Findings, store: Path, recovery: Sentence) -> None:
    for problem in found.said[:PROBLEMS_SHOWN_MAX]:
        echo(Sentence("fsck.damaged", f"damaged: {problem}", what=problem))
    hidden = len(found.said) - PROBLEMS_SHOWN_MAX
    if hidden > 0:
        echo(Sentence("fsck.more", f"damaged: ... and {hidden} more", count=hidden))
    joined = Sentence("fsck.joined", f" (from block {found.base}: joined by state sync)",
                      base=found.base) if found.base else ""
    summary = (f"checked {found.blocks} blocks{joined}, {found.transactions} transactions, "
               f"{found.state_entries} state entries in {store}")
    counts = {"blocks": found.blocks, "joined": joined, "transactions": found.transactions,
              "entries": found.state_entries, "store": store}
    if found.said:
        echo(Sentence("fsck.summary.damaged", f"{summary}: {len(found.said)} problems",
                      count=len(found.said), **counts))
        echo(recovery)
        sys.exit(EXIT_DAMAGED)
    echo(Sentence("fsck.summary.sound", f"{summary}: no damage found", **counts))


def _in_use(exc: ConfigError) -> Sentence:
    """Why the store cannot be checked now: a process holds it, or its lock cannot be
    taken."""
    english, why = str(exc), str(exc).removeprefix(f"{exc.field}: ")
    busy = IN_USE.fullmatch(why)
    if busy is not None:
        return Sentence("fsck.in_use", english, store=busy["store"],
                        holder=holder(busy["holder"]))
    locked = UNWRITABLE.fullmatch(why)
    if locked is not None:
        system = SYSTEM_REFUSALS.get(locked["why"])
        return Sentence("fsck.unwritable", english, store=locked["store"], lock=locked["lock"],
                        why=Sentence(system) if system else locked["why"])
    return Sentence("fsck.config.other", english, detail=english)


def _disk_refused(store: Path, exc: DiskRefused) -> Sentence:
    """A disk that refuses what opening the store does, or a read of a file the store
    opens later, said as the node says it: the refusal damages nothing, and the --resync
    advised for damage would free no space nor give the files to this user. Nothing is
    said of what was read: a store damaged too says so once the whole of it can be read,
    so the cure comes before running fsck again."""
    said = str(exc)
    system = next((key for words, key in SYSTEM_REFUSALS.items() if words in said), None)
    why = Sentence(system) if system else Sentence("fsck.why.other", said, detail=said)
    if isinstance(exc, FileRefused):  # one file, named with its owner and mode in each
        return _file_refused(store, exc, why)  # language (the mark is none of the store's)
    if isinstance(exc, AccessRefused):
        return Sentence("fsck.access_refused", f"cannot check {store}: {said}; that damages "
                        "nothing, but nothing was checked: the store's files are not this "
                        "user's to read or write, or are locked: run senim fsck as the user "
                        "the node runs as, or fix the files' owner or mode, or unlock them",
                        store=store, why=why)
    return Sentence("fsck.disk_refused", f"cannot check {store}: {said}; that damages "
                    "nothing, but nothing was checked: free space on that disk (or make it "
                    "writable again), then run senim fsck again", store=store, why=why)


def _file_refused(store: Path, exc: FileRefused, why: Sentence) -> Sentence:
    """A file store_access found this user may not use, its values given to each language;
    the cure is that file's: its owner or mode, or its lock."""
    values = {"store": store, "path": exc.path, "why": why, "mode": f"{exc.mode:04o}",
              "use": Sentence("fsck.use.read_write" if exc.written else "fsck.use.read")}
    if exc.locked:
        return Sentence("fsck.file_locked", f"cannot check {store}: {exc}; that damages "
                        "nothing, but nothing was checked: unlock the file, then run senim "
                        "fsck again", **values)
    return Sentence("fsck.file_refused", f"cannot check {store}: {exc}; that damages nothing, "
                    "but nothing was checked: run senim fsck as the user the node runs as, "
                    "or fix the file's owner or mode", owner=exc.owner, user=exc.user,
                    **values)


def _refuse_another_genesis(kv: KeyValueStore, genesis: Genesis, genesis_file: Path,
                            config_path: Path) -> None:
    """A store of another genesis is a config mistake the node refuses as one, not damage:
    checked against this genesis it would read as damaged, and the advice to --resync
    would set a sound store aside. LevelDB's checksum covers the record, so a well-formed
    one that differs names another genesis."""
    try:
        stored = kv.get(GENESIS_KEY)
    except CorruptStateError:
        return  # damage: check_store reports it
    if (stored is not None and len(stored) == len(genesis.genesis_hash)
            and stored != genesis.genesis_hash):
        # both fingerprints, as the node names them: the operator finds the chain's file
        # with `senim consortium fingerprint`
        held, given = fingerprint_of(stored), genesis.fingerprint
        refuse(Sentence("fsck.other_genesis", f"the store holds the chain of another genesis "
                        f"file (fingerprint {held}) than {genesis_file} (node.genesis in "
                        f"{config_path}; fingerprint {given}): point node.genesis at the "
                        "genesis file of that fingerprint (`senim consortium fingerprint "
                        "FILE` prints a file's), or node.data_dir elsewhere; nothing was "
                        "checked", held=held, genesis=genesis_file, config=config_path,
                        given=given), EXIT_UNCHECKED)
