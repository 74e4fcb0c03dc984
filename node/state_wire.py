"""State sync's questions and answers: their forms and the limits on them.

Shared by the joiner (`node.state_sync`) and the node serving it (`node.state_serve`); a
busy answer, which either may meet, is `node.sync_busy`'s.
"""

from __future__ import annotations

# Questions: [ASK_OFFER] | [ASK_NODES, height, [position...]]
#            | [ASK_VALUES, height, after key, count]
#            | [ASK_SET_CHANGES, height, after height]: the proofs of changes above it
# Answers:   [ASK_OFFER, height, block, certificate, [proof...], more]
#            (height 0: no snapshot; each proof [header, certificate, stored proof], see
#            `node.state_serve`; `more`: proofs are left for ASK_SET_CHANGES, sent only
#            when true)
#            | [ASK_NODES, height, [record...]] | [ASK_VALUES, height, [[key, value]...], done]
#            | [ASK_SET_CHANGES, height, [proof...], more] | [NOT_HELD, height]
ASK_OFFER, ASK_NODES, ASK_VALUES, NOT_HELD, ASK_SET_CHANGES = 0, 1, 2, 3, 4
NODES_PER_QUESTION = 2_048  # about 140 KB of node records per answer
VALUES_PER_QUESTION = 2_048
SET_CHANGES_PER_ANSWER = 1_000  # set-change proofs in one answer (an offer or a page)
# The arrays of an answer (itself, its list, one per value or proof) and the longest
# list, each refused before more are built: any peer asked answers, on the engine thread.
ANSWER_ARRAYS_MAX = 2 + max(VALUES_PER_QUESTION, SET_CHANGES_PER_ANSWER)
ANSWER_ITEMS_MAX = max(VALUES_PER_QUESTION, NODES_PER_QUESTION, SET_CHANGES_PER_ANSWER)
VALUE_ANSWER_BYTES = 512 * 1024  # an answer holds at least one value, however large


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
