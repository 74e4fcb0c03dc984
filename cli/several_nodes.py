"""`senim verify --node A --node B`: one document (a native credential, an anchored file,
a W3C VC or presentation) asked of several nodes at once, so that no single node need be
trusted to answer at all, or with its newest state.

A node cannot forge a proof (each answer is checked against a block the validators
followed from genesis certified), but it can withhold: answer from an older block, say
"no record" of a diploma issued since, or not answer. With several nodes the verdict
shown is the one read from the newest certified state among those that answered, and
each other answer that differs, lags, cannot be trusted or never came is said beside it.
Without --genesis no answer is certified: every height is a node's word (a hostile node
can claim any), so when they disagree the more cautious verdict, one that is not valid,
is shown, and the reader is told to give --genesis. Nor is any answer's account of the
record (its issuer, when it was issued, ...) more than its node's word then: where answers
with the same verdict give it differently, that is said beside the one shown.

The nodes are asked concurrently, each on a thread of its own, under the command's one
deadline (cli.deadline): every request a thread makes is given only the time left, so
no thread outlives it by more than a read's end. A node still unanswered then is said as
such; it fails the verification only when no node answered at all.
"""

from __future__ import annotations

import itertools
import queue
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic

import click

from cli.commands import usable_node_url
from cli.deadline import Deadline, DeadlinePassed
from cli.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from cli.node_answers import UNNAMED_NODE, shown_node
from cli.online_verdict import AnyJudged, Judged, NodeFailed, NodeVerdict, answer_alone
from cli.spoken import Joined, Sentence, refuse
from ledger.vc.presentation import UNTRUSTED
from ledger.vc.verify import VcVerdict

# The most nodes one verification asks: each is a thread and a dozen requests, and a
# consortium's ministries and a few universities are all a reader needs to ask. The words
# of `senim verify --help` in kk/ru/en (cli.help.verify.nodes) repeat the number.
VERIFY_NODES_MAX = 5
# Facts about an answer rather than the record it reads: each node's own block, its age.
_ANSWER_FACTS = frozenset({"as_of_height", "as_of_time", "answer_age_s", "old_answer",
                           "max_age_s", "stale_absent"})
# The record's facts a reader is told of, each as cli.nodes.fact.<word>; any other is
# said as cli.nodes.fact.other.
_FACT_WORDS = {"issuer": "issuer", "issuer_id": "issuer", "issued_at": "issued_at",
               "type": "type", "author": "author", "author_id": "author",
               # whether a file is said to name an issuer other than its recorder
               # (cli.named_issuer) changes with who recorded it alone: nodes differing on
               # it differ on the author, and are said to, not on "other details" as well
               "named_issuer": "author",
               "recorded_at": "recorded_at",
               "height": "height", "course_lines": "course_lines"}
# How $SENIM_NODE and each --node may list several: commas or white space, as a shell
# variable or a config line writes a list.
_NODE_SEPARATORS = re.compile(r"[,\s]+")


def node_urls(ctx: click.Context, param: click.Parameter, values: Sequence[str] | None
              ) -> list[str]:
    """--node (given again for each node) or $SENIM_NODE, each value split at commas and
    white space, duplicates dropped; UNNAMED_NODE when none (left at its default:
    cli.node_answers). More than VERIFY_NODES_MAX is a usage error, as a login in a URL
    given on the command line is (in $SENIM_NODE it is said where the node is asked, as for
    every command)."""
    if ctx.get_parameter_source(str(param.name)) is click.core.ParameterSource.DEFAULT:
        return [UNNAMED_NODE]
    urls: list[str] = list(dict.fromkeys(url for value in values or () for url in
                                         _NODE_SEPARATORS.split(value) if url))
    if len(urls) > VERIFY_NODES_MAX:
        refuse(Sentence("cli.nodes.too_many", None, count=len(urls), limit=VERIFY_NODES_MAX),
               EXIT_BAD_INPUT)
    for url in urls:
        usable_node_url(ctx, param, url)
    return urls or [UNNAMED_NODE]


def untrusted(verdict: Judged) -> bool:
    """Whether a node's answer cannot be trusted: its verdict says so or, a presentation's,
    a credential's it holds does (another credential's own failure may head it)."""
    held = verdict.credentials if isinstance(verdict, VcVerdict) else []
    return verdict.status == UNTRUSTED or any(inner.status == UNTRUSTED for inner in held)


@dataclass(frozen=True)
class NodeAnswer(Generic[AnyJudged]):
    """What one node gave: a verdict, or why none."""
    node: str
    answer: NodeVerdict[AnyJudged] | None
    failure: Sentence | None

    @property
    def shown(self) -> str:
        """The node as every line and --json names it (cli.node_answers.shown_node)."""
        return shown_node(self.node)

    @property
    def trusted(self) -> bool:
        return self.answer is not None and not untrusted(self.answer.verdict)


# One node's verdict on the document (cli.online_verdict.node_verdict for a native one,
# cli.vc_verify's for a W3C VC or presentation), or NodeFailed; every request it makes is
# within the command's deadline.
AskNode = Callable[[str], NodeVerdict[AnyJudged]]


