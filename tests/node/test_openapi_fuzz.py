"""Schemathesis against a live node: requests drawn from the served /openapi.json, every
answer checked against it (no 5xx, declared status, content type and schema).

The node runs the real engine in-process, on a real port, in a thread of its own with
its own event loop; schemathesis calls it over HTTP like any client.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.payloads import AccreditPayload
from node.api import make_app
from node.http_server import LimitedAppRunner
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import LevelDBStore
from tests.node.conftest import YEAR_MS, Consortium, commit, make_tx
from tests.node.engine_node import running_engine

# Bounded so that every operation, in both modes, stays well under a minute in all.
EXAMPLES_PER_OPERATION = 10
START_DEADLINE_S = 30.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


class LiveNode:
    """A node serving on 127.0.0.1 from a thread, until `stop`."""

    def __init__(self, path: Path, net: Consortium) -> None:
        self.path, self.net = path, net
        self.port = 0
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> str:
        self._thread.start()
        assert self.ready.wait(START_DEADLINE_S), "node did not start"
        assert self.failure is None, self.failure
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_DEADLINE_S)
        assert self.failure is None, self.failure

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread
            self.failure = exc
            self.ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        kv = LevelDBStore(str(self.path / "chain.ldb"))
        core = NodeCore(self.net.ministry, self.net.genesis, kv,
                        MempoolLimits(max_txs=10_000, max_bytes=64 << 20, max_per_sender=5_000),
                        NodeMetrics())
        now = int(time.time() * 1000)
        commit(core.chain, [make_tx(self.net.ministry, AccreditPayload(
            self.net.university.member_id, ("diploma",), 0, now + 10 * YEAR_MS))])
        runner = LimitedAppRunner(make_app(core, "fuzz-node"))
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = runner.addresses[0][1]
            async with running_engine(core):
                self.ready.set()
                await self._stop.wait()
        finally:
            await runner.cleanup()
            kv.close()


def can_be_invalid(operation: dict[str, Any]) -> bool:
    """Whether a request to this operation can break its declaration: not when it takes
    no parameters and its only body is any bytes, or any JSON, at all."""
    if operation.get("parameters"):
        return True
    bodies = operation.get("requestBody", {}).get("content", {}).values()
    return any(body["schema"].get("format") != "binary" and set(body["schema"]) != {
        "description"} for body in bodies)


@pytest.fixture
def live_node(tmp_path: Path, net: Consortium) -> Iterator[str]:
    node = LiveNode(tmp_path, net)
    base_url = node.start()
    try:
        yield base_url
    finally:
        node.stop()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])
def test_every_operation_conforms(live_node: str, mode: schemathesis.GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{live_node}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) >= 17
    statuses: Counter[int] = Counter()
    for operation in operations:
        if mode is schemathesis.GenerationMode.NEGATIVE and not can_be_invalid(
                operation.definition.raw):
            continue

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def conforms(case: schemathesis.Case[Any]) -> None:
            response = case.call_and_validate(base_url=live_node, checks=CHECKS, timeout=30)
            statuses[response.status_code] += 1

        conforms()
    # The requests did reach the handlers, and were both served and refused.
    assert sum(statuses.values()) >= len(operations) * 3, statuses
    assert statuses[400] > 0, statuses
    if mode is schemathesis.GenerationMode.POSITIVE:
        assert statuses[200] > 0 and statuses[404] > 0, statuses
