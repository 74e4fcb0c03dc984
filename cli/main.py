"""`senim` — the command line of Senim."""

from __future__ import annotations

import calendar
import datetime
import json
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import click

from cli.client import DEFAULT_NODE, ClientError, NodeClient
from cli.errors import fail
from cli.evidence import evidence_group
from cli.fsck import fsck_command
from cli.governance import governance_group
from cli.issuing import issue_command
from cli.keys import key_group
from cli.records import employment_group, recognise_command
from cli.sharing import share_command
from cli.vc import export_vc_command, tls_cert_command
from cli.verifying import (
    disclose_command,
    prove_command,
    revoke_command,
    supersede_command,
    verify_command,
)
from ledger.errors import ConfigError, MalformedInput
from ledger.genesis import GENESIS_KIND, genesis_from_json
from ledger.identity import PUBLIC_KEY_BYTES, KeyPair, MemberId
from ledger.payloads import (
    SUSPENSION_REASONS,
    AccreditPayload,
    AddMemberPayload,
    AnchorPayload,
    Payload,
    SuspendPayload,
    checked,
)
from ledger.records import day
from ledger.transactions import CREDENTIAL_TYPES, ROLES
from ledger.verification import document_hash
from node.files import load_genesis, load_key, save_key

node_option = click.option("--node", "node_url", default=lambda: os.environ.get(
    "SENIM_NODE", DEFAULT_NODE), show_default="$SENIM_NODE or " + DEFAULT_NODE,
    help="URL of the node's HTTP API.")
key_option = click.option("--key", "key_path", required=True,
                          type=click.Path(path_type=Path), help="Your member key file.")


def load_key_or_fail(path: Path) -> KeyPair:
    try:
        return load_key(path)
    except ConfigError as exc:
        fail(str(exc), 2)
        raise  # unreachable, for type checkers


@click.group()
@click.version_option("0.1.0", prog_name="senim")
def main() -> None:
    """Senim (Сенім): a consortium ledger of education credentials."""


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--label", default="", help="A note stored in the key file (e.g. the organisation).")
def keygen(path: Path, label: str) -> None:
    """Create an Ed25519 member key file (mode 0600) and print its member id."""
    keys = KeyPair.generate()
    try:
        save_key(path, keys, label)
    except FileExistsError:
        fail(f"{path} exists; refusing to overwrite a key", 2)
    click.echo(f"member id:  {keys.member_id.hex()}")
    click.echo(f"public key: {keys.public_key.hex()}")
    click.echo(f"key file:   {path} (mode 0600)")


@main.group()
def consortium() -> None:
    """Describe the consortium and create its genesis file."""


MEMBERS_FILE_KEYS = frozenset({"chain_id", "genesis_time", "members", "governance"})
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


def genesis_fingerprint(genesis_hash: bytes) -> str:
    """What operators read to each other to check they hold the same genesis."""
    text = genesis_hash.hex()[:32]
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


@consortium.command("create")
@click.option("--members", "members_file", required=True, type=click.Path(
    exists=True, dir_okay=False, path_type=Path),
    help="TOML with chain_id, genesis_time, [[members]] and optionally [governance] "
         "(threshold, min_validators; default: a majority of the ministries, 4).")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path))
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
        description = tomllib.loads(members_file.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        fail(f"cannot read {members_file}: {exc}", 2)
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
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(genesis.to_json(), indent=2, ensure_ascii=False) + "\n")
    click.echo(f"genesis for chain {genesis.chain_id!r}: {len(genesis.members)} members, "
               f"{len(genesis.validators)} validators -> {out_file}")
    policy = genesis.policy
    click.echo(f"governance: {policy.threshold} of {len(genesis.ministries)} ministries sign a "
               f"change; at least {policy.min_validators} validators")
    click.echo(f"fingerprint: {genesis_fingerprint(genesis.genesis_hash)}  (every operator "
               "must see the same: senim consortium fingerprint GENESIS)")


