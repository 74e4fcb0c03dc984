"""The replica's configuration: frozen, validated once on construction."""

from dataclasses import dataclass

from consensus.errors import InvalidConfig
from consensus.quorum import max_faulty, quorum_size
from consensus.types import ValidatorId

MAX_VALIDATORS = 256
MAX_VALIDATOR_ID_BYTES = 64
MAX_CHAIN_ID_BYTES = 64
MAX_SIGNATURE_BYTES = 128
DEFAULT_MAX_BLOCK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ReplicaConfig:
    """Everything a replica needs to know that does not change while it runs.

    One tick is one unit of the driver's clock (the node ticks about every 10 ms).
    `validators` is ordered: the order fixes primary rotation, so every node must
    use the genesis order.
    """

    chain_id: bytes
    validators: tuple[ValidatorId, ...]
    self_id: ValidatorId
    base_timeout_ticks: int = 200
    max_timeout_ticks: int = 6400
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES

    def __post_init__(self) -> None:
        _check_chain_id(self.chain_id)
        check_validators(self.validators)
        if self.self_id not in self.validators:
            raise InvalidConfig("self_id is not in the validator set")
        if not 1 <= self.base_timeout_ticks <= self.max_timeout_ticks:
            raise InvalidConfig(
                "need 1 <= base_timeout_ticks <= max_timeout_ticks, got "
                f"{self.base_timeout_ticks} and {self.max_timeout_ticks}"
            )
        if self.max_block_bytes < 1:
            raise InvalidConfig(f"max_block_bytes must be positive, got {self.max_block_bytes}")

    @property
    def max_faulty(self) -> int:
        return max_faulty(len(self.validators))

    @property
    def quorum(self) -> int:
        return quorum_size(len(self.validators))


def _check_chain_id(chain_id: bytes) -> None:
    if not isinstance(chain_id, bytes) or not 1 <= len(chain_id) <= MAX_CHAIN_ID_BYTES:
        raise InvalidConfig(f"chain_id must be 1..{MAX_CHAIN_ID_BYTES} bytes")


def check_validators(validators: tuple[ValidatorId, ...]) -> None:
    if not isinstance(validators, tuple) or not 1 <= len(validators) <= MAX_VALIDATORS:
        raise InvalidConfig(f"validators must be a tuple of 1..{MAX_VALIDATORS} ids")
    for validator in validators:
        if not isinstance(validator, bytes) or not 1 <= len(validator) <= MAX_VALIDATOR_ID_BYTES:
            raise InvalidConfig(f"each validator id must be 1..{MAX_VALIDATOR_ID_BYTES} bytes")
    if len(set(validators)) != len(validators):
        raise InvalidConfig("validator ids must be distinct")
