"""Files an operator holds: member key files (mode 0600) and the genesis file.

The ledger works on values; reading and writing them on disk happens here. Every file a
node or a command reads at start is read through `read_bounded` (`storage.bounded_read`),
under a named limit.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import stat
from pathlib import Path
from typing import NamedTuple

from ledger.errors import ConfigError
from ledger.genesis import Genesis, genesis_from_json
from ledger.identity import MEMBER_ID_BYTES, KeyPair, MemberId
from storage.bounded_read import UnfitFile as UnfitFile
from storage.bounded_read import not_regular as not_regular
from storage.bounded_read import read_bounded as read_bounded

KEY_FILE_KIND = "senim-ed25519-key/v1"

# The most each file read at start may hold. A path given by mistake (/dev/zero, a log,
# a disk image) was read whole before it was judged, until memory ran out; these are
# far above what a real one holds. (A node config's: node.config_document.)
KEY_FILE_BYTES_MAX = 64 << 10  # ~300 bytes, with a label of the operator's choosing
# A genesis (and the members file it is made from) of ~200 bytes a member: 16 MiB is
# ~80,000 members, more than every school, college and university of the country.
GENESIS_FILE_BYTES_MAX = 16 << 20
SECRET_FILE_BYTES_MAX = 1 << 20  # the VC token file, a TLS certificate chain or key


def save_key(path: Path, keys: KeyPair, label: str = "") -> None:
    """Write a key file readable by its owner only (0600), refusing to overwrite."""
    document = {
        "kind": KEY_FILE_KIND,
        "label": label,
        "member_id": keys.member_id.hex(),
        "public_key": keys.public_key.hex(),
        "seed": keys.seed.hex(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
    except BaseException:
        # ours (O_EXCL): a key file cut short (a full disk) would be refused as unreadable,
        # and would stop the next try as a file that exists
        path.unlink(missing_ok=True)
        raise


def open_to_others(path: Path, status: os.stat_result | None = None) -> str:
    """How a secret file is open to users other than its owner, in words ('' if not);
    `status`: the file's, when it is open already."""
    mode = (status or path.stat()).st_mode & 0o777
    ways = [way for way, bits in (("readable", 0o044), ("writable", 0o022),
                                  ("executable", 0o011)) if mode & bits]
    if not ways:
        return ""
    return f"{' and '.join(ways)} by other users (mode {mode:04o}, where 0600 is its owner's alone)"


def owned_by_another(path: Path, status: os.stat_result) -> str:
    """Why a secret file owned by a user other than the one running this is refused, with
    the command that fixes it ('' if it is this user's). Its owner may rewrite it, or
    chmod it open, whatever its mode says now: as root, a key owned by a service account
    was the key of whoever holds that account."""
    me = os.geteuid()
    if status.st_uid == me:
        return ""
    return (f"owned by {account(status.st_uid)}, not by {account(me)} who runs this, so that "
            f"account could replace it; chown {user_name(me)} {shlex.quote(str(path))} (or run "
            f"this as {user_name(status.st_uid)})")


def refuse_unsafe_secret(path: Path, status: os.stat_result, field: str, what: str) -> None:
    """ConfigError (naming `field`; `what` is its subject) if the secret file is another
    user's, or open to others; its code and params name the fix's command."""
    foreign = owned_by_another(path, status)
    if foreign:
        raise ConfigError(field, f"{what} is {foreign}", "secret_foreign",
                          owner=account(status.st_uid),
                          fix=f"chown {user_name(os.geteuid())} {shlex.quote(str(path))}")
    loose = open_to_others(path, status)
    if loose:
        fix = f"chmod 600 {shlex.quote(str(path))}"
        raise ConfigError(field, f"{what} is {loose}; {fix}", "secret_open",
                          mode=f"{status.st_mode & 0o777:04o}", fix=fix)
    swappable = open_folder(path)
    if swappable is not None:
        raise ConfigError(field, f"{what} is in {swappable.text}", "secret_folder",
                          folder=str(swappable.folder), fix=swappable.fix)


class OpenFolder(NamedTuple):
    """A folder through which another user could replace a file: said in English (`text`,
    which ends with `fix`), and the command that fixes it."""

    text: str
    folder: Path
    fix: str


def folder_open_to_others(path: Path) -> str:
    """`open_folder`'s words ('' if no folder is open)."""
    found = open_folder(path)
    return "" if found is None else found.text


