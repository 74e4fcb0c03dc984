"""`senim verify`: a credential, an anchored document, a W3C VC or presentation, checked
against a node or several at once (cli.several_nodes; each answer checked against genesis
with --genesis) or, --offline, against the proof the credential carries; the verdict in the
reader's language (--lang), within one deadline for the whole command (--timeout)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.check_words import employment_standing, print_verdict_words
from cli.client import DEFAULT_NODE
from cli.commands import print_verdict
from cli.deadline import DeadlinePassed, Seconds, overall_deadline, timeout_seconds
from cli.document_lines import contents
from cli.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from cli.freshness import check_fresh, old_answer_note
from cli.language import Words, lang_option
from cli.link_arguments import LinkCommand, shown_briefly
from cli.named_issuer import caution
from cli.node_answers import UnnamedNode, shown_node
from cli.online_verdict import as_of_block, node_verdict
from cli.remote import certifiers
from cli.several_nodes import VERIFY_NODES_MAX, judged, node_urls
from cli.share_links import LinkUnfit, is_link, link_alone, read_link, same_node
from cli.spoken import Moment, Sentence, echo, printable, refuse, say
from cli.vc import is_vc_document
from cli.vc_verify import DOCUMENT_ALONE, no_node_gave, verify_vc_file
from cli.verdict_words import verdict_sentence
from cli.verify_files import (
    file_digest,
    is_credential,
    load_checked_json,
    load_trusted_genesis,
    unreadable,
    unreadable_kind,
)
from cli.vp import is_presentation, verify_vp_file
from cli.worded_command import WordedPath
from ledger.errors import InvalidDocument, MalformedInput
from ledger.offline import OfflineFacts
from ledger.verification import (
    Check,
    Verdict,
    checked_alone,
    verify_credential,
    when,
)
from node.validators import certifies_by_keys

EXIT_INVALID = 1
# A check asks a node a dozen questions at most (a set-change walk a few pages more), each
# answered in milliseconds by a working node; a minute leaves room for a slow link.
DEFAULT_VERIFY_TIMEOUT_S = 60.0


def _verify_offline(document: Any, genesis_path: Path | None,
                    max_age_s: float | None = None) -> tuple[Verdict, str | None, Sentence]:
    """The verdict from the credential's own proof, the code of the proof's refusal
    (ledger.offline.ProofRefused), which the verdict's sentence is said from, and the
    verdict's source in words."""
    if genesis_path is None:
        refuse(Sentence("cli.usage.offline_genesis"), EXIT_BAD_INPUT)
    genesis = load_trusted_genesis(genesis_path)
    assert genesis is not None
    failed = failed_alone(document)
    if failed is not None:  # altered: said so, whatever its proof is worth
        return failed, None, alone_source(failed)
    bundle = document.get("proof") if isinstance(document, dict) else None
    try:
        facts = OfflineFacts(bundle, genesis, certifies_by_keys(genesis.chain_id))
        verdict = verify_credential(document, facts, genesis.chain_id)
    except (InvalidDocument, MalformedInput) as exc:
        # MalformedInput: a record the certified root vouches for, of a later shape
        said, code = ((str(exc), getattr(exc, "code", "proof_malformed"))
                      if isinstance(exc, InvalidDocument) else
                      (f"a record in the proof cannot be read ({exc}): a proof made by a "
                       "newer release needs that release to be checked", "proof_malformed"))
        return (Verdict(False, "unproven", f"cannot verify offline: {said}", "offline proof",
                        [Check("offline_proof", False, said)]),
                code, Sentence("check.offline_proof"))
    verdict.source = facts.describe()
    source = Sentence("cli.source.offline", verdict.source, height=facts.header.height,
                      when=Moment(when(facts.header.time_ms)),
                      certifiers=certifiers(facts.certified_from, facts.set_changes))
    as_of_block(verdict, facts.header)
    return check_fresh(verdict, facts.header.time_ms, max_age_s), None, source


def failed_alone(document: Any) -> Verdict | None:
    """The verdict of a credential that fails the checks it needs no chain for (it reads
    as one, its fields match its hash, its audit path leads to its batch root:
    ledger.verification.checked_alone), or None when it passes them. Asked before any node
    or proof: a document with a byte changed was called unreachable with the node down."""
    verdict, passed = checked_alone(document, DOCUMENT_ALONE)
    if passed is not None:
        return None
    if verdict.status == "newer_format":
        verdict.source = str(alone_source(verdict))
    return verdict


