"""`senim revoke` and `senim supersede`: an issuer withdraws a credential, or replaces it
by a corrected one (one pair, or every pair a corrections job lists: cli/supersede_job.py),
each line said in the registrar's language (--lang, or the locale; cli.spoken)."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path
from typing import NoReturn

import click

from cli.client import COMMIT_WAIT_S, ClientError, NodeClient
from cli.commands import Ending, committed, key_option, key_refusal, node_option
from cli.errors import EXIT_BAD_INPUT, EXIT_PENDING, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.language import lang_option
from cli.refusals import refused_why
from cli.spoken import Sentence, echo, reason, refuse
from cli.supersede_job import supersede_job
from cli.vc import is_vc_document
from cli.verify_files import load_checked_json
from cli.worded_command import WordedCommand, WordedPath
from ledger.credential_documents import ParsedDocument, parse_document
from ledger.errors import ConfigError, InvalidDocument, MalformedInput
from ledger.payloads import CredentialRef, RevokePayload, checked
from ledger.payloads_credentials import (
    MAX_NOTE_CHARS,
    NOTE_SALT_BYTES,
    REASON_SUPERSEDED,
    REVOCATION_REASONS,
    note_hash,
)
from ledger.vc.anchored import native_of_senim_vc
from node.files import load_key
from storage.batch_tree import audit_path

# Notes live in their own folder beside the credentials, so nothing that lists the
# credential files (diploma-*.json) mistakes a note for a credential.
NOTES_DIR = "revocation-notes"
ID_PREFIX_HEX_MIN = 8  # a credential's file name shows this much of its id
STUDENT_FIELDS = ("iin", "student_id")  # what tells one holder from another
manifest_option = click.option(
    "--manifest", "manifest_path", type=click.Path(exists=True, path_type=Path),
    help="The batch manifest, when TARGET is a credential id.")


# A retired member signs nothing, its revocations included; the consortium revokes in
# its place (ledger.governance_revocation).
RETIRED_ISSUER_HINT = ("; the consortium revokes a retired member's credentials in its "
                       "place: a ministry proposes it with `senim governance revoke --key "
                       "KEY FILE --reason CODE`, and the others vote")




class _Refused(InvalidDocument):
    """A target that names no credential, said in the registrar's language."""

    def __init__(self, sentence: Sentence) -> None:
        super().__init__(str(sentence))
        self.sentence = sentence


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
        raise _Refused(Sentence("revoke.no_file", f"{target}: no such file; give a "
                                "credential file, or an id with --manifest", target=target))
    manifest = load_checked_json(manifest_path)
    if not isinstance(manifest, dict):
        raise _Refused(Sentence("revoke.not_a_manifest", f"{manifest_path} is not a batch "
                                "manifest", path=manifest_path))
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
        raise _Refused(Sentence(
            "revoke.no_id", f"{target!r} is no credential id: give the credential file, or its "
            f"id as {manifest_path} lists it under target_hashes (64 hex digits, or at least "
            f"the first {ID_PREFIX_HEX_MIN}, as its file name shows them: "
            "diploma-00001-<id>.json)", target=target, path=manifest_path,
            digits=ID_PREFIX_HEX_MIN))
    found = [t for t in targets if t.hex().startswith(text)]
    if not found:
        raise _Refused(Sentence("revoke.not_in_manifest", f"credential {target} is not in "
                                f"{manifest_path}", target=target, path=manifest_path))
    if len(found) > 1:
        raise _Refused(Sentence("revoke.ambiguous_id", f"{len(found)} credentials in "
                                f"{manifest_path} have an id starting {target}: give more of "
                                "its digits", count=len(found), path=manifest_path,
                                target=target))
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


@click.command("revoke", cls=WordedCommand)
@key_option("The issuer's member key file.")
@click.argument("target")
@click.option("--reason", required=True, type=click.Choice(list(REVOCATION_REASONS)),
              help="Why, as a code (the chain never holds free text).")
@click.option("--note", default=None, help="Details in words, kept off chain in a 0600 file "
              f"in {NOTES_DIR}/ beside the credential or manifest; only its salted hash goes "
              "on chain.")
@manifest_option
@node_option
@lang_option
def revoke_command(key_path: Path, target: str, reason: str, note: str | None,
                   manifest_path: Path | None, node_url: str, language: str) -> None:
    """Revoke a credential (FILE, or ID with --manifest). Only its issuer may."""
    if reason == REASON_SUPERSEDED:
        refuse(Sentence("revoke.use_supersede", "a superseded credential is revoked by `senim "
                        "supersede`, which names the corrected one"), EXIT_BAD_INPUT)
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
        refuse(Sentence("revoke.unusable", f"{replacement_file}: {exc}", path=replacement_file,
                        why=reason(exc, "supersede.unusable", why=str(exc))), EXIT_BAD_INPUT)
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
        values = "; ".join(f"{name}: {old.revealed[name]} / {new.revealed[name]}"
                           for name in shown)
        refuse(Sentence("revoke.another_student", f"{new_path} is another student's credential "
                        f"({said}): a correction replaces the same student's; nothing sent (a "
                        "credential issued to the wrong student: senim revoke FILE --reason "
                        "issued_in_error)", path=new_path, values=values), EXIT_BAD_INPUT)


