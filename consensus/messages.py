"""Consensus messages, their signed envelope and their canonical encoding.

Wire form of a signed message: msgpack array [sender, message, signature],
where message is the array [kind, ...fields]. The signature covers
`signing_bytes(chain_id, encode_message(message))`. For a Commit those are
exactly `commit_signing_bytes`, so commit signatures form the certificate.
"""

from dataclasses import dataclass
from functools import lru_cache

from consensus.certificate import (
    CommitCertificate,
    Signer,
    certificate_from_fields,
    certificate_to_fields,
)
from consensus.codec import (
    MAX_UINT,
    Kind,
    as_bytes,
    as_list,
    as_uint,
    fail,
    pack,
    signing_bytes,
    unpack_canonical,
)
from consensus.config import (
    DEFAULT_MAX_BLOCK_BYTES,
    MAX_SIGNATURE_BYTES,
    MAX_VALIDATOR_ID_BYTES,
    MAX_VALIDATORS,
)
from consensus.types import DIGEST_BYTES, Digest, Height, ValidatorId, View

# The lengths an envelope's sender and signature may have. `_Decoder.signed` and the
# vote fast path (`_decoded_vote_or_none`) both read these, so they cannot disagree.
SENDER_BYTES_MIN, SENDER_BYTES_MAX = 1, MAX_VALIDATOR_ID_BYTES
SIGNATURE_BYTES_MIN, SIGNATURE_BYTES_MAX = 1, MAX_SIGNATURE_BYTES


@dataclass(frozen=True)
class PrePrepare:
    """The primary's proposal of `block` (whose header hashes to `digest`)."""

    view: View
    height: Height
    digest: Digest
    block: bytes


@dataclass(frozen=True)
class Prepare:
    view: View
    height: Height
    digest: Digest


@dataclass(frozen=True)
class Commit:
    """A commit vote; `time_ms` is the signer's clock when it voted (BFT time's input)."""

    view: View
    height: Height
    digest: Digest
    time_ms: int


@dataclass(frozen=True)
class SignedMessage:
    sender: ValidatorId
    message: "Message"
    signature: bytes


@dataclass(frozen=True)
class PreparedCertificate:
    """A signed pre-prepare plus quorum - 1 matching prepares from other validators."""

    pre_prepare: SignedMessage
    prepares: tuple[SignedMessage, ...]

    @property
    def proposal(self) -> PrePrepare:
        message = self.pre_prepare.message
        assert isinstance(message, PrePrepare)
        return message


@dataclass(frozen=True)
class ViewChange:
    """"I leave my view for `new_view` at `height`"; carries my highest prepared certificate."""

    new_view: View
    height: Height
    prepared: PreparedCertificate | None


@dataclass(frozen=True)
class NewView:
    """The new primary's proof (a quorum of view changes) plus its re-proposal, if one is forced."""

    view: View
    height: Height
    view_changes: tuple[SignedMessage, ...]
    pre_prepare: SignedMessage | None


@dataclass(frozen=True)
class CommitProof:
    """Sync hint: "I have committed up to certificate.height"; unforgeable by one node."""

    certificate: CommitCertificate


Message = PrePrepare | Prepare | Commit | ViewChange | NewView | CommitProof


def max_message_bytes(max_block_bytes: int, validator_count: int) -> int:
    """Largest encoded signed message a transport must accept (a NewView with full proofs)."""
    per_signed = MAX_VALIDATOR_ID_BYTES + MAX_SIGNATURE_BYTES + DIGEST_BYTES + 64
    per_view_change = max_block_bytes + (validator_count + 2) * per_signed
    return (validator_count + 1) * per_view_change + 1024


# ---- encoding ----------------------------------------------------------------------------


def encode_message(message: Message) -> bytes:
    return pack(_message_fields(message))


def encode_signed(signed: SignedMessage) -> bytes:
    return pack(_signed_fields(signed))


def message_signing_bytes(chain_id: bytes, message: Message) -> bytes:
    return signing_bytes(chain_id, encode_message(message))


