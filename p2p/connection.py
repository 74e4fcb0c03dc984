"""The p2p module that touches asyncio streams (`p2p.listener` accepts sockets for them).

`secure_connection` runs the handshake over a StreamReader/StreamWriter under one
deadline and returns a `SecureConnection`; nothing the peer sends is handed up
before the handshake has authenticated it and `is_allowed` has accepted its key.
After that, frames are read and written with deadlines so a silent or slow peer
cannot hold a connection (or our memory) forever.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from p2p import handshake
from p2p.errors import (
    ConnectionClosed,
    HandshakeOverRate,
    HostUnresolved,
    P2PError,
    PeerTimeout,
)
from p2p.frames import (
    DEFAULT_MAX_FRAME_BYTES,
    LENGTH_PREFIX_BYTES,
    Frame,
    FrameOpener,
    FrameSealer,
)
from p2p.read_deadline import ReadDeadline
from p2p.socket_state import other_end_gone

Address = tuple[str, int]


def shown(address: Address) -> str:
    """host:port as an operator writes it: an IPv6 host in brackets ([::1]:9000)."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
# An honest handshake is two flights; anything slower is holding a slot it should not.
HANDSHAKE_TIMEOUT_S = 2.0
IO_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 1.0
RESOLVE_TIMEOUT_S = 5.0
# StreamReader buffer: large enough that big frames do not pause the socket per 64 KiB.
STREAM_LIMIT_BYTES = 1024 * 1024
# The most one read takes from the stream. Whole frames in it are opened at once, so a
# burst of small frames costs one wait, not two (prefix, body) a frame; what is read past
# the last whole frame waits for the next read, at most a frame's maximum plus this.
READ_CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class HandshakeParams:
    """Everything needed to secure a fresh stream, for either role."""

    identity: handshake.Identity
    chain_id: bytes
    is_allowed: Callable[[bytes], bool]
    handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S
    # Asked once the peer's HELLO is read, before the key exchange and signature it costs
    # us: False closes the stream (HandshakeOverRate). None: always go on.
    may_authenticate: Callable[[], bool] | None = None
    io_timeout_s: float = IO_TIMEOUT_S
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES


