"""Commit latency of one in-process node, quiet and under a flood of large /v1/verify bodies.

Not in CI: a measurement. One node (LevelDB in a temp dir, the test SoloProducer making
a block every 5 ms, served by the daemon's LimitedAppRunner on 127.0.0.1) takes one
honest anchor transaction at a time over HTTP and long-polls it to commit. A separate
process (its own GIL), from 127.0.0.2, floods POST /v1/verify with the largest legal
body, or POST /v1/transactions with 20,000 forged signatures.

Usage: PYTHONPATH=. .venv/bin/python scripts/measure_verify_flood.py [--seconds 10]
       [--flooders 8] [--attack verify|forged] [--no-client-limits]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from typing import Any

import aiohttp
from aiohttp import web

from ledger.transactions import KIND_ANCHOR
from node.api import make_app
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore

try:
    from node.api_public import VERIFY_BODY_MAX
    from node.client_limits import RATES
    from node.http_limits import LimitedAppRunner as Runner
    from node.public_work import JSON_VALUES_MAX
except ImportError:  # the code before these limits, to compare (PYTHONPATH=an older tree)
    VERIFY_BODY_MAX, JSON_VALUES_MAX, RATES = 256 * 1024, 4_096, {}
    Runner = web.AppRunner  # type: ignore[misc,assignment]
from storage.kv import LevelDBStore
from tests.node.conftest import make_consortium, make_tx
from tests.node.solo import SoloProducer


def largest_legal_body() -> bytes:
    """A credential-shaped document just under the body and value limits."""
    fields: dict[str, Any] = {}
    document = {"format": "senim-credential/v1", "chain_id": "senim-test", "type": "diploma",
                "fields": fields}
    per_field = max(1, (VERIFY_BODY_MAX - 1024) // (JSON_VALUES_MAX // 2))
    for number in range(JSON_VALUES_MAX // 2 - 16):
        fields[f"f{number}"] = {"hash": "ab" * max(1, (per_field - 24) // 2)}
    body = json.dumps(document).encode()
    while len(body) > VERIFY_BODY_MAX:
        fields.popitem()
        body = json.dumps(document).encode()
    return body


def forged_submission(count: int = 20_000) -> bytes:
    """One submission of `count` anchors whose signatures are random bytes."""
    net = make_consortium()
    data = make_tx(net.employer, KIND_ANCHOR, [os.urandom(32)], expires_at=100_000).encode()
    forged = (data[:-64] + os.urandom(64)).hex()  # each copy is checked all the same
    return json.dumps({"txs": [forged] * count}).encode()


def flood(port: int, seconds: float, flooders: int, counter: Any, attack: str) -> None:
    body = largest_legal_body() if attack == "verify" else forged_submission()
    path = "/v1/verify" if attack == "verify" else "/v1/transactions"

    async def one(session: aiohttp.ClientSession, deadline: float) -> None:
        while time.monotonic() < deadline:
            async with session.post(f"http://127.0.0.1:{port}{path}", data=body,
                                    headers={"Content-Type": "application/json"}) as reply:
                await reply.read()
                with counter.get_lock():
                    counter.value += 1
                if reply.status in (429, 503):
                    await asyncio.sleep(0.01)

    async def main() -> None:
        deadline = time.monotonic() + seconds
        # From 127.0.0.2: an outsider's address, not the node's own host.
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(one(session, deadline) for _ in range(flooders)))

    asyncio.run(main())


async def honest(port: int, seconds: float, keys: Any) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            tx = make_tx(keys, KIND_ANCHOR, [os.urandom(32)], expires_at=100_000)
            started = time.monotonic()
            async with session.post(f"http://127.0.0.1:{port}/v1/transactions",
                                    json={"tx": tx.encode().hex()}) as reply:
                if reply.status != 202:
                    await asyncio.sleep(0.01)
                    continue
            while time.monotonic() < deadline + 30:
                async with session.get(f"http://127.0.0.1:{port}/v1/transactions/"
                                       f"{tx.tx_id.hex()}?wait=10") as reply:
                    if (await reply.json())["status"] != "pending":
                        break
            latencies.append(time.monotonic() - started)
    return latencies


_last_blocks = [0.0, 0.0]


def block_commit(core: NodeCore) -> str:
    """Mean build-and-commit time of the blocks since the last call (the ledger worker's)."""
    samples = {sample.name: sample.value for metric in core.metrics.registry.collect()
               if metric.name == "senim_block_commit_seconds" for sample in metric.samples}
    total, count = samples["senim_block_commit_seconds_sum"], samples[
        "senim_block_commit_seconds_count"]
    blocks, seconds = count - _last_blocks[0], total - _last_blocks[1]
    _last_blocks[:] = [count, total]
    return f"block commit mean {1000 * seconds / max(blocks, 1):6.2f} ms"


def report(label: str, latencies: list[float], seconds: float, extra: str = "") -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(f"{label:8} commits {len(ordered):5}  {len(ordered) / seconds:7.1f}/s  "
          f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {extra}", flush=True)


async def run(seconds: float, flooders: int, attack: str) -> None:
    net = make_consortium()
    with tempfile.TemporaryDirectory() as directory:
        kv = LevelDBStore(os.path.join(directory, "chain.ldb"))
        core = NodeCore(net.ministry, net.genesis, kv, MempoolLimits(100_000, 256 << 20, 100_000),
                        NodeMetrics())
        runner = Runner(make_app(core, "measure"), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        producer = asyncio.create_task(SoloProducer(core, 5, 1000).run())
        try:
            report("baseline", await honest(port, seconds, net.ministry), seconds,
                   block_commit(core))
            counter = multiprocessing.Value("l", 0)
            process = multiprocessing.Process(target=flood,
                                              args=(port, seconds + 1, flooders, counter,
                                                    attack))
            process.start()
            await asyncio.sleep(1.0)
            latencies = await honest(port, seconds, net.ministry)
            process.join(timeout=seconds + 30)
            if process.is_alive():
                process.kill()
            report("flood", latencies, seconds, f"{block_commit(core)} ({counter.value} "
                   f"{attack} floods answered, {flooders} flooders)")
        finally:
            producer.cancel()
            await runner.cleanup()
            core.worker.shutdown(wait=True)
            kv.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flooders", type=int, default=8)
    parser.add_argument("--attack", choices=("verify", "forged"), default="verify",
                        help="largest legal /v1/verify bodies, or 20,000 forged signatures "
                        "per /v1/transactions")
    parser.add_argument("--no-client-limits", action="store_true",
                        help="lift the per-address rates (as for a flood from many addresses)")
    arguments = parser.parse_args()
    if arguments.no_client_limits:
        for kind in RATES:
            RATES[kind] = (1e12, 1e12)
    asyncio.run(run(min(arguments.seconds, 60.0), min(arguments.flooders, 32), arguments.attack))
