"""The consortium table says how `--pinned` placed the validators: a CPU of its own each
only when there are CPUs enough; 4 validators on this machine's 2 shared them, two to a
CPU, which the table called 'a CPU of its own'."""

from __future__ import annotations

from bench.consortium_report import pinned_note


def test_more_validators_than_cpus_are_said_to_share_them() -> None:
    assert "of its own" not in pinned_note(4, 2)
    assert "the 2 CPUs taken in turn: up to 2 validators to a CPU" in pinned_note(4, 2)
    assert "up to 2 validators to a CPU" in pinned_note(4, 3)


def test_as_many_cpus_as_validators_give_each_its_own() -> None:
    assert "a CPU of its own" in pinned_note(4, 4)
    assert "a CPU of its own" in pinned_note(4, 8)
