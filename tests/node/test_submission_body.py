"""A submission's body is read for what a submission holds, and nothing it spells is
built first: a body of empty arrays is refused without allocating them."""

from __future__ import annotations

import json
import re
import struct
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.codec import encode
from ledger.errors import MalformedInput
from node.submission_body import MAX_TXS_PER_REQUEST, ByteStrings, _bin_at, parse_submission

MSGPACK = "application/msgpack"
TX_A, TX_B = b"\x96" + bytes(40), bytes(300)


def test_msgpack_forms_of_one_and_many() -> None:
    assert parse_submission(MSGPACK, encode(TX_A)) == ([TX_A], True)
    assert parse_submission(MSGPACK, encode([TX_A, TX_B])) == ([TX_A, TX_B], False)
    many = [bytes([i % 256]) * 70_000 for i in range(20)]  # bin32 items, array16
    assert parse_submission(MSGPACK, encode(many)) == (many, False)
    as_array32 = b"\xdd" + struct.pack(">I", 2) + encode(TX_A) + encode(TX_B)
    assert parse_submission(MSGPACK, as_array32) == ([TX_A, TX_B], False)
    assert parse_submission(MSGPACK, encode([])) == ([], False)  # refused later, by count


@pytest.mark.parametrize("body", [
    b"", encode([[TX_A]]), encode([TX_A, "text"]), encode([TX_A]) + b"\x00",
    encode([TX_A, TX_B])[:-1], b"\xdd\x00\x00", encode(7), encode(TX_A) + b"\xc0",
    encode([TX_A] * (MAX_TXS_PER_REQUEST + 1)),
])
def test_msgpack_other_shapes_refused(body: bytes) -> None:
    with pytest.raises(MalformedInput):
        parse_submission(MSGPACK, body)


def _read_by_bin_at(body: bytes) -> list[bytes]:
    """An array's items read by `_bin_at` alone: what the loop reading bin 8 and bin 16
    headers itself must answer (or refuse) exactly as."""
    count, position = (body[0] & 0x0F, 1) if 0x90 <= body[0] <= 0x9F else (
        struct.unpack_from(">H", body, 1)[0], 3)
    items = []
    for _ in range(count):
        item, position = _bin_at(body, position)
        items.append(item)
    if position != len(body):
        raise MalformedInput(f"{len(body) - position} bytes follow the array")
    return items


# Items as bin 8, bin 16 or bin 32, or as other values; cut anywhere
_ITEM = (st.binary(max_size=300).map(encode)
         | st.binary(max_size=40).map(lambda b: b"\xc5" + struct.pack(">H", len(b)) + b)
         | st.sampled_from([1, 258, 513]).map(lambda n: b"\xc5" + struct.pack(">H", n) + bytes(n))
         | st.binary(max_size=40).map(lambda b: b"\xc6" + struct.pack(">I", len(b)) + b)
         | st.sampled_from([b"\xc4", b"\xc5\x00", b"\xc4\xff", b"\xc5\xff\xff", b"\xc0", b"\x90"]))


def _array(items: list[bytes], count_error: int, array16: bool, cut: int) -> bytes:
    """`items` under an array header counting `count_error` more (or fewer) than it holds,
    as an array 16 or the shortest header, less its last `cut` bytes (not into the header)."""
    count = max(0, len(items) + count_error)
    head = b"\xdc" + struct.pack(">H", count) if array16 or count > 15 else bytes([0x90 | count])
    body = head + b"".join(items)
    return body[:len(body) - cut] if cut < len(body) - len(head) else body


@settings(max_examples=1000, deadline=None)
@given(st.lists(_ITEM, max_size=20), st.integers(min_value=-3, max_value=3),
       st.booleans(), st.integers(min_value=0, max_value=40))
def test_an_array_of_items_is_read_as_bin_at_reads_each(
        items: list[bytes], count_error: int, array16: bool, cut: int) -> None:
    body = _array(items, count_error, array16, cut)
    try:
        expected = _read_by_bin_at(body)
    except MalformedInput as exc:
        with pytest.raises(MalformedInput, match=f"{re.escape(str(exc))}$"):
            parse_submission(MSGPACK, body)
        return
    assert parse_submission(MSGPACK, body) == (expected, False)


def _in_steps(body: bytes, step: int) -> list[bytes]:
    frame = ByteStrings(body)
    items: list[bytes] = []
    while not frame.done:
        items += frame.take(step)
    return items


@settings(max_examples=1000, deadline=None)
@given(st.lists(_ITEM, max_size=20), st.integers(min_value=-3, max_value=3),
       st.integers(min_value=0, max_value=40), st.integers(min_value=1, max_value=7))
def test_gossip_read_a_step_at_a_time_is_read_as_a_submission(
        items: list[bytes], count_error: int, cut: int, step: int) -> None:
    """Transaction gossip is read a few items at a time (the event loop does other work
    between steps): it takes, and refuses, exactly what a submission's array is."""
    body = _array(items, count_error, True, cut)
    try:
        expected = _read_by_bin_at(body)
    except MalformedInput as exc:
        with pytest.raises(MalformedInput, match=f"{re.escape(str(exc))}$"):
            _in_steps(body, step)
        return
    assert _in_steps(body, step) == expected


def test_gossip_holds_at_most_max_txs_per_request_and_no_single_transaction() -> None:
    at_limit = encode([TX_A] * MAX_TXS_PER_REQUEST)
    assert _in_steps(at_limit, 256) == [TX_A] * MAX_TXS_PER_REQUEST
    assert _in_steps(encode([]), 256) == []
    # Refused by its header, before any item is read.
    over = b"\xdd" + struct.pack(">I", MAX_TXS_PER_REQUEST + 1) + encode(TX_A)
    for refused in (over, encode(TX_A), encode([]) + b"\x00", b""):
        with pytest.raises(MalformedInput):
            ByteStrings(refused)


def test_json_forms() -> None:
    assert parse_submission("application/json", json.dumps({"tx": TX_A.hex()}).encode()) \
        == ([TX_A], True)
    body = json.dumps({"txs": [TX_A.hex()] * MAX_TXS_PER_REQUEST}).encode()
    assert parse_submission("application/json", body) == ([TX_A] * MAX_TXS_PER_REQUEST, False)
    for bad in (b"[1]", b'{"txs": [1]}', b'{"tx": "zz"}', b"{", b'{"txs": [[], []]}' * 1):
        with pytest.raises(MalformedInput):
            parse_submission("application/json", bad)


def _peak_bytes(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(MalformedInput):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


COUNT = 2_000_000  # 2 MB; a general decoder built 2 million values (over 100 MB)


@pytest.mark.parametrize(("content_type", "body"), [
    (MSGPACK, b"\xdd" + struct.pack(">I", COUNT) + b"\x90" * COUNT),
    ("application/json", b'{"txs": [' + b"[]," * (COUNT // 3) + b"[]]}"),
    ("application/json", b'{"txs": [' + b'"",' * (COUNT // 3) + b'""]}'),
], ids=["msgpack-empty-arrays", "json-empty-arrays", "json-empty-strings"])
def test_a_body_of_many_values_is_refused_without_building_them(content_type: str,
                                                                 body: bytes) -> None:
    assert _peak_bytes(lambda: parse_submission(content_type, body)) < 4 << 20