@consortium.command("fingerprint")
@click.argument("genesis_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def consortium_fingerprint(genesis_file: Path) -> None:
    """Print a genesis file's fingerprint, to compare with the other operators'."""
    try:
        genesis = load_genesis(genesis_file)
    except ConfigError as exc:
        fail(str(exc), 2)
    click.echo(f"{genesis.chain_id}: {genesis_fingerprint(genesis.genesis_hash)}")


@main.command("node")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
def node_command(config_path: Path) -> None:
    """Run a node in the foreground until SIGTERM or SIGINT."""
    from node.daemon import run

    sys.exit(run(config_path))


def _member_id(value: str) -> MemberId:
    try:
        member = bytes.fromhex(value)
    except ValueError:
        member = b""
    if len(member) != 20:
        fail(f"{value!r} is not a member id (40 hex digits; see `senim members`)", 2)
    return MemberId(member)


def _date_ms(value: str, option: str) -> int:
    """Midnight UTC starting the day: the ledger states periods in UTC days."""
    try:
        return calendar.timegm(time.strptime(value, "%Y-%m-%d")) * 1000
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}", 2)
        raise


def submit_and_report(client: NodeClient, keys: KeyPair, payload: Payload, what: str
                      ) -> dict[str, Any]:
    try:
        checked(payload)  # refuse what every node would refuse, before asking one
        tx = client.make_tx(keys, payload)
        result = client.submit_and_wait(tx)
    except MalformedInput as exc:
        fail(str(exc), 2)
        raise
    except ClientError as exc:
        fail(f"{what} refused: {exc} ({exc.code})")
        raise
    if result["status"] != "committed":
        fail(f"{what} not committed: {result.get('reason', result['status'])}")
    click.echo(f"{what}: committed at height {result['height']} (tx {result['tx_id'][:16]}…)")
    return result


@main.command()
@key_option
@click.option("--issuer", required=True, help="Member id of the organisation to accredit.")
@click.option("--types", default="diploma,certificate,transcript", show_default=True,
              help=f"Comma-separated credential types ({', '.join(CREDENTIAL_TYPES)}).")
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD); default today.")
@click.option("--until", "end", default=None, help="Day it ends (YYYY-MM-DD), the first day "
              "no longer covered; default +5 years.")
@click.option("--force", is_flag=True, help="Record a period that is already over (to put a "
              "past accreditation on record); refused without it.")
@node_option
def accredit(key_path: Path, issuer: str, types: str, start: str | None, end: str | None,
             force: bool, node_url: str) -> None:
    """A ministry grants an organisation the right to issue, for types and a period.

    Days are UTC. A period already over would let nobody issue anything, so it is
    refused unless --force; a period that ends before it starts is always refused."""
    type_list = [t.strip() for t in types.split(",") if t.strip()]
    if not type_list:
        fail("--types must name at least one credential type", 2)
    for ctype in type_list:
        if ctype not in CREDENTIAL_TYPES:
            fail(f"unknown credential type {ctype!r} (known: {', '.join(CREDENTIAL_TYPES)})", 2)
    now_ms = int(time.time() * 1000)
    start_ms = _date_ms(start, "--from") if start else now_ms - 60_000
    end_ms = _date_ms(end, "--until") if end else start_ms + 5 * 365 * 86_400_000
    inverted = (f"the period ends ({day(end_ms)}) before it starts ({day(start_ms)}): "
                "--until must be after --from")
    if start and end_ms <= start_ms:
        fail(inverted, 2)
    if end_ms <= now_ms:
        if not force:
            fail(f"the period ended on {day(end_ms)}, before today: nobody could issue under "
                 "it (give --force to record it anyway)", 2)
        click.secho(f"warning: the period ended on {day(end_ms)}; recording it anyway",
                    fg="yellow", err=True)
    if end_ms <= start_ms:  # a past --until with the default --from (today)
        fail(inverted, 2)
    keys = load_key_or_fail(key_path)
    submit_and_report(NodeClient(node_url), keys, AccreditPayload(
        _member_id(issuer), tuple(type_list), start_ms, end_ms), "accreditation")


@main.command()
@key_option
@click.option("--issuer", required=True, help="Member id of the organisation to suspend.")
@click.option("--reason", required=True, type=click.Choice(list(SUSPENSION_REASONS)),
              help="Why, as a code (the chain never holds free text; keep details off chain).")
@node_option
def suspend(key_path: Path, issuer: str, reason: str, node_url: str) -> None:
    """A ministry withdraws an organisation's right to issue (earlier credentials stay valid)."""
    keys = load_key_or_fail(key_path)
    submit_and_report(NodeClient(node_url), keys, SuspendPayload(MemberId(_member_id(issuer)),
                                                                 reason),
                      "suspension")


