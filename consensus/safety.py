"""The replica's safety state: what must survive a restart, and its encoding.

With it a restarted replica never votes for two different blocks at one
height + view, never forgets a block it prepared (which may have committed)
and never returns to an older view.
"""

from dataclasses import dataclass

from consensus.codec import as_bytes, as_list, as_uint, pack, unpack_canonical
from consensus.errors import CorruptSafetyState, MalformedMessage
from consensus.messages import PreparedCertificate, ViewChange, decode_message, encode_message
from consensus.types import DIGEST_BYTES, Digest, Height, View

_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Vote:
    """The one block this replica pre-prepared or prepared in `view` at the current height."""

    view: View
    digest: Digest


@dataclass(frozen=True)
class SafetyState:
    height: Height
    view: View
    view_active: bool
    """False while a view change to `view` is pending (no NewView installed yet)."""
    vote: Vote | None
    prepared: PreparedCertificate | None


def encode_safety_state(state: SafetyState) -> bytes:
    vote = None if state.vote is None else [state.vote.view, state.vote.digest]
    prepared = None
    if state.prepared is not None:
        # Reuse the view-change encoding, which already carries a prepared certificate.
        prepared = encode_message(ViewChange(state.view, state.height, state.prepared))
    return pack([_FORMAT_VERSION, state.height, state.view, state.view_active, vote, prepared])


def decode_safety_state(data: bytes, max_block_bytes: int) -> SafetyState:
    """Decode what the node persisted; raises CorruptSafetyState (local fault) if unreadable."""
    try:
        fields = as_list(unpack_canonical(data, "safety state"), "safety state", length=6)
        if as_uint(fields[0], "format version") != _FORMAT_VERSION:
            raise CorruptSafetyState(f"unknown safety state version {fields[0]!r}")
        height = Height(as_uint(fields[1], "height"))
        view = View(as_uint(fields[2], "view"))
        if not isinstance(fields[3], bool):
            raise CorruptSafetyState("view_active is not a boolean")
        vote = None
        if fields[4] is not None:
            raw_vote = as_list(fields[4], "vote", length=2)
            vote = Vote(View(as_uint(raw_vote[0], "vote view")),
                        Digest(as_bytes(raw_vote[1], "vote digest", DIGEST_BYTES, DIGEST_BYTES)))
        prepared = None
        if fields[5] is not None:
            raw = as_bytes(fields[5], "prepared", 1, 2 * max_block_bytes + 2**20)
            carrier = decode_message(raw, max_block_bytes=max_block_bytes)
            if not isinstance(carrier, ViewChange) or carrier.prepared is None:
                raise CorruptSafetyState("prepared certificate has the wrong shape")
            prepared = carrier.prepared
        return SafetyState(height, view, fields[3], vote, prepared)
    except MalformedMessage as exc:
        raise CorruptSafetyState(f"persisted safety state is unreadable: {exc}") from exc
