"""How the engine follows the validator set from height to height.

The set of each height is in the committed state (`ledger.validator_sets`); a
change is written at least two blocks ahead (`ledger.governance`), so after
committing block h the sets of h + 1 and h + 2 are final. The engine re-reads
them after every commit, tells its replica (`ValidatorsKnown`), and lets the
validators of both heights send it consensus frames.
"""

from __future__ import annotations

from consensus import Event, Height, ValidatorId, ValidatorsKnown
from ledger.chain import Chain
from ledger.key_events import validator_member
from ledger.rules import load_member
from node.validators import ValidatorSet, ValidatorSets


class FollowsValidatorSets:
    chain: Chain
    validator_sets: ValidatorSets
    validators: ValidatorSet  # certifies the next block (height + 1)
    next_validators: ValidatorSet  # certifies the one after (height + 2)
    _validator_keys: dict[bytes, ValidatorId]
    validator_keys: frozenset[bytes]
    _names: dict[bytes, str]

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

    def _validators_known(self) -> list[Event]:
        """What the replica must hear after a commit: the sets of its next two heights."""
        height = self.chain.height
        return [ValidatorsKnown(Height(height + 1), self.validators.ids),
                ValidatorsKnown(Height(height + 2), self.next_validators.ids)]

    def _verify(self, validator: ValidatorId, message: bytes, signature: bytes) -> bool:
        """Signatures of the current and the next set (the replica checks which counts)."""
        return (self.validators.verify(validator, message, signature)
                or self.next_validators.verify(validator, message, signature))

