"""`senim keygen`, and `senim key rotate | report-compromise`: a member makes its key,
changes it, and reports a stolen one (`senim key request-replacement`, for a key lost or
rotated away by a thief, is cli/key_replacement.py).

A member keeps its id for good; the new key file names that id, so every other
command signs for the same member with it. A stolen key is reported with the new
key, naming the first block from which the old key's signatures are not trusted:
credentials it signed before that block stay valid, those from it on verify as
"issued with a compromised key". Each speaks its reader's language (--lang kk|ru|en,
or the locale: cli.spoken); English as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.admission_request import request_admission_command
from cli.client import ClientError, NodeClient
from cli.commands import hex_bytes, key_option, load_key_or_fail, node_option, submit_and_report
from cli.errors import EXIT_BAD_INPUT
from cli.key_replacement import new_key_file, request_replacement_command
from cli.key_rotation import OwnNode, check_node_option, check_nodes_answer
from cli.language import lang_option
from cli.refusals import node_said
from cli.spoken import Sentence, echo, os_reason, refuse
from cli.worded_command import WordedCommand
from cli.worded_group import WordedGroup
from ledger.identity import PUBLIC_KEY_BYTES, KeyPair
from ledger.key_events import VALIDATOR_KEY_CHANGE_DELAY_BLOCKS, prove_possession
from ledger.payloads import ReportCompromisePayload, RotateKeyPayload
from node.files import save_key


class KeyCommand(WordedCommand):
    """A `senim key` command: its --help words are the catalogue's `cli.help.key.<name>.*`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_key = f"key.{self.name}"


@click.command("keygen", cls=WordedCommand)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--label", default="", help="A note stored in the key file (e.g. the organisation).")
@lang_option
def keygen(path: Path, label: str, language: str) -> None:
    """Create an Ed25519 member key file (mode 0600) and print its member id."""
    keys = KeyPair.generate()
    try:
        save_key(path, keys, label)
    except FileExistsError:
        if path.is_dir():
            refuse(Sentence("key.gen.folder", f"{path} is a folder: give the key file's own "
                            f"path, e.g. {path / 'me.key'}", path=path,
                            example=path / "me.key"), EXIT_BAD_INPUT)
        if not path.exists() and not path.is_symlink():
            # the folder to make exists as something else: keygen /dev/null/me.key
            refuse(Sentence("key.gen.not_folder", f"cannot write the key file {path}: "
                            f"{_first_no_folder(path)} is no folder", path=path,
                            folder=_first_no_folder(path)), EXIT_BAD_INPUT)
        refuse(Sentence("key.gen.exists", f"{path} exists; refusing to overwrite a key",
                        path=path), EXIT_BAD_INPUT)
    except OSError as exc:
        refuse(Sentence("key.gen.unwritable", f"cannot write the key file {path}: "
                        f"{exc.strerror or exc}", path=path, why=os_reason(exc)),
               EXIT_BAD_INPUT)
    echo(Sentence("key.gen.member_id", f"member id:  {keys.member_id.hex()}",
                  id=keys.member_id.hex()))
    echo(Sentence("key.gen.public_key", f"public key: {keys.public_key.hex()}",
                  public=keys.public_key.hex()))
    echo(Sentence("key.gen.file", f"key file:   {path} (mode 0600)", path=path))


def _first_no_folder(path: Path) -> Path:
    """The first folder on the way to `path` that exists as something else."""
    for folder in reversed(path.parents):  # bounded: the path's depth
        if folder.exists() and not folder.is_dir():
            return folder
    return path.parent


@click.group("key", cls=WordedGroup)
def key_group() -> None:
    """Rotate your member key, report an earlier key as stolen, ask for a new one, or ask to
    be admitted."""


key_group.add_command(request_replacement_command)
key_group.add_command(request_admission_command)


@key_group.command("rotate", cls=KeyCommand)
@key_option("Your current key file (it signs the rotation).")
@click.option("--new-key", "new_key_path", required=True, type=click.Path(path_type=Path),
              help="The new key file: created (mode 0600) if it does not exist.")