@dataclass(frozen=True)
class Judgement(Generic[AnyJudged]):
    """What `senim verify` shows: the answer chosen, what the other nodes said otherwise,
    and (several asked, or the document's own verdict shown for want of any answer) each
    node's answer for --json, as {"nodes": [...]}."""
    shown: NodeVerdict[AnyJudged]
    notes: list[Sentence] = field(default_factory=list)
    json_fields: dict[str, object] = field(default_factory=dict)


def judged(ask: AskNode[AnyJudged], nodes: Sequence[str], certified: bool,
           deadline: Deadline, fallback: NodeVerdict[AnyJudged] | None = None
           ) -> Judgement[AnyJudged]:
    """The document judged by `nodes`: one node's answer as it gave it, refused (with its
    NodeFailed's code) when it gave none; of several, the one `_chosen`, with the others'
    `differences`. `certified`: --genesis was given. `fallback`: the verdict when no node
    answers (the document's own checks failed, so none is needed), each node's failure
    said beside it rather than refused. The deadline is settled when the answers are in,
    before the verdict is printed."""
    if len(nodes) == 1 and fallback is None:
        answer = answer_alone(ask, nodes[0])
        deadline.settle()
        return Judgement(answer)
    answers = ask_nodes(ask, nodes, deadline)
    if fallback is not None and all(answer.answer is None for answer in answers):
        # --json lists why each node gave none, one node's too: the verdict is the
        # document's own, and says nothing of the node (the text says it beside it)
        return Judgement(fallback, [
            Sentence("cli.nodes.no_answer", None, node=answer.shown, why=answer.failure)
            for answer in answers if answer.failure is not None],
            {"nodes": _answers_json(answers, None)})
    # --json lists each node's answer when several were asked: one node's answer is the
    # verdict's
    several = len(nodes) > 1
    shown = _chosen(answers, certified)
    assert shown.answer is not None
    return Judgement(shown.answer, differences(answers, shown, certified),
                     {"nodes": _answers_json(answers, shown)} if several else {})


def ask_nodes(ask_node: AskNode[AnyJudged], nodes: Sequence[str], deadline: Deadline
              ) -> list[NodeAnswer[AnyJudged]]:
    """Each node's answer, in the order the nodes were given; a node that has not answered
    by the deadline is said as that. An error no node's answer explains (a fault in the
    verifier) is that node's failure, said as soon as it happens, not left to die with its
    thread while the reader waits out the deadline for that node; when no node answered it
    is raised here as it came, as it would be with one node asked."""
    answers: queue.Queue[tuple[NodeAnswer[AnyJudged], Exception | None]] = queue.Queue(
        maxsize=len(nodes))

    def ask(node: str) -> None:
        try:
            answers.put((NodeAnswer(node, ask_node(node), None), None))
        except NodeFailed as exc:
            answers.put((NodeAnswer(node, None, exc.why), None))
        except DeadlinePassed:
            answers.put((NodeAnswer(node, None, _late(node, deadline)), None))
        except Exception as exc:  # a fault: this node's failure, the command's if all fail
            answers.put((NodeAnswer(node, None, _fault(exc)), exc))

    for node in nodes:  # daemons: a node still read at the deadline holds no exit
        threading.Thread(target=ask, args=(node,), name=f"verify {node}", daemon=True).start()
    got: dict[str, NodeAnswer[AnyJudged]] = {}
    faults: list[Exception] = []
    try:
        try:
            while len(got) < len(nodes):
                answer, fault = answers.get(timeout=deadline.left())
                got[answer.node] = answer
                if fault is not None:
                    faults.append(fault)
        finally:
            # Settled inside the try: the one-shot alarm can ring after the last answer
            # came (or the wait ended) and before it is disarmed, and the answers in hand
            # still make the verdict.
            deadline.settle()
    except (DeadlinePassed, queue.Empty):
        pass  # the alarm, or the wait's own end: those that answered are enough
    if faults and not any(answer.answer is not None for answer in got.values()):
        raise faults[0]
    return [got.get(node) or NodeAnswer(node, None, _late(node, deadline)) for node in nodes]


def _fault(exc: Exception) -> Sentence:
    return Sentence("cli.nodes.fault", None, error=f"{type(exc).__name__}: {exc}"[:200])


def _late(node: str, deadline: Deadline) -> Sentence:
    return Sentence("cli.error.deadline", None, host=shown_node(node),
                    seconds=f"{deadline.seconds:g}")


def _chosen(answers: Sequence[NodeAnswer[AnyJudged]], certified: bool
            ) -> NodeAnswer[AnyJudged]:
    """The answer to show: the newest certified one; without --genesis the newest of the
    most cautious (a verdict that is not valid, when any is); one that cannot be trusted
    only when no other came. Refused, exit 3, when no node answered."""
    given = [a for a in answers if a.answer is not None]
    if not given:
        refuse(Sentence("cli.nodes.none_answered", None, count=len(answers), why=Joined(
            [a.failure for a in answers if a.failure is not None], "; ")), EXIT_UNREACHABLE)
    trusted = [a for a in given if a.trusted] or given
    if not certified and any(not _verdict(a).valid for a in trusted):
        trusted = [a for a in trusted if not _verdict(a).valid]
    return max(trusted, key=lambda a: _height(a))  # the first of the newest, as given


