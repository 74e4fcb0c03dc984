"""PeerManager: listen, dial, keep one authenticated connection per peer key, route.

Messages are `(channel, payload)` pairs between peers named by their Ed25519
public keys; what a payload means is the caller's business. Limits on everything
a peer can make us hold: connections a second from unlisted addresses in all, and
pending handshakes per source and in total (see `p2p.admission`), peers in total,
frame size (checked on the length prefix), message size and queue length per channel.
Incoming messages go to `on_message`, awaited by one task per peer and channel: a slow
handler holds up only its own channel of that peer (see `p2p.peer`). The connections
once secured, by key, are held in `p2p.peer_table`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, replace

from p2p import connection as conn
from p2p.address_keys import address_key
from p2p.admission import HandshakeRates, PendingHandshakes, UnlistedConnections
from p2p.errors import P2PError, PeerNotAllowed
from p2p.failure_lines import HandshakeFailures
from p2p.handshake import Identity
from p2p.listener import Listener, listen
from p2p.peer import Peer, PeerStatus
from p2p.peer_table import OnMessage as OnMessage
from p2p.peer_table import PeerTable
from p2p.policy import (
    Channel,
    Direction,
    Limits,
    LineBudget,
    RefusedKeys,
    backoff_delay_s,
    index_channels,
)

log = logging.getLogger(__name__)

Address = conn.Address
_CLOSE_ROUNDS_MAX = 3
# A peer that accepts a connection opens it with a keepalive: one that closed this many
# in a row before any frame refuses this node's key, and the dialler says so once (its
# own lines showed only 'connected', then 'stream ended after 0 bytes of a frame', for ever).
UNACCEPTED_IN_A_ROW_TOLD = 3
# Connections reset over the unlisted sources' budget: said at most this often.
UNLISTED_TOLD_S = 60.0


@dataclass
class _Pending:
    address: Address
    direction: Direction
    since: float


class PeerManager:
    """Authenticated connections to the allowed peers, with bounded queues."""

    def __init__(
        self,
        identity_seed: bytes,
        chain_id: bytes,
        *,
        listen: Address | None,
        dial: Iterable[Address],
        allowed: Collection[bytes],
        channels: Iterable[Channel],
        on_message: OnMessage,
        rng: random.Random,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.time,
        describe: Callable[[bytes], str] | None = None,
        refusal_hint: Callable[[], str] | None = None,
    ) -> None:
        """`describe`: how log lines name a peer key (the caller knows member names).
        `refusal_hint`: what the line refusing a key not allowed adds, if anything (the
        caller knows whether its own view of who may connect may be out of date)."""
        self._identity = Identity.from_seed(identity_seed)
        self._chain_id = chain_id
        self._listen_address = listen
        self._dial_addresses = list(dict.fromkeys(dial))
        self._allowed = frozenset(allowed)
        self._rng = rng
        self._limits = limits or Limits()
        self._clock = clock
        self._describe = describe or _short
        self._refusal_hint = refusal_hint or (lambda: "")
        self._table = PeerTable(self._identity.public_key, index_channels(channels),
                                self._limits, on_message, clock=clock,
                                describe=self._describe, spawn=self._spawn,
                                closing=lambda: self._closing)
        self._pending: dict[int, _Pending] = {}
        self._pending_ids = itertools.count()
        self._refused_keys = RefusedKeys()
        # What strangers can make this node say, in all (p2p.policy.LineBudget)
        self._refused_lines = LineBudget()
        # Configured peers' hosts: an inbound caller from one is not an unknown source.
        self._admission = PendingHandshakes(
            per_source_max=self._limits.max_pending_handshakes_per_ip,
            unknown_total_max=self._limits.max_pending_handshakes,
            reserved_sources={address_key(host) for host, _ in self._dial_addresses},
        )
        self._rates = HandshakeRates(per_s=self._limits.handshakes_per_ip_s,
                                     burst=self._limits.handshakes_burst_per_ip)
        self.handshakes_over_rate = 0  # closed at their HELLO, their source over its rate
        self._unlisted = UnlistedConnections(per_s=self._limits.unlisted_connections_s,
                                             burst=self._limits.unlisted_connections_burst)
        self._unlisted_lines = LineBudget(1, UNLISTED_TOLD_S)
        self._inbound: dict[int, conn.Incoming] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: Listener | None = None
        self._closing = False
        self._own_addresses: set[Address] = set()  # dialled, and found to be ourselves
        self._failures = HandshakeFailures()  # what is said of them

    @property
    def public_key(self) -> bytes:
        return self._identity.public_key

    @property
    def listen_address(self) -> Address | None:
        """The bound address (with the real port if 0 was asked for), once started."""
        return self._listener.address if self._listener else None

    async def start(self) -> None:
        dial_hosts = [host for host, _ in self._dial_addresses]
        self._admission.reserve({address_key(host)
                                 for host in await conn.resolve_hosts(dial_hosts)})
        if self._listen_address is not None:
            self._listener = await listen(self._listen_address, self._on_incoming,
                                          admit=self._accepting)
            log.info("p2p listening on %s", conn.shown(self._listener.address))
        for address in self._dial_addresses:
            self._spawn(self._dial_loop(address))

    async def close(self) -> None:
        """Stop listening and dialling, close every connection, wait for our tasks."""
        self._closing = True
        if self._listener is not None:
            await self._listener.close()
        for _ in range(_CLOSE_ROUNDS_MAX):  # a cancelled task may spawn one last close()
            tasks = list(self._tasks)
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def set_allowed(self, keys: Collection[bytes]) -> None:
        """Replace the allowed keys; connected peers no longer allowed are dropped."""
        self._allowed = frozenset(keys)
        self._table.drop_unless(self._allowed)

    def connected(self) -> frozenset[bytes]:
        """Keys of the peers with a live authenticated connection."""
        return self._table.connected()

    def send(self, peer_key: bytes, channel: int, payload: bytes) -> bool:
        """Queue a message for one peer without waiting.

        False if the peer is not connected, is being dropped, or its queue for the
        channel is full (only a full queue's drop is counted in its status). Raises
        `UnknownChannel` or `MessageTooLarge` for our own mistakes.
        """
        return self._table.send(peer_key, channel, payload)

    def broadcast(
        self, channel: int, payload: bytes, exclude: Collection[bytes] | None = None
    ) -> int:
        """Queue a message for every connected peer not in `exclude`; returns how many took it."""
        return self._table.broadcast(channel, payload, exclude)

    def status(self) -> list[PeerStatus]:
        pending = [
            PeerStatus(None, p.address, p.direction, authenticated=False, connected_since=p.since)
            for p in self._pending.values()
        ]
        return pending + self._table.status()

    # -- incoming and outgoing connections ---------------------------------

    async def _on_incoming(self, incoming: conn.Incoming) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self._closing:
                await incoming.reject()
                return
            source = address_key(incoming.address[0])
            admitted = self._admission.admit(source)
            for ticket in admitted.evicted:
                evicted = self._inbound.pop(ticket)
                log.debug("evicting pending handshake from %s", conn.shown(evicted.address))
                evicted.abort()
            self._inbound[admitted.ticket] = incoming
            try:
                secured = await self._handshake(
                    self._rated(incoming, source, admitted.ticket), incoming.address,
                    Direction.INBOUND)
            finally:
                self._admission.release(admitted.ticket)
                self._inbound.pop(admitted.ticket, None)
            if secured is not None and self._table.admit(secured, Direction.INBOUND):
                self._unlisted.proven(source, secured.peer_key)
        finally:
            self._tasks.discard(task)

    @property
    def connections_over_budget(self) -> int:
        """Connections from unlisted sources reset as they were accepted (over the
        budget, `Limits.unlisted_connections_s`)."""
        return self._unlisted.refused

    def _accepting(self, host: str) -> bool:
        """Whether to take a connection just accepted from `host`: a configured peer's
        host always; others within the budget they share (`UnlistedConnections`)."""
        source = address_key(host)
        if self._admission.is_reserved(source) or self._unlisted.admit(
                source, time.monotonic(), self._allowed):
            return True
        if self._unlisted_lines.take(time.monotonic()) is not None:
            log.warning("p2p connections from addresses not among this node's peers are "
                        "past their budget (%g a second, a burst of %d, all such addresses "
                        "together): resetting them as they are accepted, %s the latest; "
                        "configured peers' hosts are not counted. %d reset so far (said "
                        "at most once each %.0f s)", self._limits.unlisted_connections_s,
                        self._limits.unlisted_connections_burst, host,
                        self._unlisted.refused, UNLISTED_TOLD_S)
        return False

    def _rated(self, incoming: conn.Incoming, source: str, ticket: int
               ) -> Callable[[conn.HandshakeParams], Awaitable[conn.SecureConnection]]:
        """`incoming.secure`, its key exchange done only within its source's rate (a
        configured peer's host has none): silent or junk sockets cost no token, so a
        flood of them does not shut out a peer at the same address. Its HELLO marks the
        pending handshake heard (`PendingHandshakes.heard`)."""
        if self._admission.is_reserved(source):
            return incoming.secure

        def within_rate() -> bool:
            self._admission.heard(ticket)
            allowed = self._rates.allow(source, time.monotonic())
            self.handshakes_over_rate += not allowed
            return allowed
        return lambda params: incoming.secure(replace(params, may_authenticate=within_rate))

    async def _handshake(
        self,
        secure: Callable[[conn.HandshakeParams], Awaitable[conn.SecureConnection]],
        address: Address,
        direction: Direction,
    ) -> conn.SecureConnection | None:
        """Run one handshake, logging (not raising) why a peer was refused."""
        pending_id = next(self._pending_ids)
        failed = False
        self._pending[pending_id] = _Pending(address, direction, self._clock())
        try:
            return await secure(self._handshake_params())
        except PeerNotAllowed as exc:
            if exc.public_key != self.public_key:
                now = self._clock()
                quiet = self._refused_keys.note(exc.public_key, now)
                held = None if quiet is None else self._refused_lines.take(now)
                if quiet is not None and held is not None:
                    log.warning(
                        "dropped %s peer %s after handshake: key %s is not an allowed "
                        "member%s%s%s", direction, conn.shown(address), exc.public_key.hex(),
                        f" ({quiet} more refusals of it not logged)" if quiet else "",
                        self._refusal_hint(), self._refused_lines.told(held))
            elif direction is Direction.OUTBOUND:
                self._own_addresses.add(address)  # the dial loop says so, and stops
        except P2PError as exc:
            if direction is Direction.OUTBOUND:
                failed = True
                self._failures.dial_failed(address, exc, self._clock())
            else:
                self._failures.inbound_failed(address, exc, self._clock())
        finally:
            del self._pending[pending_id]
            if not failed and direction is Direction.OUTBOUND:
                self._failures.dial_succeeded(address)
        return None

    def _handshake_params(self) -> conn.HandshakeParams:
        return conn.HandshakeParams(
            identity=self._identity,
            chain_id=self._chain_id,
            is_allowed=self._is_allowed,
            handshake_timeout_s=self._limits.handshake_timeout_s,
            io_timeout_s=self._limits.io_timeout_s,
            max_frame_bytes=self._table.frame_bytes_max(),
        )

    def _is_allowed(self, key: bytes) -> bool:
        return key in self._allowed

    async def _dial_loop(self, address: Address) -> None:
        """Keep a connection to `address`: dial, wait for it to end, back off, redial."""
        failures = unaccepted = 0
        while not self._closing:
            secured = await self._handshake(
                lambda params: conn.dial(address, params), address, Direction.OUTBOUND
            )
            if secured is not None and secured.peer_key == self.public_key:
                self._own_addresses.add(address)
                self._spawn(secured.close())
            if address in self._own_addresses:
                # A peer list copied whole names this node too: dialling it never helps.
                log.warning("%s is this node itself (it answered with our own key): not "
                            "dialling it again; remove it from this node's peers",
                            conn.shown(address))
                return
            peer = self._table.admit(secured, Direction.OUTBOUND) if secured else None
            if peer is not None:
                await self._wait_while_connected(peer)
            # A peer that closes before its first keepalive probably refuses us: back off.
            failures = 0 if peer is not None and peer.frames_in > 0 else failures + 1
            if peer is not None:
                unaccepted = 0 if peer.frames_in > 0 else unaccepted + 1
                if unaccepted == UNACCEPTED_IN_A_ROW_TOLD:
                    log.warning("peer %s at %s closed %d connections in a row before "
                                "accepting one: it does not admit this node, it seems (its "
                                "key %s is not a member in that node's chain nor one of its "
                                "[p2p] observers, or it has its fill of peers); its own log "
                                "says which",
                                self._describe(peer.key), conn.shown(address), unaccepted,
                                self.public_key.hex())
            delay_s = backoff_delay_s(
                failures, self._limits.backoff_base_s, self._limits.backoff_cap_s, self._rng
            )
            await asyncio.sleep(delay_s)  # the backoff itself, not synchronisation

    async def _wait_while_connected(self, peer: Peer) -> None:
        """Wait until no connection to this peer's key remains (ours or a replacement)."""
        current: Peer | None = peer
        while current is not None:
            await current.closed.wait()
            # A closed peer stays registered until its task finishes: don't spin on it.
            replacement = self._table.live(peer.key)
            current = replacement if replacement is not current else None

    # -- helpers --------------------------------------------------------------

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _short(key: bytes) -> str:
    return key.hex()[:16]
