"""The P2P accept loop (p2p/listener.py) on the paths asyncio's server took care of: a
family the kernel lacks, a port in use, no descriptors left, and closing with
connections still being set up."""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any

import pytest

from p2p import listener as listener_module
from p2p.connection import Incoming
from p2p.listener import Listener, listen


async def _nothing(incoming: Incoming) -> None:
    incoming.abort()


async def test_a_family_the_kernel_lacks_is_skipped_as_asyncio_skips_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A name standing for ::1 and 127.0.0.1 on a kernel with IPv6 turned off: asyncio's
    server listened on 127.0.0.1; the first accept loop refused to start."""
    loop = asyncio.get_running_loop()
    real_socket = socket.socket

    async def both(host: Any, port: Any, **_kwargs: Any) -> list[Any]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]

    def no_ipv6(family: int = -1, *args: Any, **kwargs: Any) -> socket.socket:
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
        return real_socket(family, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", both)
    monkeypatch.setattr(socket, "socket", no_ipv6)  # the module p2p.listener calls
    listening = await listen(("localhost", 0), _nothing)
    monkeypatch.undo()
    try:
        assert listening.address[0] == "127.0.0.1" and listening.address[1] > 0
    finally:
        await listening.close()


async def test_a_port_in_use_is_named_in_the_error() -> None:
    """The daemon says this error under api.listen/p2p.listen: without the address the
    operator could not tell which of the two ports is taken."""
    first = await listen(("127.0.0.1", 0), _nothing)
    try:
        with pytest.raises(OSError) as raised:
            await listen(("127.0.0.1", first.address[1]), _nothing)
        assert raised.value.errno == errno.EADDRINUSE
        assert f"('127.0.0.1', {first.address[1]})" in str(raised.value), raised.value
    finally:
        await first.close()


class _NoDescriptors:
    """A listening socket whose every accept fails as a process out of descriptors."""

    def __init__(self) -> None:
        self.accepts = 0

    def fileno(self) -> int:
        return -1

    def accept(self) -> tuple[socket.socket, Any]:
        self.accepts += 1
        raise OSError(errno.EMFILE, "Too many open files")


async def test_out_of_descriptors_one_wake_accepts_once_and_pauses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The wake went on after its pause: 32 failing accepts and 32 timers to resume."""
    loop = asyncio.get_running_loop()
    timers: list[float] = []
    monkeypatch.setattr(loop, "remove_reader", lambda fd: True)
    monkeypatch.setattr(loop, "call_later", lambda delay, *a: timers.append(delay))
    real = await listen(("127.0.0.1", 0), _nothing)
    failing = _NoDescriptors()
    try:
        real._accept_some(failing)  # type: ignore[arg-type]
    finally:
        monkeypatch.undo()
        await real.close()
    assert failing.accepts == 1 and timers == [listener_module.NO_DESCRIPTORS_PAUSE_S]


async def test_closing_ends_a_connection_still_being_set_up() -> None:
    """A stream handed on whose owner had not finished with it outlived close(), and a
    socket cancelled while its stream was being made was never closed."""
    started = asyncio.Event()
    ended: list[bool] = []

    async def slow_owner(incoming: Incoming) -> None:
        started.set()
        await asyncio.Event().wait()  # a handshake that never finishes

    listening: Listener = await listen(("127.0.0.1", 0), slow_owner)
    reader, writer = await asyncio.open_connection(*listening.address)
    try:
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.wait_for(listening.close(), 10)
        # the node's end is gone: the client reads the end of the stream, or a reset
        try:
            ended.append(await asyncio.wait_for(reader.read(1), 10) == b"")
        except ConnectionResetError:
            ended.append(True)
    finally:
        writer.close()
    assert ended == [True]