class SecureConnection:
    """An authenticated, encrypted, framed stream to one peer."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        session: handshake.Session,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        io_timeout_s: float = IO_TIMEOUT_S,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._sealer = FrameSealer(session.send_key, max_frame_bytes)
        self._opener = FrameOpener(session.recv_key, max_frame_bytes)
        self._io_timeout_s = io_timeout_s
        self._received = bytearray()  # read past the last whole frame
        self._opened: deque[Frame] = deque()  # opened, not yet handed out by `receive`
        self._deadline = ReadDeadline()
        self._failure: P2PError | None = None  # a bad frame behind good ones read with it
        self._frame_due: float | None = None  # the loop's time a frame begun must be whole by
        self.session = session
        self.peer_key = session.peer_public_key
        self.address = peer_address(writer)

    async def receive(self, idle_timeout_s: float | None = None) -> Frame:
        """Read one frame; the deadlines are `receive_some`'s."""
        if not self._opened:
            self._opened.extend(await self.receive_some(idle_timeout_s))
        return self._opened.popleft()

    async def receive_some(self, idle_timeout_s: float | None = None) -> list[Frame]:
        """Every frame whole in what has arrived: at least one, in order.

        Waits at most `idle_timeout_s` (None: forever) while no part of a frame has
        come, and `io_timeout_s` from a frame's first byte for the rest of it, however
        it trickles in. A length prefix is checked against the maximum as soon as it
        is in, before more is read.
        """
        if self._opened:
            frames = list(self._opened)
            self._opened.clear()
            return frames
        frames = self._open_whole()
        loop = asyncio.get_running_loop()
        while not frames:
            begun = len(self._received)
            if begun:
                if self._frame_due is None:
                    self._frame_due = loop.time() + self._io_timeout_s
                due: float | None = self._frame_due
                late = (f"peer sent {begun} bytes of a frame and not the rest within "
                        f"{self._io_timeout_s} s")
            else:
                due = None if idle_timeout_s is None else loop.time() + idle_timeout_s
                late = f"peer sent nothing within {idle_timeout_s} s"
            self._deadline.start(due)
            try:
                chunk = await self._reader.read(READ_CHUNK_BYTES)
            except asyncio.CancelledError:
                if self._deadline.expired():
                    raise PeerTimeout(late) from None
                raise
            except (ConnectionError, OSError) as exc:
                raise ConnectionClosed(f"read failed: {exc}") from None
            finally:
                self._deadline.stop()
            if not chunk:
                raise ConnectionClosed(f"stream ended after {begun} bytes of a frame")
            self._received += chunk
            frames = self._open_whole()
        self._frame_due = None  # what is left begins a frame, timed from the next read
        return frames

    def _open_whole(self) -> list[Frame]:
        if self._failure is not None:
            raise self._failure
        received = self._received
        frames: list[Frame] = []
        start = 0
        try:
            while len(received) - start >= LENGTH_PREFIX_BYTES:
                body_at = start + LENGTH_PREFIX_BYTES
                end = body_at + self._opener.read_length(bytes(received[start:body_at]))
                if len(received) < end:
                    break
                frames.append(self._opener.open_body(bytes(received[body_at:end])))
                start = end
        except P2PError as exc:
            if not frames:
                raise
            # The frames before a bad one are the peer's own: handed up first, as when
            # each frame was read alone; the session ends at the next read.
            self._failure = exc
        del received[:start]
        return frames

    def write(self, frames: Iterable[tuple[int, bytes]]) -> int:
        """Seal and buffer frames without waiting; returns the bytes buffered.

        Call `drain` afterwards: batching several frames per drain is what keeps
        small-message throughput high.
        """
        # map and starmap rather than comprehensions: no Python frame a batch or a chunk
        wire = list(itertools.starmap(self._sealer.seal, frames))
        self._writer.writelines(wire)
        return sum(map(len, wire))

    async def drain(self) -> None:
        """Wait until the kernel took our buffered bytes, or fail after the deadline."""
        transport = self._writer.transport
        if transport.get_write_buffer_size() == 0 and not transport.is_closing():
            return  # the kernel took it all as it was written: no deadline to arm
        try:
            async with asyncio.timeout(self._io_timeout_s):
                await self._writer.drain()
        except TimeoutError:
            raise PeerTimeout(f"peer did not accept data within {self._io_timeout_s} s") from None
        except (ConnectionError, OSError) as exc:
            raise ConnectionClosed(f"write failed: {exc}") from None

    def closed_by_peer(self) -> bool:
        """Whether the other end has gone, read here yet or not (`other_end_gone`)."""
        return other_end_gone(self._writer)

    async def close(self) -> None:
        self._deadline.cancel()
        await close_writer(self._writer)


async def secure_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    identity: handshake.Identity,
    chain_id: bytes,
    role: handshake.Role,
    is_allowed: Callable[[bytes], bool],
    handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    io_timeout_s: float = IO_TIMEOUT_S,
    may_authenticate: Callable[[], bool] | None = None,
) -> SecureConnection:
    """Run the handshake and return the secured connection.

    Raises `HandshakeFailed`/`PeerNotAllowed` (remote fault), `PeerTimeout` if the
    whole handshake takes longer than `handshake_timeout_s`, or `ConnectionClosed`.
    The caller closes the writer on failure.
    """
    try:
        async with asyncio.timeout(handshake_timeout_s):
            session = await _run_handshake(reader, writer, identity, chain_id, role, is_allowed,
                                           may_authenticate)
    except TimeoutError:
        raise PeerTimeout(f"handshake not completed within {handshake_timeout_s} s") from None
    return SecureConnection(
        reader, writer, session, max_frame_bytes=max_frame_bytes, io_timeout_s=io_timeout_s
    )


