"""A member's key replaced by governance (`replace_key`, rules version 7): the member that
lost its key, or had it stolen, makes a new key and a request file with
`senim key request-replacement`; a ministry proposes it with `senim governance propose
--action replace-key --request FILE [--compromised-from H]`, and the ministries vote.

The request holds only public things: the chain, the member, the new public key and the
new key's proof of possession (its signature over the three, under a domain of its own
that no rotation's proof shares), so it can travel by mail. Both ends check it, so that
neither sends a proposal the ledger would refuse for a request of another chain or a
proof that does not hold.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.client import ClientError, NodeClient
from cli.commands import load_key_or_fail, node_option
from cli.errors import EXIT_BAD_INPUT
from cli.language import lang_option
from cli.member_names import resolve_member
from cli.refusals import node_said
from cli.spoken import Sentence, echo, os_reason, refuse
from cli.worded_command import WordedCommand
from ledger.identity import (
    MEMBER_ID_BYTES,
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    KeyPair,
    MemberId,
    verify_signature,
)
from ledger.key_events import prove_replacement, replacement_message
from ledger.payloads import ReplaceKeyAction
from node.files import save_key

REQUEST_KIND = "senim-key-replacement-request"
# A request is a few hundred bytes; anything much larger is not one.
REQUEST_BYTES_MAX = 16 * 1024


@dataclass(frozen=True)
class ReplacementAsked:
    """`governance propose --action replace-key` as given: the request is read once the
    node (and its chain id) is at hand."""

    request: Path
    compromised_from: int | None

    def action(self, client: NodeClient) -> ReplaceKeyAction:
        try:
            chain_id = str(client.status()["chain_id"])
        except ClientError as exc:
            refuse(node_said(exc), exc.exit_code)
        member, key, proof = read_request(self.request, chain_id)
        return ReplaceKeyAction(member, key, proof, self.compromised_from)


def regular_file(path: str, flags: int) -> int:
    fd = os.open(path, flags | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd


def read_request_object(path: Path, kind: str, not_one: Sentence) -> dict[str, Any]:
    """The JSON object of a request file of `kind` at `path` (a replacement's, an
    admission's); `not_one` said, exit 2, when it is none."""
    try:
        # a regular file only: a FIFO named as the request held the command for good
        with open(path, "rb", opener=regular_file) as file:
            raw = file.read(REQUEST_BYTES_MAX + 1)
    except OSError as exc:
        refuse(Sentence("key.request.unreadable", f"cannot read {path}: {exc.strerror or exc}",
                        path=path, why=os_reason(exc)), EXIT_BAD_INPUT)
    try:
        request: Any = json.loads(raw) if len(raw) <= REQUEST_BYTES_MAX else None
    except (ValueError, RecursionError):  # 8,000 "[" nested past the parser's depth
        request = None
    if not isinstance(request, dict) or request.get("kind") != kind:
        refuse(not_one, EXIT_BAD_INPUT)
    return request


def hex_fields(request: dict[str, Any], sizes: tuple[tuple[str, int], ...],
               damaged: Sentence) -> dict[str, bytes]:
    """Each named field of `request`, hex of its size in bytes; `damaged` said, exit 2,
    when one is not."""
    fields = {}
    for name, size in sizes:
        value = request.get(name)
        try:
            fields[name] = bytes.fromhex(value) if isinstance(value, str) else b""
        except ValueError:
            fields[name] = b""
        if len(fields[name]) != size:
            refuse(damaged, EXIT_BAD_INPUT)
    return fields


def _damaged(path: Path) -> Sentence:
    return Sentence("key.request.damaged", f"{path} is damaged: its member, key and proof of "
                    "possession do not hold together; ask the member for a new request",
                    path=path)


def read_request(path: Path, chain_id: str) -> tuple[MemberId, bytes, bytes]:
    """The member, new key and proof of the request at `path`, checked against this chain
    (one line and exit 2 otherwise)."""
    request = read_request_object(path, REQUEST_KIND, Sentence(
        "key.request.not_one", f"{path} is not a key replacement request (one is made by "
        "senim key request-replacement)", path=path))
    fields = hex_fields(request, (("member_id", MEMBER_ID_BYTES),
                                  ("public_key", PUBLIC_KEY_BYTES),
                                  ("possession_proof", SIGNATURE_BYTES)), _damaged(path))
    if request.get("chain_id") != chain_id:
        refuse(Sentence("key.request.other_chain", f"{path} was made for another chain, not "
                        f"this node's ({chain_id})", path=path, chain=chain_id), EXIT_BAD_INPUT)
    member = MemberId(fields["member_id"])
    message = replacement_message(chain_id, member, fields["public_key"])
    if not verify_signature(fields["public_key"], message, fields["possession_proof"]):
        refuse(_damaged(path), EXIT_BAD_INPUT)
    return member, fields["public_key"], fields["possession_proof"]


def new_key_file(path: Path, member: MemberId, label: str,
                 current: bytes | None = None) -> KeyPair:
    """The key in `path`, signing for `member`, or a new one written there (0600) before
    anything is sent: a rotation or a replacement that commits never leaves its member
    without the key it moved to. A key of another member, or the member's `current` one,
    is refused (the ledger refuses one it held before, `key_in_use`)."""
    if not path.exists():
        new = KeyPair.from_seed(KeyPair.generate().seed, member)
        try:
            save_key(path, new, label)
        except OSError as exc:
            refuse(Sentence("key.rotate.unwritable", f"cannot write the new key file {path}: "
                            f"{exc}", path=path, why=os_reason(exc)), EXIT_BAD_INPUT)
        return new
    loaded = load_key_or_fail(path)
    if loaded.public_key == current:
        refuse(Sentence("key.rotate.same", f"{path} holds the current key; give a new key "
                        "file", path=path), EXIT_BAD_INPUT)
    if loaded.member is not None and loaded.member != member:
        refuse(Sentence("key.rotate.other_member", f"{path} is a key of member "
                        f"{loaded.member.hex()}, not of {member.hex()}", path=path,
                        other=loaded.member.hex(), member=member.hex()), EXIT_BAD_INPUT)
    return KeyPair.from_seed(loaded.seed, member)


def request_chain_id(client: NodeClient, out_path: Path) -> str:
    """The chain a request to be written at `out_path` is for, as the node names it; the
    command ended before anything is made if the node cannot say or `out_path` exists."""
    try:
        chain_id = str(client.status()["chain_id"])
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    if out_path.exists() or out_path.is_symlink():
        refuse(Sentence("key.request.exists", f"{out_path} exists; refusing to overwrite it",
                        path=out_path), EXIT_BAD_INPUT)
    return chain_id


def write_request(out_path: Path, request: dict[str, str]) -> None:
    """Write a request file (a replacement's, an admission's) that did not exist: it holds
    no secret, so others may read it."""
    try:
        descriptor = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(request, file, indent=2, ensure_ascii=False)
            file.write("\n")
    except OSError as exc:
        refuse(Sentence("key.request.unwritable", f"cannot write {out_path}: "
                        f"{exc.strerror or exc}", path=out_path, why=os_reason(exc)),
               EXIT_BAD_INPUT)


class _KeyCommand(WordedCommand):
    help_key = "key.request-replacement"  # its --help words: cli.help.key.request-replacement


@click.command("request-replacement", cls=_KeyCommand)
@click.option("--new-key", "new_key_path", required=True, type=click.Path(path_type=Path),
              help="The new key file: created (mode 0600) if it does not exist.")
@click.option("--member", "member", required=True,
              help="Your member id (hex) or name as `senim members` lists it.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="The request file to write (it holds no secret).")
@node_option
@lang_option
def request_replacement_command(new_key_path: Path, member: str, out_path: Path,
                                node_url: str, language: str) -> None:
    """Ask the ministries for a new key, when yours is lost or stolen: your member id stays."""
    client = NodeClient(node_url)
    member_id = resolve_member(client, member, "--member")
    chain_id = request_chain_id(client, out_path)
    new = new_key_file(new_key_path, member_id,
                       f"replacement for member {member_id.hex()[:16]}")
    request = {"kind": REQUEST_KIND, "chain_id": chain_id, "member_id": member_id.hex(),
               "public_key": new.public_key.hex(),
               "possession_proof": prove_replacement(new, chain_id, member_id).hex()}
    write_request(out_path, request)
    echo(Sentence("key.request.done", f"wrote {out_path}: the request to make "
                  f"{new.public_key.hex()} ({new_key_path}) member {member_id.hex()}'s key. "
                  "Give it to a ministry, which proposes it: senim governance propose "
                  f"--action replace-key --request {out_path} [--compromised-from H]",
                  path=out_path, public=new.public_key.hex(), new=new_key_path,
                  member=member_id.hex()))

