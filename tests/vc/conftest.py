"""A chain with one issued diploma batch, and its documents exported as VCs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.chain import Chain
from ledger.credentials import IssuedBatch, make_batch
from ledger.facts import LocalFacts
from ledger.payloads import IssueBatchPayload
from ledger.rules import load_batch
from storage.kv import MemoryStore
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)

RECORDS = [{"full_name": f"Студент {i}", "iin": f"0105171234{i:02d}", "degree": "BSc",
            "gpa": "3.5"} for i in range(5)]
STATUS_BASE = "https://node.senim.test"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class Issued:
    net: Consortium
    chain: Chain
    batch: IssuedBatch
    documents: list[dict[str, Any]]
    height: int
    time_ms: int

    def facts(self) -> LocalFacts:
        return LocalFacts(self.chain.state, f"test chain at {self.chain.height}")


@pytest.fixture
def issued() -> Iterator[Issued]:
    net = make_consortium()
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root,
                                                             len(RECORDS)))])
    on_chain = load_batch(chain.state, net.university.member_id, batch.root)
    assert on_chain is not None
    yield Issued(net, chain, batch, documents_of(batch), on_chain.height, on_chain.time_ms)
    kv.close()


@pytest.fixture
def net() -> Consortium:
    return make_consortium()
