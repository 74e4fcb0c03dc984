"""An in-process node for tests: a NodeCore driven by the real engine on its own thread.

With the test consortium's single validator the engine commits alone (quorum of
one): the same code path as a consortium's, with no P2P.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from node.engine import Engine
from node.engine_thread import EngineThread
from node.engine_types import EngineConfig
from node.service import NodeCore
from node.validators import ValidatorSets


def _no_peer(peer_key: bytes, channel: int, payload: bytes) -> None:
    raise AssertionError("a lone validator has nobody to send to")


@contextlib.asynccontextmanager
async def engine_on_thread(core: NodeCore, view_timeout_ms: int = 1_000,
                           max_block_txs: int = 1_000,
                           clock: Callable[[], int] = lambda: int(time.time() * 1000)
                           ) -> AsyncIterator[tuple[Engine, EngineThread]]:
    """The engine on its thread, and the thread (whose `failure` the caller judges)."""
    loop = asyncio.get_running_loop()
    thread = EngineThread(loop, _no_peer, core.after_commit, core.refuse)
    engine = Engine(core.keys, core.chain, core.mempool, ValidatorSets.for_chain(core.chain),
                    EngineConfig(view_timeout_ms, max_block_txs), clock, thread.outbox)
    core.worker.shutdown(wait=True)
    core.worker = thread
    core.on_work = thread.work_available
    thread.start(engine)
    ticker = asyncio.create_task(thread.ticker(lambda: ()))
    try:
        yield engine, thread
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await loop.run_in_executor(None, thread.shutdown, True)


@contextlib.asynccontextmanager
async def running_engine(core: NodeCore, view_timeout_ms: int = 1_000,
                         max_block_txs: int = 1_000,
                         clock: Callable[[], int] = lambda: int(time.time() * 1000)
                         ) -> AsyncIterator[Engine]:
    """The engine on its thread, which must not have failed by the end."""
    async with engine_on_thread(core, view_timeout_ms, max_block_txs, clock) as (engine,
                                                                                 thread):
        yield engine
    assert thread.failure is None, thread.failure
