"""Files an operator holds: member key files (mode 0600) and the genesis file.

The ledger works on values; reading and writing them on disk happens here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ledger.errors import ConfigError
from ledger.genesis import Genesis, genesis_from_json
from ledger.identity import MEMBER_ID_BYTES, KeyPair, MemberId

KEY_FILE_KIND = "senim-ed25519-key/v1"


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


def open_to_others(path: Path) -> str:
    """How a secret file is open to users other than its owner, in words ('' if not)."""
    mode = path.stat().st_mode & 0o777
    ways = [way for way, bits in (("readable", 0o044), ("writable", 0o022),
                                  ("executable", 0o011)) if mode & bits]
    if not ways:
        return ""
    return f"{' and '.join(ways)} by other users (mode {mode:04o}, where 0600 is its owner's alone)"


def load_key(path: Path) -> KeyPair:
    field = str(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(field, "key file not found") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(field, f"key file unreadable: {exc}") from exc
    if not isinstance(document, dict) or document.get("kind") != KEY_FILE_KIND:
        raise ConfigError(field, f"not a Senim key file (expected kind {KEY_FILE_KIND})")
    loose = open_to_others(path)
    if loose:
        raise ConfigError(field, f"key file is {loose}; chmod 600 {path}")
    try:
        seed = bytes.fromhex(document["seed"])
        keys = KeyPair.from_seed(seed)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(field, "key file has no valid 32-byte seed") from exc
    if document.get("public_key") != keys.public_key.hex():
        raise ConfigError(field, "public key does not match the seed")
    # A rotated key signs for the member id of the member's first key, kept in the file.
    member = document.get("member_id", keys.member_id.hex())
    try:
        member_id = MemberId(bytes.fromhex(member))
    except (ValueError, TypeError) as exc:
        raise ConfigError(field, "key file has a malformed member id") from exc
    if len(member_id) != MEMBER_ID_BYTES:
        raise ConfigError(field, "key file has a malformed member id")
    return KeyPair.from_seed(seed, member_id)


def load_genesis(path: Path) -> Genesis:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError("genesis", f"file not found: {path}") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError("genesis", f"cannot read {path}: {exc}") from exc
    return genesis_from_json(document)
