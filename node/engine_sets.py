"""How the engine follows the validator set from height to height.

The set of each height is in the committed state (`ledger.validator_sets`); a
change is written at least two blocks ahead (`ledger.governance`), so after
committing block h the sets of h + 1 and h + 2 are final. The engine re-reads
them after every commit, tells its replica (`ValidatorsKnown`), and lets the
validators of both heights send it consensus frames.
"""

from __future__ import annotations

import logging

from consensus import Event, Height, ValidatorId, ValidatorsKnown
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.key_events import VALIDATOR_KEY_CHANGE_DELAY_BLOCKS, validator_member
from ledger.rules import load_member
from ledger.validator_sets import validator_set_at
from node.key_changes import key_change
from node.validators import ValidatorSet, ValidatorSets

log = logging.getLogger("senim.engine")


class FollowsValidatorSets:
    keys: KeyPair
    chain: Chain
    validator_sets: ValidatorSets
    validators: ValidatorSet  # certifies the next block (height + 1)
    next_validators: ValidatorSet  # certifies the one after (height + 2)
    _validator_keys: dict[bytes, ValidatorId]
    validator_keys: frozenset[bytes]
    _names: dict[bytes, str]
    _told_key_rotated = False

    def _follow_sets(self) -> None:
        """Read the sets of the next two heights from the committed state (after a commit):
        `validators` certify the next block; `validator_keys` (both sets) may send
        consensus frames, and hear our broadcasts."""
        height = self.chain.height
        self.validator_sets.refresh(height)
        self.validators = self.validator_sets.at(height + 1)
        self.next_validators = self.validator_sets.at(height + 2)
        keys = {**self.next_validators.public_keys, **self.validators.public_keys}
        self._validator_keys = {key: ValidatorId(vid) for vid, key in keys.items()}
        self.validator_keys = frozenset(self._validator_keys)  # read by the event loop
        for vid, key in keys.items():
            # a member voted in since genesis, or one that rotated its key (its validator
            # id is then its new key's): name it in logs and status
            if vid not in self._names:
                member = load_member(self.chain.state, validator_member(self.chain.state, key))
                if member is not None:
                    self._names[vid] = member.name
        self._tell_if_key_rotated()

    def _tell_if_key_rotated(self) -> None:
        """Once, when the member this node signs for has moved to another key (at start or
        as the rotation commits), what its operator must do and when: nothing else would
        tell why the node then hears no one. A validator's old key certifies the blocks up
        to the one after the change, and its peers admit it until that one commits: a
        restart before then costs those blocks its vote. Any other node's old key was
        dropped in the block that changed it (`node.validators.peer_keys`): restart now."""
        if self._told_key_rotated:
            return
        member = load_member(self.chain.state, self.keys.member_id)
        if member is None or member.public_key == self.keys.public_key:
            return
        self._told_key_rotated = True
        change = key_change(self.chain.state, self.keys.member_id, member.public_key)
        how = {"rotation": "its member rotated it",
               "replacement": "the ministries replaced it by governance"}.get(
            str(change["by"]) if change else "", "its member rotated it, or the ministries "
            "replaced it")
        at = member.key_rotated_height
        said = (f"member {self.keys.member_id.hex()} signs with key "
                f"{member.public_key.hex()[:16]}… since block {at} ({how}), not with this "
                f"node's key {self.keys.public_key.hex()[:16]}…")
        if self.keys.public_key in self.validator_keys and at is not None:
            last = at + VALIDATOR_KEY_CHANGE_DELAY_BLOCKS - 1
            log.error("%s: that key certifies blocks up to %d and its peers admit this node "
                      "until block %d is committed; then restart it with the member's "
                      "current key file ([node] key)", said, last, last)
        else:
            dropped = at
            if at is not None and self.keys.public_key in validator_set_at(
                    self.chain.state, at + 1).public_keys:
                dropped = at + VALIDATOR_KEY_CHANGE_DELAY_BLOCKS - 1  # it certified up to there
            log.error("%s: its peers no longer admit this node%s; restart it now with the "
                      "member's current key file ([node] key)", said,
                      f" (they dropped it at block {dropped})" if dropped is not None else "")

    def _validators_known(self) -> list[Event]:
        """What the replica must hear after a commit: the sets of its next two heights."""
        height = self.chain.height
        return [ValidatorsKnown(Height(height + 1), self.validators.ids),
                ValidatorsKnown(Height(height + 2), self.next_validators.ids)]

    def _sign(self, message: bytes) -> bytes:
        """The replica's signer. Its commit vote comes back in the next block's last
        commit, checked by the set of the vote's height: this one, but for a vote signed in
        the step that commits the block before a set change. The set remembers what it
        signs as verified (`ValidatorSet.remember_own`), so that check costs no signature
        check."""
        signature = self.keys.sign_raw(message)
        self.validators.remember_own(self.keys, message, signature)
        return signature

    def _verify(self, validator: ValidatorId, message: bytes, signature: bytes) -> bool:
        """Signatures of the current and the next set (the replica checks which counts)."""
        return (self.validators.verify(validator, message, signature)
                or self.next_validators.verify(validator, message, signature))

