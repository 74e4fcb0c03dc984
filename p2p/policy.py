"""Pure policies of the peer manager: channels, limits, backoff, tie-break, key conflicts.

Nothing here does IO or reads a clock; randomness is passed in.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from p2p.connection import HANDSHAKE_TIMEOUT_S, IO_TIMEOUT_S
from p2p.errors import LocalProtocolError
from p2p.frames import DEFAULT_MAX_FRAME_BYTES

KEEPALIVE_CHANNEL = 0  # reserved: empty frames that prove the peer is alive
CHANNEL_ID_MAX = 0xFF


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True)
class Channel:
    """A message stream declared up front, with its own limits.

    `queue_capacity` bounds messages waiting per peer on this channel, in each
    direction: to be sent (a full queue makes `send` return False) and to be
    handled (a full inbox drops the received message). Either drop is counted.
    """

    id: int
    name: str
    max_message_bytes: int
    queue_capacity: int

    def __post_init__(self) -> None:
        if not KEEPALIVE_CHANNEL < self.id <= CHANNEL_ID_MAX:
            raise ValueError(f"channel id must be 1..{CHANNEL_ID_MAX} (0 is reserved)")
        if not self.name:
            raise ValueError("channel name must not be empty")
        if self.max_message_bytes <= 0 or self.queue_capacity <= 0:
            raise ValueError(f"channel {self.name}: sizes must be positive")


@dataclass(frozen=True)
class Limits:
    """Bounds and timings; defaults suit a consortium of tens of nodes."""

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    max_peers: int = 64
    # Inbound handshakes in progress: per source IP, and shared by unknown sources.
    max_pending_handshakes_per_ip: int = 8
    max_pending_handshakes: int = 64
    # Inbound handshakes an unknown source may start a second, and its burst (a node
    # redials with backoff: one a second at most; a host may run a few)
    handshakes_per_ip_s: float = 2.0
    handshakes_burst_per_ip: int = 16
    # Connections a second from all sources that are not configured peers' hosts together,
    # and their burst (`p2p.admission.UnlistedConnections`): one past it is reset as it is
    # accepted (`p2p.listener`), before anything is read. A new address is free to a
    # stranger, so the per-source rate above bounds nothing overall: 484 a second from
    # fresh loopback addresses took honest commit p50 from 64 to 927 ms. These let tens
    # of followers at unlisted addresses (each redials every few seconds at most) back
    # after a restart; one let through with a HELLO costs the node 0.5 ms (1% of a core
    # at the rate), one reset 0.08-0.09 ms (measured, 3,000 from fresh addresses).
    unlisted_connections_s: float = 20.0
    unlisted_connections_burst: int = 40
    handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S
    io_timeout_s: float = IO_TIMEOUT_S
    keepalive_interval_s: float = 5.0
    # A peer silent for this many keepalive intervals is gone: a live one sends one each.
    keepalive_missed_max: int = 4
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 5.0  # a restarted configured peer is redialled within this

    def __post_init__(self) -> None:
        if self.unlisted_connections_s <= 0 or self.unlisted_connections_burst < 1:
            raise ValueError("unlisted connections need a positive rate and a burst of 1+")
        if self.keepalive_missed_max < 2:
            raise ValueError("keepalive_missed_max must be at least 2: one late one is jitter")

    @property
    def idle_timeout_s(self) -> float:
        return self.keepalive_interval_s * self.keepalive_missed_max


def index_channels(channels: Iterable[Channel]) -> dict[int, Channel]:
    """The channels by id; a duplicate id, or none at all, is our own mistake."""
    indexed: dict[int, Channel] = {}
    for channel in channels:
        if channel.id in indexed:
            raise LocalProtocolError(f"channel id {channel.id} declared twice")
        indexed[channel.id] = channel
    if not indexed:
        raise LocalProtocolError("at least one channel must be declared")
    return indexed


def backoff_delay_s(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform in [ceiling/2, ceiling].

    `attempt` counts consecutive failures (0 = first retry). The jitter keeps
    nodes that lost a common peer from redialling it in lockstep.
    """
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 32))
    return rng.uniform(ceiling / 2, ceiling)


def keep_new_connection(
    existing: Direction, new: Direction, own_key: bytes, peer_key: bytes
) -> bool:
    """Decide which of two connections to the same peer survives.

    Both ends apply the same rule and reach the same answer: if both sides dialled,
    the connection dialled by the lower public key wins. A second connection in
    the same direction means the dialler lost the first one (e.g. restarted), so
    the newer one wins.
    """
    if existing is new:
        return True
    dialled_by_us = new is Direction.OUTBOUND
    we_are_lower = own_key < peer_key
    return dialled_by_us == we_are_lower


# A connection for a key that already has one open: two peers dialling each other at
# once, or a restart the old connection has not noticed, make one or two. More than
# this many within the window means two processes hold the same key.
KEY_CONFLICTS_TO_WARN = 4
KEY_CONFLICTS_WINDOW_S = 60.0
KEY_CONFLICTS_KEYS_MAX = 256  # keys whose recent conflicts are remembered


@dataclass
class _Conflicts:
    times: deque[float] = field(default_factory=lambda: deque(maxlen=KEY_CONFLICTS_TO_WARN))
    warned_at: float | None = None


