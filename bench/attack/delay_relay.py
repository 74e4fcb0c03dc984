"""Links with a one-way delay, for kernels without `tc netem`.

    python -m bench.attack.delay_relay LISTEN=TARGET,OUT_MS,BACK_MS [...]

Each LINK listens on LISTEN (host:port) and relays every connection to TARGET,
holding each chunk OUT_MS milliseconds on the way there and BACK_MS on the way
back, with a little jitter that never reorders bytes. The network-namespace lab
runs one relay per validator namespace, on the dialling side: a validator dials
its peers through 127.0.0.1 ports, and the relay crosses the real (bridged,
partitionable, lossy) link to the peer. TCP sees the delay as path latency, so
round trips between validators take what the two one-way delays add up to.

Bounded: each direction of a connection queues at most LINK_BUFFER_MAX bytes
before it stops reading, and at most CONNECTIONS_MAX connections are relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

CHUNK_BYTES = 64 * 1024
LINK_BUFFER_MAX = 4 * 1024 * 1024
CONNECTIONS_MAX = 64
JITTER_FRACTION = 0.1


@dataclass(frozen=True)
class Link:
    listen_host: str
    listen_port: int
    target_host: str
    target_port: int
    out_ms: float
    back_ms: float


def parse_link(text: str) -> Link:
    """LISTEN=TARGET,OUT_MS,BACK_MS, e.g. 127.0.0.1:9101=10.77.1.2:9000,10,12."""
    try:
        listen, rest = text.split("=", 1)
        target, out_ms, back_ms = rest.split(",")
        listen_host, listen_port = listen.rsplit(":", 1)
        target_host, target_port = target.rsplit(":", 1)
        return Link(listen_host, int(listen_port), target_host, int(target_port),
                    float(out_ms), float(back_ms))
    except ValueError as exc:
        raise ValueError(f"not a link (LISTEN=TARGET,OUT_MS,BACK_MS): {text!r}") from exc


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay_s: float, rng: random.Random) -> None:
    """Copy reader to writer, each chunk leaving `delay_s` (± jitter) after it came, in order."""
    loop = asyncio.get_running_loop()
    queue: deque[tuple[float, bytes]] = deque()
    queued = 0
    room = asyncio.Event()
    room.set()
    ready = asyncio.Event()
    closed = False

    async def deliver() -> None:
        nonlocal queued
        while True:
            while not queue:
                if closed:
                    return
                ready.clear()
                await ready.wait()
            due, data = queue[0]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            queue.popleft()
            queued -= len(data)
            if queued <= LINK_BUFFER_MAX:
                room.set()
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    last_due = 0.0
    try:
        while True:
            await room.wait()
            data = await reader.read(CHUNK_BYTES)
            if not data:
                break
            jitter = delay_s * JITTER_FRACTION * (2 * rng.random() - 1)
            last_due = max(loop.time() + delay_s + jitter, last_due)
            queue.append((last_due, data))
            queued += len(data)
            if queued > LINK_BUFFER_MAX:
                room.clear()
            ready.set()
    except (ConnectionError, OSError):
        pass
    finally:
        closed = True
        ready.set()
        with contextlib.suppress(ConnectionError, OSError):
            await sender
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.write_eof()


async def _relay(link: Link, inbound_reader: asyncio.StreamReader,
                 inbound_writer: asyncio.StreamWriter, rng: random.Random) -> None:
    try:
        target_reader, target_writer = await asyncio.wait_for(
            asyncio.open_connection(link.target_host, link.target_port), timeout=5.0)
    except (OSError, TimeoutError):
        inbound_writer.close()
        return
    try:
        await asyncio.gather(
            _pump(inbound_reader, target_writer, link.out_ms / 1000, rng),
            _pump(target_reader, inbound_writer, link.back_ms / 1000, rng))
    finally:
        for writer in (inbound_writer, target_writer):
            writer.close()


async def serve(links: list[Link]) -> None:
    rng = random.Random(1)
    open_connections = 0

    def handler(link: Link) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                        Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal open_connections
            if open_connections >= CONNECTIONS_MAX:
                writer.close()
                return
            open_connections += 1
            try:
                await _relay(link, reader, writer, rng)
            finally:
                open_connections -= 1
        return handle

    servers = [await asyncio.start_server(handler(link), link.listen_host, link.listen_port)
               for link in links]
    print(f"relaying {len(servers)} links", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main(argv: list[str]) -> int:
    try:
        links = [parse_link(arg) for arg in argv]
    except ValueError as exc:
        print(f"delay_relay: {exc}", file=sys.stderr)
        return 2
    if not links:
        print("delay_relay: give at least one LISTEN=TARGET,OUT_MS,BACK_MS", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(links))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
