"""Which issued-students registry an issuer's jobs use, wherever their folders are.

A registry found only beside a job's folder (registrar.issued.registry_path_for) ties
it to where the registrar happened to put the job: June's jobs in one place and
September's in another made two registries, and a student in both was issued twice
without a word. A registrar expects one registry per issuing organisation, so the
first job an issuer records names its registry in a small file beside the issuer's key,
which every real run reads anyway (`senim-registry-<member id>.txt`, named by member
id so that a rotated key kept in the same folder finds it). From then on:

- without `--registry`, every job of that issuer uses the registry named there,
  wherever its folder is, and a dry run given `--key` does too;
- a job that would start another registry (`--registry` naming a file that does not
  exist) is refused, naming the one recorded; deleting the file beside the key is the
  deliberate way to start afresh;
- a registry named there that is gone is refused, never silently replaced by an
  empty one (a restored backup, or `--registry NEW` to start a new one, knowingly).

`--registry` naming an existing registry is used as given (the file beside the key is
left as it is), and a registry holding another issuer's jobs is refused
(registrar.issued.IssuedRegistry.claim).
"""

from __future__ import annotations

import os
from pathlib import Path

from cli.spoken import Sentence

POINTER_PREFIX = "senim-registry-"


class RegistryChoiceError(Exception):
    """This job's registry would be another than the issuer's own; the message says which
    (`sentence`: in the registrar's language too)."""

    def __init__(self, sentence: Sentence) -> None:
        super().__init__(str(sentence))
        self.sentence = sentence


def pointer_path(key_path: Path, issuer: str) -> Path:
    return key_path.resolve().parent / f"{POINTER_PREFIX}{issuer}.txt"


def recorded_registry(key_path: Path, issuer: str) -> Path | None:
    """The registry named beside the key for `issuer`, if one is."""
    try:
        text = pointer_path(key_path, issuer).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        pointer = pointer_path(key_path, issuer)
        raise RegistryChoiceError(Sentence(
            "issue.pointer.unreadable", f"cannot read {pointer}, which names this issuer's "
            f"registry: {exc}", path=pointer, why=str(exc))) from exc
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1 or not Path(lines[-1]).is_absolute():
        pointer = pointer_path(key_path, issuer)
        raise RegistryChoiceError(Sentence(
            "issue.pointer.malformed", f"{pointer} should name this issuer's registry by its "
            "full path on one line", path=pointer))
    return Path(lines[0])


def issuer_registry(key_path: Path, issuer: str, given: Path | None) -> Path | None:
    """The registry this issuer's job uses: `given`, or the one recorded beside the key;
    None when neither (the job's folder decides, as before any was recorded). Raises
    RegistryChoiceError when the job would start a second registry or the recorded
    one is gone."""
    recorded = recorded_registry(key_path, issuer)
    pointer = pointer_path(key_path, issuer)
    if recorded is None:
        return given
    if given is not None:
        if given == recorded or given.exists() or not recorded.exists():
            return given
        raise RegistryChoiceError(Sentence(
            "issue.pointer.second", f"this issuer's issued-students registry is {recorded} "
            f"(named in {pointer}); --registry {given} would start a second one, checking "
            f"these students against none of its jobs: leave out --registry (or give "
            f"--registry {recorded}); to start a new registry on purpose, delete {pointer} "
            "first", path=recorded, pointer=pointer, given=given))
    if not recorded.exists():
        raise RegistryChoiceError(Sentence(
            "issue.pointer.gone", f"this issuer's issued-students registry {recorded} (named "
            f"in {pointer}) is gone: restore it from a backup, or give --registry NEW to start "
            "a new one knowing that no student of an earlier job will be found in it",
            path=recorded, pointer=pointer))
    return recorded


def remember_registry(key_path: Path, issuer: str, issuer_name: str, registry: Path
                      ) -> Sentence | None:
    """Name `registry` beside the key unless a registry that exists is named there
    already; a sentence when that could not be done (the job is recorded either way)."""
    pointer = pointer_path(key_path, issuer)
    try:
        named = recorded_registry(key_path, issuer)
    except RegistryChoiceError:
        return None  # a file there that names none well: the registrar's to mend, not ours
    if named is not None and named.exists():
        return None
    text = (f"# The issued-students registry of {issuer_name} (member {issuer}): every\n"
            f"# `senim issue` with this issuer's key uses it, wherever the job's folder is.\n"
            f"{registry.resolve()}\n")
    try:
        if named is None:
            # O_EXCL: two jobs recording at once name one registry, the first one's
            _write_owner_only(pointer, text, os.O_EXCL)
        else:  # the one named is gone, and this job started its successor (--registry)
            spare = pointer.with_name(pointer.name + ".tmp")
            _write_owner_only(spare, text, os.O_TRUNC)
            os.replace(spare, pointer)
    except FileExistsError:
        return None
    except OSError as exc:
        why = exc.strerror or str(exc)
        return Sentence("issue.pointer.unwritten", f"could not name the registry beside the "
                        f"key in {pointer} ({why}): later jobs find it only beside their "
                        "folders", path=pointer, why=why)
    return None


def _write_owner_only(path: Path, text: str, flag: int) -> None:
    """`text` into `path`, mode 0600 whatever the umask (the successor's file as the first)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flag | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)  # a spare left by an earlier try keeps its mode through O_TRUNC
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