def sign_message(chain_id: bytes, sender: ValidatorId, message: Message,
                 signer: Signer) -> SignedMessage:
    """`message` in its envelope from `sender`, signed by `signer`. The signer need not be
    `sender`'s: simulators and attack tools sign as others to show that it never verifies."""
    return SignedMessage(sender, message, signer(message_signing_bytes(chain_id, message)))


def _signed_fields(signed: SignedMessage) -> list[object]:
    return [signed.sender, _message_fields(signed.message), signed.signature]


def _message_fields(message: Message) -> list[object]:
    match message:
        case PrePrepare():
            return [int(Kind.PRE_PREPARE), message.view, message.height, message.digest,
                    message.block]
        case Prepare():
            return [int(Kind.PREPARE), message.view, message.height, message.digest]
        case Commit():
            return [int(Kind.COMMIT), message.view, message.height, message.digest,
                    message.time_ms]
        case ViewChange():
            prepared = None if message.prepared is None else [
                _signed_fields(message.prepared.pre_prepare),
                [_signed_fields(p) for p in message.prepared.prepares],
            ]
            return [int(Kind.VIEW_CHANGE), message.new_view, message.height, prepared]
        case NewView():
            changes = [_signed_fields(vc) for vc in message.view_changes]
            proposal = None if message.pre_prepare is None else _signed_fields(message.pre_prepare)
            return [int(Kind.NEW_VIEW), message.view, message.height, changes, proposal]
        case CommitProof():
            return [int(Kind.COMMIT_PROOF), certificate_to_fields(message.certificate)]


# ---- decoding ----------------------------------------------------------------------------


def decode_message(data: bytes, *, max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES) -> Message:
    """Decode an unsigned message; raises MalformedMessage (remote fault) on any bad input."""
    return _Decoder(max_block_bytes).message(unpack_canonical(data, "message"))


# A vote's bytes are decoded by the node's clock-skew watcher and again by the replica:
# the last few small envelopes are kept decoded. What decodes to a value is all the
# value (frozen, of bytes and ints), so keeping it changes nothing.
SMALL_DECODED_KEPT = 32
SMALL_ENVELOPE_BYTES_MAX = 512


def decode_signed(data: bytes, *, max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES) -> SignedMessage:
    """Decode a signed envelope (signature NOT checked); raises MalformedMessage on bad input."""
    if type(data) is bytes and len(data) <= min(SMALL_ENVELOPE_BYTES_MAX, max_block_bytes):
        # No block inside is longer than the whole, so the bound cannot refuse it.
        return _decode_small_signed(data)
    return _Decoder(max_block_bytes).signed(unpack_canonical(data, "signed message"), None)


@lru_cache(maxsize=SMALL_DECODED_KEPT)
def _decode_small_signed(data: bytes) -> SignedMessage:
    value = unpack_canonical(data, "signed message")
    return _decoded_vote_or_none(value) or _Decoder(len(data)).signed(value, None)


def _decoded_vote_or_none(value: object) -> SignedMessage | None:
    """`value` decoded as a Prepare or Commit envelope, checked in one piece; None for
    any other message and for anything `_Decoder` refuses, which it then says why. The
    same checks as `_Decoder.signed`'s, against the same limits (SENDER_BYTES_*,
    SIGNATURE_BYTES_*, codec.MAX_UINT, DIGEST_BYTES), without its dozen calls a vote:
    most messages are votes. tests/consensus/test_vote_decoding.py pins each limit."""
    if type(value) is not list or len(value) != 3:
        return None
    sender, fields, signature = value
    if (type(sender) is not bytes or not SENDER_BYTES_MIN <= len(sender) <= SENDER_BYTES_MAX
            or type(signature) is not bytes
            or not SIGNATURE_BYTES_MIN <= len(signature) <= SIGNATURE_BYTES_MAX
            or type(fields) is not list or len(fields) not in (4, 5)):
        return None
    kind, view, height, digest = fields[:4]
    if (type(kind) is not int or type(view) is not int or type(height) is not int
            or not 0 <= view <= MAX_UINT or not 0 <= height <= MAX_UINT
            or type(digest) is not bytes or len(digest) != DIGEST_BYTES):
        return None
    message: Message
    if kind == Kind.PREPARE and len(fields) == 4:
        message = Prepare(View(view), Height(height), Digest(digest))
    elif kind == Kind.COMMIT and len(fields) == 5:
        time_ms = fields[4]
        if type(time_ms) is not int or not 0 <= time_ms <= MAX_UINT:
            return None
        message = Commit(View(view), Height(height), Digest(digest), time_ms)
    else:
        return None
    return SignedMessage(ValidatorId(sender), message, signature)


