"""`senim consortium create | fingerprint`: the genesis file every node of a consortium loads.

The ministries' officials who set up the network read what these say in their language,
kk, ru or en (--lang, or the locale: cli.spoken); English as it was."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import time
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import click

from cli.commands import load_key_or_fail, refuse_key_nobody_holds
from cli.consortium_words import genesis_refusal
from cli.errors import EXIT_BAD_INPUT
from cli.language import lang_option
from cli.member_names import look_alike
from cli.spoken import Sentence, echo, os_reason, refuse, warn
from cli.worded_command import WordedCommand, WordedPath
from cli.worded_group import WordedGroup
from ledger.errors import ConfigError
from ledger.genesis import GENESIS_KIND, genesis_from_json
from ledger.identity import PUBLIC_KEY_BYTES
from ledger.member_names_read import invisible_marks, readings, unassigned_marks
from ledger.rules_version import EVIDENCE_KINDS_KEPT_FROM, MAX_KNOWN_RULES_VERSION
from node.files import GENESIS_FILE_BYTES_MAX, UnfitFile, load_genesis, read_bounded


class ConsortiumCommand(WordedCommand):
    """A `senim consortium` command: its --help words are `cli.help.consortium.<name>.*`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_key = f"consortium.{self.name}"


@click.group("consortium", cls=WordedGroup)
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
    parsed = value if isinstance(value, datetime.datetime) else None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed is not None and parsed.tzinfo is not None:
        if parsed.timestamp() < 0:  # the genesis refused it as genesis_time_ms, unwritten
            refuse(Sentence("min.consortium.time_before_1970", f"{where}: {value} is before "
                            "1970-01-01, which the chain's clock cannot state", where=where,
                            value=str(value)), EXIT_BAD_INPUT)
        return int(parsed.timestamp() * 1000)
    refuse(Sentence("min.consortium.time", f"{where}: genesis time must be an ISO 8601 time "
                    f"with a zone, e.g. 2026-09-01T00:00:00+05:00 (got {value!r})",
                    value=repr(value)), EXIT_BAD_INPUT)


@consortium_group.command("create", cls=ConsortiumCommand)
@click.option("--members", "members_file", required=True, type=WordedPath(
    exists=True, dir_okay=False, path_type=Path),
    help="TOML with chain_id, genesis_time, [[members]] and optionally [governance] "
         "(threshold, min_validators; default: a majority of the ministries, 4) and "
         "rules_version (the ledger rules from block 1; default: this release's newest, "
         f"{MAX_KNOWN_RULES_VERSION}; a lower one leaves open what the later versions "
         "close, until governance moves the chain on).")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="Where to write the genesis file (refused if it exists, unless --force).")
@click.option("--time", "time_text", default=None,
              help="Genesis time (ISO 8601 with a zone), if the members file has none.")
@click.option("--force", is_flag=True, help="Overwrite an existing genesis file.")
@click.option("--allow-no-fault-tolerance", is_flag=True,
              help=f"Allow fewer than {FAULT_TOLERANT_VALIDATORS_MIN} validators (test networks).")
