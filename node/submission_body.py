"""Reading a transaction submission's body without building what it does not hold.

A submission is one transaction or an array of them: msgpack bytes (or an array of
bytes), or JSON {"tx": hex} / {"txs": [hex, ...]}. A general decoder would build
whatever the body spells before its shape could be refused, and a body spells far
more objects than it has bytes: 16 MiB of msgpack `[[], [], ...]` made 16 million
lists (1.3 GB, ten seconds holding the GIL that the engine thread needs). So the
msgpack form is read header by header, taking only byte strings, and the JSON form
is refused before parsing when it holds more values than a submission can.
Transaction gossip from peers is read the same way (`ByteStrings`), a slice at a
time: it was decoded on the event loop, where a member's 2 MiB frames of empty
arrays held it for a second each.
"""

from __future__ import annotations

import itertools
import json
import struct
import sys
from typing import Any

from ledger import json_objects
from ledger.errors import MalformedInput, TxRejected, Unrecognised
from ledger.json_objects import DuplicateKey
from ledger.transactions import Transaction, decode_transaction

MAX_TXS_PER_REQUEST = 20_000
# A submission is decoded and checked in parts: a first small one, in which a forged
# submission shows INVALID_SIGNATURES_PER_SUBMISSION_MAX bad signatures before the
# rest is decoded (20,000 forged transactions were all decoded, envelope-checked and
# handed to a signature child before the first 32 failures stopped it: a few such
# bodies a second took honest commits from 0.1 s to 4.6 s), then larger ones.
FIRST_PART_TXS = 256
LATER_PART_TXS = 4_096
# A JSON submission is an object holding one array: a few brackets, one comma
# between transactions, none in a hex string. Beyond these it is not a submission.
JSON_CONTAINERS_MAX = 8
JSON_COMMAS_MAX = MAX_TXS_PER_REQUEST + 8
_COUNT = f"send 1 to {MAX_TXS_PER_REQUEST} transactions per request"
_SHAPE = "msgpack body must be a transaction or an array of them"
# msgpack headers: (size of the length that follows the type byte, its struct format)
_BIN_LENGTHS = {0xC4: (1, ">B"), 0xC5: (2, ">H"), 0xC6: (4, ">I")}
_ARRAY_LENGTHS = {0xDC: (2, ">H"), 0xDD: (4, ">I")}


def json_of_utf8(body: bytes) -> Any:
    """`json.loads` of a body read as UTF-8 alone (a UTF-8 byte order mark skipped):
    given bytes, `json.loads` guesses UTF-16 and UTF-32 too, which no route reads (RFC
    8259: JSON between systems is UTF-8; node.media_types). Raises as `json.loads` does,
    a UnicodeDecodeError (a ValueError) for a byte that is not UTF-8."""
    return json_objects.loads(body.decode("utf-8-sig"))


def json_problem(exc: ValueError | RecursionError) -> str:
    """Why a body is not JSON, in its sender's terms: where the text breaks off, which
    byte is not UTF-8, a number longer than the node converts (named with the limit);
    never the interpreter's advice to its own programmer (`sys.set_int_max_str_digits`)
    or its codec's name."""
    if isinstance(exc, json.JSONDecodeError):
        return f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return (f"body is not valid JSON: the byte {exc.object[exc.start]:#04x} at offset "
                f"{exc.start} is not UTF-8, which JSON is sent in")
    if isinstance(exc, RecursionError):
        return "body is not valid JSON: nested too deeply"
    if isinstance(exc, DuplicateKey):
        return f"body is not valid JSON for this node: {exc}"
    if "digits" in str(exc):  # int() past the interpreter's limit
        return (f"body is not valid JSON: a number has more than "
                f"{sys.get_int_max_str_digits()} digits")
    return "body is not valid JSON"


