"""p2p: authenticated, encrypted transport between consortium nodes.

Owns the station-to-station handshake (`handshake`, pure), sealed length-prefixed
frames (`frames`, pure), the asyncio stream layer (`connection`, the only module
touching sockets), one live peer's queues (`peer`), the peer manager (`peers`;
the connections it holds by key in `peer_table`) and its pure policies (`policy`;
`admission` for inbound handshakes). It moves `(channel, payload)` messages between
peers named by 32-byte Ed25519 public keys and knows nothing of what they mean.

Must not import consensus, node, cli or storage.
"""

from p2p.errors import (
    ConnectionClosed,
    FrameAuthenticationFailed,
    FrameError,
    FrameTooLarge,
    HandshakeFailed,
    LocalProtocolError,
    MalformedFrame,
    MessageTooLarge,
    NonceExhausted,
    P2PError,
    PeerNotAllowed,
    PeerTimeout,
    RemoteProtocolError,
    UnknownChannel,
)
from p2p.peer import PeerStatus
from p2p.peers import PeerManager
from p2p.policy import Channel, Direction, Limits

__all__ = [
    "Channel",
    "ConnectionClosed",
    "Direction",
    "FrameAuthenticationFailed",
    "FrameError",
    "FrameTooLarge",
    "HandshakeFailed",
    "Limits",
    "LocalProtocolError",
    "MalformedFrame",
    "MessageTooLarge",
    "NonceExhausted",
    "P2PError",
    "PeerManager",
    "PeerNotAllowed",
    "PeerStatus",
    "PeerTimeout",
    "RemoteProtocolError",
    "UnknownChannel",
]