@lang_option
def consortium_create(members_file: Path, out_file: Path, time_text: str | None, force: bool,
                      allow_no_fault_tolerance: bool, language: str) -> None:
    """Create the genesis file every node of the consortium loads.

    The same members file and time always give the same genesis, so several
    operators can build it independently and compare fingerprints."""
    if out_file.exists() and not force:
        refuse(Sentence("min.consortium.exists", f"{out_file} exists; a consortium's genesis "
                        "is never replaced by accident (use --force to overwrite)",
                        path=out_file), EXIT_BAD_INPUT)
    try:
        # UTF-8 whatever the locale, so that every operator reads the same names (and
        # builds the same genesis); a byte order mark (Windows Notepad) is no statement
        description = tomllib.loads(read_bounded(
            members_file, GENESIS_FILE_BYTES_MAX, "members file").data.decode("utf-8-sig"))
    except UnfitFile as exc:  # it names the file
        refuse(Sentence("min.consortium.unfit", str(exc), path=members_file), EXIT_BAD_INPUT)
    except OSError as exc:
        refuse(Sentence("cli.file.unreadable", f"cannot read {members_file}: {exc}",
                        path=members_file, why=os_reason(exc)), EXIT_BAD_INPUT)
    except UnicodeDecodeError as exc:
        refuse(Sentence("min.consortium.not_utf8", f"cannot read {members_file}: {exc}",
                        path=members_file), EXIT_BAD_INPUT)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:  # RecursionError: a = [[[[…
        # where tomllib stopped reading, said in numbers; its words are English
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        refuse(Sentence("min.consortium.not_toml_at" if at else "min.consortium.not_toml",
                        f"cannot read {members_file}: {exc}", path=members_file,
                        line=at[1] if at else "", column=at[2] if at else ""), EXIT_BAD_INPUT)
    unknown = sorted(set(description) - MEMBERS_FILE_KEYS)
    if unknown:
        known = ", ".join(sorted(MEMBERS_FILE_KEYS))
        refuse(Sentence("min.consortium.unknown", f"{members_file}: unknown key "
                        f"{unknown[0]!r} (known: {known})", where=members_file,
                        field=repr(unknown[0]), known=known), EXIT_BAD_INPUT)
    if time_text is not None and "genesis_time" in description:
        refuse(Sentence("min.consortium.time_twice", f"give the genesis time once: "
                        f"{members_file} already has genesis_time", path=members_file),
               EXIT_BAD_INPUT)
    if time_text is None and "genesis_time" not in description:
        refuse(Sentence("min.consortium.no_time", f"{members_file}: no genesis_time; add it "
                        "to the file or give --time, so every operator builds the same "
                        "genesis", path=members_file), EXIT_BAD_INPUT)
    genesis_time = _genesis_time_ms(time_text if time_text is not None
                                    else description["genesis_time"], "genesis time")
    raw_members = description.get("members", [])
    if not isinstance(raw_members, list):
        refuse(Sentence("min.consortium.members_list", f"{members_file}: members must be a "
                        "list of [[members]] tables", path=members_file), EXIT_BAD_INPUT)
    members = []
    names: set[str] = set()
    drawn: dict[str, tuple[int, str]] = {}  # each name as read, and whose it is
    for index, member in enumerate(raw_members):
        if not isinstance(member, dict):
            refuse(Sentence("min.consortium.member_table", f"members[{index}]: must be a "
                            "table", index=index), EXIT_BAD_INPUT)
        unknown = sorted(set(member) - MEMBER_KEYS)
        if unknown:
            known = ", ".join(sorted(MEMBER_KEYS))
            refuse(Sentence("min.consortium.unknown", f"members[{index}]: unknown key "
                            f"{unknown[0]!r} (known: {known})", where=f"members[{index}]",
                            field=repr(unknown[0]), known=known), EXIT_BAD_INPUT)
        entry = dict(member)
        _check_name(index, entry.get("name"))
        if str(entry.get("name", "")).strip().casefold() in names:
            refuse(Sentence("min.consortium.name_twice", f"members[{index}]: the name "
                            f"{entry.get('name')!r} is used twice", index=index,
                            name=repr(entry.get("name"))), EXIT_BAD_INPUT)
        names.add(str(entry.get("name", "")).strip().casefold())
        read = readings(str(entry.get("name", "")))
        alike = [drawn[reading] for reading in read if reading in drawn]
        if alike:  # "ΕΝU" (Greek) beside "ENU": one name to every reader
            earlier, other = alike[0]
            refuse(Sentence("min.consortium.name_alike", f"members[{index}]: the name "
                            f"{entry.get('name')!r} reads as members[{earlier}]'s {other!r}, "
                            "spelled in other letters (Latin, Cyrillic and Greek ones drawn "
                            "alike): a reader could not tell the two apart", index=index,
                            name=repr(entry.get("name")), earlier=earlier, other=repr(other)),
                   EXIT_BAD_INPUT)
        for reading in read:
            drawn[reading] = (index, str(entry.get("name", "")))
        if "key" in entry and "public_key" not in entry:
            key_path = Path(entry.pop("key"))
            key_path = key_path if key_path.is_absolute() else members_file.parent / key_path
            entry["public_key"] = load_key_or_fail(key_path).public_key.hex()
        entry.pop("key", None)
        if "public_key" not in entry:
            refuse(Sentence("min.consortium.no_key", f"members[{index}]: give key (a key "
                            "file) or public_key", index=index), EXIT_BAD_INPUT)
        given = _hex_key(entry["public_key"])
        if given is not None:  # else the genesis's own parse names what is wrong with it
            refuse_key_nobody_holds(given, f"members[{index}].public_key")
        members.append(entry)
    chain_id = description.get("chain_id")
    marks = invisible_marks(chain_id) if isinstance(chain_id, str) else ""
    if marks:
        refuse(Sentence("min.consortium.chain_id_invisible", f"{members_file}: chain_id "
                        f"{chain_id!r} holds a control or invisible character ({marks}): "
                        "every line naming the chain would show it", path=members_file,
                        chain=repr(chain_id), marks=marks), EXIT_BAD_INPUT)
    rules = description.get("rules_version")
    if isinstance(rules, int) and not isinstance(rules, bool) and rules > MAX_KNOWN_RULES_VERSION:
        refuse(Sentence("min.consortium.rules_unknown", f"{members_file}: rules_version "
                        f"{rules}: this release runs ledger rules up to version "
                        f"{MAX_KNOWN_RULES_VERSION}, and no node could start on the genesis",
                        path=members_file, rules=rules, known=MAX_KNOWN_RULES_VERSION),
               EXIT_BAD_INPUT)
    document = {"kind": GENESIS_KIND, "chain_id": chain_id,
                "genesis_time_ms": genesis_time, "members": members}
    if "governance" in description:  # who may change the consortium later
        document["governance"] = description["governance"]
    # A new consortium runs this release's newest rules unless its file states older ones:
    # version 1, a genesis's own default (kept so that chains made before versions existed
    # keep their hash), leaves open every hole a later version closes.
    stated = "rules_version" in description
    document["rules_version"] = description.get("rules_version", MAX_KNOWN_RULES_VERSION)
    try:
        genesis = genesis_from_json(document)
    except ConfigError as exc:
        refuse(genesis_refusal(exc, members_file, f"{members_file}: {exc}"), EXIT_BAD_INPUT)
    if not any(m.role == "ministry" for m in genesis.members):
        refuse(Sentence("min.consortium.no_ministry", f"{members_file}: a consortium needs at "
                        "least one ministry (it governs)", path=members_file), EXIT_BAD_INPUT)
    if len(genesis.validators) < FAULT_TOLERANT_VALIDATORS_MIN and not allow_no_fault_tolerance:
        count = len(genesis.validators)
        refuse(Sentence("min.consortium.few_validators", f"{members_file}: {count} "
                        "validator(s) tolerate no faulty validator; PBFT needs "
                        f"{FAULT_TOLERANT_VALIDATORS_MIN} to survive one "
                        "(--allow-no-fault-tolerance for a test network)", path=members_file,
                        count=count, least=FAULT_TOLERANT_VALIDATORS_MIN), EXIT_BAD_INPUT)
    if genesis_time > time.time() * 1000 + 60_000:
        warn(Sentence("min.consortium.future", "the genesis time is in the future; no block "
                      "can commit before it"))
    # written beside it, then renamed: a write cut short (a full disk) would leave a
    # genesis file that is no genesis, and that the next try refuses to replace
    partial = out_file.with_name(out_file.name + ".partial")
    text = json.dumps(genesis.to_json(), indent=2, ensure_ascii=False) + "\n"
    if len(text.encode()) > GENESIS_FILE_BYTES_MAX:  # no node would load it
        size = len(text.encode())
        refuse(Sentence("min.consortium.too_large", f"{members_file}: its genesis would be "
                        f"{size:,} bytes, more than a node reads ({GENESIS_FILE_BYTES_MAX:,} "
                        "at most)", path=members_file, size=size, most=GENESIS_FILE_BYTES_MAX),
               EXIT_BAD_INPUT)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(out_file)
    except OSError as exc:
        with contextlib.suppress(OSError):  # none made, say, when the folder is a file
            partial.unlink(missing_ok=True)
        refuse(Sentence("cli.file.unwritable", f"cannot write {out_file}: "
                        f"{exc.strerror or exc}", path=out_file, why=os_reason(exc)),
               EXIT_BAD_INPUT)
    members_count, validators = len(genesis.members), len(genesis.validators)
    echo(Sentence("min.consortium.made", f"genesis for chain {genesis.chain_id!r}: "
                  f"{members_count} members, {validators} validators -> {out_file}",
                  chain=repr(genesis.chain_id), members=members_count, validators=validators,
                  path=out_file))
    policy, ministries = genesis.policy, len(genesis.ministries)
    rules = genesis.initial_rules_version
    whose = (Sentence("min.consortium.rules_stated", "as the members file states; this "
                      f"release runs up to {MAX_KNOWN_RULES_VERSION}",
                      known=MAX_KNOWN_RULES_VERSION) if stated
             else Sentence("min.consortium.rules_newest", "this release's newest: the "
                           "members file states none"))
    echo(Sentence("min.consortium.governance", f"governance: {policy.threshold} of "
                  f"{ministries} ministries sign a change; at least {policy.min_validators} "
                  f"validators; ledger rules version {rules} ({whose})",
                  threshold=policy.threshold, ministries=ministries,
                  least=policy.min_validators, rules=rules, whose=whose))
    if rules < MAX_KNOWN_RULES_VERSION:
        _warn_rules_left_open(rules)
    echo(Sentence("min.consortium.fingerprint", f"fingerprint: {genesis.fingerprint}  (every "
                  "operator must see the same: senim consortium fingerprint GENESIS)",
                  fingerprint=genesis.fingerprint))


