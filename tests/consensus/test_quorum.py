"""Quorum arithmetic against brute force over every subset of small validator sets."""

from itertools import combinations

import pytest

from consensus import Height, ValidatorId, View, is_quorum, max_faulty, primary_for, quorum_size
from consensus.quorum import weak_quorum_size

SIZES = range(1, 11)


def ids(n: int) -> list[ValidatorId]:
    return [ValidatorId(bytes([i + 1])) for i in range(n)]


@pytest.mark.parametrize("n", SIZES)
def test_any_two_quorums_share_at_least_f_plus_one(n: int) -> None:
    members = range(n)
    q, f = quorum_size(n), max_faulty(n)
    smallest = min(len(set(a) & set(b)) for a in combinations(members, q)
                   for b in combinations(members, q))
    assert smallest >= f + 1


@pytest.mark.parametrize("n", SIZES)
def test_honest_validators_alone_form_a_quorum(n: int) -> None:
    assert quorum_size(n) <= n - max_faulty(n)


@pytest.mark.parametrize("n", SIZES)
def test_f_is_the_largest_tolerable(n: int) -> None:
    f = max_faulty(n)
    assert n >= 3 * f + 1
    assert n < 3 * (f + 1) + 1


@pytest.mark.parametrize("n", SIZES)
def test_weak_quorum_is_the_smallest_count_that_must_hold_an_honest_validator(n: int) -> None:
    members, f, weak = range(n), max_faulty(n), weak_quorum_size(n)
    faulty_sets = [set(faulty) for faulty in combinations(members, f)]
    assert all(not set(group) <= faulty for group in combinations(members, weak)
               for faulty in faulty_sets)
    assert any(set(group) <= faulty for group in combinations(members, weak - 1)
               for faulty in faulty_sets)


@pytest.mark.parametrize("f", range(4))
def test_quorum_is_two_f_plus_one_when_n_is_three_f_plus_one(f: int) -> None:
    assert quorum_size(3 * f + 1) == 2 * f + 1


def test_single_validator_is_its_own_quorum() -> None:
    assert quorum_size(1) == 1
    assert is_quorum([ValidatorId(b"a")], [ValidatorId(b"a")])


@pytest.mark.parametrize("n", range(1, 8))
def test_is_quorum_matches_counting_distinct_members(n: int) -> None:
    validators = ids(n)
    outsider = ValidatorId(b"\xff")
    for size in range(n + 1):
        for chosen in combinations(validators, size):
            voters = [*chosen, *chosen, outsider]  # repeats and outsiders never count
            assert is_quorum(voters, validators) == (size >= quorum_size(n))


def test_no_validators_is_refused() -> None:
    with pytest.raises(ValueError):
        max_faulty(0)
    with pytest.raises(ValueError):
        primary_for(View(0), Height(1), [])


@pytest.mark.parametrize("n", [1, 4, 7])
def test_primary_rotates_through_everyone_by_view_and_by_height(n: int) -> None:
    validators = ids(n)
    by_view = {primary_for(View(v), Height(5), validators) for v in range(n)}
    by_height = {primary_for(View(3), Height(h), validators) for h in range(n)}
    assert by_view == by_height == set(validators)
    assert primary_for(View(2), Height(9), validators) == primary_for(View(2), Height(9),
                                                                        validators)
