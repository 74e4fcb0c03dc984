"""`senim consortium create | fingerprint`: the genesis file every node of a consortium loads."""

from __future__ import annotations

import contextlib
import datetime
import json
import time
import tomllib
from pathlib import Path

import click

from cli.commands import load_key_or_fail
from cli.errors import fail
from ledger.errors import ConfigError
from ledger.genesis import GENESIS_KIND, genesis_from_json
from node.files import GENESIS_FILE_BYTES_MAX, UnfitFile, load_genesis, read_bounded


@click.group("consortium")
def consortium_group() -> None:
    """Describe the consortium and create its genesis file."""


MEMBERS_FILE_KEYS = frozenset({"chain_id", "genesis_time", "members", "governance",
                               "rules_version"})
MEMBER_KEYS = frozenset({"name", "role", "key", "public_key", "validator"})
FAULT_TOLERANT_VALIDATORS_MIN = 4  # n = 3f + 1 with f = 1


def _genesis_time_ms(value: object, where: str) -> int:
    """An ISO 8601 time with a zone ("2026-09-01T00:00:00+05:00") or Unix milliseconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return int(value.timestamp() * 1000)
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return int(parsed.timestamp() * 1000)
    fail(f"{where}: genesis time must be an ISO 8601 time with a zone, e.g. "
         f"2026-09-01T00:00:00+05:00 (got {value!r})", 2)
    raise AssertionError("unreachable")


@consortium_group.command("create")
@click.option("--members", "members_file", required=True, type=click.Path(
    exists=True, dir_okay=False, path_type=Path),
    help="TOML with chain_id, genesis_time, [[members]] and optionally [governance] "
         "(threshold, min_validators; default: a majority of the ministries, 4) and "
         "rules_version (the ledger rules from block 1; default 1).")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="Where to write the genesis file (refused if it exists, unless --force).")
@click.option("--time", "time_text", default=None,
              help="Genesis time (ISO 8601 with a zone), if the members file has none.")
@click.option("--force", is_flag=True, help="Overwrite an existing genesis file.")
@click.option("--allow-no-fault-tolerance", is_flag=True,
              help=f"Allow fewer than {FAULT_TOLERANT_VALIDATORS_MIN} validators (test networks).")
def consortium_create(members_file: Path, out_file: Path, time_text: str | None, force: bool,
                      allow_no_fault_tolerance: bool) -> None:
    """Create the genesis file every node of the consortium loads.

    The same members file and time always give the same genesis, so several
    operators can build it independently and compare fingerprints."""
    if out_file.exists() and not force:
        fail(f"{out_file} exists; a consortium's genesis is never replaced by accident "
             "(use --force to overwrite)", 2)
    try:
        # UTF-8 whatever the locale, so that every operator reads the same names (and
        # builds the same genesis); a byte order mark (Windows Notepad) is no statement
        description = tomllib.loads(read_bounded(
            members_file, GENESIS_FILE_BYTES_MAX, "members file").data.decode("utf-8-sig"))
    except UnfitFile as exc:  # it names the file
        fail(str(exc), 2)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        fail(f"cannot read {members_file}: {exc}", 2)  # RecursionError: a = [[[[…
    unknown = sorted(set(description) - MEMBERS_FILE_KEYS)
    if unknown:
        fail(f"{members_file}: unknown key {unknown[0]!r} (known: "
             f"{', '.join(sorted(MEMBERS_FILE_KEYS))})", 2)
    if time_text is not None and "genesis_time" in description:
        fail(f"give the genesis time once: {members_file} already has genesis_time", 2)
    if time_text is None and "genesis_time" not in description:
        fail(f"{members_file}: no genesis_time; add it to the file or give --time, so every "
             "operator builds the same genesis", 2)
    genesis_time = _genesis_time_ms(time_text if time_text is not None
                                    else description["genesis_time"], "genesis time")
    raw_members = description.get("members", [])
    if not isinstance(raw_members, list):
        fail(f"{members_file}: members must be a list of [[members]] tables", 2)
    members = []
    names: set[str] = set()
    for index, member in enumerate(raw_members):
        if not isinstance(member, dict):
            fail(f"members[{index}]: must be a table", 2)
        unknown = sorted(set(member) - MEMBER_KEYS)
        if unknown:
            fail(f"members[{index}]: unknown key {unknown[0]!r} (known: "
                 f"{', '.join(sorted(MEMBER_KEYS))})", 2)
        entry = dict(member)
        if str(entry.get("name", "")).strip().casefold() in names:
            fail(f"members[{index}]: the name {entry.get('name')!r} is used twice", 2)
        names.add(str(entry.get("name", "")).strip().casefold())
        if "key" in entry and "public_key" not in entry:
            key_path = Path(entry.pop("key"))
            key_path = key_path if key_path.is_absolute() else members_file.parent / key_path
            entry["public_key"] = load_key_or_fail(key_path).public_key.hex()
        entry.pop("key", None)
        if "public_key" not in entry:
            fail(f"members[{index}]: give key (a key file) or public_key", 2)
        members.append(entry)
    document = {"kind": GENESIS_KIND, "chain_id": description.get("chain_id"),
                "genesis_time_ms": genesis_time, "members": members}
    if "governance" in description:  # who may change the consortium later
        document["governance"] = description["governance"]
    if "rules_version" in description:  # not this release's newest: the file decides
        document["rules_version"] = description["rules_version"]
    try:
        genesis = genesis_from_json(document)
    except ConfigError as exc:
        fail(f"{members_file}: {exc}", 2)
    if not any(m.role == "ministry" for m in genesis.members):
        fail(f"{members_file}: a consortium needs at least one ministry (it governs)", 2)
    if len(genesis.validators) < FAULT_TOLERANT_VALIDATORS_MIN and not allow_no_fault_tolerance:
        fail(f"{members_file}: {len(genesis.validators)} validator(s) tolerate no faulty "
             f"validator; PBFT needs {FAULT_TOLERANT_VALIDATORS_MIN} to survive one "
             "(--allow-no-fault-tolerance for a test network)", 2)
    if genesis_time > time.time() * 1000 + 60_000:
        click.secho("warning: the genesis time is in the future; no block can commit "
                    "before it", fg="yellow", err=True)
    # written beside it, then renamed: a write cut short (a full disk) would leave a
    # genesis file that is no genesis, and that the next try refuses to replace
    partial = out_file.with_name(out_file.name + ".partial")
    text = json.dumps(genesis.to_json(), indent=2, ensure_ascii=False) + "\n"
    if len(text.encode()) > GENESIS_FILE_BYTES_MAX:  # no node would load it
        fail(f"{members_file}: its genesis would be {len(text.encode()):,} bytes, more than "
             f"a node reads ({GENESIS_FILE_BYTES_MAX:,} at most)", 2)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(out_file)
    except OSError as exc:
        with contextlib.suppress(OSError):  # none made, say, when the folder is a file
            partial.unlink(missing_ok=True)
        fail(f"cannot write {out_file}: {exc.strerror or exc}", 2)
    click.echo(f"genesis for chain {genesis.chain_id!r}: {len(genesis.members)} members, "
               f"{len(genesis.validators)} validators -> {out_file}")
    policy = genesis.policy
    click.echo(f"governance: {policy.threshold} of {len(genesis.ministries)} ministries sign a "
               f"change; at least {policy.min_validators} validators; ledger rules version "
               f"{genesis.initial_rules_version}")
    click.echo(f"fingerprint: {genesis.fingerprint}  (every operator "
               "must see the same: senim consortium fingerprint GENESIS)")


@consortium_group.command("fingerprint")
@click.argument("genesis_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def consortium_fingerprint(genesis_file: Path) -> None:
    """Print a genesis file's fingerprint, to compare with the other operators'."""
    try:
        genesis = load_genesis(genesis_file)
    except ConfigError as exc:
        fail(str(exc), 2)
    click.echo(f"{genesis.chain_id}: {genesis.fingerprint}")