_KINDS = {int(kind): kind for kind in Kind}  # a dict, not Enum lookups: decoded per message


class _Decoder:
    def __init__(self, max_block_bytes: int) -> None:
        self.max_block_bytes = max_block_bytes

    def signed(self, value: object, expected: Kind | None) -> SignedMessage:
        fields = as_list(value, "signed message", length=3)
        sender = ValidatorId(as_bytes(fields[0], "sender", SENDER_BYTES_MIN, SENDER_BYTES_MAX))
        message = self.message(fields[1], expected)
        signature = as_bytes(fields[2], "signature", SIGNATURE_BYTES_MIN,
                             SIGNATURE_BYTES_MAX)
        return SignedMessage(sender, message, signature)

    def message(self, value: object, expected: Kind | None = None) -> Message:
        fields = as_list(value, "message")
        if not fields:
            fail("message: empty array")
        raw_kind = as_uint(fields[0], "message kind")
        kind = _KINDS.get(raw_kind)
        if kind is None:
            fail(f"message: unknown kind {raw_kind}")
        if expected is not None and kind != expected:
            fail(f"message: expected {expected.name}, got {kind.name}")
        return self._by_kind(kind, fields)

    def _by_kind(self, kind: Kind, fields: list[object]) -> Message:
        if kind == Kind.PRE_PREPARE:
            as_list(fields, "pre-prepare", length=5)
            block = as_bytes(fields[4], "block", 0, self.max_block_bytes)
            return PrePrepare(*self._vote_head(fields), block)
        if kind == Kind.PREPARE:
            as_list(fields, "prepare", length=4)
            return Prepare(*self._vote_head(fields))
        if kind == Kind.COMMIT:
            as_list(fields, "commit", length=5)
            return Commit(*self._vote_head(fields), as_uint(fields[4], "commit time"))
        if kind == Kind.VIEW_CHANGE:
            as_list(fields, "view-change", length=4)
            new_view = View(as_uint(fields[1], "new view"))
            height = Height(as_uint(fields[2], "height"))
            return ViewChange(new_view, height, self._prepared(fields[3]))
        if kind == Kind.NEW_VIEW:
            return self._new_view(fields)
        as_list(fields, "commit-proof", length=2)
        return CommitProof(certificate_from_fields(fields[1]))

    def _vote_head(self, fields: list[object]) -> tuple[View, Height, Digest]:
        view = View(as_uint(fields[1], "view"))
        height = Height(as_uint(fields[2], "height"))
        digest = Digest(as_bytes(fields[3], "digest", DIGEST_BYTES, DIGEST_BYTES))
        return view, height, digest

    def _prepared(self, value: object) -> PreparedCertificate | None:
        if value is None:
            return None
        fields = as_list(value, "prepared certificate", length=2)
        pre_prepare = self.signed(fields[0], Kind.PRE_PREPARE)
        raw_prepares = as_list(fields[1], "prepares", max_length=MAX_VALIDATORS)
        prepares = tuple(self.signed(raw, Kind.PREPARE) for raw in raw_prepares)
        return PreparedCertificate(pre_prepare, prepares)

    def _new_view(self, fields: list[object]) -> NewView:
        as_list(fields, "new-view", length=5)
        view = View(as_uint(fields[1], "view"))
        height = Height(as_uint(fields[2], "height"))
        raw_changes = as_list(fields[3], "view changes", max_length=MAX_VALIDATORS)
        changes = tuple(self.signed(raw, Kind.VIEW_CHANGE) for raw in raw_changes)
        proposal = None if fields[4] is None else self.signed(fields[4], Kind.PRE_PREPARE)
        return NewView(view, height, changes, proposal)
