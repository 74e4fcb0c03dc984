"""Canonical encoding, strict decoding and signing-bytes domain separation."""

import contextlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import (
    Commit,
    CommitCertificate,
    CommitProof,
    CommitSignature,
    Digest,
    Height,
    MalformedMessage,
    Message,
    NewView,
    Prepare,
    PrePrepare,
    SignedMessage,
    ValidatorId,
    View,
    ViewChange,
    commit_signing_bytes,
    decode_message,
    decode_signed,
    encode_message,
    encode_signed,
    message_signing_bytes,
)
from tests.consensus.signed_messages import new_view_on, prepared_view_change

A, B = ValidatorId(b"a" * 20), ValidatorId(b"b" * 20)
D1, D2 = Digest(b"\x01" * 32), Digest(b"\x02" * 32)


def signed(sender: ValidatorId, message: Message) -> SignedMessage:
    return SignedMessage(sender, message, b"s" * 64)


def sample_messages() -> list[Message]:
    proposal, change = prepared_view_change(signed, A, [B], View(2), Height(7), D1,
                                            b"block bytes")
    return [
        proposal,
        PrePrepare(View(0), Height(1), D2, b""),
        Prepare(View(1), Height(2), D1),
        Commit(View(1), Height(2), D2, 1_700_000_000_123),
        change,
        ViewChange(View(1), Height(1), None),
        new_view_on(signed, change, [A, B],
                    signed(A, PrePrepare(View(3), Height(7), D1, b"block bytes"))),
        NewView(View(4), Height(7), (), None),
        CommitProof(CommitCertificate(Height(6), View(1), D2, (CommitSignature(A, 5, b"x" * 64),
                                                               CommitSignature(B, 7, b"y" * 64)))),
    ]


@pytest.mark.parametrize("message", sample_messages(), ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: Message) -> None:
    assert decode_message(encode_message(message)) == message
    envelope = signed(A, message)
    assert decode_signed(encode_signed(envelope)) == envelope


def test_commit_signature_is_what_the_certificate_signs() -> None:
    commit = Commit(View(4), Height(9), D1, 1_700_000_000_000)
    assert message_signing_bytes(b"chain", commit) == commit_signing_bytes(
        b"chain", Height(9), View(4), D1, 1_700_000_000_000)
    later = Commit(View(4), Height(9), D1, 1_700_000_000_001)
    assert message_signing_bytes(b"chain", later) != message_signing_bytes(b"chain", commit)


def test_signing_bytes_separate_chains_and_kinds() -> None:
    prepare = Prepare(View(1), Height(1), D1)
    commit = Commit(View(1), Height(1), D1, 0)
    assert message_signing_bytes(b"chain-a", prepare) != message_signing_bytes(b"chain-b", prepare)
    assert message_signing_bytes(b"chain", prepare) != message_signing_bytes(b"chain", commit)
    # chain id is length-prefixed: moving bytes between chain id and message cannot collide
    assert message_signing_bytes(b"ab", prepare).startswith(b"senim/consensus/v1")


def pack(value: object) -> bytes:
    data: bytes = msgpack.packb(value, use_bin_type=True)
    return data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "msgpack"),
        (b"\xc1", "msgpack"),
        (pack({"kind": 1}), "map"),
        (pack([]), "empty"),
        (pack([99, 0, 1, b"d" * 32]), "unknown kind"),
        (pack([2, 0, 1, b"d" * 31]), "digest"),
        (pack([2, -1, 1, b"d" * 32]), "out of range"),
        (pack([2, True, 1, b"d" * 32]), "integer"),
        (pack([2, 0, 1, "d" * 32]), "bytes"),
        (pack([2, 0, 1, b"d" * 32, b"extra"]), "fields"),
        (pack([1, 0, 1, b"d" * 32, b"x" * 101]), "block"),
        (pack([2, 0, 1, b"d" * 32]) + b"\x00", "msgpack"),
        (b"\xd1\x00\x05", "canonical"),  # 5 encoded as int16: a second encoding of one value
        (pack([5, 1, 1, [[b"a", [2, 0, 1, b"d" * 32], b"s"]], None]), "VIEW_CHANGE"),
    ],
)
def test_malformed_input_is_refused_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        decode_message(data, max_block_bytes=100)


def test_oversized_block_is_refused_inside_an_envelope() -> None:
    envelope = signed(A, PrePrepare(View(0), Height(1), D1, b"x" * 101))
    with pytest.raises(MalformedMessage, match="block"):
        decode_signed(encode_signed(envelope), max_block_bytes=100)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedMessage):
        decode_signed(data)


values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**64 - 1) | st.binary(max_size=40)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=6), st.integers(1, 6))
def test_random_structures_never_raise_anything_but_malformed(
    fields: list[object], kind: int
) -> None:
    for candidate in ([kind, *fields], [b"a" * 20, [kind, *fields], b"s"]):
        with contextlib.suppress(MalformedMessage):
            decode_signed(pack(candidate))


def test_a_frame_of_empty_arrays_is_refused_before_they_are_built() -> None:
    """A validator's 4 MiB consensus frame of empty arrays built 4 million lists on the
    engine thread (a second each, 13 view changes under a stream of them)."""
    import struct
    import tracemalloc

    from consensus.codec import MAX_ARRAYS

    count = 4 * 1024 * 1024
    frame = b"\xdd" + struct.pack(">I", count) + b"\x90" * count
    tracemalloc.start()
    try:
        with pytest.raises(MalformedMessage, match=r"arrays|items"):
            decode_signed(frame)
        assert tracemalloc.get_traced_memory()[1] < (MAX_ARRAYS + 1) * 200
    finally:
        tracemalloc.stop()


def test_a_small_envelope_decoded_again_is_the_same_and_bad_ones_stay_refused() -> None:
    """Small envelopes are kept decoded (consensus.messages.SMALL_DECODED_KEPT): the node
    decodes a vote for its watchers, then the replica decodes the same bytes."""
    vote = encode_signed(signed(A, Commit(View(1), Height(2), D1, 1_700_000_000_000)))
    first = decode_signed(vote)
    assert first == signed(A, Commit(View(1), Height(2), D1, 1_700_000_000_000))
    assert decode_signed(bytes(vote)) is first  # kept, not decoded again
    junk = vote[:-1]
    for _ in range(2):  # a refusal is not kept as an answer
        with pytest.raises(MalformedMessage):
            decode_signed(junk)
    # A bound smaller than the envelope is still the caller's: the kept decoding is
    # used only where no bound could refuse anything in it.
    proposal = encode_signed(signed(A, PrePrepare(View(1), Height(2), D1, b"b" * 100)))
    assert decode_signed(proposal).message == PrePrepare(View(1), Height(2), D1, b"b" * 100)
    with pytest.raises(MalformedMessage):
        decode_signed(proposal, max_block_bytes=99)
