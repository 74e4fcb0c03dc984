"""`senim export-vc` (the VC 2.0 branch of `senim verify` is cli.vc_verify)."""

from __future__ import annotations

import ipaddress
import json
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

from cli.client import DEFAULT_NODE, MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import force_option, usable_node_url
from cli.deadline import DeadlinePassed, overall_deadline, timeout_seconds
from cli.errors import EXIT_UNREACHABLE
from cli.job_folder import CREDENTIALS_DIR, credential_files
from cli.language import Words, lang_option
from cli.link_arguments import shown_briefly
from cli.member_names import same_name
from cli.node_answers import RemoteFactsError
from cli.online_verdict import verify_online
from cli.private_files import write_private_json
from cli.remote import RemoteFacts, StateMoved
from cli.spoken import (
    Sentence,
    document_problem,
    echo,
    kind_of,
    not_credential,
    os_reason,
    reason,
    refuse,
    say,
)
from cli.verdict_words import verdict_sentence
from cli.verify_files import (
    DOCUMENT_FILE_BYTES_MAX,
    duplicate_key,
    refuse_out_exists,
    refuse_out_over_input,
    refuse_out_taken,
)
from cli.worded_command import WordedCommand, WordedPath
from ledger import json_objects
from ledger.credential_documents import parse_document
from ledger.errors import ConfigError, InvalidDocument, MalformedInput
from ledger.identity import KeyPair
from ledger.json_objects import DuplicateKey
from ledger.vc.export import to_vc
from ledger.vc.issuer_keys import check_export_key
from node.files import UnfitFile, load_key
from node.files import read_bounded as read_file_bounded

EXIT_INVALID = 1
EXIT_USAGE = 2
VC_DIR = "vc"  # `senim issue --format vc` writes DIR/vc/<folder>/<name>.vc.json


def is_vc_document(document: Any) -> bool:
    """A W3C VC (a JSON object with an @context), as opposed to a native document."""
    return isinstance(document, dict) and "@context" in document and "format" not in document


def batch_keys(node_url: str, issuer: bytes, batch_root: bytes) -> tuple[bytes | None, bytes]:
    """The key that signed the batch (None: the member's first key, for a batch recorded
    before keys could rotate) and the member's current key, both read with state proofs
    against one state root."""
    for _attempt in range(3):
        facts = RemoteFacts(node_url)
        try:
            batch = facts.batch(issuer, batch_root)
            member = facts.member(issuer) if batch is not None else None
        except StateMoved:
            continue
        except MalformedInput as exc:
            raise RemoteFactsError(Sentence("cli.vc.batch_malformed", str(exc))) from exc
        if batch is None or member is None:
            raise RemoteFactsError(Sentence("cli.vc.no_batch"))
        return batch.signer_key, member.public_key
    raise RemoteFactsError(Sentence("cli.vc.batch_moving"))


def write_vc_copies(job_dir: Path, keys: KeyPair, node: NodeClient, height: int) -> Path:
    """A VC 2.0 of each committed credential of an issuing job, beside the native files
    (same folder and name under DIR/vc/, mode 0600); status lists are the node's. Each
    is signed with `keys`, which must be the key that signed the batch."""
    block = node.request("GET", f"/v1/blocks/{height}")
    now_ms = int(time.time() * 1000)
    checked: set[bytes] = set()
    for path in credential_files(job_dir):
        document = json.loads(read_file_bounded(path, DOCUMENT_FILE_BYTES_MAX,
                                                "credential file").data)
        parsed = parse_document(document)
        if parsed.batch_root not in checked:
            check_export_key(keys, parsed.issuer,
                             *batch_keys(node.base_url, parsed.issuer, parsed.batch_root))
            checked.add(parsed.batch_root)
        credential = to_vc(document, keys, node.base_url, height, int(block["time_ms"]),
                           now_ms)
        relative = path.relative_to(job_dir / CREDENTIALS_DIR)
        out = job_dir / VC_DIR / relative.parent / (path.stem + ".vc.json")
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private_json(out, credential, replace=True)  # the job's own, made again
    return job_dir / VC_DIR