class KeyConflicts:
    """Counts, per peer key, new connections that found one already open, and says
    when they are too many to be races or restarts (once per window per key)."""

    def __init__(self) -> None:
        self._keys: dict[bytes, _Conflicts] = {}

    def note(self, key: bytes, now: float) -> int | None:
        """Record a conflict for `key` at `now`; the count in the window when it is
        time to warn, else None."""
        record = self._keys.pop(key, None)
        if record is None:
            record = _Conflicts()
            if len(self._keys) >= KEY_CONFLICTS_KEYS_MAX:
                del self._keys[next(iter(self._keys))]  # the longest quiet
        self._keys[key] = record
        record.times.append(now)
        recent = sum(1 for t in record.times if now - t <= KEY_CONFLICTS_WINDOW_S)
        if recent < KEY_CONFLICTS_TO_WARN:
            return None
        if record.warned_at is not None and now - record.warned_at < KEY_CONFLICTS_WINDOW_S:
            return None
        record.warned_at = now
        return recent


# A key refused after its handshake (a retired member's node, one not yet added, a
# stranger) is said once, then at most once a window with the count since: both ends
# redial within the backoff's cap, so it was a warning every few seconds for good.
REFUSED_KEYS_WINDOW_S = 600.0
REFUSED_KEYS_MAX = 256  # keys whose last warning is remembered (any stranger picks one)


class RefusedKeys:
    """When to warn again of a key refused at the handshake (or of anything else said
    once a window per source: node.malformed_heads.ProtocolLog), and how many were not."""

    def __init__(self, window_s: float = REFUSED_KEYS_WINDOW_S,
                 remembered_max: int = REFUSED_KEYS_MAX) -> None:
        self._keys: dict[bytes, tuple[float, int]] = {}  # last warned at, refusals since
        self._window_s = window_s
        self._remembered_max = remembered_max

    def note(self, key: bytes, now: float) -> int | None:
        """Record a refusal of `key` at `now`; when it is time to warn, the refusals
        not warned of since the last warning (0 the first time), else None."""
        warned_at, quiet = self._keys.pop(key, (None, 0))
        if len(self._keys) >= self._remembered_max:
            del self._keys[next(iter(self._keys))]  # the longest quiet
        if warned_at is not None and now - warned_at < self._window_s:
            self._keys[key] = (warned_at, quiet + 1)
            return None
        self._keys[key] = (now, 0)
        return quiet


# Lines said once a window per source (RefusedKeys) are still one per source, and
# sources cost a stranger nothing: a fresh key per handshake, or any of 127.0.0.0/8 or an
# IPv6 /48's 65,536 /64s, made a line per connection, 400-1,500 a second from one
# process (measured), the memory of sources said being full and forgetting them. So the
# lines strangers can cause are also capped in all, per kind, and the next one said
# carries the count of those held back.
STRANGER_LINES_WINDOW_S = 60.0
STRANGER_LINES_MAX = 20  # a window, per kind of line


class LineBudget:
    """At most `lines_max` lines a window, whatever their sources."""

    def __init__(self, lines_max: int = STRANGER_LINES_MAX,
                 window_s: float = STRANGER_LINES_WINDOW_S) -> None:
        if lines_max <= 0 or window_s <= 0:
            raise ValueError("a line budget needs a positive count and window")
        self._lines_max = lines_max
        self._window_s = window_s
        self._window_from: float | None = None
        self._said = 0  # in the window
        self._held = 0  # since the last line said

    def take(self, now: float) -> int | None:
        """A line wants saying at `now`: None to hold it back (counted), else how many
        were held back since the last one said."""
        if self._window_from is None or not 0 <= now - self._window_from < self._window_s:
            self._window_from, self._said = now, 0
        if self._said >= self._lines_max:
            self._held += 1
            return None
        self._said += 1
        held, self._held = self._held, 0
        return held

    def told(self, held: int) -> str:
        """What a line adds when others were held back before it."""
        return (f" [{held} more such lines, about other sources, were not logged: at most "
                f"{self._lines_max} each {self._window_s:.0f} s]" if held else "")


# A peer's connected and disconnected lines: a listed member's key reconnecting as fast as
# it can (580 connections a second, one process) wrote a line for each, 3.7 MB in 40 s,
# about 7 GB of log a day. At most this many a window for each key, then the count held.
PEER_LINES_MAX = 10
PEER_LINES_WINDOW_S = 60.0
PEER_LINES_KEYS_MAX = 256  # keys whose budget is remembered (members: a few dozen)


class PeerLines:
    """A LineBudget of its own for each peer key."""

    def __init__(self) -> None:
        self._budgets: dict[bytes, LineBudget] = {}

    def take(self, key: bytes, now: float) -> int | None:
        """None to hold the line back, else how many of this key's were held since."""
        budget = self._budgets.pop(key, None)
        if budget is None:
            budget = LineBudget(PEER_LINES_MAX, PEER_LINES_WINDOW_S)
            if len(self._budgets) >= PEER_LINES_KEYS_MAX:
                del self._budgets[next(iter(self._budgets))]  # the longest quiet
        self._budgets[key] = budget
        return budget.take(now)

    @staticmethod
    def told(held: int) -> str:
        return (f" [{held} more connection lines of this peer were not logged: at most "
                f"{PEER_LINES_MAX} each {PEER_LINES_WINDOW_S:.0f} s]" if held else "")