@node_option
@check_node_option
@lang_option
def rotate_command(key_path: Path, new_key_path: Path, node_url: str,
                   check_nodes: tuple[str, ...], language: str) -> None:
    """Move your membership to a new key; your member id stays the same."""
    current = load_key_or_fail(key_path)
    new = new_key_file(new_key_path, current.member_id,
                       f"rotated from {current.public_key.hex()[:16]}", current.public_key)
    client = NodeClient(node_url)
    try:
        info = client.status()
        chain_id = str(info["chain_id"])
    except ClientError as exc:
        refuse(Sentence("key.rotate.unreachable", f"cannot reach the node: {exc} ({exc.code})",
                        why=node_said(exc)), exc.exit_code)
    own = OwnNode(node_url, info, current)
    check_nodes_answer(check_nodes, chain_id)
    own.forewarn(check_nodes)
    payload = RotateKeyPayload(new.public_key, prove_possession(new, chain_id,
                                                               current.member_id))
    result = submit_and_report(client, current, payload, "key rotation", report=False,
                               settle=lambda tx_id: own.settle(tx_id, check_nodes, current,
                                                               new, new_key_path),
                               wait_s=own.wait_s(check_nodes))
    height = result["height"]
    member, public = current.member_id.hex(), new.public_key.hex()
    echo(Sentence("key.rotate.done", f"key rotated at height {height}: member {member} now "
                  f"signs with {public} ({new_key_path}); {key_path} no longer signs.",
                  height=height, member=member, public=public, new=new_key_path,
                  old=key_path))
    own.restart_line(new, new_key_path, key_path)
    switch = height + VALIDATOR_KEY_CHANGE_DELAY_BLOCKS
    echo(Sentence("key.rotate.validator", f"if this member is a validator, the new key "
                  f"certifies blocks from height {switch} on: restart its node with [node] "
                  f"key = \"{new_key_path}\" once block {switch - 1} is committed.",
                  switch=switch, setting=f'[node] key = "{new_key_path}"', last=switch - 1))
    if not own.cut_off:  # else said of that very node just above
        echo(Sentence("key.rotate.not_validating", f"if it runs a node that does not "
                      f"validate, restart that node with {new_key_path} now: its peers no "
                      f"longer admit {key_path}.", new=new_key_path, old=key_path))
    old_public = current.public_key.hex()
    echo(Sentence("key.rotate.stolen", f"if the old key was stolen: senim key "
                  f"report-compromise --key {new_key_path} --old-public-key {old_public} "
                  "--from-height H", new=new_key_path, old=old_public))


@key_group.command("report-compromise", cls=KeyCommand)
@key_option("Your current key file (the one you rotated to).")
@click.option("--old-key", "old_key_path", type=click.Path(path_type=Path), default=None,
              help="The stolen key's file, if you still have it.")
@click.option("--old-public-key", "old_public_key", default=None,
              help="The stolen key's public key (64 hex digits), instead of --old-key.")
@click.option("--from-height", "from_height", required=True,
              help="First block from which the stolen key's signatures are not trusted "
                   "(at most the block of the rotation away from it).")
@node_option
@lang_option
def report_compromise_command(key_path: Path, old_key_path: Path | None,
                              old_public_key: str | None, from_height: str,
                              node_url: str, language: str) -> None:
    """Report an earlier key as stolen from a given block on."""
    if (old_key_path is None) == (old_public_key is None):
        refuse(Sentence("key.report.one_of", "give exactly one of --old-key and "
                        "--old-public-key"), EXIT_BAD_INPUT)
    if old_key_path is not None:
        stolen = load_key_or_fail(old_key_path).public_key
    else:
        stolen = hex_bytes(old_public_key or "", PUBLIC_KEY_BYTES, "--old-public-key")
    try:
        height = int(from_height)
    except ValueError:
        height = 0
    if height < 1:
        refuse(Sentence("key.report.height", f"--from-height must be a block height of 1 or "
                        f"more, got {from_height!r}", value=repr(from_height)), EXIT_BAD_INPUT)
    current = load_key_or_fail(key_path)
    if stolen == current.public_key:
        refuse(Sentence("key.report.current", "that is your current key: rotate away from it "
                        "first (senim key rotate)"), EXIT_BAD_INPUT)
    result = submit_and_report(NodeClient(node_url), current,
                               ReportCompromisePayload(stolen, height), "compromise report",
                               report=False)
    echo(Sentence("key.report.done", f"reported at height {result['height']}: credentials "
                  f"signed with {stolen.hex()[:16]}… from height {height} on now verify as "
                  "issued with a compromised key; those before stay valid.",
                  height=result["height"], stolen=stolen.hex()[:16], start=height))
