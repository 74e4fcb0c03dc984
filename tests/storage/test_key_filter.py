"""The key filter: never "absent" for a key it was given, and "may hold" for every key
until filled (a fill raced by the chain's commits: tests/node/test_key_filters.py)."""

from __future__ import annotations

import os
import threading

import pytest

from storage.key_filter import KeyFilter


def test_every_key_may_be_held_until_a_fill_completes() -> None:
    keys = KeyFilter(1 << 16)
    keys.add([b"held"])
    assert not keys.ready
    assert keys.may_hold(b"held") and keys.may_hold(b"never added")


def test_a_fill_holds_every_key_given_and_few_others() -> None:
    keys = KeyFilter(1 << 20)
    added = [os.urandom(32) for _ in range(2_000)]
    filled = [os.urandom(32) for _ in range(3_000)]
    keys.add(added)
    assert keys.fill(iter(filled)) == 3_000
    assert keys.ready
    assert all(keys.may_hold(key) for key in added + filled)
    others = [os.urandom(32) for _ in range(10_000)]
    # two bits a key of 2^20, 5,000 keys held: about 1 in 10,000 reads as held
    assert sum(keys.may_hold(key) for key in others) < 20


def test_keys_of_any_length_and_content() -> None:
    keys = KeyFilter(1 << 12)
    odd = [b"", b"\x00", b"\xff" * 1_000, b"b:" + bytes(32)]
    keys.fill(iter(odd))
    assert all(keys.may_hold(key) for key in odd)


def test_a_stopped_fill_leaves_the_filter_unready() -> None:
    keys = KeyFilter(1 << 16)
    stop = threading.Event()
    stop.set()
    assert keys.fill(iter([b"a", b"b"]), stop) is None
    assert not keys.ready and keys.may_hold(b"anything")


@pytest.mark.parametrize("bits", [0, 7, 1000, 3 << 10])
def test_the_size_is_a_power_of_two(bits: int) -> None:
    with pytest.raises(ValueError):
        KeyFilter(bits)
