"""`senim key rotate | report-compromise`: a member changes its key and reports a stolen one.

A member keeps its id for good; the new key file names that id, so every other
command signs for the same member with it. A stolen key is reported with the new
key, naming the first block from which the old key's signatures are not trusted:
credentials it signed before that block stay valid, those from it on verify as
"issued with a compromised key".
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.client import ClientError, NodeClient
from cli.commands import hex_bytes, key_option, load_key_or_fail, node_option, submit_and_report
from cli.errors import EXIT_BAD_INPUT, fail
from ledger.identity import PUBLIC_KEY_BYTES, KeyPair
from ledger.key_events import VALIDATOR_KEY_CHANGE_DELAY_BLOCKS, prove_possession
from ledger.payloads import ReportCompromisePayload, RotateKeyPayload
from node.files import save_key


def _new_key(path: Path, current: KeyPair) -> KeyPair:
    """The key in `path`, or a new one written there (0600) before anything is sent, so
    a rotation that commits never leaves its member without the key it moved to."""
    if not path.exists():
        fresh = KeyPair.generate()
        new = KeyPair.from_seed(fresh.seed, current.member_id)
        try:
            save_key(path, new, f"rotated from {current.public_key.hex()[:16]}")
        except OSError as exc:
            fail(f"cannot write the new key file {path}: {exc}", EXIT_BAD_INPUT)
        return new
    loaded = load_key_or_fail(path)
    if loaded.public_key == current.public_key:
        fail(f"{path} holds the current key; give a new key file", EXIT_BAD_INPUT)
    if loaded.member is not None and loaded.member != current.member_id:
        fail(f"{path} is a key of member {loaded.member.hex()}, not of "
              f"{current.member_id.hex()}", EXIT_BAD_INPUT)
    return KeyPair.from_seed(loaded.seed, current.member_id)


@click.group("key")
def key_group() -> None:
    """Rotate your member key, or report an earlier key as stolen."""


@key_group.command("rotate")
@key_option("Your current key file (it signs the rotation).")
@click.option("--new-key", "new_key_path", required=True, type=click.Path(path_type=Path),
              help="The new key file: created (mode 0600) if it does not exist.")
@node_option
def rotate_command(key_path: Path, new_key_path: Path, node_url: str) -> None:
    """Move your membership to a new key; your member id stays the same."""
    current = load_key_or_fail(key_path)
    new = _new_key(new_key_path, current)
    client = NodeClient(node_url)
    try:
        chain_id = str(client.status()["chain_id"])
    except ClientError as exc:
        fail(f"cannot reach the node: {exc} ({exc.code})")
        raise
    payload = RotateKeyPayload(new.public_key, prove_possession(new, chain_id,
                                                               current.member_id))
    result = submit_and_report(client, current, payload, "key rotation", report=False)
    height = result["height"]
    click.echo(f"key rotated at height {height}: member {current.member_id.hex()} now signs "
               f"with {new.public_key.hex()} ({new_key_path}); {key_path} no longer signs.")
    switch = height + VALIDATOR_KEY_CHANGE_DELAY_BLOCKS
    click.echo(f"if this member is a validator, the new key certifies blocks from height "
               f"{switch} on: restart its node with [node] key = \"{new_key_path}\" once "
               f"block {switch - 1} is committed.")
    click.echo(f"if it runs a node that does not validate, restart that node with "
               f"{new_key_path} now: its peers no longer admit {key_path}.")
    click.echo(f"if the old key was stolen: senim key report-compromise --key {new_key_path} "
               f"--old-public-key {current.public_key.hex()} --from-height H")


@key_group.command("report-compromise")
@key_option("Your current key file (the one you rotated to).")
@click.option("--old-key", "old_key_path", type=click.Path(path_type=Path), default=None,
              help="The stolen key's file, if you still have it.")
@click.option("--old-public-key", "old_public_key", default=None,
              help="The stolen key's public key (64 hex digits), instead of --old-key.")
@click.option("--from-height", "from_height", required=True,
              help="First block from which the stolen key's signatures are not trusted "
                   "(at most the block of the rotation away from it).")
@node_option
def report_compromise_command(key_path: Path, old_key_path: Path | None,
                              old_public_key: str | None, from_height: str,
                              node_url: str) -> None:
    """Report an earlier key as stolen from a given block on."""
    if (old_key_path is None) == (old_public_key is None):
        fail("give exactly one of --old-key and --old-public-key", EXIT_BAD_INPUT)
    if old_key_path is not None:
        stolen = load_key_or_fail(old_key_path).public_key
    else:
        stolen = hex_bytes(old_public_key or "", PUBLIC_KEY_BYTES, "--old-public-key")
    try:
        height = int(from_height)
    except ValueError:
        height = 0
    if height < 1:
        fail(f"--from-height must be a block height of 1 or more, got {from_height!r}",
              EXIT_BAD_INPUT)
    current = load_key_or_fail(key_path)
    if stolen == current.public_key:
        fail("that is your current key: rotate away from it first (senim key rotate)",
              EXIT_BAD_INPUT)
    result = submit_and_report(NodeClient(node_url), current,
                               ReportCompromisePayload(stolen, height), "compromise report",
                               report=False)
    click.echo(f"reported at height {result['height']}: credentials signed with "
               f"{stolen.hex()[:16]}… from height {height} on now verify as issued with a "
               "compromised key; those before stay valid.")
