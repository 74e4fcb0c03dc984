"""State sync's questions and answers: their forms and the limits on them.

Shared by the joiner (`node.state_sync`) and the node serving it (`node.state_serve`); a
busy answer, which either may meet, is `node.sync_busy`'s.
"""

from __future__ import annotations

import contextlib

from ledger.codec import decode
from ledger.errors import MalformedInput
from node.sync_busy import BUSY_MARK

# Questions: [ASK_OFFER] | [ASK_NODES, height, [position...]]
#            | [ASK_VALUES, height, after key, count]
#            | [ASK_SET_CHANGES, height, after height]: the proofs of changes above it
# Answers:   [ASK_OFFER, height, block, certificate, [proof...], more]
#            (height 0: no snapshot; each proof [header, certificate, stored proof], see
#            `node.state_serve`; `more`: proofs are left for ASK_SET_CHANGES, sent only
#            when true)
#            | [ASK_NODES, height, [record...]] | [ASK_VALUES, height, [[key, value]...], done]
#            | [ASK_SET_CHANGES, height, [proof...], more] | [NOT_HELD, height]
# A question may end with BUSY_MARK, one item more: its asker reads busy answers
# (node.sync_busy). Every server reads it from session 61 on; one before refuses a
# question with it (each form is read exactly), so a joiner sends it only once no
# server older is left: a later release sets this.
MARK_STATE_QUESTIONS = False
ASK_OFFER, ASK_NODES, ASK_VALUES, NOT_HELD, ASK_SET_CHANGES = 0, 1, 2, 3, 4
NODES_PER_QUESTION = 2_048  # about 140 KB of node records per answer
VALUES_PER_QUESTION = 2_048
SET_CHANGES_PER_ANSWER = 1_000  # set-change proofs in one answer (an offer or a page)
# The arrays of an answer (itself, its list, one per value or proof) and the longest
# list, each refused before more are built: any peer asked answers, on the engine thread.
ANSWER_ARRAYS_MAX = 2 + max(VALUES_PER_QUESTION, SET_CHANGES_PER_ANSWER)
ANSWER_ITEMS_MAX = max(VALUES_PER_QUESTION, NODES_PER_QUESTION, SET_CHANGES_PER_ANSWER)
VALUE_ANSWER_BYTES = 512 * 1024  # an answer holds at least one value, however large
# Questions for tree nodes or values open at once past the offer (`node.state_pieces`),
# in all and of one peer. A node serves each asker at its own rate (node.serve_budget:
# 4 MiB/s a follower), so a joiner asking one peer at a time got one peer's rate, about
# 96 s for a million credential batches (BENCHMARKS.md, session 61); several peers
# asked at once give it their sum.
# In all: bounds the joiner's queue of answers (node.state_join) and what it holds
# while answers come (each up to about VALUE_ANSWER_BYTES, or NODES_PER_QUESTION nodes).
PIECES_IN_FLIGHT_MAX = 8
# Of one peer: an answer names no question, so a peer's answer is taken as answering
# its oldest open one; a node answers only STATE_SERVES_MAX (node.sync_serving) at once
# and drops more (tells them busy only once `MARK_STATE_QUESTIONS` is set), so a second
# question open to it could go unanswered and its answer to the third be read as the
# second's. One: a peer paced by its rate gains nothing from two.
PIECES_PER_PEER_MAX = 1
# Ranges of keys the values are cut into (`node.value_ranges`): one per question open.
VALUE_RANGES_MAX = PIECES_IN_FLIGHT_MAX


def node_records(answer: list[object]) -> list[bytes]:
    """The node records of an ASK_NODES answer; ValueError if it holds anything else."""
    records = answer[2] if len(answer) == 3 else None
    if not (isinstance(records, list) and all(isinstance(r, bytes) for r in records)):
        raise ValueError("malformed node records")
    return records


def values_and_done(answer: list[object]) -> tuple[list[tuple[bytes, bytes]], bool]:
    """The [key, value] items of an ASK_VALUES answer, and whether they are the last;
    ValueError if it holds anything else, or neither values nor the end."""
    if not (len(answer) == 4 and isinstance(answer[2], list) and isinstance(answer[3], bool)
            and len(answer[2]) <= VALUES_PER_QUESTION
            and all(isinstance(item, list) and len(item) == 2
                    and isinstance(item[0], bytes) and isinstance(item[1], bytes)
                    for item in answer[2])):
        raise ValueError("malformed values")
    items = [(bytes(key), bytes(value)) for key, value in answer[2]]
    if not items and not answer[3]:
        raise ValueError("no values and not done")
    return items, answer[3]


def marked(question: list[object]) -> list[object]:
    """`question` as a joiner sends it: with BUSY_MARK last if MARK_STATE_QUESTIONS."""
    return [*question, BUSY_MARK] if MARK_STATE_QUESTIONS else question


def read_question(payload: bytes) -> tuple[list[object], bool] | None:
    """A state-sync question without its BUSY_MARK, and whether it carried one (its asker
    reads busy answers); None if it is not a list of items beginning with an int."""
    question = None
    with contextlib.suppress(MalformedInput):
        # the longest: [ASK_NODES, height, [[depth, bits], ...], BUSY_MARK]
        question = decode(payload, max_arrays=2 + NODES_PER_QUESTION,
                          max_items=NODES_PER_QUESTION)
    if not (isinstance(question, list) and question and isinstance(question[0], int)):
        return None
    if len(question) > 1 and question[-1] == BUSY_MARK:
        return question[:-1], True
    return question, False


def reads_busy(payload: bytes) -> bool:
    """Whether a state-sync question says its asker reads busy answers."""
    question = read_question(payload)
    return question is not None and question[1]