async def _run_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    identity: handshake.Identity,
    chain_id: bytes,
    role: handshake.Role,
    is_allowed: Callable[[bytes], bool],
    may_authenticate: Callable[[], bool] | None = None,
) -> handshake.Session:
    # The responder makes its ephemeral key once a HELLO has come (the initiator sends its
    # own without waiting for ours): a silent, junk or over-rate socket costs it no key.
    if role is handshake.Role.INITIATOR:
        started, hello = handshake.start(identity, chain_id, role)
        await _write(writer, hello)
    peer_hello = await _read_exactly(reader, handshake.HELLO_BYTES, "handshake HELLO")
    handshake.parse_hello(peer_hello)  # junk costs no token
    if may_authenticate is not None and not may_authenticate():
        raise HandshakeOverRate("too many handshakes from this address: closed before the key "
                                "exchange")
    if role is handshake.Role.RESPONDER:
        started, hello = handshake.start(identity, chain_id, role)
        await _write(writer, hello)
    authenticating, auth = handshake.authenticate(started, peer_hello)
    await _write(writer, auth)
    peer_auth = await _read_exactly(reader, handshake.AUTH_BYTES, "handshake AUTH")
    return handshake.finish(authenticating, peer_auth, is_allowed)


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    try:
        await writer.drain()
    except (ConnectionError, OSError) as exc:
        raise ConnectionClosed(f"write failed: {exc}") from None


async def _read_exactly(reader: asyncio.StreamReader, count: int, what: str) -> bytes:
    """`readexactly` with p2p errors instead of asyncio ones; the handshake's one
    deadline bounds it (`secure_connection`)."""
    try:
        return await reader.readexactly(count)
    except asyncio.IncompleteReadError as exc:
        raise ConnectionClosed(
            f"stream ended after {len(exc.partial)} of {count} bytes of {what}"
        ) from None
    except (ConnectionError, OSError) as exc:
        raise ConnectionClosed(f"read failed: {exc}") from None


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a stream without waiting longer than a short deadline; past it, drop what is
    still unsent: asyncio keeps a closed transport's socket open until its buffer is
    written, so a peer that reads nothing held a descriptor and up to a write batch for
    as long as it liked (a dropped peer's queue is written just before the close)."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_S)
    except Exception:  # the deadline, or the peer's reset: either way it is done with
        writer.transport.abort()


def peer_address(writer: asyncio.StreamWriter) -> Address:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return (str(peer[0]), int(peer[1]))
    return ("?", 0)


async def resolve_hosts(hosts: Iterable[str]) -> set[str]:
    """The IP addresses the given host names stand for; names that do not resolve add none."""
    loop = asyncio.get_running_loop()

    async def resolve(host: str) -> set[str]:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError):
            return set()
        return {str(info[4][0]) for info in infos}

    found: set[str] = set()
    for addresses in await asyncio.gather(*(resolve(host) for host in set(hosts))):
        found |= addresses
    return found


class Incoming:
    """An accepted TCP stream that has not been authenticated yet."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.address = peer_address(writer)

    async def secure(self, params: HandshakeParams) -> SecureConnection:
        """Handshake as responder; closes the stream if that fails."""
        return await _secure_or_close(self._reader, self._writer, params, handshake.Role.RESPONDER)

    async def reject(self) -> None:
        await close_writer(self._writer)

    def abort(self) -> None:
        """Drop the stream now; a handshake running on it fails with `ConnectionClosed`."""
        self._writer.transport.abort()


async def dial(address: Address, params: HandshakeParams) -> SecureConnection:
    """Connect and handshake as initiator, all within the handshake deadline."""
    try:
        async with asyncio.timeout(params.handshake_timeout_s):
            reader, writer = await asyncio.open_connection(
                address[0], address[1], limit=STREAM_LIMIT_BYTES
            )
    except TimeoutError:
        raise PeerTimeout(f"connect to {shown(address)} timed out") from None
    except socket.gaierror as exc:
        raise HostUnresolved(f"{address[0]} does not resolve: {exc.strerror or exc}") from None
    except OSError as exc:
        raise ConnectionClosed(f"connect to {shown(address)} failed: {exc}") from None
    return await _secure_or_close(reader, writer, params, handshake.Role.INITIATOR)


async def _secure_or_close(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    params: HandshakeParams,
    role: handshake.Role,
) -> SecureConnection:
    try:
        return await secure_connection(
            reader,
            writer,
            identity=params.identity,
            chain_id=params.chain_id,
            role=role,
            is_allowed=params.is_allowed,
            may_authenticate=params.may_authenticate,
            handshake_timeout_s=params.handshake_timeout_s,
            max_frame_bytes=params.max_frame_bytes,
            io_timeout_s=params.io_timeout_s,
        )
    except BaseException:
        writer.close()  # no await here: we may be handling a cancellation
        raise
