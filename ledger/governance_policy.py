"""The governance policy a genesis file states: how many of the governance voters must
vote for a change, who the voters are, and the fewest validators a change may leave
(`ledger.governance` holds the proposals and votes that apply it); and where the state
keeps the policy and the voters, read by the proposals' rules and the actions'
(`ledger.governance_actions`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.codec import decode, encode
from ledger.errors import ConfigError, MalformedInput
from ledger.identity import MemberId
from ledger.validator_sets import MAX_VALIDATORS, StateReader

VOTERS_MINISTRIES = "ministries"
VOTER_KINDS = (VOTERS_MINISTRIES,)
# Below 4 validators PBFT tolerates no fault; a policy may allow fewer (a pilot).
DEFAULT_MIN_VALIDATORS = 4
POLICY_FIELDS = frozenset({"threshold", "voters", "min_validators"})
POLICY_KEY = b"g:policy"  # [threshold, voters, min_validators]
VOTERS_KEY = b"g:voters"  # sorted member ids of the governance voters
# The most of a wrong value (or an unknown field's name) a genesis refusal repeats: a
# genesis file may hold 16 MiB, all of it one member's role.
GIVEN_SHOWN_MAX = 40


def shown_given(text: str) -> str:
    """`text` (a wrong value's repr, an unknown field's name) as a refusal names it: cut at
    GIVEN_SHOWN_MAX characters, and as its repr if it holds a control character."""
    text = text if text.isprintable() else repr(text)
    return text if len(text) <= GIVEN_SHOWN_MAX else text[:GIVEN_SHOWN_MAX] + "…"


@dataclass(frozen=True)
class GovernancePolicy:
    threshold: int
    voters: str = VOTERS_MINISTRIES
    min_validators: int = DEFAULT_MIN_VALIDATORS

    def encode(self) -> bytes:
        return encode([self.threshold, self.voters, self.min_validators])

    @classmethod
    def decode(cls, data: bytes) -> GovernancePolicy:
        value = decode(data)
        if (not isinstance(value, list) or len(value) != 3
                or not all(isinstance(v, int) for v in (value[0], value[2]))
                or value[1] not in VOTER_KINDS):
            raise MalformedInput("stored governance policy is malformed")
        return cls(value[0], value[1], value[2])

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "voters": self.voters,
                "min_validators": self.min_validators}


def default_policy(ministries: int) -> GovernancePolicy:
    """A majority of the genesis ministries (2 of 3, 3 of 4, 1 of 1)."""
    return GovernancePolicy(ministries // 2 + 1)


def policy_from_json(raw: Any, ministries: int) -> GovernancePolicy:
    """The genesis file's `governance` object; absent means `default_policy`."""
    if raw is None:
        return default_policy(ministries)
    if not isinstance(raw, dict):
        raise ConfigError("genesis.governance", "must be an object", "not_table")
    unknown = sorted(set(raw) - POLICY_FIELDS)
    if unknown:
        known = ", ".join(sorted(POLICY_FIELDS))
        raise ConfigError(f"genesis.governance.{shown_given(unknown[0])}",
                          f"unknown field (known: {known})",
                          "unknown_field", known=known)
    voters = raw.get("voters", VOTERS_MINISTRIES)
    if voters not in VOTER_KINDS:
        known = ", ".join(VOTER_KINDS)
        got = shown_given(repr(voters))
        raise ConfigError("genesis.governance.voters", f"must be one of {known}, got {got}",
                          "not_one_of", known=known, got=got)
    threshold = raw.get("threshold", default_policy(ministries).threshold)
    most = max(1, ministries)
    if (not isinstance(threshold, int) or isinstance(threshold, bool)
            or not 1 <= threshold <= most):
        raise ConfigError("genesis.governance.threshold",
                          f"must be a whole number from 1 to the {ministries} ministries",
                          "out_of_range", low=1, high=most)
    minimum = raw.get("min_validators", DEFAULT_MIN_VALIDATORS)
    if (not isinstance(minimum, int) or isinstance(minimum, bool)
            or not 1 <= minimum <= MAX_VALIDATORS):
        raise ConfigError("genesis.governance.min_validators",
                          f"must be a whole number from 1 to {MAX_VALIDATORS}", "out_of_range",
                          low=1, high=MAX_VALIDATORS)
    return GovernancePolicy(threshold, voters, minimum)


def load_policy(state: StateReader) -> GovernancePolicy:
    raw = state.get(POLICY_KEY)
    if raw is None:
        raise MalformedInput("the state holds no governance policy")
    return GovernancePolicy.decode(raw)


def load_voters(state: StateReader) -> list[MemberId]:
    raw = state.get(VOTERS_KEY)
    return [MemberId(v) for v in decode(raw)] if raw is not None else []
