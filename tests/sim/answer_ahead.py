"""Sync answers already waiting when an engine looks for the next one.

In the daemon an engine asks for the next blocks at an answer's first commit, then
works on the rest of that answer for tens of milliseconds, while the question's round
trip takes about one: the next answer is usually in its inbox when it looks
(`Engine.next_sync_answer`), and its checks go to the workers early. The simulator hands
frames over only after each input and delays each by a tick at least, so no answer
would ever be waiting. Here, when an engine looks, a question it asked during this input
is answered at once (on a coin toss from a stream of its own, so every other draw of the
seed stays as it was) by the peer asked, honest or Byzantine, if that peer is up and
reachable, and the answer is delivered right after the input: a round trip of no
ticks, which the network's delays allow.

In the simulator's short chains one answer of the daemon's 64 blocks nearly always
holds a node's whole gap, so nothing is asked ahead; half the seeds (drawn from another
stream of their own) run with answers of 2 blocks, so that a node a few blocks behind
catches up over several answers, each asked ahead of the one before.
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable, Iterator

import node.sync
from node.channels import CH_SYNC_REQUEST
from tests.sim.sim_node import SimNode

ANSWER_AHEAD_CHANCE = 0.5  # how often a look finds the answer waiting
ANSWER_BLOCKS_CHOICES = (node.sync.MAX_BLOCKS_PER_RESPONSE, 2)


@contextlib.contextmanager
def blocks_per_answer(seed: int) -> Iterator[int]:
    """The blocks an answer may hold while a seed runs, drawn from ANSWER_BLOCKS_CHOICES."""
    blocks = random.Random(seed ^ 0xB10C_5).choice(ANSWER_BLOCKS_CHOICES)
    saved, node.sync.MAX_BLOCKS_PER_RESPONSE = node.sync.MAX_BLOCKS_PER_RESPONSE, blocks
    try:
        yield blocks
    finally:
        node.sync.MAX_BLOCKS_PER_RESPONSE = saved


class AnswersAhead:
    def __init__(self, seed: int, reachable: Callable[[SimNode, bytes], SimNode | None],
                 serve: Callable[[SimNode, bytes], bytes | None]) -> None:
        self._rng = random.Random(seed ^ 0xA45E_AD)
        self._reachable = reachable  # the node a peer key reaches from a node, if any
        self._serve = serve  # a node's answer to a sync question
        self.taken = 0  # answers handed to an engine that looked
        self.prepared = 0  # of those, delivered with their checks prepared

    def look(self, node: SimNode) -> tuple[bytes, bytes] | None:
        """`Engine.next_sync_answer` for `node`: the answer to the first question it
        asked in this input, now, or None."""
        if self._rng.random() >= ANSWER_AHEAD_CHANCE:
            return None
        for index, (peer_key, channel, payload) in enumerate(node.outgoing):
            if channel != CH_SYNC_REQUEST:
                continue
            server = self._reachable(node, peer_key)
            answer = None if server is None else self._serve(server, payload)
            if answer is None:
                return None  # the question goes out as asked, and is answered later
            del node.outgoing[index]  # answered already: not sent again
            node.answers_ahead.append((peer_key, answer))
            self.taken += 1
            return peer_key, answer
        return None

    def deliver(self, node: SimNode, input_: Callable[[SimNode, Callable[[], None]], None]
                ) -> None:
        """Each answer taken ahead for `node`, as its next inputs."""
        while node.answers_ahead and node.engine is not None:
            sender, payload = node.answers_ahead.pop(0)
            engine = node.engine
            prepared = engine._prepared
            self.prepared += prepared is not None and prepared.payload == payload
            input_(node, functools.partial(engine.sync_answer, sender, payload))
