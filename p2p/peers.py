"""PeerManager: listen, dial, keep one authenticated connection per peer key, route.

Messages are `(channel, payload)` pairs between peers named by their Ed25519
public keys; what a payload means is the caller's business. Limits on everything
a peer can make us hold: pending handshakes per source and in total (see
`p2p.admission`), peers in total, frame size (checked on the length prefix),
message size and queue length per channel. Incoming messages go to `on_message`,
awaited by one task per peer and channel: a slow handler holds up only its own
channel of that peer (see `p2p.peer`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass

from p2p import connection as conn
from p2p.address_keys import address_key
from p2p.admission import PendingHandshakes
from p2p.errors import (
    LocalProtocolError,
    MessageTooLarge,
    P2PError,
    PeerNotAllowed,
    UnknownChannel,
)
from p2p.frames import FRAME_OVERHEAD_BYTES, Frame
from p2p.handshake import Identity
from p2p.peer import Peer, PeerStatus
from p2p.policy import (
    HANDSHAKE_FAILURES_SOURCES_MAX,
    HANDSHAKE_FAILURES_WINDOW_S,
    KEY_CONFLICTS_WINDOW_S,
    Channel,
    Direction,
    KeyConflicts,
    Limits,
    RefusedKeys,
    backoff_delay_s,
    index_channels,
    keep_new_connection,
)

log = logging.getLogger(__name__)

Address = conn.Address
_CLOSE_ROUNDS_MAX = 3
# A peer that accepts a connection opens it with a keepalive: one that closed this many
# in a row before any frame refuses this node's key, and the dialler says so once (its
# own lines showed only 'connected', then 'stream ended after 0 of 4 bytes', for ever).
UNACCEPTED_IN_A_ROW_TOLD = 3
OnMessage = Callable[[bytes, int, bytes], Awaitable[None]]


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
    ) -> None:
        """`describe`: how log lines name a peer key (the caller knows member names)."""
        self._identity = Identity.from_seed(identity_seed)
        self._chain_id = chain_id
        self._listen_address = listen
        self._dial_addresses = list(dict.fromkeys(dial))
        self._allowed = frozenset(allowed)
        self._channels = index_channels(channels)
        self._on_message = on_message
        self._rng = rng
        self._limits = limits or Limits()
        self._clock = clock
        self._describe = describe or _short
        self._check_frame_limit()
        self._peers: dict[bytes, Peer] = {}
        self._pending: dict[int, _Pending] = {}
        self._pending_ids = itertools.count()
        self._key_conflicts = KeyConflicts()
        self._refused_keys = RefusedKeys()
        self._failed_sources = RefusedKeys(HANDSHAKE_FAILURES_WINDOW_S,
                                           HANDSHAKE_FAILURES_SOURCES_MAX)
        # Configured peers' hosts: an inbound caller from one is not an unknown source.
        self._admission = PendingHandshakes(
            per_source_max=self._limits.max_pending_handshakes_per_ip,
            unknown_total_max=self._limits.max_pending_handshakes,
            reserved_sources={address_key(host) for host, _ in self._dial_addresses},
        )
        self._inbound: dict[int, conn.Incoming] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: conn.Listener | None = None
        self._closing = False
        self._own_addresses: set[Address] = set()  # dialled, and found to be ourselves

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
            self._listener = await conn.listen(self._listen_address, self._on_incoming)
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
        for peer in list(self._peers.values()):
            if peer.key not in self._allowed:
                log.warning("dropping peer %s: no longer allowed", self._describe(peer.key))
                self._spawn(peer.connection.close())

    def connected(self) -> frozenset[bytes]:
        """Keys of the peers with a live authenticated connection."""
        return frozenset(key for key, peer in self._peers.items() if not peer.closed.is_set())

    def send(self, peer_key: bytes, channel: int, payload: bytes) -> bool:
        """Queue a message for one peer without waiting.

        False if the peer is not connected or its queue for the channel is full
        (the drop is counted in its status). Raises `UnknownChannel` or
        `MessageTooLarge` for our own mistakes.
        """
        self._check_outgoing(channel, payload)
        peer = self._peers.get(peer_key)
        return peer is not None and peer.enqueue(channel, payload)

    def broadcast(
        self, channel: int, payload: bytes, exclude: Collection[bytes] | None = None
    ) -> int:
        """Queue a message for every connected peer not in `exclude`; returns how many took it."""
        self._check_outgoing(channel, payload)
        skip = exclude or ()
        return sum(
            peer.enqueue(channel, payload) for key, peer in self._peers.items() if key not in skip
        )

    def status(self) -> list[PeerStatus]:
        pending = [
            PeerStatus(None, p.address, p.direction, authenticated=False, connected_since=p.since)
            for p in self._pending.values()
        ]
        return pending + [peer.status() for peer in self._peers.values()]

    # -- incoming and outgoing connections ---------------------------------

    async def _on_incoming(self, incoming: conn.Incoming) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self._closing:
                await incoming.reject()
                return
            admitted = self._admission.admit(address_key(incoming.address[0]))
            for ticket in admitted.evicted:
                evicted = self._inbound.pop(ticket)
                log.debug("evicting pending handshake from %s", conn.shown(evicted.address))
                evicted.abort()
            self._inbound[admitted.ticket] = incoming
            try:
                secured = await self._handshake(
                    incoming.secure, incoming.address, Direction.INBOUND
                )
            finally:
                self._admission.release(admitted.ticket)
                self._inbound.pop(admitted.ticket, None)
            if secured is not None:
                self._admit(secured, Direction.INBOUND)
        finally:
            self._tasks.discard(task)

    async def _handshake(
        self,
        secure: Callable[[conn.HandshakeParams], Awaitable[conn.SecureConnection]],
        address: Address,
        direction: Direction,
    ) -> conn.SecureConnection | None:
        """Run one handshake, logging (not raising) why a peer was refused."""
        pending_id = next(self._pending_ids)
        self._pending[pending_id] = _Pending(address, direction, self._clock())
        try:
            return await secure(self._handshake_params())
        except PeerNotAllowed as exc:
            if exc.public_key != self.public_key:
                quiet = self._refused_keys.note(exc.public_key, self._clock())
                if quiet is not None:
                    log.warning(
                        "dropped %s peer %s after handshake: key %s is not an allowed "
                        "member%s", direction, conn.shown(address), exc.public_key.hex(),
                        f" ({quiet} more refusals of it not logged)" if quiet else "")
            elif direction is Direction.OUTBOUND:
                self._own_addresses.add(address)  # the dial loop says so, and stops
        except P2PError as exc:
            # per kind of failure too: a timeout is not hidden behind a bad HELLO
            source = f"{direction} {address_key(address[0])} {type(exc).__name__}".encode()
            quiet = self._failed_sources.note(source, self._clock())
            if quiet is not None:
                log.info("%s handshake with %s failed: %s%s", direction, conn.shown(address),
                         exc, f" ({quiet} more such since its last line, not logged)"
                         if quiet else "")
        finally:
            del self._pending[pending_id]
        return None

    def _handshake_params(self) -> conn.HandshakeParams:
        return conn.HandshakeParams(
            identity=self._identity,
            chain_id=self._chain_id,
            is_allowed=self._is_allowed,
            handshake_timeout_s=self._limits.handshake_timeout_s,
            io_timeout_s=self._limits.io_timeout_s,
            max_frame_bytes=self._frame_bytes_max(),
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
            peer = self._admit(secured, Direction.OUTBOUND) if secured else None
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
            replacement = self._live_peer(peer.key)
            current = replacement if replacement is not current else None

    def _admit(self, secured: conn.SecureConnection, direction: Direction) -> Peer | None:
        """Register an authenticated connection; returns the peer now serving its key."""
        key = secured.peer_key
        refusal = self._refuse_peer(key)
        if refusal:
            log.warning("dropping %s connection to %s: %s", direction, self._describe(key), refusal)
            self._spawn(secured.close())
            return None
        existing = self._live_peer(key)
        if existing is not None:
            self._note_conflict(existing, secured.address)
            if not keep_new_connection(existing.direction, direction, self.public_key, key):
                self._spawn(secured.close())
                return existing
            self._spawn(existing.connection.close())
        peer = Peer(
            secured,
            direction,
            self._channels,
            self._clock(),
            keepalive_interval_s=self._limits.keepalive_interval_s,
            idle_timeout_s=self._limits.idle_timeout_s,
        )
        self._peers[key] = peer
        log.info("%s peer %s connected at %s", direction, self._describe(key),
                 conn.shown(peer.address))
        self._spawn(self._run_peer(peer))
        return peer

    def _note_conflict(self, existing: Peer, new_at: Address) -> None:
        # One silent since the last connection found it open is stale (its node
        # restarted, no FIN reached us), not a second node: while it wins the
        # tie-break, each redial of the restarted node meets it, and counts once.
        heard = existing.frames_in != existing.frames_in_at_conflict
        existing.frames_in_at_conflict = existing.frames_in
        count = self._key_conflicts.note(existing.key, self._clock()) if heard else None
        if count is not None:
            log.error("peer %s connected at least %d times in %.0f s while a connection to "
                      "it was open (open at %s, the latest from %s): two nodes may be "
                      "running with its key. A validator run twice can sign two different "
                      "votes and be reported for equivocation: its operator should stop one "
                      "of them",
                      self._describe(existing.key), count, KEY_CONFLICTS_WINDOW_S,
                      conn.shown(existing.address), conn.shown(new_at))

    def _refuse_peer(self, key: bytes) -> str | None:
        if self._closing:
            return "shutting down"
        if key == self.public_key:
            return "that is our own key (we dialled ourselves)"
        if key not in self._peers and len(self._peers) >= self._limits.max_peers:
            return f"already {len(self._peers)} peers"
        return None

    async def _run_peer(self, peer: Peer) -> None:
        try:
            reason = await peer.run(self._deliver)
        finally:
            if self._peers.get(peer.key) is peer:
                del self._peers[peer.key]
        level = logging.INFO if self._closing else logging.WARNING
        log.log(level, "peer %s at %s disconnected: %s", self._describe(peer.key),
                conn.shown(peer.address), reason)

    async def _deliver(self, peer: Peer, frame: Frame) -> None:
        try:
            await self._on_message(peer.key, frame.channel, frame.payload)
        except Exception:
            # The handler's bug, not the peer's: keep the connection, make it loud.
            log.exception("on_message failed for a message from %s", self._describe(peer.key))

    # -- helpers --------------------------------------------------------------

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _live_peer(self, key: bytes) -> Peer | None:
        peer = self._peers.get(key)
        return peer if peer is not None and not peer.closed.is_set() else None

    def _channel(self, channel: int) -> Channel:
        found = self._channels.get(channel)
        if found is None:
            raise UnknownChannel(f"channel {channel} was not declared")
        return found

    def _check_outgoing(self, channel: int, payload: bytes) -> None:
        limit = self._channel(channel).max_message_bytes
        if len(payload) > limit:
            raise MessageTooLarge(f"{len(payload)}-byte message exceeds channel limit {limit}")

    def _frame_bytes_max(self) -> int:
        return max(c.max_message_bytes for c in self._channels.values()) + FRAME_OVERHEAD_BYTES

    def _check_frame_limit(self) -> None:
        if self._frame_bytes_max() > self._limits.max_frame_bytes:
            raise LocalProtocolError(
                f"a channel allows messages larger than the frame maximum "
                f"{self._limits.max_frame_bytes}"
            )


def _short(key: bytes) -> str:
    return key.hex()[:16]