def alone_source(verdict: Verdict) -> Sentence:
    """The source of a verdict from the document's own checks. One in a format newer than
    this senim reads is not said to be past what any node could change: its reason sends
    the reader to an updated senim, which can check it."""
    return Sentence("cli.source.document_newer" if verdict.status == "newer_format" else
                    "cli.source.document_alone")


@dataclass(frozen=True)
class Asked:
    """What the verifier gave a presentation's holder to sign (--challenge, --domain)."""
    challenge: str | None
    domain: str | None


# A file holding a link rather than a document: the link saved to a text file. A link
# carries a document of at most 4 MiB, its base64url under 6 MB.
LINK_FILE_BYTES_MAX = 8 << 20


def link_in_file(path: Path) -> str | None:
    """The text of `path` when it is no JSON and is one link carrying a document and
    nothing else (cli.share_links.link_alone), to be read as the link given as the argument
    is; else None, and the file is checked as an anchored document. A genuine diploma's
    link saved to a file was "no record of this file on the Senim chain"; but a text with
    words around a link (an order citing a URL, a letter) is a document of its own."""
    try:
        if not path.is_file() or path.stat().st_size > LINK_FILE_BYTES_MAX:
            return None
        data = path.read_bytes()
        # Notepad's "Unicode" is UTF-16 with its byte order mark; else UTF-8, BOM or none
        text = data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        json.loads(text)
        return None  # a credential, or other JSON: checked as the file it is
    except (ValueError, RecursionError):
        pass
    return text if link_alone(text) else None