def open_folder(path: Path) -> OpenFolder | None:
    """Why another user could put a file of their own in the place of `path` through a
    folder above it, with the command that fixes it (None if none could).

    A file's own mode does not stop whoever may write its folder: they rename it away and
    put their key (a key they hold) in its place, or swap the folder itself one level up.
    So every folder above the file, along the path as given and along the path its links
    lead to, must be this user's or root's and writable by no one else. The one exception
    is the sticky bit (/tmp, mode 1777): there only an entry's owner, the folder's owner or
    root may rename or remove it, so in a sticky folder of this user's or root's no one
    else can move this user's file or folder away (and a file another put there first is
    refused as theirs). As OpenSSH's StrictModes does, a group-writable folder is refused
    even when its group holds this user alone: that cannot be told from here.
    """
    me = os.geteuid()
    seen: set[tuple[int, int]] = set()
    absolute, real = Path(os.path.abspath(path)), Path(os.path.realpath(path))
    for folder in (*absolute.parents, *real.parents):  # bounded: the paths' depth
        try:
            status = os.stat(folder)
        except OSError:  # not searchable by this user: then it could not read the file
            continue
        if (status.st_dev, status.st_ino) in seen:
            continue
        seen.add((status.st_dev, status.st_ino))
        folder = Path(os.path.realpath(folder))  # as the fix's command will act on it
        quoted = shlex.quote(str(folder))
        if status.st_uid not in (0, me):
            fix = f"chown {user_name(me)} {quoted}"
            return OpenFolder(f"{folder}, a folder owned by {account(status.st_uid)}, who "
                              f"could replace the file; {fix} (or run this as "
                              f"{user_name(status.st_uid)})", folder, fix)
        mode = status.st_mode
        if mode & 0o022 and not mode & stat.S_ISVTX:
            who = " and ".join(whom for whom, bit in (("its group", 0o020),
                                                      ("every user", 0o002)) if mode & bit)
            fix = f"chmod go-w {quoted}"
            return OpenFolder(f"{folder}, a folder {who} may write (mode "
                              f"{mode & 0o7777:04o}), so another user could replace the "
                              f"file; {fix}", folder, fix)
    return None


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no account here (a file from another machine)
        return str(uid)


def account(uid: int) -> str:
    """A user in words: 'senim (uid 998)', or 'uid 1234' when no account has that uid."""
    name = user_name(uid)
    return f"uid {uid}" if name == str(uid) else f"{name} (uid {uid})"


def load_key(path: Path) -> KeyPair:
    field = str(path)
    try:
        read = read_bounded(path, KEY_FILE_BYTES_MAX, "key file")
        document = json.loads(read.data)
    except FileNotFoundError as exc:
        raise ConfigError(field, "key file not found", "key_missing") from exc
    except UnfitFile as exc:  # it names the path
        raise ConfigError("key file", str(exc), "key_unfit", most=KEY_FILE_BYTES_MAX) from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(field, not_json("key file", exc, "key file", "senim keygen"),
                          "key_kind") from exc
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: [[[[…
        raise ConfigError(field, f"key file unreadable: {exc}", "key_unreadable") from exc
    if not isinstance(document, dict) or document.get("kind") != KEY_FILE_KIND:
        raise ConfigError(field, f"not a Senim key file (expected kind {KEY_FILE_KIND})",
                          "key_kind")
    refuse_unsafe_secret(path, read.status, field, "key file")
    try:
        seed = bytes.fromhex(document["seed"])
        keys = KeyPair.from_seed(seed)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(field, "key file has no valid 32-byte seed", "key_seed") from exc
    if document.get("public_key") != keys.public_key.hex():
        raise ConfigError(field, "public key does not match the seed", "key_mismatch")
    # A rotated key signs for the member id of the member's first key, kept in the file.
    member = document.get("member_id", keys.member_id.hex())
    try:
        member_id = MemberId(bytes.fromhex(member))
    except (ValueError, TypeError) as exc:
        raise ConfigError(field, "key file has a malformed member id", "key_member_id") from exc
    if len(member_id) != MEMBER_ID_BYTES:
        raise ConfigError(field, "key file has a malformed member id", "key_member_id")
    return KeyPair.from_seed(seed, member_id)


def load_genesis(path: Path) -> Genesis:
    try:
        document = json.loads(read_bounded(path, GENESIS_FILE_BYTES_MAX, "genesis file").data)
    except FileNotFoundError as exc:
        raise ConfigError("genesis", f"file not found: {path}", "missing",
                          path=str(path)) from exc
    except UnfitFile as exc:  # it names the path
        raise ConfigError("genesis", str(exc), "unfit", path=str(path),
                          most=GENESIS_FILE_BYTES_MAX,
                          fault="too_large" if exc.too_large else "not_regular") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError("genesis", not_json(str(path), exc, "genesis file",
                                              "senim consortium create"), "genesis_not_json",
                          path=str(path), line=exc.lineno, column=exc.colno) from exc
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: [[[[…
        raise ConfigError("genesis", f"cannot read {path}: {exc}", "unreadable",
                          path=str(path)) from exc
    return genesis_from_json(document)


def not_json(subject: str, exc: json.JSONDecodeError, what: str, maker: str) -> str:
    """A file given as a JSON one that is none: the node config or the members file (TOML)
    named as the genesis, say. Python's own 'Expecting value: line 1 column 2 (char 1)'
    said neither what the file should be nor that it is not JSON at all."""
    return (f"{subject} is not JSON ({exc.msg}, line {exc.lineno} column {exc.colno}): a {what} "
            f"is the JSON file `{maker}` writes")
