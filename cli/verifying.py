"""`senim verify`, `senim disclose`, `senim revoke`."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import key_option, node_option
from cli.deadline import DeadlinePassed, overall_deadline, timeout_seconds
from cli.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from cli.errors import fail as _fail
from cli.language import Words, lang_option
from cli.proving import proof_verdict
from cli.spoken import (
    Sentence,
    WordedCommand,
    WordedPath,
    echo,
    os_reason,
    reason,
    refuse,
)
from cli.supersede_job import supersede_job
from cli.vc import is_vc_document, write_private
from cli.verdict_words import verdict_sentence
from cli.verify_files import load_checked_json, refuse_out_over_input
from ledger.credential_documents import ParsedDocument, disclose, parse_document
from ledger.errors import ConfigError, InvalidDocument, MalformedInput
from ledger.offline import original_proof_keys, proof_keys
from ledger.payloads import CredentialRef, RevokePayload, checked
from ledger.payloads_credentials import (
    MAX_NOTE_CHARS,
    NOTE_SALT_BYTES,
    REASON_SUPERSEDED,
    REVOCATION_REASONS,
    note_hash,
)
from ledger.records import Accreditation, Revocation
from ledger.vc.anchored import native_of_senim_vc
from node.files import load_key
from storage.batch_tree import audit_path

# Notes live in their own folder beside the credentials, so nothing that lists the
# credential files (diploma-*.json) mistakes a note for a credential.
NOTES_DIR = "revocation-notes"
EXIT_INVALID = 1
ID_PREFIX_HEX_MIN = 8  # a credential's file name shows this much of its id
STUDENT_FIELDS = ("iin", "student_id")  # what tells one holder from another
DEFAULT_PROVE_TIMEOUT_S = 60.0  # as senim verify's: two questions, answered in milliseconds

manifest_option = click.option(
    "--manifest", "manifest_path", type=click.Path(exists=True, path_type=Path),
    help="The batch manifest, when TARGET is a credential id.")


# A retired member signs nothing, its revocations included; the consortium revokes in
# its place (ledger.governance_revocation).
RETIRED_ISSUER_HINT = ("; the consortium revokes a retired member's credentials in its "
                       "place: a ministry proposes it with `senim governance revoke --key "
                       "KEY FILE --reason CODE`, and the others vote")


@click.command("prove", cls=WordedCommand)
@click.argument("file", type=WordedPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path))
@node_option
@lang_option
@click.option("--timeout", "timeout_s", type=timeout_seconds(),
              default=DEFAULT_PROVE_TIMEOUT_S, show_default=True,
              help="Seconds the node may take to answer, both questions together; exit 3 "
                   "past them, and no proof written.")
def prove_command(file: Path, out_file: Path, node_url: str, language: str,
                  timeout_s: float) -> None:
    """Attach an offline proof to a credential (verifiable later with --offline)."""
    document = load_checked_json(file)
    try:
        doc = parse_document(document)
    except InvalidDocument as exc:
        refuse(_not_a_credential(file, document, exc), 2)
    try:
        with overall_deadline(timeout_s):  # both questions together, as senim verify's
            bundle, height = _fetch_proof(NodeClient(node_url, timeout_s), doc, node_url)
    except DeadlinePassed:
        refuse(Sentence("cli.error.deadline", host=node_url, seconds=f"{timeout_s:g}"),
               EXIT_UNREACHABLE)
    shown = proof_verdict(document, bundle)
    if shown is not None and not shown.valid:
        words = Words(language)  # the holder is told as a verifier would be
        refuse(Sentence("cli.prove.refused", f"no proof written: as {node_url} records it at "
                        f"block {height}, this credential is {shown.status.upper()}: "
                        f"{shown.reason}", node=node_url, height=height,
                        verdict=verdict_sentence(shown, words)), EXIT_INVALID)
    assert isinstance(document, dict)
    document["proof"] = bundle
    _write_out(out_file, document)
    echo(Sentence("cli.prove.written", path=out_file, height=height))


def _fetch_proof(client: NodeClient, doc: ParsedDocument, node_url: str
                 ) -> tuple[dict[str, Any], int]:
    """The node's proof bundle for `doc` (asked twice: its accreditation names the
    ministries whose records the proof needs, and a revocation by the consortium the
    ministry that proposed it, which the verdict names), and the height it holds as of."""
    keys = proof_keys(doc.batch_root, doc.issuer, doc.target_hash, [])
    try:
        first = client.request("POST", "/v1/proofs", {"keys": [k.hex() for k in keys]})
        accreditation, revocation = first["entries"][2]["value"], first["entries"][3]["value"]
        ministries = set() if accreditation is None else {
            g.granted_by for g in Accreditation.decode(bytes.fromhex(accreditation)).grants}
        if revocation is not None:
            revoked = Revocation.decode(bytes.fromhex(revocation))
            if revoked.by_consortium:
                ministries.add(revoked.revoked_by)
        keys = proof_keys(doc.batch_root, doc.issuer, doc.target_hash, sorted(ministries))
        keys += [k for k in original_proof_keys(doc) if k not in keys]
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


def _not_a_credential(file: Path, document: Any, exc: InvalidDocument) -> Sentence:
    """Why a file prove or disclose was given is no credential they can work on: a VC
    (export-vc makes it of a credential, which is what these take), or anything else."""
    if isinstance(document, dict) and is_vc_document(document):
        return Sentence("cli.file.vc_not_native", str(exc), path=file)
    if document is None:
        return Sentence("cli.file.not_json", str(exc), path=file)
    return Sentence("cli.file.not_credential", str(exc), path=file)


def _write_out(out_file: Path, document: Any) -> None:
    """A copy of a credential holds its personal data: owner-only, like the original."""
    try:
        write_private(out_file, document)
    except OSError as exc:
        refuse(Sentence("cli.file.unwritable", f"cannot write {out_file}: {exc}", path=out_file,
                        why=os_reason(exc)), 2)


@click.command("disclose", cls=WordedCommand)
@click.argument("file", type=WordedPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--hide", required=True, help="Comma-separated field names to hide.")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path))
@lang_option
def disclose_command(file: Path, hide: str, out_file: Path, language: str) -> None:
    """Write a copy with some fields hidden (only salted hashes kept); it still verifies."""
    refuse_out_over_input(file, out_file, "the copy with fields hidden")
    document = load_checked_json(file)
    if not isinstance(document, dict) or is_vc_document(document):
        refuse(_not_a_credential(file, document, InvalidDocument(
            f"{file} is not a credential document (JSON object)")), 2)
    names = [name.strip() for name in hide.split(",") if name.strip()]
    if not names:  # a copy with nothing hidden, which its holder would take for a safe one
        refuse(Sentence("cli.disclose.nothing"), 2)
    try:
        copy = disclose(document, names)
    except InvalidDocument as exc:
        refuse(_undisclosed(file, document, names, exc), 2)
    _write_out(out_file, copy)
    echo(Sentence("cli.disclose.written", path=out_file, count=len(names),
                  names=", ".join(names)))


def _undisclosed(file: Path, document: dict[str, Any], names: list[str],
                 exc: InvalidDocument) -> Sentence:
    """Why disclose refused: a field the credential does not have, or no credential."""
    fields = document.get("fields")
    unknown = [n for n in names if isinstance(fields, dict) and n not in fields]
    if unknown:
        return Sentence("cli.disclose.no_field", str(exc), names=", ".join(unknown),
                        known=", ".join(fields) if isinstance(fields, dict) else "")
    return Sentence("cli.file.not_credential", str(exc), path=file)


def _revocation_target(target: str, manifest_path: Path | None) -> tuple[CredentialRef, Path]:
    """The credential (from a document, or an id + manifest) and where its note goes."""
    path = Path(target)
    if path.exists():  # no regular file (a folder, /dev/zero) is refused as such
        document = load_checked_json(path)
        # A Senim VC (exported, or issued over the VC-API) names its batch in `senim`.
        if isinstance(document, dict) and is_vc_document(document):
            document = native_of_senim_vc(document)
        doc = parse_document(document)
        ref = CredentialRef(doc.batch_root, doc.target_hash, doc.batch_index,
                            tuple(doc.batch_path))
        return ref, path.parent / NOTES_DIR / f"{path.stem}.json"
    if manifest_path is None:
        raise InvalidDocument(f"{target}: no such file; give a credential file, or an id "
                              "with --manifest")
    manifest = load_checked_json(manifest_path)
    if not isinstance(manifest, dict):
        raise InvalidDocument(f"{manifest_path} is not a batch manifest")
    targets = [bytes.fromhex(t) for t in manifest["target_hashes"]]
    wanted = _credential_id(target, targets, manifest_path)
    index = targets.index(wanted)
    ref = CredentialRef(bytes.fromhex(manifest["batch_root"]), wanted, index,
                        tuple(audit_path(targets, index)))
    return ref, manifest_path.parent / NOTES_DIR / f"{target[:16]}.json"


def _credential_id(target: str, targets: list[bytes], manifest_path: Path) -> bytes:
    """The manifest's id that `target` names: all 64 hex digits, or a start of them that
    only one credential of the batch has, as long as the one its file name shows."""
    text = target.strip().lower()
    if not (ID_PREFIX_HEX_MIN <= len(text) <= 64 and all(c in string.hexdigits for c in text)):
        raise InvalidDocument(
            f"{target!r} is no credential id: give the credential file, or its id as "
            f"{manifest_path} lists it under target_hashes (64 hex digits, or at least the "
            f"first {ID_PREFIX_HEX_MIN}, as its file name shows them: "
            "diploma-00001-<id>.json)")
    found = [t for t in targets if t.hex().startswith(text)]
    if not found:
        raise InvalidDocument(f"credential {target} is not in {manifest_path}")
    if len(found) > 1:
        raise InvalidDocument(f"{len(found)} credentials in {manifest_path} have an id "
                              f"starting {target}: give more of its digits")
    return found[0]


def _keep_note(note: str, note_path: Path, ref: CredentialRef, reason: str) -> bytes:
    """Write the note (with its salt) to a 0600 file the issuer keeps; return its hash.

    Written before anything is submitted, so a note whose hash is on chain is never lost.
    """
    note_path.parent.mkdir(mode=0o700, exist_ok=True)
    salt = os.urandom(NOTE_SALT_BYTES)
    digest = note_hash(note, salt)
    record = {"note": note, "salt": salt.hex(), "note_hash": digest.hex(), "reason": reason,
              "batch_root": ref.batch_root.hex(), "target_hash": ref.target_hash.hex()}
    fd = os.open(note_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return digest


@click.command("revoke")
@key_option("The issuer's member key file.")
@click.argument("target")
@click.option("--reason", required=True, type=click.Choice(list(REVOCATION_REASONS)),
              help="Why, as a code (the chain never holds free text).")
@click.option("--note", default=None, help="Details in words, kept off chain in a 0600 file "
              f"in {NOTES_DIR}/ beside the credential or manifest; only its salted hash goes "
              "on chain.")
@manifest_option
@node_option
def revoke_command(key_path: Path, target: str, reason: str, note: str | None,
                   manifest_path: Path | None, node_url: str) -> None:
    """Revoke a credential (FILE, or ID with --manifest). Only its issuer may."""
    if reason == REASON_SUPERSEDED:
        _fail("a superseded credential is revoked by `senim supersede`, which names the "
              "corrected one", 2)
    _revoke(key_path, target, manifest_path, reason, note, None, node_url)


@click.command("supersede", cls=WordedCommand)
@key_option("The issuer's member key file.")
@click.argument("target", required=False)
@click.option("--by", "replacement_file",
              type=WordedPath(exists=True, dir_okay=False, path_type=Path),
              help="The corrected credential (a file), already issued by you.")
@click.option("--corrections", "corrections_dir",
              type=WordedPath(exists=True, file_okay=False, path_type=Path),
              help="The folder of a job issued with senim issue --corrections: supersede "
                   "every earlier credential it lists by its correction (safe to run again).")
@click.option("--note", default=None, help="What was corrected, kept off chain in a 0600 "
              f"file in {NOTES_DIR}/ beside the credential or manifest; only its salted hash "
              "goes on chain.")
@manifest_option
@node_option
@lang_option
def supersede_command(key_path: Path, target: str | None, replacement_file: Path | None,
                      corrections_dir: Path | None, note: str | None,
                      manifest_path: Path | None, node_url: str, language: str) -> None:
    """Replace a credential (FILE, or ID with --manifest) by a corrected one (--by), or
    every credential a corrections job lists (--corrections DIR).

    The old one then verifies as "superseded by" the new one, not as plainly revoked."""
    if corrections_dir is not None:
        if target or replacement_file or manifest_path or note is not None:
            refuse(Sentence("supersede.usage.corrections_alone", "--corrections DIR takes no "
                            "TARGET, --by, --manifest or --note (each pair's note: senim "
                            "supersede OLD --by NEW --note TEXT)"), EXIT_BAD_INPUT)
        supersede_job(key_path, corrections_dir, node_url)
        return
    if target is None or replacement_file is None:
        refuse(Sentence("supersede.usage.pair", "give the credential to supersede and --by the "
                        "corrected one (or --corrections DIR for every pair a corrections job "
                        "lists)"), EXIT_BAD_INPUT)
    try:
        replacement = parse_document(load_checked_json(replacement_file))
    except InvalidDocument as exc:
        _fail(f"{replacement_file}: {exc}", 2)
        raise
    _refuse_another_students(Path(target), replacement, replacement_file)
    ref = CredentialRef(replacement.batch_root, replacement.target_hash,
                        replacement.batch_index, tuple(replacement.batch_path))
    _revoke(key_path, target, manifest_path, REASON_SUPERSEDED, note, ref, node_url)


def _refuse_another_students(old_path: Path, new: ParsedDocument, new_path: Path) -> None:
    """Refuse a correction that is another student's. The chain holds no names, so it
    took `supersede ALICE --by BOB`, and Alice's diploma then read as 'superseded by' Bob's
    for good. A correction may fix a student's IIN or their id, not both: when each
    identifying field both files show differs, nothing is sent."""
    if not old_path.is_file():
        return  # an id with --manifest shows no values; _revoke reports a missing file
    try:
        document = load_checked_json(old_path)
        if isinstance(document, dict) and is_vc_document(document):
            document = native_of_senim_vc(document)
        old = parse_document(document)
    except (InvalidDocument, MalformedInput, ValueError, KeyError, TypeError):
        return  # _revoke reports what is wrong with it
    shown = [name for name in STUDENT_FIELDS if name in old.revealed and name in new.revealed]
    if shown and all(old.revealed[name] != new.revealed[name] for name in shown):
        said = "; ".join(f"{name} {old.revealed[name]} in {old_path}, {new.revealed[name]} "
                         f"in {new_path}" for name in shown)
        _fail(f"{new_path} is another student's credential ({said}): a correction "
              "replaces the same student's; nothing sent (a credential issued to the wrong "
              "student: senim revoke FILE --reason issued_in_error)", 2)


def _revoke(key_path: Path, target: str, manifest_path: Path | None, reason: str,
            note: str | None, replaced_by: CredentialRef | None, node_url: str) -> None:
    if note is not None and not (note.strip() and len(note) <= MAX_NOTE_CHARS):
        _fail(f"--note must be non-empty text of at most {MAX_NOTE_CHARS} characters", 2)
    try:
        keys = load_key(key_path)
        ref, note_path = _revocation_target(target, manifest_path)
        checked(RevokePayload(ref, reason, None, replaced_by))  # as every node would check it
    except (ConfigError, InvalidDocument, MalformedInput, ValueError, KeyError) as exc:
        _fail(str(exc), 2)
        raise
    client = NodeClient(node_url)
    digest = None
    if note is not None:
        try:
            digest = _keep_note(note, note_path, ref, reason)
        except FileExistsError:
            _fail(f"{note_path} exists: a note for this credential is already kept there", 2)
        except OSError as exc:
            _fail(f"cannot write the note to {note_path}: {exc}", 2)
    try:
        tx = client.make_tx(keys, RevokePayload(ref, reason, digest, replaced_by))
        result = client.submit_and_wait(tx)
    except ClientError as exc:
        if 400 <= exc.status < 500 and note is not None:  # refused: its hash is not on chain
            note_path.unlink(missing_ok=True)
        _fail(f"revocation refused: {exc} ({exc.code})" + (
            RETIRED_ISSUER_HINT if exc.code == "member_retired" else ""))
        raise
    if result["status"] != "committed":
        if result["status"] == "rejected" and note is not None:
            note_path.unlink(missing_ok=True)
        _fail(f"revocation not committed: {result.get('reason', result['status'])}")
    if replaced_by is None:
        click.echo(f"revoked {ref.target_hash.hex()[:16]}… at height {result['height']}: "
                   f"{REVOCATION_REASONS[reason]}")
    else:
        click.echo(f"superseded {ref.target_hash.hex()[:16]}… at height {result['height']}: "
                   f"replaced by {replaced_by.target_hash.hex()[:16]}…")
    if note is not None:
        click.echo(f"note kept off chain in {note_path} (mode 0600); its salted hash is on "
                   "chain")