@consortium_group.command("fingerprint", cls=ConsortiumCommand)
@click.argument("genesis_file", type=WordedPath(exists=True, dir_okay=False, path_type=Path))
@lang_option
def consortium_fingerprint(genesis_file: Path, language: str) -> None:
    """Print a genesis file's fingerprint, to compare with the other operators'."""
    try:
        genesis = load_genesis(genesis_file)
    except ConfigError as exc:
        refuse(genesis_refusal(exc, genesis_file), EXIT_BAD_INPUT)
    echo(Sentence("min.consortium.chain_fingerprint", f"{genesis.chain_id}: "
                  f"{genesis.fingerprint}", chain=genesis.chain_id,
                  fingerprint=genesis.fingerprint))


def _warn_rules_left_open(rules: int) -> None:
    """One line: what a genesis at an older rules version than this release's leaves open.
    It names the newest hole only (open below every version this could be); README's "When
    an upgrade is due" says what each version closes."""
    warn(Sentence("min.consortium.rules_open", f"ledger rules version {rules} leaves open "
                  f"what the later versions, up to {MAX_KNOWN_RULES_VERSION}, close, until "
                  "governance schedules one (set-rules-version); for one, a validator may "
                  "fill its places for evidence with faults of its own choosing and so keep "
                  "the evidence of its conflicting commits off the chain (version "
                  f"{EVIDENCE_KINDS_KEPT_FROM} takes the first evidence of each kind)",
                  rules=rules, known=MAX_KNOWN_RULES_VERSION, kinds=EVIDENCE_KINDS_KEPT_FROM))


