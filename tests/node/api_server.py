"""A node core served over HTTP in-process, for the API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ledger.genesis import Genesis
from ledger.identity import KeyPair
from node.api import make_app
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import KeyValueStore, LevelDBStore

Client = TestClient[web.Request, web.Application]
SMALL_MEMPOOL = MempoolLimits(100, 1 << 20, 100)


def api_core(keys: KeyPair, genesis: Genesis, kv: KeyValueStore,
             limits: MempoolLimits = SMALL_MEMPOOL) -> NodeCore:
    return NodeCore(keys, genesis, kv, limits, NodeMetrics())


@asynccontextmanager
async def serving(core: NodeCore, name: str = "test-node") -> AsyncIterator[Client]:
    """`core`'s API on a local port; closed, and its worker stopped, on the way out.
    The store is the caller's to close."""
    client: Client = TestClient(TestServer(make_app(core, name)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        core.worker.shutdown(wait=True)


@asynccontextmanager
async def serving_url(core: NodeCore, name: str = "test-node") -> AsyncIterator[str]:
    """`serving`, for clients that take a base URL (no trailing slash) rather than a client."""
    async with serving(core, name) as client:
        yield str(client.make_url("")).rstrip("/")


@asynccontextmanager
async def served_on_disk(keys: KeyPair, genesis: Genesis, folder: Path
                         ) -> AsyncIterator[tuple[Client, NodeCore]]:
    """A node of `keys` on a LevelDB store in `folder`, served as `serving` serves it; the
    store closed on the way out."""
    kv = LevelDBStore(str(folder / "chain.ldb"))
    core = api_core(keys, genesis, kv)
    try:
        async with serving(core) as client:
            yield client, core
    finally:
        kv.close()


@asynccontextmanager
async def serving_on_disk(keys: KeyPair, genesis: Genesis, folder: Path
                          ) -> AsyncIterator[Client]:
    """`serving` a fresh core on a LevelDB chain in `folder`; the store closed after."""
    kv = LevelDBStore(str(folder / "chain.ldb"))
    try:
        async with serving(api_core(keys, genesis, kv)) as client:
            yield client
    finally:
        kv.close()