# As senim prove's: a few questions, each answered in milliseconds by a node that is up.
EXPORT_TIMEOUT_S = 60.0


def _status_base(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An http(s) URL with a host, and no login, query or fragment: what a verifier
    anywhere fetches the status list from (`file:///etc/passwd` was signed into a VC)."""
    if value is None:
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        usable = (parts.scheme in ("http", "https") and bool(parts.hostname)
                  and "@" not in parts.netloc and not parts.query and not parts.fragment)
        parts.port  # noqa: B018  # a port that is no number raises here
    except ValueError:
        usable = False
    if not usable:
        refuse(Sentence("cli.vc.status_base_unusable", None, url=repr(value)), EXIT_USAGE)
    return value


def only_this_machine(base: str) -> bool:
    """Whether a status list at `base` is one only this machine can fetch."""
    host = urllib.parse.urlsplit(base).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("export-vc", cls=WordedCommand)
@click.argument("file", type=WordedPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path),
              help="The issuer's member key file (the VC is signed with it).")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="The file to write the W3C VC to (mode 0600).")
@force_option
@click.option("--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE",
              callback=usable_node_url,
              show_default="$SENIM_NODE or " + DEFAULT_NODE,
              help="A node to read the batch's block height and time.")
@click.option("--status-base", "status_base", default=None, callback=_status_base,
              help="Public base URL of the node serving status lists [default: --node].")
@lang_option
@click.option("--timeout", "timeout_s", type=timeout_seconds(), default=EXPORT_TIMEOUT_S,
              show_default=True, help="Seconds the node may take to answer, its questions "
              "together; exit 3 past them, and no VC written.")
def export_vc_command(file: Path, key_path: Path, out_file: Path, force: bool,
                      node_url: str, status_base: str | None, language: str,
                      timeout_s: float) -> None:
    """Export a Senim credential (as disclosed) as a W3C VC 2.0 signed by its issuer."""
    refuse_out_over_input(file, out_file, "the VC")
    refuse_out_taken(out_file, force)
    try:
        document = json_objects.loads(read_file_bounded(file, DOCUMENT_FILE_BYTES_MAX,
                                                        "credential").data)
        parsed = parse_document(document)
        keys = load_key(key_path)
    except UnfitFile as exc:  # /dev/zero, a named pipe, a folder, or too large
        refuse(_unfit(file, exc), EXIT_USAGE)
    except DuplicateKey as exc:
        refuse(duplicate_key(file, exc), EXIT_USAGE)
    except (ValueError, UnicodeDecodeError, RecursionError):
        refuse(Sentence("cli.file.not_json", None, path=file), EXIT_USAGE)
    except OSError as exc:
        refuse(Sentence("cli.file.unreadable", None, path=file, why=os_reason(exc)),
               EXIT_USAGE)
    except InvalidDocument as exc:
        refuse(Sentence("cli.file.vc_not_native", None, path=file)
               if is_vc_document(document) else not_credential(file, exc), EXIT_USAGE)
    except ConfigError as exc:
        refuse(Sentence("cli.key.unfit", str(exc), path=key_path), EXIT_USAGE)
    if keys.member_id != parsed.issuer:
        # Said before the node is asked: no answer of its makes another member's key fit
        # (a node down said only that, and the key was refused once the node was back).
        refuse(Sentence("cli.vc.not_exported", f"{key_path}: this key is not the credential's "
                        "issuer: only the issuer may sign its credentials as VCs", key=key_path),
               EXIT_USAGE)
    client = NodeClient(node_url, timeout_s)
    try:
        with overall_deadline(timeout_s) as deadline:  # a node that never answers held it
            # for minutes. The file is checked as `senim verify` checks it first: only the
            # batch was looked up, and the issuer's key signed a diploma a graduate had
            # altered (a grade) or made up (a name, a target and a path) under a real batch.
            verdict, _source = verify_online(document, b"", True, node_url, None, None,
                                             deadline)
            if not verdict.valid:
                said = verdict_sentence(verdict, Words(language))
                refuse(Sentence("cli.vc.not_valid", f"{file} is not exported as a W3C VC: "
                                f"{said}", path=file, verdict=said), EXIT_INVALID)
            issuer_name = _chain_name(file, document["issuer"].get("name"), verdict.facts)
            batch = client.request(
                "GET", f"/v1/batches/{parsed.issuer.hex()}/{parsed.batch_root.hex()}")
            height = int(batch["height"])
            block_time_ms = int(client.request("GET", f"/v1/blocks/{height}")["time_ms"])
            signer_key, current_key = batch_keys(node_url, parsed.issuer, parsed.batch_root)
    except DeadlinePassed:
        refuse(Sentence("cli.error.deadline", host=node_url, seconds=f"{timeout_s:g}"),
               EXIT_UNREACHABLE)
    except (ClientError, RemoteFactsError) as exc:
        refuse(Sentence("cli.vc.batch_unread", None, node=node_url,
                        detail=reason(exc, "cli.node.other", node=node_url)), EXIT_UNREACHABLE)
    except MALFORMED_ANSWER as exc:
        refuse(Sentence("cli.node.malformed_answer", f"{node_url} sent a malformed batch answer "
                        f"({type(exc).__name__}: {exc}): is it a Senim node?", node=node_url),
               EXIT_UNREACHABLE)
    try:
        check_export_key(keys, parsed.issuer, signer_key, current_key)
        credential = to_vc(document, keys, status_base or node_url, height, block_time_ms,
                           int(time.time() * 1000), issuer_name=issuer_name)
    except InvalidDocument as exc:
        refuse(Sentence("cli.vc.not_exported_why", str(exc), path=file,
                        why=document_problem(exc)), EXIT_USAGE)
    try:
        write_private_json(out_file, credential, replace=force)
    except FileExistsError:  # appeared while the node was asked
        refuse_out_exists(out_file)
    except OSError as exc:
        refuse(Sentence("cli.file.unwritable", f"cannot write {out_file}: {exc}", path=out_file,
                        why=os_reason(exc)), EXIT_USAGE)
    echo(Sentence("cli.vc.exported", path=out_file, signer=f"{credential['issuer']['id'][:32]}…",
                  shown=len(parsed.revealed)))
    if only_this_machine(status_base or node_url):
        # a VC handed to an employer abroad, whose revocation no one there can look up
        click.secho(say(Sentence("cli.vc.status_local", None, url=status_base or node_url)),
                    fg="yellow", err=True)


def _chain_name(file: Path, written: object, facts: dict[str, Any]) -> str:
    """The issuer's name as the chain records it (the verdict's "issued by", read from the
    node with the batch), which the VC carries under the issuer's signature; a file naming
    its issuer otherwise is refused. The file's name is in no hash: a holder's "Harvard
    University" in a KazNU diploma still verified, and was signed into the VC other wallets
    show. `senim issue` writes the chain's name and a member's name never changes on chain,
    so a registrar's own file never differs; one that does was edited, which the registrar
    about to sign it is told, rather than given a VC quietly unlike the file.

    `written`: the file's issuer.name as it is there; one that is no text, empty or absent
    is said to name no issuer (not as "None" or ''), and a long or unprintable one is
    shown briefly, as a line repeats what it was given."""
    name = str(facts.get("issuer", ""))
    if not isinstance(written, str) or not written.strip():
        refuse(Sentence("cli.vc.issuer_unnamed", None, path=file, name=name), EXIT_USAGE)
    if not same_name(written, name):
        refuse(Sentence("cli.vc.issuer_name_differs", None, path=file,
                        written=repr(shown_briefly(written)), name=name), EXIT_USAGE)
    return name


def _unfit(file: Path, exc: UnfitFile) -> Sentence:
    """A credential file refused unread (node.files), in words."""
    try:
        mode = file.stat().st_mode
    except OSError:
        mode = 0
    if mode and not stat.S_ISREG(mode):
        return Sentence("cli.file.not_regular", str(exc), path=file, kind=kind_of(mode))
    return Sentence("cli.file.too_large", str(exc), path=file)