def _hex_key(value: object) -> bytes | None:
    """A members file's public_key as a key's bytes, if it is one's length of hex."""
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        return None
    return raw if len(raw) == PUBLIC_KEY_BYTES else None


def _check_name(index: int, name: object) -> None:
    """A member's name as `add-member` takes a new member's (cli.member_names): no
    invisible character nor one unassigned in Unicode 3.2, no space at its ends or two in
    a row. Refused, not tidied: one members file must give every operator's release the
    same genesis."""
    if not isinstance(name, str):
        return  # the genesis check names what a name must be
    marks = invisible_marks(name)
    if marks:
        refuse(Sentence("min.consortium.name_invisible", f"members[{index}]: the name "
                        f"{name!r} holds an invisible character ({marks}), as text pasted "
                        "from a word processor may: type the name again", index=index,
                        name=repr(name), marks=marks), EXIT_BAD_INPUT)
    marks = unassigned_marks(name)
    if marks:
        refuse(Sentence("min.consortium.name_character", f"members[{index}]: the name "
                        f"{name!r} holds a character not every node compares alike ({marks}: "
                        "an emoji, or a character added to Unicode after 2002): write the name "
                        "in letters, digits and ordinary punctuation", index=index,
                        name=repr(name), marks=marks), EXIT_BAD_INPUT)
    tidy = " ".join(name.split())
    if tidy != name:
        refuse(Sentence("min.consortium.name_spaces", f"members[{index}]: the name {name!r} "
                        f"has spaces at its ends or several in a row: write {tidy!r}",
                        index=index, name=repr(name), tidy=repr(tidy)), EXIT_BAD_INPUT)
    composed = unicodedata.normalize("NFC", name)
    if composed != name:  # as text some systems copy: it reads as the composed name
        refuse(Sentence("min.consortium.name_decomposed", f"members[{index}]: the name "
                        f"{name!r} holds letters written decomposed (a letter, then its "
                        f"accent), which reads as {composed!r} but matches it nowhere: "
                        f"type the name again", index=index, name=repr(name)),
               EXIT_BAD_INPUT)
    mixed = look_alike(name)
    if mixed is not None:
        refuse(Sentence("min.consortium.name_mixed", f"members[{index}]: {mixed}",
                        index=index, why=mixed), EXIT_BAD_INPUT)
