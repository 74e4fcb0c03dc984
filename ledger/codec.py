"""Canonical encoding: msgpack of fixed-order arrays, never free-order maps.

The same value always encodes to the same bytes, so hashes and signatures over
encodings are well defined. Decoding has hard limits so a hostile peer cannot
make us allocate more than the message it actually sent.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import msgpack

from ledger.errors import MalformedInput

MAX_DECODE_BYTES = 16 * 1024 * 1024


# One packer per thread, reused: `msgpack.packb` makes a packer with a 1 MiB buffer
# for every call, which cost more than the packing itself (several per transaction).
_packers = threading.local()


def encode(value: Any) -> bytes:
    """Encode arrays, ints, bytes and str canonically (no maps, no floats)."""
    try:
        packer = _packers.packer
    except AttributeError:
        packer = _packers.packer = msgpack.Packer(use_bin_type=True, strict_types=False)
    data: bytes = packer.pack(value)  # resets its buffer afterwards, also when it raises
    return data


def decode(data: bytes, check_types: bool = True, max_arrays: int | None = None,
           max_items: int | None = None) -> Any:
    """Decode canonical bytes; raise MalformedInput on anything else.

    `check_types=False` is for callers that re-encode and compare bytes and
    check every field's type themselves (transactions), so the walk is spent once.
    `max_arrays`: refuse a value holding more arrays than its kind can, as soon as
    that many are built (an empty array is one byte, so 64 KiB would otherwise build
    65,000 lists before the shape is looked at). `max_items`: refuse an array longer
    than its kind's longest at its header, before its items are built (a 2 MiB block
    of small ints in place of its transactions held the engine half a second)."""
    if len(data) > MAX_DECODE_BYTES:
        raise MalformedInput(f"encoded value of {len(data)} bytes exceeds {MAX_DECODE_BYTES}")
    hook: Callable[[list[Any]], list[Any]] | None = None
    if max_arrays is not None:
        built = 0

        def count(array: list[Any]) -> list[Any]:
            nonlocal built
            built += 1
            if built > max_arrays:
                raise MalformedInput(f"more than {max_arrays} arrays in one value")
            return array

        hook = count
    try:
        # use_list=True is the default; passed keywords are each parsed per call
        value = msgpack.unpackb(data, raw=False, strict_map_key=True, list_hook=hook,
                                object_pairs_hook=_no_map,
                                max_array_len=len(data) if max_items is None else max_items)
    except MalformedInput:
        raise
    except ValueError as exc:
        if max_items is not None and "max_array_len" in str(exc):
            raise MalformedInput(f"an array of more than {max_items} items") from exc
        raise MalformedInput(f"not canonical msgpack: {exc}") from exc
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise MalformedInput(f"not canonical msgpack: {exc}") from exc
    except Exception as exc:  # msgpack raises several unrelated types on junk
        raise MalformedInput(f"not canonical msgpack: {type(exc).__name__}") from exc
    if isinstance(value, dict):
        raise MalformedInput("maps are not canonical; expected an array")
    if check_types:
        check_canonical_types(value)
    return value


def _no_map(pairs: list[tuple[Any, Any]]) -> Any:
    """No encoding here holds a map: refused at the first one built, as a frame of ten
    million empty maps (one byte each) otherwise cost seconds and gigabytes before any
    check looked at it."""
    raise MalformedInput("maps are not canonical; expected an array")


def check_canonical_types(value: Any) -> None:
    """Only arrays, ints, bytes, str, bools and nil: no nested maps, floats or ext types."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif not (item is None or isinstance(item, (bool, int, bytes, str))):
            raise MalformedInput(f"{type(item).__name__} values are not canonical")


def tagged_hash(tag: bytes, data: bytes) -> bytes:
    """SHA-256 with a domain tag so a hash of one kind never equals one of another."""
    return hashlib.sha256(tag + b"\x00" + data).digest()
