"""`senim export-vc` and the VC 2.0 branch of `senim verify`."""

from __future__ import annotations

import http.client
import ipaddress
import json
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli.client import DEFAULT_NODE, MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import force_option, print_verdict, usable_node_url
from cli.deadline import Deadline, DeadlinePassed, overall_deadline, timeout_seconds
from cli.deadline_http import deadline_opener
from cli.document_lines import contents, native_or_as_is
from cli.errors import EXIT_UNREACHABLE
from cli.freshness import check_fresh
from cli.job_folder import CREDENTIALS_DIR, credential_files
from cli.language import Words, lang_option
from cli.online_verdict import verify_online
from cli.private_files import write_private_json
from cli.remote import (
    NODE_RECORD_ERRORS,
    RemoteFacts,
    RemoteFactsError,
    StateMoved,
    UntrustedAnswer,
    read_bounded,
    undecodable,
)
from cli.spoken import (
    Sentence,
    WordedCommand,
    WordedPath,
    document_problem,
    echo,
    kind_of,
    not_credential,
    os_reason,
    reason,
    refuse,
    say,
)
from cli.verdict_words import print_verdict_words, verdict_sentence
from cli.verify_files import (
    DOCUMENT_FILE_BYTES_MAX,
    duplicate_key,
    refuse_out_exists,
    refuse_out_over_input,
    refuse_out_taken,
)
from ledger import json_objects
from ledger.credential_documents import parse_document
from ledger.errors import ConfigError, InvalidDocument, MalformedInput
from ledger.genesis import Genesis
from ledger.identity import KeyPair
from ledger.json_objects import DuplicateKey
from ledger.vc.export import to_vc
from ledger.vc.issuer_keys import check_export_key
from ledger.vc.verify import VcVerdict, verify_vc
from ledger.vc.warning_codes import warning_code
from ledger.verification import Check, when
from node.files import UnfitFile, load_key
from node.files import read_bounded as read_file_bounded
from node.validators import certifies_by_keys

EXIT_INVALID = 1
EXIT_USAGE = 2
MAX_STATUS_LIST_BYTES = 1 << 20
STATUS_TIMEOUT_S = 10.0
# Status lists one verify fetches at most: as many as the node looks up (node.vc_api)
STATUS_FETCHES_MAX = 8
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
                        "issuer: only the issuer may sign its credentials as VCs", path=file),
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
                           int(time.time() * 1000))
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


def fetched_at_most(fetch: Callable[[str], dict[str, Any] | None],
                    most: int = STATUS_FETCHES_MAX) -> Callable[[str], dict[str, Any] | None]:
    """`fetch`, each URL asked once and at most `most` URLs in all (a list past them is
    said not checked): a document's status entries name the hosts this machine asks, and
    300 of them made 300 requests."""
    fetched: dict[str, dict[str, Any] | None] = {}

    def lookup(url: str) -> dict[str, Any] | None:
        if url not in fetched:
            if len(fetched) >= most:
                return None
            fetched[url] = fetch(url)
        return fetched[url]
    return lookup


def fetch_status_list(url: str, deadline: Deadline | None = None) -> dict[str, Any] | None:
    """A status list credential over HTTP(S), bounded in size and time (within the
    command's `deadline`, when it has one)."""
    if not url.startswith(("http://", "https://")):
        return None
    left = STATUS_TIMEOUT_S if deadline is None else min(STATUS_TIMEOUT_S, deadline.left())
    try:
        # The URL is the credential's: its host may trickle header lines, which only a
        # deadline on every read ends off the main thread (cli.deadline_http).
        with deadline_opener(time.monotonic() + left).open(url, timeout=left) as response:
            listed = json.loads(read_bounded(response, url, MAX_STATUS_LIST_BYTES, left))
    except (urllib.error.URLError, OSError, ValueError, RecursionError, RemoteFactsError,
            http.client.HTTPException):
        return None
    return listed if isinstance(listed, dict) else None


def _unfit(file: Path, exc: UnfitFile) -> Sentence:
    """A credential file refused unread (node.files), in words."""
    try:
        mode = file.stat().st_mode
    except OSError:
        mode = 0
    if mode and not stat.S_ISREG(mode):
        return Sentence("cli.file.not_regular", str(exc), path=file, kind=kind_of(mode))
    return Sentence("cli.file.too_large", str(exc), path=file)


# cli/words' key of each warning's code (ledger.vc.warning_codes)
WARNING_KEYS = {"status_list_unchecked": "cli.vc.list_unchecked",
                "status_list_not_issuers": "cli.vc.list_not_issuers",
                "chain_not_checked": "cli.vc.chain_not_checked",
                "key_not_tied": "cli.vc.key_not_tied", "status_type_unknown": "cli.vc.status_type",
                "list_only": "cli.vc.list_only", "holder_not_subject": "cli.vc.holder_not_subject"}


