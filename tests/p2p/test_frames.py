"""Frame sealing/opening: round trip and every tampering the counter nonce must catch."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p.errors import (
    FrameAuthenticationFailed,
    FrameError,
    FrameTooLarge,
    MalformedFrame,
    MessageTooLarge,
    NonceExhausted,
)
from p2p.frames import (
    DEFAULT_MAX_FRAME_BYTES,
    FRAME_OVERHEAD_BYTES,
    LENGTH_PREFIX_BYTES,
    NONCE_COUNTER_LIMIT,
    Frame,
    FrameOpener,
    FrameSealer,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def pair(max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> tuple[FrameSealer, FrameOpener]:
    return FrameSealer(KEY, max_frame_bytes), FrameOpener(KEY, max_frame_bytes)


def test_round_trip_many_frames() -> None:
    sealer, opener = pair()
    messages = [(1, b""), (2, b"hello"), (255, bytes(range(256)) * 40), (7, b"x")]
    for channel, payload in messages:
        wire = sealer.seal(channel, payload)
        assert len(wire) == LENGTH_PREFIX_BYTES + FRAME_OVERHEAD_BYTES + len(payload)
        assert opener.open(wire) == Frame(channel, payload)


def test_same_message_twice_gives_different_ciphertext() -> None:
    sealer, _ = pair()
    assert sealer.seal(1, b"same") != sealer.seal(1, b"same")


@pytest.mark.parametrize("index", [0, 3, 4, 5, 10, -1])
def test_tampered_byte_fails(index: int) -> None:
    sealer, opener = pair()
    wire = bytearray(sealer.seal(3, b"payload bytes"))
    wire[index] ^= 0x80
    with pytest.raises(FrameError):
        opener.open(bytes(wire))


def test_wrong_key_fails() -> None:
    wire = FrameSealer(KEY, 1024).seal(1, b"secret")
    with pytest.raises(FrameAuthenticationFailed):
        FrameOpener(OTHER_KEY, 1024).open(wire)


def test_replayed_frame_fails() -> None:
    sealer, opener = pair()
    wire = sealer.seal(1, b"pay me once")
    assert opener.open(wire).payload == b"pay me once"
    with pytest.raises(FrameAuthenticationFailed):
        opener.open(wire)


def test_reordered_frames_fail() -> None:
    sealer, opener = pair()
    first, second = sealer.seal(1, b"first"), sealer.seal(1, b"second")
    with pytest.raises(FrameAuthenticationFailed):
        opener.open(second)
    _ = first


def test_dropped_frame_makes_the_next_fail() -> None:
    sealer, opener = pair()
    sealer.seal(1, b"lost in transit")
    with pytest.raises(FrameAuthenticationFailed):
        opener.open(sealer.seal(1, b"next"))


def test_truncated_frame_fails() -> None:
    sealer, opener = pair()
    wire = sealer.seal(1, b"0123456789")
    with pytest.raises(MalformedFrame):
        opener.open(wire[:-1])
    shortened = struct.pack(">I", len(wire) - LENGTH_PREFIX_BYTES - 1) + wire[4:-1]
    with pytest.raises(FrameAuthenticationFailed):
        opener.open(shortened)


def test_oversized_length_prefix_refused_from_the_prefix_alone() -> None:
    """Only 4 bytes exist: refusal cannot have read or allocated a body."""
    _, opener = pair(max_frame_bytes=1024)
    with pytest.raises(FrameTooLarge):
        opener.read_length(struct.pack(">I", 1025))
    with pytest.raises(FrameTooLarge):
        opener.read_length(b"\xff\xff\xff\xff")
    assert opener.read_length(struct.pack(">I", 1024)) == 1024


def test_length_below_tag_size_is_malformed() -> None:
    _, opener = pair()
    with pytest.raises(MalformedFrame):
        opener.read_length(struct.pack(">I", FRAME_OVERHEAD_BYTES - 1))


def test_sealer_refuses_a_frame_over_the_maximum() -> None:
    sealer, _ = pair(max_frame_bytes=100)
    sealer.seal(1, bytes(100 - FRAME_OVERHEAD_BYTES))
    with pytest.raises(MessageTooLarge):
        sealer.seal(1, bytes(101 - FRAME_OVERHEAD_BYTES))


def test_counter_refuses_to_wrap() -> None:
    sealer, opener = pair()
    # Jump to the last usable nonce instead of sealing 2**96 frames.
    sealer._counter = NONCE_COUNTER_LIMIT - 1
    opener._counter = NONCE_COUNTER_LIMIT - 1
    assert opener.open(sealer.seal(1, b"last")).payload == b"last"
    with pytest.raises(NonceExhausted):
        sealer.seal(1, b"one too many")
    with pytest.raises(NonceExhausted):
        opener.open_body(bytes(FRAME_OVERHEAD_BYTES))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_open_random_bytes_raises_only_frame_errors(data: bytes) -> None:
    _, opener = pair(max_frame_bytes=128)
    with pytest.raises(FrameError):
        opener.open(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=255), st.binary(max_size=64), st.data())
def test_any_single_bit_flip_is_detected(channel: int, payload: bytes, data: st.DataObject) -> None:
    sealer, opener = pair()
    wire = bytearray(sealer.seal(channel, payload))
    bit = data.draw(st.integers(min_value=0, max_value=len(wire) * 8 - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(FrameError):
        opener.open(bytes(wire))
