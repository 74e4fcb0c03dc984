"""`senim prove`, `senim disclose`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import force_option, node_option
from cli.deadline import DeadlinePassed, overall_deadline, timeout_seconds
from cli.document_lines import label
from cli.errors import EXIT_UNREACHABLE
from cli.language import Words, lang_option
from cli.private_files import write_private_json
from cli.proving import proof_verdict
from cli.spoken import Sentence, echo, not_credential, os_reason, reason, refuse, spoken
from cli.vc import is_vc_document
from cli.verdict_words import verdict_sentence
from cli.verify_files import (
    load_checked_json,
    load_trusted_genesis,
    refuse_out_exists,
    refuse_out_over_input,
    refuse_out_taken,
)
from cli.worded_command import WordedCommand, WordedPath
from ledger.credential_documents import ParsedDocument, disclose, parse_document
from ledger.credentials import DOCUMENT_FORMATS
from ledger.errors import InvalidDocument, MalformedInput
from ledger.offline import ProofRefused, original_proof_keys, proof_keys
from ledger.records import Accreditation, Batch, Member, Revocation

EXIT_INVALID = 1
DEFAULT_PROVE_TIMEOUT_S = 60.0  # as senim verify's: two questions, answered in milliseconds


@click.command("prove", cls=WordedCommand)
@click.argument("file", type=WordedPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="The file to write the credential with its offline proof to (mode 0600).")
@force_option
@node_option
@lang_option
@click.option("--timeout", "timeout_s", type=timeout_seconds(),
              default=DEFAULT_PROVE_TIMEOUT_S, show_default=True,
              help="Seconds the node may take to answer, both questions together; exit 3 "
                   "past them, and no proof written.")
@click.option("--genesis", "genesis_path", type=WordedPath(exists=True, path_type=Path),
              help="The consortium's genesis file: the proof is checked as every verifier "
                   "will check it, its block's certifiers too, before it is written.")
def prove_command(file: Path, out_file: Path, force: bool, node_url: str, language: str,
                  timeout_s: float, genesis_path: Path | None) -> None:
    """Attach an offline proof to a credential (verifiable later with --offline)."""
    refuse_out_taken(out_file, force)
    genesis = load_trusted_genesis(genesis_path)
    document = load_checked_json(file)
    try:
        doc = parse_document(document)
    except InvalidDocument as exc:
        refuse(_not_a_credential(file, document, exc), 2)
    if genesis is not None and doc.chain_id != genesis.chain_id:
        # The node's genuine proof was called one every verifier would refuse, and the
        # holder sent to another node, when it is the two files that do not go together.
        refuse(Sentence("cli.prove.other_genesis", network=repr(doc.chain_id)[:80],
                        genesis_network=repr(genesis.chain_id)[:80]), 2)
    try:
        with overall_deadline(timeout_s):  # both questions together, as senim verify's
            bundle, height = _fetch_proof(NodeClient(node_url, timeout_s), doc, node_url)
    except DeadlinePassed:
        refuse(Sentence("cli.error.deadline", host=node_url, seconds=f"{timeout_s:g}"),
               EXIT_UNREACHABLE)
    try:
        shown = proof_verdict(document, bundle, genesis)
    except ProofRefused as exc:
        refuse(Sentence("cli.prove.bad_proof", f"no proof written: the proof {node_url} sent "
                        f"would be refused by every verifier ({exc}); ask another node, or "
                        "that node's operator", node=node_url,
                        why=Sentence(f"cli.prove.bad_proof.{exc.code}")), EXIT_UNREACHABLE)
    except MalformedInput as exc:  # a record of a later shape, certified or not
        refuse(Sentence("cli.prove.unreadable_record", f"no proof written: a record in the "
                        f"proof {node_url} sent cannot be read by this release of senim "
                        f"({exc}): a newer release is needed", node=node_url),
               EXIT_UNREACHABLE)
    if not shown.valid:
        words = Words(language)  # the holder is told as a verifier would be
        refuse(Sentence("cli.prove.refused", f"no proof written: as {node_url} records it at "
                        f"block {height}, this credential is {shown.status.upper()}: "
                        f"{shown.reason}", node=node_url, height=height,
                        verdict=verdict_sentence(shown, words)), EXIT_INVALID)
    assert isinstance(document, dict)
    document["proof"] = bundle
    _write_out(out_file, document, force)
    echo(Sentence("cli.prove.written", path=out_file, height=height))


def _fetch_proof(client: NodeClient, doc: ParsedDocument, node_url: str
                 ) -> tuple[dict[str, Any], int]:
    """The node's proof bundle for `doc` (asked twice: the accreditations of the
    credential and of a recognition's original name the ministries whose records and
    keys the proof needs, as do the issuers' records the ministry that admitted either by
    its own `add_member`, and a revocation by the consortium the ministry that proposed
    it, which the verdict names), and the height it holds as of."""
    base = proof_keys(doc.batch_root, doc.issuer, doc.target_hash, [])
    original = original_proof_keys(doc)  # asked whole, so that its places are known
    try:
        first = client.request("POST", "/v1/proofs",
                               {"keys": [k.hex() for k in base + original]})
        entries = [entry["value"] for entry in first["entries"]]
        ministries = _covering_ministries(entries[0], entries[2]) | _admitting(entries[1])
        if original:  # its batch and accreditation follow the credential's own keys
            ministries |= _covering_ministries(entries[len(base)], entries[len(base) + 2])
            ministries |= _admitting(entries[len(base) + 1])
        if entries[3] is not None:
            revoked = Revocation.decode(bytes.fromhex(entries[3]))
            if revoked.by_consortium:
                ministries.add(revoked.revoked_by)
        keys = proof_keys(doc.batch_root, doc.issuer, doc.target_hash, sorted(ministries))
        keys += [k for k in original if k not in keys]
        bundle = client.request("POST", "/v1/proofs", {"keys": [k.hex() for k in keys]})
        height = bundle["height"]
        if not isinstance(height, int) or isinstance(height, bool):
            raise TypeError(f"height is {height!r}")
    except ClientError as exc:
        refuse(reason(exc, "cli.node.other", node=node_url), EXIT_UNREACHABLE)
    except (*MALFORMED_ANSWER, MalformedInput) as exc:
        refuse(Sentence("cli.node.malformed_answer", f"{node_url} sent a malformed proof answer "
                        f"({type(exc).__name__}: {exc}): is it a Senim node?", node=node_url),
               EXIT_UNREACHABLE)
    return bundle, height


def _covering_ministries(batch: str | None, accreditation: str | None) -> set[bytes]:
    """The ministries whose grants cover a batch (hex records as a proof answer gives
    them): each with its key history in the proof, which holds at most MAX_ENTRIES."""
    if batch is None or accreditation is None:
        return set()
    issued = Batch.decode(bytes.fromhex(batch))
    return {g.granted_by for g in Accreditation.decode(bytes.fromhex(accreditation)).grants
            if g.covers(issued.credential_type, issued.height, issued.time_ms)}


def _admitting(member: str | None) -> set[bytes]:
    """The ministry whose own `add_member` admitted a member (hex record as a proof answer
    gives it), whose key history tells whether it was stolen then; none for most."""
    admitted_by = None if member is None else Member.decode(bytes.fromhex(member)).added_by
    return set() if admitted_by is None else {admitted_by}


def _not_a_credential(file: Path, document: Any, exc: InvalidDocument) -> Sentence:
    """Why a file prove or disclose was given is no credential they can work on: a VC
    (export-vc makes it of a credential, which is what these take), or anything else."""
    if isinstance(document, dict) and is_vc_document(document):
        return Sentence("cli.file.vc_not_native", None, path=file)
    if document is None:
        return Sentence("cli.file.not_json", None, path=file)
    return not_credential(file, exc)


def _write_out(out_file: Path, document: Any, force: bool) -> None:
    """A copy of a credential holds its personal data: owner-only, like the original."""
    try:
        write_private_json(out_file, document, replace=force)
    except FileExistsError:  # appeared while the node was asked
        refuse_out_exists(out_file)
    except OSError as exc:
        refuse(Sentence("cli.file.unwritable", f"cannot write {out_file}: {exc}", path=out_file,
                        why=os_reason(exc)), 2)


@click.command("disclose", cls=WordedCommand)
@click.argument("file", type=WordedPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--hide", required=True, help="Comma-separated field names to hide.")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="The file to write the copy with the fields hidden to (mode 0600).")
@force_option
@lang_option
def disclose_command(file: Path, hide: str, out_file: Path, force: bool,
                     language: str) -> None:
    """Write a copy with some fields hidden (only salted hashes kept); it still verifies."""
    refuse_out_over_input(file, out_file, "the copy with fields hidden")
    refuse_out_taken(out_file, force)
    document = load_checked_json(file)
    if not isinstance(document, dict) or is_vc_document(document):
        refuse(_not_a_credential(file, document, InvalidDocument(
            f"{file} is not a credential document (JSON object)", "not_credential",
            formats=", ".join(DOCUMENT_FORMATS))), 2)
    names = list(dict.fromkeys(name.strip() for name in hide.split(",") if name.strip()))
    if not names:  # a copy with nothing hidden, which its holder would take for a safe one
        refuse(Sentence("cli.disclose.nothing"), 2)
    try:
        copy = disclose(document, names)
    except InvalidDocument as exc:
        refuse(_undisclosed(file, document, names, exc), 2)
    words = spoken()  # the fields by the names the document's reader knows them by
    # What the file hid already is no part of what this copy hides: "1 field(s) hidden"
    # was said of a copy identical to its file.
    newly = [name for name in names if "hash" not in document["fields"][name]]
    if not newly:
        refuse(Sentence("cli.disclose.hidden_already", path=file,
                        names=", ".join(_said(words, names))), 2)
    _write_out(out_file, copy, force)
    echo(Sentence("cli.disclose.written", path=out_file, count=len(newly),
                  names=", ".join(_said(words, newly))))


def _said(words: Words, names: list[str]) -> list[str]:
    """Fields as the reader knows them: by name in English, else by their labels."""
    return names if words.language == "en" else [label(words, name) for name in names]


def _undisclosed(file: Path, document: dict[str, Any], names: list[str],
                 exc: InvalidDocument) -> Sentence:
    """Why disclose refused: a field the credential does not have, or no credential."""
    fields = document.get("fields")
    unknown = [n for n in names if isinstance(fields, dict) and n not in fields]
    if unknown:
        return Sentence("cli.disclose.no_field", None, names=", ".join(unknown),
                        known=", ".join(fields) if isinstance(fields, dict) else "")
    return not_credential(file, exc)



