"""Single-node figures: committed tx/s, credentials/s in batches, verifications/s."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from bench.network import BenchNetwork
from cli.client import NodeClient
from cli.parallel_hashing import PooledBatchBuilder
from ledger.codec import encode
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, IssueBatchPayload
from ledger.transactions import Transaction, build_transaction

SUBMIT_CHUNK = 2000


def accredit(network: BenchNetwork) -> None:
    client = NodeClient(network.ministry.api)
    now_ms = int(time.time() * 1000)
    tx = client.make_tx(network.ministry.keys, AccreditPayload(
        network.university.keys.member_id, ("diploma", "certificate", "attestat", "transcript"),
        now_ms - 86_400_000, now_ms + 86_400_000 * 365))
    result = client.submit_and_wait(tx)
    assert result["status"] == "committed", result


def single_credential_txs(keys: KeyPair, chain_id: str, count: int, expires_at: int
                          ) -> list[Transaction]:
    """Issue transactions of one credential each (the worst case for the ledger)."""
    txs = []
    run = os.urandom(8)  # roots differ between calls, so no batch is a duplicate
    for i in range(count):
        root = hashlib.sha256(run + i.to_bytes(8, "big")).digest()
        txs.append(build_transaction(keys, chain_id, IssueBatchPayload("certificate", root, 1),
                                     expires_at))
    return txs


def post_msgpack(api: str, txs: list[Transaction]) -> dict[str, Any]:
    body = encode([tx.encode() for tx in txs])
    request = urllib.request.Request(api + "/v1/transactions", data=body, method="POST",
                                     headers={"Content-Type": "application/msgpack"})
    with urllib.request.urlopen(request, timeout=120) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def wait_height_for(api: str, tx: Transaction, timeout_s: float) -> dict[str, Any]:
    return NodeClient(api).wait(tx.tx_id.hex(), timeout_s)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process and its children (the node's signature
    workers) have used (Linux /proc): on a shared machine this moves far less with
    other load than the wall clock does."""
    return sum(process_cpu_split_s(pid))


def process_cpu_split_s(pid: int) -> tuple[float, float]:
    """`process_cpu_s` in two: (the process's own CPU seconds, its direct children's,
    those it has reaped included). A node's signature workers are its direct, long-lived
    children; a child's own children, and a child reaped while /proc is read, are not
    counted exactly."""
    own = children = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        if entry.name == str(pid):
            own += int(fields[11]) + int(fields[12])
            children += int(fields[13]) + int(fields[14])  # the ones it reaped
        elif fields[1] == str(pid):
            children += int(fields[11]) + int(fields[12])
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    return own / ticks_per_s, children / ticks_per_s


def committed_tx_rate(network: BenchNetwork, count: int) -> dict[str, float]:
    api = network.ministry.api
    assert network.ministry.process is not None
    pid = network.ministry.process.pid
    status = network.status(network.ministry)
    txs = single_credential_txs(network.university.keys, status["chain_id"], count,
                                status["height"] + 100_000)
    start_height = status["height"]
    started, cpu_before = time.perf_counter(), process_cpu_s(pid)
    for offset in range(0, count, SUBMIT_CHUNK):
        result = post_msgpack(api, txs[offset:offset + SUBMIT_CHUNK])
        assert result["rejected"] == 0, result["results"][:3]
    last = wait_height_for(api, txs[-1], 300)
    elapsed = time.perf_counter() - started
    node_cpu_s = process_cpu_s(pid) - cpu_before
    assert last["status"] == "committed", last
    for tx in txs[:: max(1, count // 50)]:
        assert NodeClient(api).wait(tx.tx_id.hex(), 60)["status"] == "committed"
    blocks = network.status(network.ministry)["height"] - start_height
    return {"transactions": count, "seconds": elapsed, "tx_per_s": count / elapsed,
            "blocks": blocks, "node_cpu_us_per_tx": node_cpu_s / count * 1e6}


def batch_credential_rate(network: BenchNetwork, batches: int, per_batch: int
                          ) -> dict[str, float]:
    """Registrar's view: records in, committed batch and documents out."""
    api = network.ministry.api
    client = NodeClient(api)
    chain_id = network.status(network.ministry)["chain_id"]
    records = [{"full_name": f"Graduate {i}", "iin": f"{i:012d}", "program": "Computer Science",
                "gpa": "3.50", "graduation_date": "2026-06-30"} for i in range(per_batch)]
    keys = network.university.keys
    hashing_s = 0.0
    workers = 0
    started = time.perf_counter()
    for _ in range(batches):
        t0 = time.perf_counter()
        # as `senim issue` hashes: in worker processes when the load leaves a core free
        with PooledBatchBuilder("diploma", chain_id, keys.member_id,
                                "Bench University") as builder:
            for record in records:
                builder.add(record)
            batch = builder.finish()
        hashing_s += time.perf_counter() - t0
        workers = max(workers, builder.workers_used)
        tx = client.make_tx(keys, IssueBatchPayload("diploma", batch.root, per_batch))
        assert client.submit_and_wait(tx)["status"] == "committed"
        last_batch = batch
    elapsed = time.perf_counter() - started
    documents = last_batch.documents()
    network.sample_documents = [next(documents) for _ in range(200)]  # type: ignore[attr-defined]
    total = batches * per_batch
    return {"credentials": total, "seconds": elapsed, "credentials_per_s": total / elapsed,
            "hashing_only_per_s": total / hashing_s, "hashing_workers": workers}


async def _verify_load(api: str, documents: list[dict[str, Any]], duration_s: float,
                       concurrency: int, max_requests: int) -> tuple[int, float]:
    done = 0
    deadline = time.perf_counter() + duration_s
    async with aiohttp.ClientSession() as session:
        async def worker(offset: int) -> None:
            nonlocal done
            index = offset
            while time.perf_counter() < deadline and done < max_requests:
                document = documents[index % len(documents)]
                async with session.post(api + "/v1/verify", json=document) as response:
                    verdict = await response.json()
                    assert verdict["valid"], verdict
                done += 1
                index += concurrency
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return done, time.perf_counter() - started


def verification_rate(network: BenchNetwork, duration_s: float) -> dict[str, float]:
    documents = network.sample_documents  # type: ignore[attr-defined]
    done, elapsed = asyncio.run(_verify_load(network.ministry.api, documents, duration_s, 16,
                                             100_000))
    return {"verifications": done, "seconds": elapsed, "verifications_per_s": done / elapsed}
