"""Canonical msgpack primitives shared by messages, certificates and the safety state.

Every value is a msgpack array in a fixed field order. Decoding is strict: the
bytes must re-encode to exactly themselves, so each value has one encoding and
signatures can be checked over re-encoded bytes.
"""

from enum import IntEnum
from typing import NoReturn

import msgpack

from consensus.config import MAX_VALIDATORS
from consensus.errors import MalformedMessage

DOMAIN_TAG = b"senim/consensus/v1"
MAX_UINT = 2**63 - 1
# Arrays in one decoded value, refused as soon as one more is built. The largest
# message, a NewView, holds about n * (2n + 3) (n view changes, each with a prepare
# certificate of up to n signatures): some 2,000 for 31 validators, 20,000 for 100.
# An empty array is one byte, so a 4 MiB frame from a validator would otherwise
# build 4 million lists on the engine thread before its shape is looked at.
MAX_ARRAYS = 65_536


class Kind(IntEnum):
    """The tag in front of every consensus message; part of what is signed."""

    PRE_PREPARE = 1
    PREPARE = 2
    COMMIT = 3
    VIEW_CHANGE = 4
    NEW_VIEW = 5
    COMMIT_PROOF = 6


def pack(value: object) -> bytes:
    # msgpack.packb's own body, without its Python frame (a vote costs several packs); a
    # Packer a call, as packb makes, since one shared would be shared between threads.
    packed: bytes = msgpack.Packer(use_bin_type=True).pack(value)
    return packed


def unpack_canonical(data: bytes, what: str) -> object:
    """Decode `data`, refusing anything that is not the canonical encoding of its value."""
    if not isinstance(data, bytes):
        fail(f"{what}: expected bytes, got {type(data).__name__}")
    built = 0

    def count(array: list[object]) -> list[object]:
        nonlocal built
        built += 1
        if built > MAX_ARRAYS:
            fail(f"{what}: more than {MAX_ARRAYS} arrays")
        return array

    try:
        # No message holds an array longer than a validator set, nor any map: refused at
        # once, as a frame of millions of small ints or empty maps (a byte each) otherwise
        # cost a second of the engine and hundreds of megabytes before any check.
        # An array takes at least a byte, so data no longer than MAX_ARRAYS cannot build
        # more of them: it is not counted, which spares a call an array on every vote.
        value: object = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True,
                                        list_hook=count if len(data) > MAX_ARRAYS else None,
                                        object_pairs_hook=_no_map,
                                        max_array_len=MAX_VALIDATORS)
        canonical = pack(value)
    except MalformedMessage:
        raise
    except _MapFound:
        fail(f"{what}: holds a map; no message does")
    except ValueError as exc:
        if "max_array_len" in str(exc):
            fail(f"{what}: an array of more than {MAX_VALIDATORS} items (no message has arrays "
                 "longer than a validator set)")
        raise MalformedMessage(f"{what}: not valid msgpack ({type(exc).__name__})") from exc
    except Exception as exc:  # msgpack raises many unrelated types on junk input
        raise MalformedMessage(f"{what}: not valid msgpack ({type(exc).__name__})") from exc
    if canonical != data:
        fail(f"{what}: not in canonical encoding")
    return value


class _MapFound(Exception):
    """Raised by `_no_map` out of the unpacker, and said with the value's name."""


def _no_map(pairs: list[tuple[object, object]]) -> object:
    # one function for every call: a closure made for each message cost the hot path
    raise _MapFound


def signing_bytes(chain_id: bytes, encoded_message: bytes) -> bytes:
    """What a signature covers: domain tag, chain id (length-prefixed) and the message.

    The message starts with its kind, so a signature for one chain or one kind
    of message is never valid for another.
    """
    return DOMAIN_TAG + pack(chain_id) + encoded_message


def encode_commit_fields(view: int, height: int, digest: bytes, time_ms: int) -> bytes:
    """A Commit's encoding; a commit certificate signs exactly this, per signer."""
    return pack([int(Kind.COMMIT), view, height, digest, time_ms])


def fail(reason: str) -> NoReturn:
    raise MalformedMessage(reason)


def as_list(
    value: object, what: str, length: int | None = None, max_length: int = 0
) -> list[object]:
    if not isinstance(value, list):
        fail(f"{what}: expected an array, got {type(value).__name__}")
    if length is not None and len(value) != length:
        fail(f"{what}: expected {length} fields, got {len(value)}")
    if max_length and len(value) > max_length:
        fail(f"{what}: at most {max_length} entries allowed, got {len(value)}")
    return value


def as_uint(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(f"{what}: expected an integer, got {type(value).__name__}")
    if not 0 <= value <= MAX_UINT:
        fail(f"{what}: {value} is out of range")
    return value


def as_bytes(value: object, what: str, min_length: int, max_length: int) -> bytes:
    if not isinstance(value, bytes):
        fail(f"{what}: expected bytes, got {type(value).__name__}")
    if not min_length <= len(value) <= max_length:
        fail(f"{what}: length {len(value)} is outside {min_length}..{max_length}")
    return value
