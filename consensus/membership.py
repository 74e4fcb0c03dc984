"""Who may sign what: signature checks against the validator set of a height."""

from dataclasses import dataclass
from functools import cached_property

from consensus.certificate import Verifier
from consensus.messages import SignedMessage, message_signing_bytes
from consensus.quorum import primary_for, quorum_size, weak_quorum_size
from consensus.types import Height, ValidatorId, View


@dataclass(frozen=True)
class Membership:
    """The validator set in force at one height, with the means to check signatures.

    Today the set is fixed by genesis; a set change at a block boundary only has
    to hand the replica a different Membership for the new height.
    """

    chain_id: bytes
    validators: tuple[ValidatorId, ...]
    verifier: Verifier

    # Worked out once a set (it is frozen): asked for at every vote.
    @cached_property
    def quorum(self) -> int:
        return quorum_size(len(self.validators))

    @cached_property
    def weak_quorum(self) -> int:
        return weak_quorum_size(len(self.validators))

    def primary(self, view: View, height: Height) -> ValidatorId:
        return primary_for(view, height, self.validators)

    def is_authentic(self, signed: SignedMessage) -> bool:
        """Signed by a member, over this chain's signing bytes. Never raises on junk."""
        if signed.sender not in self.validators:
            return False
        data = message_signing_bytes(self.chain_id, signed.message)
        try:
            return bool(self.verifier(signed.sender, data, signed.signature))
        except Exception:  # a verifier may raise on malformed keys/signatures: treat as invalid
            return False
