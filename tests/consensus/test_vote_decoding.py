"""A small vote's envelope is checked in one piece (consensus.messages._decoded_vote_or_none):
it must accept exactly the Prepares and Commits the general decoder accepts, decoded the
same, and leave everything else to it, so that its refusals keep their reasons."""

from collections.abc import Callable

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import (
    Commit,
    Digest,
    Height,
    MalformedMessage,
    Prepare,
    SignedMessage,
    ValidatorId,
    View,
    decode_signed,
    encode_signed,
)
from consensus.codec import MAX_UINT, unpack_canonical
from consensus.messages import (
    SENDER_BYTES_MAX,
    SENDER_BYTES_MIN,
    SIGNATURE_BYTES_MAX,
    SIGNATURE_BYTES_MIN,
    _decoded_vote_or_none,
    _Decoder,
)
from consensus.types import DIGEST_BYTES

A = ValidatorId(b"a" * 20)
D = Digest(b"\x01" * 32)


def pack(value: object) -> bytes:
    data: bytes = msgpack.packb(value, use_bin_type=True)
    return data


def general(value: object) -> SignedMessage | None:
    """What the general decoder makes of `value`; None where it refuses it."""
    try:
        return _Decoder(1 << 20).signed(value, None)
    except MalformedMessage:
        return None


def test_prepares_and_commits_take_the_one_piece_check_and_decode_the_same() -> None:
    for message in (Prepare(View(0), Height(1), D), Prepare(View(MAX_UINT), Height(MAX_UINT), D),
                    Commit(View(3), Height(9), D, 1_700_000_000_000),
                    Commit(View(0), Height(0), D, 0)):
        envelope = SignedMessage(A, message, b"s" * 64)
        value = unpack_canonical(encode_signed(envelope), "signed message")
        assert _decoded_vote_or_none(value) == envelope == general(value)
        assert decode_signed(encode_signed(envelope)) == envelope


# Values near every bound the decoder checks: types msgpack gives, lengths, ranges.
fields: st.SearchStrategy[object] = (
    st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, -1, MAX_UINT, MAX_UINT + 1, True, False, None, 2.0,
                     "x", b"", b"\x01" * 31, b"\x01" * 32, b"\x01" * 33, []])
    | st.integers(-3, 2**64 - 1) | st.binary(max_size=70))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 99, True]), st.lists(fields, min_size=0, max_size=5),
       fields, fields, st.integers(2, 4))
def test_the_one_piece_check_never_differs_from_the_general_decoder(
        kind: object, rest: list[object], sender: object, signature: object, length: int
) -> None:
    envelope = [sender, [kind, *rest], signature, b"x"][:length]
    value = unpack_canonical(pack(envelope), "signed message")
    fast, slow = _decoded_vote_or_none(value), general(value)
    if fast is not None:
        assert fast == slow
    elif slow is not None:
        assert not isinstance(slow.message, Prepare | Commit)


def test_a_refused_vote_keeps_the_general_decoders_reason() -> None:
    for bad, reason in (([A, [2, 0, 1, b"d" * 31], b"s"], "digest"),
                        ([A, [3, 0, 1, b"d" * 32, -1], b"s"], "commit time"),
                        ([A, [2, True, 1, b"d" * 32], b"s"], "integer"),
                        ([b"", [2, 0, 1, b"d" * 32], b"s"], "sender"),
                        ([A, [2, 0, 1, b"d" * 32], b""], "signature"),
                        ([A, [9, 0, 1, b"d" * 32], b"s"], "unknown kind")):
        data = pack(bad)
        assert _decoded_vote_or_none(unpack_canonical(data, "signed message")) is None
        try:
            decode_signed(data)
        except MalformedMessage as exc:
            assert reason in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


@settings(max_examples=600, deadline=None)
@given(st.sampled_from([2, 3]), st.integers(0, 7), fields)
def test_a_vote_with_one_field_changed_is_judged_as_the_general_decoder_judges_it(
        kind: int, place: int, value: object) -> None:
    vote: list[object] = [kind, 1, 2, bytes(D)] + ([1_700_000_000_000] if kind == 3 else [])
    envelope: list[object] = [bytes(A), vote, b"s" * 64]
    if place < 3:
        envelope[place] = value
    elif place - 3 < len(vote):
        vote[place - 3] = value
    else:
        vote.append(value)  # one field too many
    decoded = unpack_canonical(pack(envelope), "signed message")
    fast, slow = _decoded_vote_or_none(decoded), general(decoded)
    assert fast == slow or (fast is None and not isinstance(slow and slow.message,
                                                            Prepare | Commit))


# ---- every limit, at it and one past it -----------------------------------------------------

