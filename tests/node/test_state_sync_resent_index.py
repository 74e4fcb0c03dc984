"""review: a value an answer sends again, after it came checked, is passed over unchecked
by `StateImport.accept_values` (b"" in its leaf): it must not be read as the snapshot's
`v:index` either. Otherwise a peer that re-sends `v:index` forged decides the check of the
offer's set-change proofs (`StateSync._offer_hid_a_change`): here it frames the honest
offering peer (distrusted, the join started again); the other way, a liar's forged copy
listing only the changes it proved hides one it skipped."""

from __future__ import annotations

from ledger.codec import decode, encode
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from node.state_sync import Phase
from node.state_wire import ASK_VALUES, VALUES_PER_QUESTION
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.test_state_sync import (
    HONEST,
    LIAR,
    Serve,
    check_joined,
    grown_chain,
    join,
    new_sync,
    serving,
    small_questions,  # noqa: F401  (autouse: many small questions)
)

FORGED_INDEX = encode([1, 2])  # a set change at block 2 that no proof shows


def resends_a_forged_index(serve: Serve) -> Serve:
    """Honest, but its values answers run as far as an answer may, and `v:index`, once
    it has sent it (checked), it sends again forged."""
    sent_index = False

    def answer(question: bytes) -> bytes | None:
        nonlocal sent_index
        asked = decode(question)
        if asked[0] != ASK_VALUES:
            return serve(question)
        reply = serve(encode([ASK_VALUES, asked[1], asked[2], VALUES_PER_QUESTION]))
        if reply is None:
            return None
        decoded = decode(reply)
        for item in decoded[2]:
            if item[0] == VALIDATOR_SET_INDEX_KEY:
                if sent_index:
                    item[1] = FORGED_INDEX
                sent_index = True
        return encode(decoded)
    return answer


def test_a_value_sent_again_forged_is_not_taken_as_the_snapshots_index(
        net: Consortium) -> None:
    source = grown_chain(net, blocks=4, anchors=60)
    honest = serving(source).answer
    sync, kv = new_sync(net), MemoryStore()
    join(sync, {HONEST: honest, LIAR: resends_a_forged_index(honest)}, kv)
    assert HONEST not in sync.distrusted
    assert sync.restarts == 0
    assert sync.phase is Phase.DONE
    check_joined(net, source, kv)
