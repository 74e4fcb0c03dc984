"""What `senim verify --node A --node B` is tested against, for a native credential
(test_verify_several_nodes.py) and a W3C VC or presentation (test_verify_vc_several_nodes.py):
a batch whose first document is revoked at block 3, served by a node that has the
revocation and by one that lags at block 2 (where it is still valid), and the address of
a node that is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ledger.blocks import Header
from ledger.credentials import IssuedBatch, make_batch
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from storage.batch_tree import audit_path
from storage.kv import MemoryStore
from tests.e2e.processes import free_port
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    make_consortium,
    make_tx,
    snapshot,
)


@dataclass(frozen=True)
class LaggingChain:
    net: Consortium
    batch: IssuedBatch  # diplomas of KazNU; the first revoked at block 3
    issued: Header  # the block the batch was issued in, block 2
    fresh: str  # holds the revocation, block 3
    lagging: str  # stopped at block 2
    down: str  # nothing listens


@asynccontextmanager
async def first_revoked_on_one_node(records: list[dict[str, str]]
                                    ) -> AsyncIterator[LaggingChain]:
    """The two nodes served while the context lasts, `records` issued as one batch."""
    net = make_consortium()
    kv, behind = MemoryStore(), MemoryStore()
    try:
        core = api_core(net.ministry, net.genesis, kv)
        batch = make_batch(records, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
        commit(core.chain, [accredit(net, net.university, ["diploma"])])
        issued = commit(core.chain, [make_tx(net.university, IssueBatchPayload(
            "diploma", batch.root, len(records)))])
        behind.write(dict[bytes, bytes | None](snapshot(kv)))  # the same chain, to block 2
        ref = CredentialRef(batch.root, batch.target_hashes[0], 0,
                            tuple(audit_path(batch.target_hashes, 0)))
        commit(core.chain, [make_tx(net.university, RevokePayload(ref, "fraud"))])
        lagging = api_core(net.ministry, net.genesis, behind)
        assert (core.chain.height, lagging.chain.height) == (3, 2)
        async with serving_url(core, "fresh") as fresh, serving_url(lagging, "lag") as lag:
            yield LaggingChain(net, batch, issued.header, fresh, lag,
                               f"http://127.0.0.1:{free_port()}")
    finally:
        kv.close()
        behind.close()