PREPARE, COMMIT = 2, 3
Envelope = list[object]  # [sender, [kind, view, height, digest, (time)], signature]


def vote(kind: int) -> Envelope:
    fields: list[object] = [kind, 1, 2, b"\x01" * DIGEST_BYTES]
    if kind == COMMIT:
        fields.append(1_700_000_000_000)
    return [b"a" * 20, fields, b"s" * 64]


def with_sender(length: int) -> Callable[[Envelope], None]:
    def change(envelope: Envelope) -> None:
        envelope[0] = b"a" * length
    return change


def with_signature(length: int) -> Callable[[Envelope], None]:
    def change(envelope: Envelope) -> None:
        envelope[2] = b"s" * length
    return change


def with_field(place: int, value: object) -> Callable[[Envelope], None]:
    def change(envelope: Envelope) -> None:
        fields = envelope[1]
        assert isinstance(fields, list)
        fields[place] = value
    return change


def with_fields(change_fields: Callable[[list[object]], object]) -> Callable[[Envelope], None]:
    def change(envelope: Envelope) -> None:
        fields = envelope[1]
        assert isinstance(fields, list)
        change_fields(fields)
    return change


VIEW, HEIGHT, DIGEST, TIME = 1, 2, 3, 4
LENGTHS = sorted({0, 1, SENDER_BYTES_MAX, SENDER_BYTES_MAX + 1,
                  SIGNATURE_BYTES_MAX, SIGNATURE_BYTES_MAX + 1})
CASES: list[tuple[str, int, Callable[[Envelope], None], bool]] = [
    *[(f"sender of {n} bytes", kind, with_sender(n),
       SENDER_BYTES_MIN <= n <= SENDER_BYTES_MAX)
      for n in LENGTHS for kind in (PREPARE, COMMIT)],
    *[(f"signature of {n} bytes", kind, with_signature(n),
       SIGNATURE_BYTES_MIN <= n <= SIGNATURE_BYTES_MAX)
      for n in LENGTHS for kind in (PREPARE, COMMIT)],
    *[(f"{name} {number}", kind, with_field(place, number), 0 <= number <= MAX_UINT)
      for name, place, kinds in (("view", VIEW, (PREPARE, COMMIT)),
                                 ("height", HEIGHT, (PREPARE, COMMIT)),
                                 ("commit time", TIME, (COMMIT,)))
      for number in (-1, 0, MAX_UINT, MAX_UINT + 1) for kind in kinds],
    *[(f"{name} True", kind, with_field(place, True), False)
      for name, place, kinds in (("kind", 0, (PREPARE, COMMIT)), ("view", VIEW, (PREPARE, COMMIT)),
                                 ("height", HEIGHT, (PREPARE, COMMIT)),
                                 ("commit time", TIME, (COMMIT,)))
      for kind in kinds],
    *[(f"{name} 1.0", kind, with_field(place, 1.0), False)
      for name, place, kinds in (("kind", 0, (PREPARE, COMMIT)), ("view", VIEW, (PREPARE, COMMIT)),
                                 ("height", HEIGHT, (PREPARE, COMMIT)),
                                 ("commit time", TIME, (COMMIT,)))
      for kind in kinds],
    *[(f"digest of {n} bytes", kind, with_field(DIGEST, b"\x01" * n), n == DIGEST_BYTES)
      for n in (DIGEST_BYTES - 1, DIGEST_BYTES, DIGEST_BYTES + 1) for kind in (PREPARE, COMMIT)],
    ("prepare with 5 fields", PREPARE, with_fields(lambda fields: fields.append(0)), False),
    ("commit with 4 fields", COMMIT, with_fields(lambda fields: fields.pop()), False),
]


def test_the_limits_are_the_wires() -> None:
    """Peers running other code hold envelopes to these: they are not ours to move."""
    assert (SENDER_BYTES_MIN, SENDER_BYTES_MAX) == (1, 64)
    assert (SIGNATURE_BYTES_MIN, SIGNATURE_BYTES_MAX) == (1, 128)
    assert (MAX_UINT, DIGEST_BYTES) == (2**63 - 1, 32)


@pytest.mark.parametrize(("kind", "change", "accepted"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_at_each_limit_and_one_past_it_the_one_piece_check_judges_as_the_general_decoder(
        kind: int, change: Callable[[Envelope], None], accepted: bool) -> None:
    envelope = vote(kind)
    change(envelope)
    data = pack(envelope)
    value = unpack_canonical(data, "signed message")
    fast, slow = _decoded_vote_or_none(value), general(value)
    assert fast == slow
    assert (fast is not None) == accepted
    if accepted:
        assert decode_signed(data) == fast
    else:
        with pytest.raises(MalformedMessage):
            decode_signed(data)
