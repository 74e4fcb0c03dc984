"""Errors raised by p2p. Each class says whose fault it is.

- `RemoteProtocolError`: the peer sent something we refuse (bad handshake, tampered
  or oversized frame, unknown channel, silence past a deadline). The right reaction
  is to drop that connection and carry on with the others.
- `LocalProtocolError`: our own code or configuration misused the transport (a
  message larger than its channel allows, an undeclared channel, a nonce counter
  used up). These are bugs or misconfiguration on this node.
- `ConnectionClosed`: nobody's fault in particular; the stream ended.
"""


class P2PError(Exception):
    """Base class for every p2p failure."""


class RemoteProtocolError(P2PError):
    """Remote fault: the peer broke the protocol; drop the connection."""


class HandshakeFailed(RemoteProtocolError):
    """Remote fault: the peer's handshake messages do not verify."""


class PeerNotAllowed(HandshakeFailed):
    """Remote fault: the peer proved its key, but that key is not an allowed member."""

    def __init__(self, public_key: bytes) -> None:
        super().__init__(f"peer key {public_key.hex()} is not an allowed member or observer")
        self.public_key = public_key


class FrameError(RemoteProtocolError):
    """Remote fault: a frame from the peer is unacceptable."""


class FrameTooLarge(FrameError):
    """Remote fault: the length prefix claims more than the hard maximum."""


class MalformedFrame(FrameError):
    """Remote fault: the frame is too short or its contents do not parse."""


class FrameAuthenticationFailed(FrameError):
    """Remote fault: tampered, replayed, reordered or truncated ciphertext."""


class PeerTimeout(RemoteProtocolError):
    """Remote fault: the peer did not send or accept data before a deadline."""


class LocalProtocolError(P2PError):
    """Local fault: this node misused the transport."""


class NonceExhausted(LocalProtocolError):
    """Local fault: a direction's nonce counter is used up; the session must end."""


class MessageTooLarge(LocalProtocolError):
    """Local fault: we tried to send more than the channel or frame maximum."""


class UnknownChannel(LocalProtocolError):
    """Local fault: we tried to send on a channel that was never declared."""


class HandshakeOverRate(RemoteProtocolError):
    """The peer's address has started more handshakes than its rate allows: closed before
    this node did the key exchange for it (`p2p.admission.HandshakeRates`)."""


class ConnectionClosed(P2PError):
    """The stream ended (EOF, reset or local close)."""


class HostUnresolved(ConnectionClosed):
    """A peer address whose host name does not resolve (mistyped, or its DNS down): no
    stream was opened."""