class FileOrLink(WordedPath):
    """A credential file, or a link from `senim share` or the holder's page (kept as text)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and is_link(value):
            return value
        return super().convert(value, param, ctx)


@click.command("verify", cls=LinkCommand)
@click.argument("file", metavar="FILE|LINK",
                type=FileOrLink(exists=True, dir_okay=False, path_type=Path))
@click.option("--node", "nodes", multiple=True, envvar="SENIM_NODE", callback=node_urls,
              default=(DEFAULT_NODE,), metavar="URL", show_default="$SENIM_NODE or " + DEFAULT_NODE,
              help="URL of a node's HTTP API. Give --node again (or several URLs in "
                   "$SENIM_NODE, separated by commas or spaces), up to "
                   f"{VERIFY_NODES_MAX}, to ask them all at once: the verdict is read from the "
                   "newest certified state among them, and where they differ it is said. "
                   "Not with --offline, which asks no node: a --node given with it is "
                   "refused (one left in $SENIM_NODE is not asked).")
@click.option("--offline", is_flag=True,
              help="Use the proof inside the document (see `senim prove`); no node needed.")
@click.option("--genesis", "genesis_path", type=WordedPath(exists=True, path_type=Path),
              envvar="SENIM_GENESIS",
              help="The genesis file you trust. Online, the node's answer is then checked "
                   "against the certificates of the validator set followed from it through "
                   "every change; --offline needs it.")
@click.option("--max-age", "max_age_s", type=Seconds(min=0), default=None,
              help="Refuse (as stale) an answer that holds as of a block older than this "
                   "many seconds. Needs --genesis online.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a machine-readable verdict (JSON, the same in every language).")
@click.option("--challenge", default=None,
              help="For a W3C presentation: the challenge you gave its holder to sign; "
                   "without it, a presentation made for someone else passes too.")
@click.option("--domain", default=None,
              help="For a W3C presentation: the domain you gave its holder to sign for.")
@click.option("--timeout", "timeout_s", type=timeout_seconds(),
              default=DEFAULT_VERIFY_TIMEOUT_S, show_default=True,
              help="Seconds the whole check may take, every request to the nodes together. "
                   "One node that has not answered by then is reported unreachable (exit 3); "
                   "of several, one not answered by then is said and left out, and exit 3 "
                   "only if none answered. Not used with --offline, which asks no one.")
@lang_option
def verify_command(file: Path | str, nodes: list[str], offline: bool, genesis_path: Path | None,
                   max_age_s: float | None, as_json: bool, challenge: str | None,
                   domain: str | None, timeout_s: float, language: str) -> None:
    """Check a credential (or an anchored document) step by step. Exit 0 only if valid.

    LINK: a link from `senim share` or the holder's page; the document it carries is
    checked against --node (or offline), never against the node the link opens, which
    whoever sent the link chose."""
    if offline:
        refuse_node_given_offline(click.get_current_context(), nodes)
    words = Words(language)
    asked = Asked(challenge, domain)
    read_from = None  # the file a link was read out of
    if isinstance(file, Path):
        link = link_in_file(file)
        file, read_from = (link, file) if link is not None else (file, None)
    try:
        if isinstance(file, str):
            _verify_link(file, nodes, offline, genesis_path, max_age_s, as_json, timeout_s,
                         words, asked, read_from)
        else:
            _verify(file, nodes, offline, genesis_path, max_age_s, as_json, timeout_s, words,
                    asked)
    except DeadlinePassed:
        refuse(Sentence("cli.error.deadline", host=", ".join(map(shown_node, nodes)),
                        seconds=f"{timeout_s:g}"), EXIT_UNREACHABLE)


def refuse_node_given_offline(ctx: click.Context, nodes: list[str]) -> None:
    """--node typed beside --offline, refused before anything is read: the node was left
    unasked and named nowhere, so a credential revoked since its proof was made was said
    VALID to an officer who had named the node that records the revocation. A node left
    in $SENIM_NODE is not refused: set once for every command, it would make --offline
    unusable, and no one named it for this check. --timeout given with --offline stays
    ignored, as its help says: it only bounds a wait there is none of, and misleads no one
    about what the verdict rests on.

    Each option is said as what it does for a Senim credential file, whose proof --offline
    checks: a W3C VC carries none, and advice to drop --node led it to a second refusal
    (cli.usage.offline_vc). A --node typed with no URL in it (`--node ''`) named none: the
    default it stands for is not offered as a node to ask, as the user never named it."""
    if ctx.get_parameter_source("nodes") is not click.core.ParameterSource.COMMANDLINE:
        return
    if all(isinstance(node, UnnamedNode) for node in nodes):
        refuse(Sentence("cli.usage.offline_node_unnamed"), EXIT_BAD_INPUT)
    refuse(Sentence("cli.usage.offline_node", None, node=", ".join(map(shown_node, nodes))),
           EXIT_BAD_INPUT)


def _verify_link(value: str, nodes: list[str], offline: bool, genesis_path: Path | None,
                 max_age_s: float | None, as_json: bool, timeout_s: float, words: Words,
                 asked: Asked, read_from: Path | None = None) -> None:
    """The link's document, in a file only this user can read (it holds personal data),
    checked as a file is; the verdict names the link's node, says when another was asked,
    and that the link was read out of `read_from` when it was (the officer gave a file, and
    is told its link's document, not its text, is what was checked)."""
    try:
        link = read_link(value)
    except LinkUnfit as exc:
        refuse(exc.sentence, EXIT_BAD_INPUT)
    try:
        carried = json.loads(link.document)
    except (ValueError, RecursionError):
        carried = None
    if not (is_credential(carried) or is_vc_document(carried)):
        # A link carries a credential or a VC only; anything else was damaged on its way,
        # and is no anchored document to look up either.
        refuse(Sentence("cli.link.damaged", None, origin=link.origin), EXIT_BAD_INPUT)
    with tempfile.TemporaryDirectory(prefix="senim-link-") as folder:
        path = Path(folder) / "document.json"
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(link.document)
        elsewhere = not offline and not any(same_node(link.origin, node) for node in nodes)
        shown = Sentence("cli.link.shown", None, origin=link.origin)
        notes = [] if read_from is None else [
            Sentence("cli.link.read_from_file", None, file=printable(str(read_from)))]
        if link.words_after:  # a letter's words after the link on its line
            notes.append(Sentence("cli.link.words_after_left_out", None,
                                  words=shown_briefly(link.words_after)))
        if elsewhere:
            notes.append(Sentence("cli.link.checked_here", None, origin=link.origin,
                                  node=", ".join(map(shown_node, nodes))))
        if as_json:  # stdout stays the verdict's JSON alone: what was read, on stderr
            for note in notes:
                if note.key != "cli.link.checked_here":
                    echo(note, err=True, named=True)
        # --json is the same in every language: its "file" in English, as a file's path is
        _verify(path, nodes, offline, genesis_path, max_age_s, as_json, timeout_s, words,
                asked, shown=str(shown) if as_json else say(shown), link_notes=notes)


def _verify(file: Path, nodes: list[str], offline: bool, genesis_path: Path | None,
            max_age_s: float | None, as_json: bool, timeout_s: float, words: Words,
            asked: Asked, shown: str | None = None, link_notes: Sequence[Sentence] = ()
            ) -> None:
    """The deadline runs only while the node is asked: offline nothing is, and the files
    are read before (hashing a large anchored file is no wait for the node, and was
    reported as one, exit 3). It has ended before the verdict is printed.

    `shown`: what the verdict calls the document (the file's name unless said);
    `link_notes`: said after the verdict's source, for a link's document."""
    shown = shown or str(file)
    document = load_checked_json(file)
    if max_age_s is not None and genesis_path is None:
        refuse(Sentence("cli.usage.max_age_genesis"), EXIT_BAD_INPUT)
    if is_vc_document(document) and offline:
        refuse(Sentence("cli.usage.offline_vc"), EXIT_BAD_INPUT)
    presentation = is_vc_document(document) and is_presentation(document)
    if (asked.challenge is not None or asked.domain is not None) and not presentation:
        refuse(Sentence("cli.usage.challenge_vp", None, path=shown), EXIT_BAD_INPUT)
    if presentation:
        genesis = load_trusted_genesis(genesis_path)
        with overall_deadline(timeout_s) as deadline:
            verify_vp_file(document, shown, nodes, as_json, genesis, max_age_s, deadline,
                           words, asked.challenge, asked.domain, link_notes)
    if is_vc_document(document) and not offline:
        genesis = load_trusted_genesis(genesis_path)
        with overall_deadline(timeout_s) as deadline:
            verify_vc_file(document, shown, nodes, as_json, genesis, max_age_s, deadline,
                           words, link_notes)
    refusal = None
    node_notes: list[Sentence] = []  # what the other nodes asked said otherwise
    nodes_json: dict[str, object] = {}  # each node's answer, when several were asked
    other_network = False  # the document's network is not the --genesis file's
    kind = unreadable_kind(file, document, offline) if offline else None
    # Online, a --genesis file that cannot be used is said before any verdict, as offline
    # (_verify_offline) and for a VC: a changed diploma's verdict hid it.
    genesis = None if offline else load_trusted_genesis(genesis_path)
    if kind is not None:
        verdict = unreadable(file, document, offline=True)
        assert verdict is not None
        source = Sentence("cli.source.file", verdict.source)
    elif offline:
        verdict, refusal, source = _verify_offline(document, genesis_path, max_age_s)
    elif (failed := failed_alone(document) if is_credential(document) else None) is not None:
        verdict, source = failed, alone_source(failed)
        nodes_json = {"nodes_not_asked": [shown_node(node) for node in nodes]}
        link_notes = no_node_gave(link_notes)
    else:
        credential = is_credential(document)
        digest = b"" if credential else file_digest(file)  # once, however often asked
        with overall_deadline(timeout_s) as deadline:
            judgement = judged(lambda node: node_verdict(
                document, digest, credential, node, genesis, max_age_s, deadline),
                nodes, genesis is not None, deadline)
        verdict, source = judgement.shown.verdict, judgement.shown.source
        node_notes, nodes_json = judgement.notes, judgement.json_fields
        # "unknown to this node's network" would send the officer to another node, when it
        # is the genesis file given that names another network
        other_network = genesis is not None and any(
            check.name == "network" and not check.ok for check in verdict.checks)
        on_chain = verdict.status != "unknown" and any(
            check.name == "anchored" for check in verdict.checks)  # a record, if doubted
        if not verdict.valid and not on_chain:  # no chain records these bytes as anchored
            kind = unreadable_kind(file, document, False)
            verdict = unreadable(file, document, False, verdict.source) or verdict
    old = old_answer_note(verdict.facts)
    named = caution(verdict)  # a file naming another issuer than its recorder
    noted = [say(note) for note in [*link_notes, *node_notes, *([old] if old else []),
                                    *([named] if named else [])]]
    if as_json:
        click.echo(json.dumps({"file": shown, **verdict.to_json(), **nodes_json}, indent=2,
                              ensure_ascii=False))
    elif words.language == "en":
        print_verdict(verdict, shown, [
            f"source: {verdict.source}", *noted,
            *contents(words, verdict.status, verdict.facts, document)])
    else:
        sentence = (words.t("cli.status.other_genesis") if other_network else
                    verdict_sentence(verdict, words, unreadable=kind, proof_refusal=refusal)
                    + employment_standing(verdict, words, document))
        print_verdict_words(verdict, words, sentence, shown, document,
                            [f"{words.t('cli.source')}: {say(source)}", *noted,
                             *contents(words, verdict.status, verdict.facts, document)])
    sys.exit(0 if verdict.valid else EXIT_INVALID)