def parse_submission(content_type: str, body: bytes) -> tuple[list[bytes], bool]:
    """The encoded transactions of a submission, and whether it was a single one (not
    an array). MalformedInput for anything else, at a cost linear in the body alone."""
    if content_type == "application/msgpack":
        return _msgpack_items(body)
    if body.count(b"[") + body.count(b"{") > JSON_CONTAINERS_MAX:
        raise MalformedInput('JSON body must be {"tx": hex} or {"txs": [hex, ...]}, '
                             "with no other arrays or objects")
    if body.count(b",") > JSON_COMMAS_MAX:
        raise MalformedInput(_COUNT)
    try:
        document = json_of_utf8(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedInput(json_problem(exc)) from exc
    try:
        if isinstance(document, dict) and isinstance(document.get("tx"), str):
            return [bytes.fromhex(document["tx"])], True
        if isinstance(document, dict) and isinstance(document.get("txs"), list):
            if len(document["txs"]) > MAX_TXS_PER_REQUEST:
                raise MalformedInput(_COUNT)
            return [bytes.fromhex(t) for t in document["txs"]], False
    except (TypeError, ValueError) as exc:
        raise MalformedInput("transactions must be hex strings") from exc
    raise MalformedInput('JSON body must be {"tx": hex} or {"txs": [hex, ...]}')


def items_at_most(content_type: str, body: bytes) -> int:
    """How many items `body` can hold at most, read in a few µs without parsing it: the
    count a msgpack array declares (1 for a single byte string, 0 for a body refused at
    its first bytes), or for JSON its commas plus JSON_CONTAINERS_MAX + 1 (more brackets
    are refused before parsing). A JSON value is the first in its container or follows
    a comma, so the values the parser builds are at most twice this (an object's member
    is a key and a value)."""
    if content_type == "application/msgpack":
        if not body:
            return 0
        if body[0] in _BIN_LENGTHS:
            return 1
        if 0x90 <= body[0] <= 0x9F:
            return body[0] & 0x0F
        if body[0] in _ARRAY_LENGTHS and len(body) >= 1 + _ARRAY_LENGTHS[body[0]][0]:
            size, layout = _ARRAY_LENGTHS[body[0]]
            return _length(body, 1, size, layout)
        return 0
    return body.count(b",") + JSON_CONTAINERS_MAX + 1


class ByteStrings:
    """A msgpack array of at most MAX_TXS_PER_REQUEST byte strings (transaction gossip
    from peers has this form), read as `parse_submission` reads one, but a slice at a
    time: the event loop reads a peer's frame between other work (node.network)."""

    __slots__ = ("_data", "_left", "_position", "done")

    def __init__(self, data: bytes) -> None:
        """MalformedInput for anything but an array of at most MAX_TXS_PER_REQUEST."""
        if data and data[0] in _BIN_LENGTHS:
            raise MalformedInput("expected an array of transactions, not one")
        self._data = data
        self._left, self._position = _array_header(data)
        self.done = False  # set by the take that reads the last item
        if not self._left:
            self._end()

    def take(self, count: int) -> list[bytes]:
        """The next `count` items (fewer at the end); MalformedInput where they are no
        byte strings, or where bytes follow the last."""
        left = self._left
        taking = count if count < left else left
        items, self._position = _bins(self._data, self._position, taking)
        self._left = left - taking
        if taking == left:
            self._end()
        return items

    def _end(self) -> None:
        if self._position != len(self._data):
            raise MalformedInput(
                f"{_SHAPE}; {len(self._data) - self._position} bytes follow the array")
        self.done = True


def _msgpack_items(body: bytes) -> tuple[list[bytes], bool]:
    """A msgpack bin, or an array of at most MAX_TXS_PER_REQUEST bins, and nothing after."""
    if body and body[0] in _BIN_LENGTHS:
        item, end = _bin_at(body, 0)
        if end != len(body):
            raise MalformedInput(f"{_SHAPE}; {len(body) - end} bytes follow it")
        return [item], True
    count, position = _array_header(body)
    items, position = _bins(body, position, count)
    if position != len(body):
        raise MalformedInput(f"{_SHAPE}; {len(body) - position} bytes follow the array")
    return items, False


def _array_header(body: bytes) -> tuple[int, int]:
    """The count of a msgpack array of at most MAX_TXS_PER_REQUEST, and where its first
    item starts."""
    if not body:
        raise MalformedInput(_SHAPE)
    first = body[0]
    if 0x90 <= first <= 0x9F:
        count, position = first & 0x0F, 1
    elif first in _ARRAY_LENGTHS:
        size, layout = _ARRAY_LENGTHS[first]
        count, position = _length(body, 1, size, layout), 1 + size
    else:
        raise MalformedInput(_SHAPE)
    if count > MAX_TXS_PER_REQUEST:
        raise MalformedInput(_COUNT)
    return count, position


def _bins(body: bytes, position: int, count: int) -> tuple[list[bytes], int]:
    """`count` byte strings from `position` on, and where the last ends."""
    items = []
    size = len(body)
    for _ in range(count):
        # A transaction (at most MAX_TX_BYTES) is mostly a bin 8 or bin 16: read here,
        # not by two calls an item; anything else, and any fault, by `_bin_at`.
        header = body[position] if position < size else -1
        if header == 0xC4 and position + 2 <= size:
            start = position + 2
            end = start + body[position + 1]
        elif header == 0xC5 and position + 3 <= size:
            start = position + 3
            end = start + (body[position + 1] << 8 | body[position + 2])
        else:
            end = size + 1
        if end <= size:
            items.append(body[start:end])
            position = end
            continue
        item, position = _bin_at(body, position)
        items.append(item)
    return items, position


def _bin_at(body: bytes, position: int) -> tuple[bytes, int]:
    """The byte string whose header starts at `position`, and where it ends."""
    if position >= len(body) or body[position] not in _BIN_LENGTHS:
        raise MalformedInput(f"{_SHAPE}: item at byte {position} is not bytes")
    size, layout = _BIN_LENGTHS[body[position]]
    length = _length(body, position + 1, size, layout)
    start = position + 1 + size
    if start + length > len(body):
        raise MalformedInput(f"{_SHAPE}: the body ends inside the item at byte {position}")
    return body[start:start + length], start + length


def _length(body: bytes, position: int, size: int, layout: str) -> int:
    if position + size > len(body):
        raise MalformedInput(f"{_SHAPE}: the body ends inside a header")
    value: int = struct.unpack_from(layout, body, position)[0]
    return value


def submission_parts(count: int) -> list[tuple[int, int]]:
    """(start, end) of the parts a submission of `count` items is checked in."""
    edges = [0, *range(min(count, FIRST_PART_TXS), count, LATER_PART_TXS), count]
    return [(start, end) for start, end in itertools.pairwise(edges) if end > start]


def decoded_or_refused(data: bytes, id_of_data: bytes | None = None
                       ) -> Transaction | TxRejected:
    """The transaction, or its refusal: `unrecognised` when a later release may define
    what this one does not know (ledger.errors.Unrecognised), else `malformed`.
    `id_of_data`: as `decode_transaction`'s."""
    try:
        return decode_transaction(data, id_of_data)
    except Unrecognised as exc:
        return TxRejected("unrecognised", str(exc), **exc.refusal_params())
    except MalformedInput as exc:
        return TxRejected("malformed", str(exc), **exc.refusal_params())