def _revoke(key_path: Path, target: str, manifest_path: Path | None, why: str,
            note: str | None, replaced_by: CredentialRef | None, node_url: str) -> None:
    """`why`: the reason code."""
    if note is not None and not (note.strip() and len(note) <= MAX_NOTE_CHARS):
        refuse(Sentence("revoke.note", f"--note must be non-empty text of at most "
                        f"{MAX_NOTE_CHARS} characters", max=MAX_NOTE_CHARS), EXIT_BAD_INPUT)
    try:
        keys = load_key(key_path)
        ref, note_path = _revocation_target(target, manifest_path)
        checked(RevokePayload(ref, why, None, replaced_by))  # as every node would check it
    except ConfigError as exc:
        refuse(key_refusal(key_path, exc), EXIT_BAD_INPUT)
    except (InvalidDocument, MalformedInput, ValueError, KeyError) as exc:
        refuse(reason(exc, "revoke.target", why=str(exc)), EXIT_BAD_INPUT)
    client = NodeClient(node_url)
    digest = None
    if note is not None:
        try:
            digest = _keep_note(note, note_path, ref, why)
        except FileExistsError:
            refuse(Sentence("revoke.note_exists", f"{note_path} exists: a note for this "
                            "credential is already kept there", path=note_path), EXIT_BAD_INPUT)
        except OSError as exc:
            refuse(Sentence("revoke.note_unwritable", f"cannot write the note to {note_path}: "
                            f"{exc}", path=note_path, why=exc.strerror or str(exc)),
                   EXIT_BAD_INPUT)
    ending = _RevocationEnding(note_path if note is not None else None)
    try:
        tx = client.make_tx(keys, RevokePayload(ref, why, digest, replaced_by))
    except ClientError as exc:  # nothing was sent
        ending.untaken(exc, client)
    height = int(committed(client, tx, ending, COMMIT_WAIT_S)["height"])
    old = ref.target_hash.hex()[:16]
    if replaced_by is None:
        echo(Sentence("revoke.done", f"revoked {old}… at height {height}: "
                      f"{REVOCATION_REASONS[why]}", old=old, height=height,
                      why=Sentence(f"reason.{why}")))
    else:
        new = replaced_by.target_hash.hex()[:16]
        echo(Sentence("revoke.superseded", f"superseded {old}… at height {height}: replaced "
                      f"by {new}…", old=old, height=height, new=new))
    if note is not None:
        echo(Sentence("revoke.note_kept", f"note kept off chain in {note_path} (mode 0600); its "
                      "salted hash is on chain", path=note_path))


class _RevocationEnding(Ending):
    """How `senim revoke` and `senim supersede` end for a revocation that did not commit.
    Its note (`note_path`) is removed only when its hash cannot be on chain: the node did
    not take the revocation (cli.client_answers.not_taken) or rejected it; while it may still
    commit, it is kept, as the hash on chain would name a note no one has."""

    def __init__(self, note_path: Path | None) -> None:
        super().__init__("revocation", note_path)

    def refused(self, exc: ClientError, client: NodeClient) -> NoReturn:
        retired = exc.code == "member_retired"
        refuse(Sentence("revoke.refused_retired" if retired else "revoke.refused",
                        f"revocation refused: {exc} ({exc.code})"
                        + (RETIRED_ISSUER_HINT if retired else ""),
                        why=refused_why(exc), code=exc.code), EXIT_REFUSED)

    def not_confirmed(self, english: str, why: Sentence) -> NoReturn:
        """Ends the command for a revocation that may still commit, its note kept (exit 3)."""
        said = Sentence("tx.not_confirmed", f"revocation not confirmed: {english}",
                        what=self.said, why=why)
        if self.written is None:
            refuse(said, EXIT_UNREACHABLE)
        refuse(Sentence("revoke.not_confirmed_note_kept", f"{said}; the note {self.written} is "
                        "kept, as its hash goes on chain if the revocation commits (check with "
                        "senim verify)", said=said, path=self.written), EXIT_UNREACHABLE)

    def pending(self) -> NoReturn:
        if self.written is None:
            super().pending()
        refuse(Sentence("revoke.pending_note_kept", f"revocation not committed yet (pending); "
                        f"the note {self.written} is kept, as its hash goes on chain if the "
                        "revocation commits (check with senim verify)", path=self.written),
               EXIT_PENDING)

    def not_committed(self, english: str, why: Sentence) -> NoReturn:
        refuse(Sentence("revoke.not_committed", f"revocation not committed: {english}",
                        why=why), EXIT_REFUSED)
