"""Sealing and opening transport frames: pure functions over bytes (no IO).

Wire format of one frame::

    length (4 bytes, big-endian) | ChaCha20-Poly1305(channel (1 byte) | payload)

`length` counts the ciphertext (tag included) and is bound to it as associated
data. Each direction has its own key and a 96-bit counter nonce that starts at 0,
goes up by one per frame and never wraps, so a replayed, reordered or dropped
frame fails authentication on the next open. The reader checks the length prefix
against a hard maximum before it reads or allocates the body.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from p2p.errors import (
    FrameAuthenticationFailed,
    FrameTooLarge,
    LocalProtocolError,
    MalformedFrame,
    MessageTooLarge,
    NonceExhausted,
)

LENGTH_PREFIX_BYTES = 4
CHANNEL_BYTES = 1
TAG_BYTES = 16
NONCE_BYTES = 12
FRAME_OVERHEAD_BYTES = CHANNEL_BYTES + TAG_BYTES  # inside the length, beyond the payload
MIN_BODY_BYTES = FRAME_OVERHEAD_BYTES
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
NONCE_COUNTER_LIMIT = 1 << (8 * NONCE_BYTES)  # the first counter value we refuse to use
_LENGTH = struct.Struct(">I")
_KEY_BYTES = 32


class Frame(NamedTuple):
    """One opened frame: the channel it was sent on and its payload (a tuple: one is
    made for every message received, and a frozen dataclass took half as long again)."""

    channel: int
    payload: bytes


class _CounterCipher:
    """ChaCha20-Poly1305 with a strictly increasing, never-wrapping nonce."""

    def __init__(self, key: bytes, max_frame_bytes: int) -> None:
        if len(key) != _KEY_BYTES:
            raise LocalProtocolError(f"frame key must be {_KEY_BYTES} bytes")
        if not MIN_BODY_BYTES <= max_frame_bytes < 1 << 32:
            raise LocalProtocolError(f"max frame size out of range: {max_frame_bytes}")
        self._aead = ChaCha20Poly1305(key)
        self._counter = 0
        self.max_frame_bytes = max_frame_bytes

    def _next_nonce(self) -> bytes:
        if self._counter >= NONCE_COUNTER_LIMIT:
            raise NonceExhausted("nonce counter exhausted; the session must be re-established")
        nonce = self._counter.to_bytes(NONCE_BYTES, "big")
        self._counter += 1
        return nonce


class FrameSealer(_CounterCipher):
    """Seals outgoing frames for one direction of one session."""

    def seal(self, channel: int, payload: bytes) -> bytes:
        """Return the wire bytes (length prefix + ciphertext) for one frame."""
        if not 0 <= channel <= 0xFF:
            raise LocalProtocolError(f"channel id must fit in one byte, got {channel}")
        body_bytes = FRAME_OVERHEAD_BYTES + len(payload)
        if body_bytes > self.max_frame_bytes:
            raise MessageTooLarge(
                f"frame of {body_bytes} bytes exceeds the maximum {self.max_frame_bytes}"
            )
        prefix = _LENGTH.pack(body_bytes)
        nonce = self._next_nonce()
        body = self._aead.encrypt(nonce, bytes((channel,)) + payload, prefix)
        return prefix + body


class FrameOpener(_CounterCipher):
    """Opens incoming frames for one direction of one session.

    Streaming use: `read_length(first 4 bytes)` then `open_body(that many bytes)`.
    Whole-frame use: `open(wire bytes)`. After any error the session is broken
    and the connection must be closed.
    """

    def read_length(self, prefix: bytes) -> int:
        """Validate a length prefix; call before reading the body."""
        if len(prefix) != LENGTH_PREFIX_BYTES:
            raise MalformedFrame(f"length prefix must be {LENGTH_PREFIX_BYTES} bytes")
        (body_bytes,) = _LENGTH.unpack(prefix)
        if body_bytes > self.max_frame_bytes:
            raise FrameTooLarge(
                f"peer announced a {body_bytes}-byte frame; maximum is {self.max_frame_bytes}"
            )
        if body_bytes < MIN_BODY_BYTES:
            raise MalformedFrame(f"frame body of {body_bytes} bytes is shorter than its tag")
        return int(body_bytes)

    def open_body(self, body: bytes) -> Frame:
        """Decrypt a body whose length prefix `read_length` accepted."""
        prefix = _LENGTH.pack(len(body))
        if not MIN_BODY_BYTES <= len(body) <= self.max_frame_bytes:
            raise MalformedFrame(f"frame body of {len(body)} bytes is out of range")
        nonce = self._next_nonce()
        try:
            plain = self._aead.decrypt(nonce, body, prefix)
        except InvalidTag:
            raise FrameAuthenticationFailed(
                "frame failed authentication: tampered, replayed, reordered or truncated"
            ) from None
        return Frame(channel=plain[0], payload=plain[1:])

    def open(self, wire: bytes) -> Frame:
        """Open one complete frame (length prefix + body)."""
        body_bytes = self.read_length(wire[:LENGTH_PREFIX_BYTES])
        body = wire[LENGTH_PREFIX_BYTES:]
        if len(body) != body_bytes:
            raise MalformedFrame(f"length prefix says {body_bytes} bytes, got {len(body)}")
        return self.open_body(body)
