"""The authenticated connections a `PeerManager` holds, by peer key: one per key (the
tie-break decides which of two stays, and a key seen connecting again and again while
its connection is heard is told as two nodes run with it), at most `max_peers`, each run
until it closes; messages queued to them and delivered from them.

Apart from `p2p.peers` (listening, dialling, handshakes), which hands each secured
connection here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

from p2p import connection as conn
from p2p.errors import LocalProtocolError, MessageTooLarge, UnknownChannel
from p2p.frames import FRAME_OVERHEAD_BYTES, Frame
from p2p.peer import Peer, PeerStatus
from p2p.policy import (
    KEY_CONFLICTS_WINDOW_S,
    Channel,
    Direction,
    KeyConflicts,
    Limits,
    PeerLines,
    keep_new_connection,
)

# The manager's logger: these lines keep the name an operator's filters know them by.
log = logging.getLogger("p2p.peers")

OnMessage = Callable[[bytes, int, bytes], Awaitable[None]]


class PeerTable:
    """The live peers by key, and the routing of their messages."""

    def __init__(self, public_key: bytes, channels: dict[int, Channel], limits: Limits,
                 on_message: OnMessage, *, clock: Callable[[], float],
                 describe: Callable[[bytes], str], spawn: Callable[[Awaitable[None]], None],
                 closing: Callable[[], bool]) -> None:
        """`spawn` runs a task the manager waits for at close; `closing` says whether the
        manager is closing."""
        self._public_key = public_key
        self._channels = channels
        self._limits = limits
        self._on_message = on_message
        self._clock = clock
        self._describe = describe
        self._spawn = spawn
        self._closing = closing
        self.check_frame_limit()
        self._peers: dict[bytes, Peer] = {}
        self._key_conflicts = KeyConflicts()
        self._peer_lines = PeerLines()

    def connected(self) -> frozenset[bytes]:
        """Keys of the peers with a live authenticated connection (not one being dropped)."""
        return frozenset([key for key, peer in self._peers.items()
                          if not peer.closed.is_set() and not peer.leaving])

    def drop_unless(self, allowed: Collection[bytes]) -> None:
        """Drop every peer whose key is not in `allowed`: heard no more at once, closed
        once what was queued for it is written (`Peer.leave`, bounded)."""
        for peer in list(self._peers.values()):
            if peer.key not in allowed and not peer.leaving:
                log.warning("dropping peer %s: no longer allowed", self._describe(peer.key))
                self._spawn(peer.leave())

    def send(self, peer_key: bytes, channel: int, payload: bytes) -> bool:
        """As `PeerManager.send`."""
        self._check_outgoing(channel, payload)
        peer = self._peers.get(peer_key)
        return peer is not None and peer.enqueue(channel, payload)

    def broadcast(self, channel: int, payload: bytes, exclude: Collection[bytes] | None = None
                  ) -> int:
        """As `PeerManager.broadcast`."""
        self._check_outgoing(channel, payload)
        skip = exclude or ()
        return sum(
            peer.enqueue(channel, payload) for key, peer in self._peers.items() if key not in skip
        )

    def status(self) -> list[PeerStatus]:
        return [peer.status() for peer in self._peers.values()]

    def live(self, key: bytes) -> Peer | None:
        peer = self._peers.get(key)
        return (peer if peer is not None and not peer.closed.is_set() and not peer.leaving
                else None)

    def admit(self, secured: conn.SecureConnection, direction: Direction) -> Peer | None:
        """Register an authenticated connection; returns the peer now serving its key."""
        key = secured.peer_key
        refusal = self._refuse_peer(key)
        if refusal:
            log.warning("dropping %s connection to %s: %s", direction, self._describe(key), refusal)
            self._spawn(secured.close())
            return None
        existing = self.live(key)
        if existing is not None and existing.connection.closed_by_peer():
            # its node is gone (killed, restarted): no second node, and no tie to break
            self._spawn(existing.connection.close())
            existing = None
        if existing is not None:
            self._note_conflict(existing, secured.address)
            if not keep_new_connection(existing.direction, direction, self._public_key, key):
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
        held = self._peer_lines.take(key, self._clock())
        if held is not None:
            log.info("%s peer %s connected at %s%s", direction, self._describe(key),
                     conn.shown(peer.address), PeerLines.told(held))
        self._spawn(self._run_peer(peer))
        return peer

    def frame_bytes_max(self) -> int:
        return max(c.max_message_bytes for c in self._channels.values()) + FRAME_OVERHEAD_BYTES

    def check_frame_limit(self) -> None:
        if self.frame_bytes_max() > self._limits.max_frame_bytes:
            raise LocalProtocolError(
                f"a channel allows messages larger than the frame maximum "
                f"{self._limits.max_frame_bytes}"
            )

    def _note_conflict(self, existing: Peer, new_at: conn.Address) -> None:
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
        if self._closing():
            return "shutting down"
        if key == self._public_key:
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
        level = logging.INFO if self._closing() else logging.WARNING
        held = self._peer_lines.take(peer.key, self._clock())
        if held is not None:
            log.log(level, "peer %s at %s disconnected: %s%s", self._describe(peer.key),
                    conn.shown(peer.address), reason, PeerLines.told(held))

    async def _deliver(self, peer: Peer, frame: Frame) -> None:
        try:
            await self._on_message(peer.key, frame.channel, frame.payload)
        except Exception:
            # The handler's bug, not the peer's: keep the connection, make it loud.
            log.exception("on_message failed for a message from %s", self._describe(peer.key))

    def _channel(self, channel: int) -> Channel:
        found = self._channels.get(channel)
        if found is None:
            raise UnknownChannel(f"channel {channel} was not declared")
        return found

    def _check_outgoing(self, channel: int, payload: bytes) -> None:
        limit = self._channel(channel).max_message_bytes
        if len(payload) > limit:
            raise MessageTooLarge(f"{len(payload)}-byte message exceeds channel limit {limit}")
