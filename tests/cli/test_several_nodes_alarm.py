"""cli.several_nodes.ask_nodes against the command's alarm (cli.deadline): an alarm that
rings after every node has answered, but before the deadline is settled, must not turn
the answers in hand into "did not finish answering" (exit 3). The alarm is made to ring
at that very moment by a Deadline whose settle() raises DeadlinePassed, as SIGALRM's
handler would there; the nodes answer at once. And a fault on one node's thread is the
command's, raised at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cli import several_nodes
from cli.deadline import Deadline, DeadlinePassed
from cli.online_verdict import NodeVerdict
from cli.spoken import Sentence
from ledger.verification import Verdict

NODES = ["http://127.0.0.1:1", "http://127.0.0.1:2"]


class AlarmAtSettle(Deadline):
    """A deadline whose alarm rings as it is settled, once (the timer is one-shot)."""

    def __init__(self) -> None:
        super().__init__(60.0)
        self.rang = False

    def settle(self) -> None:
        if not self.rang:
            self.rang = True
            raise DeadlinePassed()
        super().settle()


def _answer_at_once(node: str) -> NodeVerdict[Verdict]:
    return NodeVerdict(Verdict(True, "valid", "", node), Sentence("cli.source.file", node),
                       2, False)


def test_an_alarm_after_every_answer_came_loses_none() -> None:
    deadline = AlarmAtSettle()
    answers = several_nodes.ask_nodes(_answer_at_once, NODES, deadline)
    assert deadline.rang
    assert [(a.node, a.failure, a.answer is not None and a.answer.verdict.source)
            for a in answers] == [(NODES[0], None, NODES[0]), (NODES[1], None, NODES[1])]


def _fault_at(faulty: str) -> Callable[[str], NodeVerdict[Verdict]]:
    def ask(node: str) -> NodeVerdict[Verdict]:
        if node == faulty:
            raise LookupError("a fault in the verifier, not the node's")
        return _answer_at_once(node)
    return ask


def test_a_fault_asking_one_node_is_raised_at_once_not_waited_out() -> None:
    """An error no node explains, on one node's thread, is the command's error, as with one
    node: it died with its thread, and the reader waited out the whole --timeout to be told
    that node gave no answer in time."""
    deadline = Deadline(30.0)
    with pytest.raises(LookupError, match="a fault in the verifier"):
        several_nodes.ask_nodes(_fault_at(NODES[1]), NODES, deadline)
    assert deadline.left() > 25.0
