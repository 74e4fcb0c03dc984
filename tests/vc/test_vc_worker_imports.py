"""What a VC worker imports to run the jobs the node hands it: the fork server's preload
(`node.vc_work`, `ledger`), and nothing of the daemon's HTTP side. When the warm-up job
lived in `node.vc_api`, the signing jobs in `node.vc_issuing` and the initializer in
`node.vc_common`, each worker imported aiohttp and most of the node to unpickle them:
0.59 s of CPU a worker at every node start."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from node.vc_api import _warm_pool
from node.vc_common import VC
from tests.vc.conftest import TOKEN, VcNode, post

DAEMON_SIDE = ("aiohttp", "node.vc_api", "node.vc_issuing", "node.vc_common", "node.service",
               "node.daemon")
# A job a worker holds this long, so that as many jobs as workers reach every one of them.
HELD_S = 0.3
ROUNDS_MAX = 20
PROBE = ("__import__('time').sleep({held}) or "
         "(__import__('os').getpid(), sorted(__import__('sys').modules))")


async def _modules_of_every_worker(node: VcNode) -> dict[int, list[str]]:
    pool = node.app[VC].pool
    workers = set(pool._processes)  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    seen: dict[int, list[str]] = {}
    for _ in range(ROUNDS_MAX):
        probes = [loop.run_in_executor(pool, eval, PROBE.format(held=HELD_S))
                  for _ in workers]
        for pid, modules in await asyncio.gather(*probes):
            seen[pid] = modules
        if workers <= set(seen):
            return seen
    raise AssertionError(f"probes reached {sorted(seen)} of the workers {sorted(workers)}")


async def test_the_nodes_vc_jobs_leave_every_worker_free_of_the_daemon(node: VcNode) -> None:
    await _warm_pool(node.app)  # as a daemon's start does (in-process apps skip it)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    credential = {"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
                  "issuer": did_key(node.issuer.public_key),
                  "credentialSubject": {"id": "did:example:holder"}}
    issued: dict[str, Any] = (await post(node, "/credentials/issue", {"credential": credential},
                                         201, auth))["verifiableCredential"]
    assert (await post(node, "/credentials/verify", {"verifiableCredential": issued},
                       200))["verified"] is True
    holder = KeyPair.from_seed(b"\x55" * 32)
    presentation = add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                              "holder": did_key(holder.public_key),
                              "verifiableCredential": [issued]},
                             holder, "2025-01-01T00:00:00Z", purpose="authentication")
    await post(node, "/presentations/verify", {"verifiablePresentation": presentation}, 200)
    status_list = urlsplit(issued["credentialStatus"]["statusListCredential"]).path
    assert (await node.client.get(status_list)).status == 200

    for pid, modules in (await _modules_of_every_worker(node)).items():
        assert "node.vc_work" in modules and "pyld" in modules, pid
        assert not [name for name in modules if name.split(".")[0] == "aiohttp"
                    or name in DAEMON_SIDE], pid
