"""`[node] cpus`: the node process, every thread of it and every signature worker it starts
run on the CPUs named, and a CPU the machine does not give it stops the start in one line."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ledger.codec import encode
from ledger.payloads import AnchorPayload
from ledger.transactions import build_transaction
from node.signature_workers import WORKER_BATCH_MIN
from tests.e2e.harness import Consortium, Member, http

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

MEMBERS = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True)]
DEADLINE_S = 30.0


def with_cpus(config: Path, cpus: str) -> None:
    text = config.read_text("utf-8")
    config.write_text(text.replace("[node]\n", f"[node]\ncpus = {cpus}\n", 1), "utf-8")


def allowed_cpus(pid: int, task: str | None = None) -> str:
    status = Path(f"/proc/{pid}" + (f"/task/{task}" if task else "") + "/status")
    for line in status.read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Cpus_allowed_list in {status}")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        found += [int(child) for child in text.split()]
    return found


def test_the_node_and_its_signature_workers_run_on_the_cpus_named(tmp_path: Path) -> None:
    cpu = min(os.sched_getaffinity(0))
    with Consortium(tmp_path, MEMBERS, genesis_via_cli=False) as net:
        with_cpus(net.write_config("mshe"), f"[{cpu}]")
        node = net.start("mshe")
        assert node.pid is not None
        # A batch this large goes to the signature workers, started on first use.
        keys = net.keys("mshe")
        txs = [build_transaction(keys, net.chain_id, AnchorPayload(os.urandom(32)), 1000)
               for _ in range(WORKER_BATCH_MIN + 8)]
        status, _, answer = http("POST", node.url + "/v1/transactions",
                                 encode([tx.encode() for tx in txs]), "application/msgpack")
        assert status == 202, answer[:300]
        deadline = time.monotonic() + DEADLINE_S
        while not children(node.pid):
            assert time.monotonic() < deadline, "no signature worker started"
            time.sleep(0.05)
        threads = os.listdir(f"/proc/{node.pid}/task")
        assert len(threads) > 3
        for task in threads:
            assert allowed_cpus(node.pid, task) == str(cpu), task
        for child in children(node.pid):
            assert allowed_cpus(child) == str(cpu), child
        assert f"running on CPU {cpu}" in node.log_text()


def test_a_cpu_the_machine_does_not_give_stops_the_start(tmp_path: Path) -> None:
    missing = 4095
    assert missing not in os.sched_getaffinity(0)
    with Consortium(tmp_path, MEMBERS, genesis_via_cli=False) as net:
        with_cpus(net.write_config("mshe"), f"[{missing}]")
        node = net.node("mshe")
        node.spawn()
        assert node.process is not None
        assert node.process.wait(timeout=DEADLINE_S) == 2
        log = node.log_text()
        assert f"node.cpus: this machine gives the node no CPU {missing}" in log, log
        assert "Traceback" not in log
