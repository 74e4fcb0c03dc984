"""The answer to a submission of many transactions is written a step of LOOP_STEP_ITEMS
at a time, the loop free between (20,000 held it ~16 ms in one), and says what it said
when written in one: the same JSON text, the same counts."""

from __future__ import annotations

import asyncio
import json
import os

from ledger.errors import TxRejected
from node.loop_steps import LOOP_STEP_ITEMS
from node.submission_answer import listed_answer


def results_of(count: int) -> list[tuple[bytes | None, TxRejected | None]]:
    kinds: list[tuple[bytes | None, TxRejected | None]] = [
        (os.urandom(32), None),
        (None, TxRejected("malformed", "not a transaction")),
        (os.urandom(32), TxRejected("bad_signature", "signature does not verify")),
        (os.urandom(32), TxRejected("sender_limit", "wait", limit=5, sender="ab")),
    ]
    return [kinds[i % 7 % len(kinds)] for i in range(count)]


def in_one(results: list[tuple[bytes | None, TxRejected | None]]) -> str:
    """What the handler wrote before: every entry built, then json.dumps once."""
    listed = [{"tx_id": tx_id.hex() if tx_id else None,
               "status": "pending" if refusal is None else "rejected",
               **({} if refusal is None else {"code": refusal.code,
                                               "reason": refusal.message}),
               **({"params": refusal.params} if refusal is not None and refusal.params
                  else {})}
              for tx_id, refusal in results]
    accepted = sum(1 for _, refusal in results if refusal is None)
    return json.dumps({"accepted": accepted, "rejected": len(results) - accepted,
                       "results": listed})


async def test_the_answer_is_the_one_written_in_one_step() -> None:
    for count in (1, 2, LOOP_STEP_ITEMS, LOOP_STEP_ITEMS + 1, 3 * LOOP_STEP_ITEMS + 5):
        results = results_of(count)
        answer = await listed_answer(results)
        assert answer.text == in_one(results), count
        document = json.loads(answer.text)
        assert answer.accepted == document["accepted"]
        assert answer.forged == sum(1 for r in document["results"]
                                    if r.get("code") == "bad_signature")


async def test_other_work_gets_the_loop_between_steps_of_the_answer() -> None:
    results = results_of(4 * LOOP_STEP_ITEMS + 3)
    turns = [0]
    writing = asyncio.Event()

    async def consensus_consumer() -> None:
        while not writing.is_set():
            turns[0] += 1
            await asyncio.sleep(0)

    consumer = asyncio.create_task(consensus_consumer())
    await asyncio.sleep(0)
    before = turns[0]
    await listed_answer(results)
    during = turns[0] - before
    writing.set()
    await consumer
    assert during >= 4  # one turn between every two of its five steps
