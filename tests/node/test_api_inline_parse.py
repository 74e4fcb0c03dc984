"""A small submission body is parsed on the event loop, anything else in the admission
pool (node.api_public: INLINE_PARSE_BYTES_MAX, INLINE_PARSE_TXS_MAX). Seen from outside
through a full pool: a body parsed on the loop is still told why it is malformed, one
sent to the pool is told busy."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from node.api_public import INLINE_PARSE_BYTES_MAX, INLINE_PARSE_TXS_MAX
from node.submission_body import JSON_CONTAINERS_MAX, items_at_most
from storage.kv import MemoryStore
from tests.node.api_server import Client, api_core, serving
from tests.node.conftest import Consortium

JSON = "application/json"
MSGPACK = "application/msgpack"


@pytest.fixture
async def full_pool(net: Consortium) -> AsyncIterator[Client]:
    core = api_core(net.ministry, net.genesis, MemoryStore())
    async with serving(core) as client:
        public = core.public_work
        public._jobs = public.jobs_max  # as if that many checks were running
        try:
            yield client
        finally:
            public._jobs = 0


async def code_of(client: Client, body: bytes, content_type: str) -> tuple[int, Any]:
    response = await client.post("/v1/transactions", data=body,
                                 headers={"Content-Type": content_type})
    return response.status, (await response.json())["error"]["code"]


def empty_bins(count: int, then: bytes = b"") -> bytes:
    """A msgpack array declaring `count` empty byte strings, and `then` after them."""
    return b"\xdc" + struct.pack(">H", count) + b"\xc4\x00" * count + then


def json_padded_to(size: int) -> bytes:
    """A malformed JSON submission (a number for a transaction) of `size` bytes."""
    return b'{"tx": 7}' + b" " * (size - 9)


async def test_a_body_of_inline_parse_bytes_max_is_parsed_on_the_loop(
        full_pool: Client) -> None:
    assert await code_of(full_pool, json_padded_to(INLINE_PARSE_BYTES_MAX), JSON) == (
        400, "malformed")
    assert await code_of(full_pool, json_padded_to(INLINE_PARSE_BYTES_MAX + 1), JSON) == (
        503, "busy")


async def test_a_small_body_of_many_items_is_parsed_in_the_pool(full_pool: Client) -> None:
    """32 KiB held 16,000 empty msgpack byte strings (~2 ms of parsing on the loop) or
    6,500 JSON ones (~0.6 ms): a small body was parsed on the loop whatever it held."""
    most = INLINE_PARSE_TXS_MAX
    assert await code_of(full_pool, empty_bins(most, b"\xc0"), MSGPACK) == (400, "malformed")
    assert await code_of(full_pool, empty_bins(most + 1, b"\xc0"), MSGPACK) == (503, "busy")
    strings = (INLINE_PARSE_BYTES_MAX - 20) // 3
    assert await code_of(full_pool, empty_bins(strings, b"\xc0"), MSGPACK) == (503, "busy")
    # commas: at most INLINE_PARSE_TXS_MAX with JSON_CONTAINERS_MAX + 1, and one more
    commas = most - JSON_CONTAINERS_MAX - 1
    few = b'{"txs": [' + b", ".join([b'""'] * commas) + b', 7]}'
    many = b'{"txs": [' + b", ".join([b'""'] * (commas + 1)) + b', 7]}'
    assert await code_of(full_pool, few, JSON) == (400, "malformed")
    assert await code_of(full_pool, many, JSON) == (503, "busy")


def test_items_at_most_bounds_what_a_body_can_hold() -> None:
    assert items_at_most(MSGPACK, b"") == 0
    assert items_at_most(MSGPACK, b"\xc4\x01x") == 1
    assert items_at_most(MSGPACK, b"\x93") == 3
    assert items_at_most(MSGPACK, b"\xdc\x01") == 0  # its header breaks off: refused at once
    assert items_at_most(MSGPACK, b"\xdd\xff\xff\xff\xff") == 0xFFFFFFFF
    assert items_at_most(MSGPACK, b"\xc0") == 0
    assert items_at_most(JSON, b'{"tx": "00"}') == JSON_CONTAINERS_MAX + 1
    assert items_at_most(JSON, b'{"txs": ["00", "01", "02"]}') == JSON_CONTAINERS_MAX + 3
    assert items_at_most("text/plain", b"[1,2,[3]]") == JSON_CONTAINERS_MAX + 3


async def test_a_chunked_body_is_judged_by_what_arrived(full_pool: Client) -> None:
    """No Content-Length: the body read decides, as for any other."""
    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start:start + 1000]
    for size, expected in ((INLINE_PARSE_BYTES_MAX, (400, "malformed")),
                           (INLINE_PARSE_BYTES_MAX + 1, (503, "busy"))):
        response = await full_pool.post("/v1/transactions", data=chunks(json_padded_to(size)),
                                        headers={"Content-Type": JSON})
        assert "Content-Length" not in response.request_info.headers
        assert (response.status, (await response.json())["error"]["code"]) == expected
