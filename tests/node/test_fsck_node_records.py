"""`senim fsck` reads the node's own records beside the chain, and a head record naming a
height far past the blocks stored ends its walk at once; the node refuses a base record
above its head in one line. A hostile probe (session 52) found a damaged safety state
and a damaged evidence counter each said sound (the node died on the first with a
traceback, and hung on the second), fsck walking 10**12 heights for a damaged head, and
a base above the head an AssertionError."""

from __future__ import annotations

import pytest

from cli.fsck import check_store
from ledger.chain import Chain
from ledger.chain_layout import BASE_KEY, HEAD_KEY
from ledger.codec import decode, encode
from node.engine_signed import REPLICA_STATE_KEY
from node.evidence import EVIDENCE_PREFIX
from storage.errors import CorruptStateError
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit


def chain_of(net: Consortium, kv: MemoryStore, blocks: int = 3) -> Chain:
    chain = Chain(kv, net.genesis)
    for _ in range(blocks):
        commit(chain, [])
    return chain


@pytest.mark.parametrize("key, value, said", [
    (REPLICA_STATE_KEY, b"\x93garbage", "the safety state (what this validator last voted "
                                         "for) is damaged"),
    (REPLICA_STATE_KEY, encode([99, 1, 0, True, None, None]), "the safety state"),
    (EVIDENCE_PREFIX + b"m", encode([10**9, 10**9, 0]), "the evidence records are damaged"),
    (EVIDENCE_PREFIX + b"m", b"\xc1", "the evidence records are damaged")])
def test_the_nodes_own_records_are_checked(net: Consortium, key: bytes, value: bytes,
                                           said: str) -> None:
    kv = MemoryStore()
    chain_of(net, kv)
    assert check_store(kv, net.genesis).problems == []
    kv.write({key: value})
    problems = check_store(kv, net.genesis).problems
    assert len(problems) == 1 and problems[0].startswith(said), problems


def test_a_head_far_past_the_blocks_stored_is_named_at_once(net: Consortium) -> None:
    kv = MemoryStore()
    chain_of(net, kv)
    _, head_hash = decode(kv.get(HEAD_KEY) or b"")
    kv.write({HEAD_KEY: encode([10**12, head_hash])})
    problems = check_store(kv, net.genesis).problems
    assert problems == ["the head record names block 1000000000000, but only 4 blocks are "
                        "stored: the head record is damaged, or 999999999997 blocks are gone"]


def test_a_base_above_the_head_is_damage_in_one_line(net: Consortium) -> None:
    kv = MemoryStore()
    chain_of(net, kv)
    kv.write({BASE_KEY: encode(10**6)})
    with pytest.raises(CorruptStateError, match="base record names block 1000000, above"):
        Chain(kv, net.genesis)
