"""New connections from ever-new addresses against a live PeerManager: past the budget
the addresses share, each is reset as it is accepted; configured peers' hosts are not
counted, and a listed member at an unlisted address gets in once the flood ends (and,
once it has, at once after)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace

import pytest

from p2p import connection as conn
from p2p import handshake
from p2p.errors import P2PError
from p2p.handshake import Identity, Role
from tests.p2p.helpers import (
    CHAIN_ID,
    FAST_LIMITS,
    LOOPBACK,
    Node,
    address_of,
    close_all,
    make_node,
    public_key,
    seed,
    wait_for_mesh,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

MEMBER = 9  # listed, dialled by no one: it calls from wherever it is
MEMBERS = {public_key(n) for n in (1, 2, MEMBER)}
MEMBER_HOST = "127.0.0.77"  # no configured peer's host
BUDGET = replace(FAST_LIMITS, unlisted_connections_s=1.0, unlisted_connections_burst=4)
FLOOD_WORKERS = 16
FLOOD_CONNECTS_MAX = 5_000


@dataclass
class AddressFlood:
    """Connections from a new address each (127.1.x.y), sending a HELLO; counts those the
    node answered and those it closed or reset with nothing said."""

    target: tuple[str, int]
    answered: int = 0
    unanswered: int = 0
    _next: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        _, self._hello = handshake.start(Identity.from_seed(seed(50)), CHAIN_ID,
                                         Role.INITIATOR)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(FLOOD_WORKERS)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _work(self) -> None:
        while self._next < FLOOD_CONNECTS_MAX:
            n, self._next = self._next, self._next + 1
            source = f"127.1.{n // 250 % 250}.{n % 250 + 1}"
            try:
                reader, writer = await asyncio.open_connection(*self.target,
                                                               local_addr=(source, 0))
            except OSError:  # reset before the client had it set up: nothing said either
                self.unanswered += 1
                continue
            try:
                writer.write(self._hello)
                async with asyncio.timeout(5.0):
                    said = await reader.read(handshake.HELLO_BYTES)
            except ConnectionError:
                said = b""
            finally:
                writer.close()
            if said:
                self.answered += 1
            else:
                self.unanswered += 1


async def member_session(target: Node, source: str) -> conn.SecureConnection | None:
    """A handshake of the listed MEMBER from `source`: its connection, None if refused."""
    try:
        reader, writer = await asyncio.open_connection(*address_of(target),
                                                       local_addr=(source, 0))
    except OSError:  # reset as it was accepted
        return None
    try:
        return await conn.secure_connection(
            reader, writer, identity=Identity.from_seed(seed(MEMBER)), chain_id=CHAIN_ID,
            role=Role.INITIATOR, is_allowed=lambda key: True, handshake_timeout_s=2)
    except P2PError:
        writer.close()
        return None


async def until_member_in(target: Node, source: str) -> conn.SecureConnection:
    """Dial as a node does, again after each refusal (its backoff's base, 0.05 s)."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        secured = await member_session(target, source)
        if secured is not None:
            await wait_until(lambda: public_key(MEMBER) in target.manager.connected(),
                             "the member admitted")
            return secured
        await asyncio.sleep(BUDGET.backoff_base_s)  # a refused dialler's backoff
    raise AssertionError(f"the member never got in from {source}")


async def leave(target: Node, secured: conn.SecureConnection) -> None:
    await secured.close()
    await wait_until(lambda: public_key(MEMBER) not in target.manager.connected(),
                     "the member gone")


async def test_a_flood_from_new_addresses_is_reset_past_the_shared_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="p2p")
    # a dials b, so b's host (127.0.0.1) is a configured peer's to a
    b = make_node(2, allowed=MEMBERS, limits=BUDGET)
    await b.manager.start()
    a = make_node(1, dial=[address_of(b)], allowed=MEMBERS, limits=BUDGET)
    await a.manager.start()
    flood = AddressFlood(address_of(a))
    try:
        await wait_for_mesh([a, b])
        flood.start()
        started = time.monotonic()
        await wait_until(lambda: flood.unanswered >= 200, "the flood past the budget")
        # A configured peer's host gets through every time, the flood going on.
        for _ in range(3):
            secured = await member_session(a, LOOPBACK)
            assert secured is not None
            await leave(a, secured)
        assert a.manager.connected() == {b.key}
        flooded_s = time.monotonic() - started
        await flood.stop()
        # Answered: the burst and the rate's refill, whatever the count of addresses.
        assert flood.answered <= BUDGET.unlisted_connections_burst + 1 + (
            BUDGET.unlisted_connections_s * flooded_s)
        assert a.manager.connections_over_budget >= 200

        # The flood over, a listed member from an unlisted address gets in as the budget
        # refills; then its address is proven, and it gets back in during a flood at once.
        secured = await until_member_in(a, MEMBER_HOST)
        await leave(a, secured)
        flood = AddressFlood(address_of(a))
        flood.start()
        await wait_until(lambda: flood.unanswered >= 100, "the flood past the budget again")
        for _ in range(3):
            secured = await member_session(a, MEMBER_HOST)
            assert secured is not None
            await leave(a, secured)
    finally:
        await flood.stop()
        await close_all([a, b])
    told = [r for r in caplog.records if "past their budget" in r.getMessage()]
    assert len(told) == 1, [r.getMessage() for r in told]