def _verdict(answer: NodeAnswer[AnyJudged]) -> AnyJudged:
    assert answer.answer is not None
    return answer.answer.verdict


def _height(answer: NodeAnswer[AnyJudged]) -> int:
    return -1 if answer.answer is None or answer.answer.height is None else answer.answer.height


def differences(answers: Sequence[NodeAnswer[AnyJudged]], shown: NodeAnswer[AnyJudged],
                certified: bool) -> list[Sentence]:
    """What each other node said that the verdict shown does not: another verdict, the
    same from an older block or (without --genesis) with other facts of the record, an
    answer that cannot be trusted, or none."""
    notes: list[Sentence] = []
    height = _height(shown)
    for other in answers:
        if other is shown:
            continue
        if other.answer is None:
            assert other.failure is not None
            notes.append(Sentence("cli.nodes.no_answer", None, node=other.shown,
                                  why=other.failure))
        elif not other.trusted:
            notes.append(Sentence("cli.nodes.untrusted", None, node=other.shown))
        elif _verdict(other).status != _verdict(shown).status:
            if other.answer.height is None:  # no block to name: it read none
                notes.append(Sentence("cli.nodes.differs_unread", None, node=other.shown,
                                      shown=shown.shown))
                continue
            key = "cli.nodes.differs" if certified else "cli.nodes.differs_uncertified"
            notes.append(Sentence(key, None, node=other.shown, height=_height(other),
                                  shown=shown.shown, shownHeight=height,
                                  behind=max(0, height - _height(other))))
        else:
            # one that read no block gave the verdict from the document alone: it lags nothing
            if other.answer.height is not None and _height(other) < height:
                # uncertified, the higher height may be the lie: a node claiming block
                # 1,000,000 would have an honest one said to lag and to hide revocations
                lag = {"node": other.shown, "height": _height(other),
                       "behind": height - _height(other)}
                notes.append(Sentence("cli.nodes.behind", None, **lag) if certified else
                             Sentence("cli.nodes.behind_uncertified", None, **lag,
                                      shown=shown.shown))
            # certified facts differ by what changed between the two heights, said as a lag
            if not certified and (differing := _facts_differing(other, shown)):
                which = dict.fromkeys(_FACT_WORDS.get(name, "other") for name in differing)
                notes.append(Sentence("cli.nodes.facts_differ", None, node=other.shown,
                                      shown=shown.shown, which=Joined(
                                          [Sentence(f"cli.nodes.fact.{word}") for word in which],
                                          ", ")))
    return notes


def _facts_differing(answer: NodeAnswer[AnyJudged], shown: NodeAnswer[AnyJudged]
                     ) -> list[str]:
    """The names of the record's facts (not the answer's own block or age) that `answer`
    gives otherwise than `shown`, or leaves out where it gives them, sorted; of a
    presentation, those of any credential it holds."""
    if answer.answer is None or shown.answer is None:
        return []
    differing: set[str] = set()
    none: dict[str, Any] = {}  # of an answer that judged no credential (refused before)
    mine: dict[str, Any]
    theirs: dict[str, Any]
    for mine, theirs in itertools.zip_longest(_record_facts(_verdict(answer)),
                                              _record_facts(_verdict(shown)), fillvalue=none):
        differing.update(name for name in (mine.keys() | theirs.keys()) - _ANSWER_FACTS
                         if mine.get(name) != theirs.get(name))
    return sorted(differing)


def _record_facts(verdict: Judged) -> list[dict[str, Any]]:
    """The facts a verdict gives of records on chain: its own; a presentation's (whose
    own facts, its holder's signature, challenge and domain, no node changes) then each
    credential's it holds, in order."""
    held = verdict.credentials if isinstance(verdict, VcVerdict) else []
    return [verdict.facts, *(credential.facts for credential in held)]


def _answers_json(answers: Sequence[NodeAnswer[AnyJudged]],
                  shown: NodeAnswer[AnyJudged] | None) -> list[dict[str, Any]]:
    """Each node's answer for --json, in the order given: its verdict's status and the
    height it holds as of, whether certified and whether it is the one shown, the record's
    facts it gives otherwise than the one shown (facts_differ), or why it gave none (in
    English, as --json is in every language)."""
    listed: list[dict[str, Any]] = []
    for each in answers:
        if each.answer is None:
            listed.append({"node": each.shown, "answered": False, "used": False,
                           "problem": str(each.failure)})
            continue
        listed.append({"node": each.shown, "answered": True, "used": each is shown,
                       "status": each.answer.verdict.status,
                       "valid": each.answer.verdict.valid, "height": each.answer.height,
                       "certified": each.answer.certified,
                       "source": str(each.answer.source),
                       "facts_differ": [] if shown is None else _facts_differing(each, shown)})
    return listed