def vc_warning(warning: str) -> Sentence:
    """A warning of ledger.vc.verify, in words."""
    code, url = warning_code(warning)
    if url is not None:
        return Sentence(WARNING_KEYS[code], warning, url=url)
    return Sentence(WARNING_KEYS.get(code, "cli.vc.warning"), warning)


def unconfirmed(verdict: VcVerdict) -> VcVerdict:
    """A VC with a good signature that no Senim chain records is no confirmed credential:
    anyone can sign one, naming any university, with a key of their own. The VC-API still
    says it verifies (that is all a W3C verifier promises); an employer is told otherwise,
    as the portal tells it, and gets exit 1."""
    detail = ("not recorded on the Senim network: only its signature was checked, and anyone "
              "can sign a credential with a key of their own, so neither its issuer nor its "
              "contents are confirmed")
    verdict.checks.append(Check("senim", False, detail))
    verdict.valid, verdict.status = False, "unconfirmed"
    verdict.reason = f"valid signature by {verdict.issuer[:40]}…, but {detail}"
    return verdict


def verify_vc_file(document: Any, shown: str, node_url: str, as_json: bool,
                   genesis: Genesis | None = None, max_age_s: float | None = None,
                   deadline: Deadline | None = None, words: Words | None = None,
                   link_note: Sentence | None = None) -> None:
    """`senim verify` on a VC 2.0: the standard checks, then Senim's against a node; with
    `genesis`, the node's answer is checked as a light client checks it (cli.remote).
    `shown`: the file's name, or what a link's document is called, as the verdict names it;
    `link_note`: said after the source, for a link's document."""
    now = datetime.now(tz=UTC)
    certified = certifies_by_keys(genesis.chain_id) if genesis else None
    verdict: VcVerdict | None = None
    for _attempt in range(3):
        facts = RemoteFacts(node_url, certified=certified, genesis=genesis, deadline=deadline)
        try:
            chain_id = None if "senim" not in document else (
                genesis.chain_id if genesis else facts.get_json("/v1/status")["chain_id"])
            verdict = verify_vc(document, now, facts if chain_id else None, chain_id,
                                fetched_at_most(lambda url: fetch_status_list(url, deadline)))
        except StateMoved:
            continue
        except UntrustedAnswer as exc:
            verdict = VcVerdict(False, "untrusted", f"the node's answer cannot be trusted: "
                                f"{exc}", [Check("certified", False, str(exc))],
                                facts=exc.verdict_facts(node_url))
        except NODE_RECORD_ERRORS as exc:
            refuse(undecodable(exc, node_url), EXIT_UNREACHABLE)
        except RemoteFactsError as exc:
            refuse(Sentence("cli.vc.chain_unchecked", None, node=node_url,
                            detail=reason(exc, "cli.node.other", node=node_url)),
                   EXIT_UNREACHABLE)
        break
    if verdict is None:
        refuse(Sentence("cli.node.moving"), EXIT_UNREACHABLE)
    if deadline is not None:
        deadline.settle()
    if verdict.valid and "senim" not in document:
        verdict = unconfirmed(verdict)
    if verdict.status == "expired" and verdict.facts.get("validity") == "not_yet_valid":
        verdict.status = "not_yet_valid"  # the VC-API's "expired" stands for either end
    words = words or Words("en")
    after = [f"{words.t('cli.vc.note')}: {say(vc_warning(warning))}"
             for warning in verdict.warnings]
    if facts.state_root is not None:
        after.append(f"{words.t('cli.source')}: {say(facts.described())}")
    if link_note is not None:
        after.append(say(link_note))
    native = native_or_as_is(document)
    if facts.header is not None:
        verdict.facts["as_of_height"] = facts.header.height
        verdict.facts["as_of_time"] = when(facts.header.time_ms)
        verdict = check_fresh(verdict, facts.header.time_ms, max_age_s)
    # after the freshness check: a stale answer confirms no contents (they were listed)
    after += contents(words, verdict.status, verdict.facts, native)
    if as_json:
        click.echo(json.dumps({"file": shown, **verdict.to_json()}, indent=2,
                              ensure_ascii=False))
    else:
        # A file refused before its issuer was read names none.
        about = " " + (words.t("cli.vc.about_issuer", issuer=verdict.issuer) if verdict.issuer
                       else words.t("cli.vc.about"))
        if words.language == "en":
            print_verdict(verdict, f"{shown}{about}", after)
        else:
            print_verdict_words(verdict, words, verdict_sentence(verdict, words),
                                f"{shown}{about}", native, after)
    sys.exit(0 if verdict.valid else EXIT_INVALID)