@main.command("add-member")
@key_option
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--public-key", required=True, help="The new member's public key (hex).")
@node_option
def add_member(key_path: Path, name: str, role: str, public_key: str, node_url: str) -> None:
    """A ministry admits a new (non-validating) member organisation."""
    try:
        raw = bytes.fromhex(public_key)
    except ValueError:
        raw = b""
    if len(raw) != PUBLIC_KEY_BYTES:
        fail(f"--public-key must be {PUBLIC_KEY_BYTES} bytes as {2 * PUBLIC_KEY_BYTES} hex "
             "digits (see `senim keygen`)", 2)
    keys = load_key_or_fail(key_path)
    submit_and_report(NodeClient(node_url), keys, AddMemberPayload(name, role, raw),
                      "new member")


@main.command()
@key_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@node_option
def anchor(key_path: Path, file: Path, node_url: str) -> None:
    """Record that a document (e.g. teaching material) existed, and who recorded it."""
    keys = load_key_or_fail(key_path)
    digest = document_hash(file.read_bytes())
    click.echo(f"sha256 {digest.hex()}")
    submit_and_report(NodeClient(node_url), keys, AnchorPayload(digest), "anchor")


@main.command()
@node_option
@click.option("--json", "as_json", is_flag=True, help="Print the raw status JSON.")
def status(node_url: str, as_json: bool) -> None:
    """Height, head hash, consensus, peers and mempool of a node."""
    try:
        info = NodeClient(node_url, timeout_s=10).status()
    except ClientError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"node      {info['node']} ({info['member'] or 'observer'}) at {node_url}")
    click.echo(f"chain     {info['chain_id']}")
    click.echo(f"height    {info['height']}  head {info['head_hash'][:16]}…  "
               f"({info['head_time']})")
    click.echo(f"mempool   {info['mempool']['transactions']} tx, "
               f"{info['mempool']['bytes']} bytes")
    consensus_info = info.get("consensus", {})
    if consensus_info.get("mode") == "pbft":
        click.echo(f"consensus PBFT, {consensus_info['validators']} validators "
                   f"(tolerates {consensus_info['max_faulty']} faulty); view "
                   f"{consensus_info['view']}, primary {consensus_info['primary']}, "
                   f"phase {consensus_info['phase']}")
    else:
        click.echo(f"consensus {consensus_info.get('mode', '?')} (not a validator)")
    reachable, unreachable = consensus_info.get("reachable"), consensus_info.get("unreachable")
    if isinstance(reachable, list) and isinstance(unreachable, list):
        total = len(reachable) + len(unreachable)
        line = f"validators {len(reachable)} of {total} reachable from this node"
        if unreachable:
            line += "; unreachable: " + ", ".join(unreachable)
        click.secho(line, fg="yellow" if unreachable else None)
        if len(reachable) < int(consensus_info.get("quorum", total)):
            click.secho(f"no quorum: {len(reachable)} of {total} validators reachable; "
                        "nothing commits until enough of them return", fg="red", bold=True)
    if consensus_info.get("behind"):
        click.secho(f"catching up: {consensus_info['behind']} block(s) behind", fg="yellow")
    peers = info.get("peers", [])
    click.echo(f"peers     {len(peers)}")
    for peer in peers:
        auth = "authenticated" if peer["authenticated"] else "handshaking"
        role = "validator" if peer.get("validator") else "follower"
        click.echo(f"  {peer['member'][:48]:<48} {role:<9} {auth:<13} {peer['direction']:<8} "
                   f"{peer['address']} up {peer['connected_s']}s")


@main.command()
@node_option
def members(node_url: str) -> None:
    """List consortium members, their ids and accreditations."""
    try:
        answer = NodeClient(node_url, timeout_s=10).request("GET", "/v1/members")
    except ClientError as exc:
        fail(str(exc))
    for member in answer["members"]:
        flag = " validator" if member["validator"] else ""
        click.echo(f"{member['member_id']}  {member['role']:<10} {member['name']}{flag}")
        for grant in member["accreditations"]:
            state = (f"suspended at height {grant['suspended_height']}"
                     if grant["suspended_height"] is not None else "active")
            click.echo(f"    accredited for {','.join(grant['types'])} "
                       f"{grant['from']} – {grant['until']} ({state})")


main.add_command(issue_command)
main.add_command(verify_command)
main.add_command(disclose_command)
main.add_command(revoke_command)
main.add_command(supersede_command)
main.add_command(prove_command)
main.add_command(share_command)
main.add_command(export_vc_command)
main.add_command(tls_cert_command)
main.add_command(employment_group)
main.add_command(recognise_command)
main.add_command(fsck_command)
main.add_command(key_group)
main.add_command(governance_group)
main.add_command(evidence_group)
