"""The delaying relay that stands in for netem: bytes arrive in order and late."""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.attack.delay_relay import Link, parse_link, serve

OUT_MS, BACK_MS = 15.0, 25.0


def test_a_link_is_parsed_or_refused_with_its_text() -> None:
    assert parse_link("127.0.0.1:9101=10.77.1.2:9000,10,12") == Link(
        "127.0.0.1", 9101, "10.77.1.2", 9000, 10.0, 12.0)
    with pytest.raises(ValueError, match="not a link"):
        parse_link("127.0.0.1:9101->10.77.1.2:9000")


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(4096):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.mark.asyncio
async def test_round_trips_take_both_delays_and_bytes_keep_their_order() -> None:
    target = await asyncio.start_server(_echo, "127.0.0.1", 0)
    target_port = target.sockets[0].getsockname()[1]
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    relay_port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    relay = asyncio.create_task(serve([Link("127.0.0.1", relay_port, "127.0.0.1", target_port,
                                            OUT_MS, BACK_MS)]))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", relay_port)
                break
            except OSError:
                assert time.monotonic() < deadline, "the relay never listened"
                await asyncio.sleep(0.05)
        round_trips = []
        for n in range(8):
            started = time.monotonic()
            writer.write(bytes([n]) * 3)
            await writer.drain()
            echoed = await asyncio.wait_for(reader.readexactly(3), 10)
            round_trips.append((time.monotonic() - started) * 1000)
            assert echoed == bytes([n]) * 3
        payload = bytes(range(256)) * 1024
        writer.write(payload)
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(len(payload)), 10) == payload
        # Jitter is at most 10% each way, so no round trip can beat 90% of the sum.
        assert min(round_trips) >= 0.9 * (OUT_MS + BACK_MS), round_trips
        writer.close()
    finally:
        relay.cancel()
        target.close()
