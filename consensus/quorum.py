"""Quorum arithmetic and primary selection: small pure functions, tested by brute force."""

from collections.abc import Iterable, Sequence

from consensus.types import Height, ValidatorId, View


def max_faulty(n: int) -> int:
    """f: how many Byzantine validators n validators tolerate (n >= 3f + 1)."""
    if n < 1:
        raise ValueError(f"a validator set needs at least one member, got {n}")
    return (n - 1) // 3


def quorum_size(n: int) -> int:
    """Smallest vote count such that any two quorums share at least f + 1 validators.

    Equals 2f + 1 when n = 3f + 1 (the only shape genesis allows today); for other
    n it stays safe (two quorums always share an honest validator) and never
    exceeds n - f, so the honest validators alone can always form one.
    """
    return (n + max_faulty(n)) // 2 + 1


def weak_quorum_size(n: int) -> int:
    """f + 1: enough validators that at least one of them is honest."""
    return max_faulty(n) + 1


def is_quorum(voters: Iterable[ValidatorId], validators: Sequence[ValidatorId]) -> bool:
    """True when the distinct members of `validators` among `voters` form a quorum."""
    members = set(validators)
    distinct = {voter for voter in voters if voter in members}
    return len(distinct) >= quorum_size(len(validators))


def primary_for(view: View, height: Height, validators: Sequence[ValidatorId]) -> ValidatorId:
    """The proposer for (view, height).

    Round-robin on view + height: the role rotates on every block (so no single
    organisation proposes all blocks while things go well) and on every view
    change (so a faulty primary is replaced).
    """
    if not validators:
        raise ValueError("empty validator set has no primary")
    return validators[(view + height) % len(validators)]
