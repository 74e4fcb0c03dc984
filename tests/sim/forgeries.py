"""What the simulators' Byzantine validators send besides their real traffic.

Shared by the consensus-only simulator (`tests.sim.byzantine`) and the node simulator
(`tests.sim.node_byzantine`). A forger holds only its own validator's signer, so
anything it signs as someone else never verifies. Every draw comes from the seeded
`rng`, in a fixed order, so a seed replays the same attack.
"""

import dataclasses
import random

from consensus import (
    Commit,
    CommitCertificate,
    CommitProof,
    CommitSignature,
    Digest,
    Height,
    Message,
    Prepare,
    SignedMessage,
    Signer,
    ValidatorId,
    View,
    encode_signed,
    sign_message,
)
from tests.consensus.signed_messages import new_view_on, prepared_view_change

# Of the peers sent a conflicting message: this share gets both versions (evidence),
# and of the rest, those drawn below SPLIT_REAL get the real one.
SPLIT_BOTH, SPLIT_REAL = 0.15, 0.55
# How often a prepare or commit is doubled with a conflicting one.
CONFLICTING_VOTE_RATE = 0.3


class Forger:
    def __init__(self, rng: random.Random, me: ValidatorId, validators: tuple[ValidatorId, ...],
                 chain_id: bytes, signer: Signer, signature_bytes: int) -> None:
        self._rng = rng
        self.me = me
        self.others = [v for v in validators if v != me]
        self._validators = validators
        self._chain_id = chain_id
        self._signer = signer
        self._signature_bytes = signature_bytes

    def signed_as(self, claimed: ValidatorId, message: Message) -> SignedMessage:
        """A message claiming to be from `claimed` but signed with our own key."""
        return sign_message(self._chain_id, claimed, message, self._signer)

    def sign(self, message: Message) -> SignedMessage:
        return self.signed_as(self.me, message)

    def random_digest(self) -> Digest:
        return Digest(self._rng.randbytes(32))

    def conflicting_vote(self, message: Message) -> bytes | None:
        """Sometimes, for a prepare or commit, the same vote for another digest."""
        if isinstance(message, Prepare | Commit) and self._rng.random() < CONFLICTING_VOTE_RATE:
            other = dataclasses.replace(message, digest=self.random_digest())
            return encode_signed(self.sign(other))
        return None

    def split(self, peers: list[ValidatorId], real: bytes, fake: bytes
              ) -> list[tuple[ValidatorId, bytes]]:
        """Each peer gets the real message, the fake one, or (sometimes) both."""
        sends: list[tuple[ValidatorId, bytes]] = []
        for peer in peers:
            choice = self._rng.random()
            if choice < SPLIT_BOTH:
                sends += [(peer, real), (peer, fake)]
            else:
                sends.append((peer, real if choice < SPLIT_REAL else fake))
        return sends

    def forgeries(self) -> list[bytes]:
        """Junk, a bad signature, a vote signed as another, and a view change, new view
        and commit proof built on forged certificates."""
        victim = self._rng.choice(self.others)
        view = View(self._rng.randint(1, 50))
        height = Height(self._rng.randint(1, 30))
        digest = self.random_digest()
        _, change = prepared_view_change(self.signed_as, victim, self.others, view, height,
                                         digest, b"forged block")
        new_view = new_view_on(self.signed_as, change, self._validators, None)
        no_signature = bytes(self._signature_bytes)
        certificate = CommitCertificate(Height(height + 3), view, digest,
                                        tuple(sorted(CommitSignature(v, 0, no_signature)
                                                     for v in self._validators)))
        return [
            self._rng.randbytes(self._rng.randint(0, 80)),
            encode_signed(SignedMessage(self.me, Prepare(view, height, digest), no_signature)),
            encode_signed(self.signed_as(victim, Commit(view, height, digest, 0))),
            encode_signed(self.sign(change)),
            encode_signed(self.sign(new_view)),
            encode_signed(self.sign(CommitProof(certificate))),
        ]
