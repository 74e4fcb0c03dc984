"""cli.several_nodes.ask_nodes against the command's alarm (cli.deadline): an alarm that
rings after every node has answered, but before the deadline is settled, must not turn
the answers in hand into "did not finish answering" (exit 3). The alarm is made to ring
at that very moment by a Deadline whose settle() raises DeadlinePassed, as SIGALRM's
handler would there; the nodes answer at once. A fault on one node's thread is that node's
failure, said at once (the command's only when no node answered); and an answer read from
no block is said without a height."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cli import several_nodes
from cli.deadline import Deadline, DeadlinePassed
from cli.language import Words
from cli.online_verdict import NodeFailed, NodeVerdict
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


def test_a_fault_asking_one_node_is_its_failure_said_at_once_not_waited_out() -> None:
    """An error no node explains, on one node's thread, is that node's failure, the others'
    answers still the verdict: it died with its thread, and the reader waited out the
    whole --timeout to be told that node gave no answer in time; then it ended the command
    with a traceback, though the other node had answered."""
    deadline = Deadline(30.0)
    answers = several_nodes.ask_nodes(_fault_at(NODES[1]), NODES, deadline)
    assert deadline.left() > 25.0
    assert [(a.node, a.answer is not None) for a in answers] == [(NODES[0], True),
                                                                   (NODES[1], False)]
    assert str(answers[1].failure) == ("checking its answer failed on an unexpected error "
                                       "(LookupError: a fault in the verifier, not the node's)")


def test_a_fault_when_no_node_answered_is_raised_at_once() -> None:
    """As with one node asked: with no answer to show, the fault is the command's."""
    deadline = Deadline(30.0)
    with pytest.raises(LookupError, match="a fault in the verifier"):
        several_nodes.ask_nodes(_fault_at(NODES[1]), NODES[1:], deadline)
    assert deadline.left() > 25.0


def _down_or_fault(node: str) -> NodeVerdict[Verdict]:
    if node == NODES[0]:
        raise NodeFailed(Sentence("cli.node.other", None, node=node), 3)
    return _fault_at(node)(node)


def test_a_fault_beside_a_node_down_is_raised() -> None:
    with pytest.raises(LookupError, match="a fault in the verifier"):
        several_nodes.ask_nodes(_down_or_fault, NODES, Deadline(30.0))


def _answer(status: str, height: int | None, node: str = "") -> several_nodes.NodeAnswer[Verdict]:
    verdict = Verdict(status == "valid", status, "", "")
    return several_nodes.NodeAnswer(node or f"http://{status}", NodeVerdict(
        verdict, Sentence("cli.source.file", node), height, height is not None), None)


@pytest.mark.parametrize("certified", [True, False])
def test_an_answer_read_from_no_block_is_named_by_no_height(certified: bool) -> None:
    """An answer that read no block of its chain (its verdict given before any record was
    read) has no height: it was said "as of block -1" and "at height -1"; one giving
    another verdict is said to have read none, and one giving the same lags nothing."""
    shown = _answer("revoked", 3)
    other = _answer("malformed", None)
    same = _answer("revoked", None, "http://same")
    notes = several_nodes.differences([shown, other, same], shown, certified)
    assert [note.key for note in notes] == ["cli.nodes.differs_unread"]
    for language in ("en", "kk", "ru"):
        said = notes[0].said(Words(language))
        assert "-1" not in said and "http://malformed" in said and "http://revoked" in said
