"""What a VC worker imports to run its jobs: the fork server's preload, and nothing of
the daemon's HTTP side. When the warm-up job lived in `node.vc_api` (and the initializer
in `node.vc_common`), each of a node's two workers imported aiohttp and most of the node
to unpickle them, 0.59 s of CPU each at every node start."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from node.vc_common import _FORKSERVER
from node.vc_work import sign_anchored, sign_checked, start_worker, warm_worker

NOW = "2025-06-15T12:00:00Z"
DAEMON_SIDE = ("aiohttp", "node.vc_api", "node.vc_issuing", "node.service", "node.daemon")


def _credential(keys: KeyPair) -> dict[str, object]:
    return {"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
            "issuer": did_key(keys.public_key), "validFrom": NOW,
            "credentialSubject": {"id": "did:example:graduate"}}


def test_a_worker_runs_every_vc_job_without_importing_the_daemon() -> None:
    keys = KeyPair.from_seed(bytes(range(32)))
    # One worker, so that the modules read afterwards are those of the worker that ran
    # every job.
    with ProcessPoolExecutor(1, mp_context=_FORKSERVER, initializer=start_worker,
                             initargs=(os.getpid(), 0)) as pool:
        pool.submit(warm_worker).result(timeout=60)
        signed = pool.submit(sign_checked, _credential(keys), keys, NOW).result(timeout=60)
        anchored = pool.submit(sign_anchored, keys, NOW, _credential(keys)).result(timeout=60)
        loaded = pool.submit(eval, "sorted(__import__('sys').modules)").result(timeout=60)
        worker = pool.submit(os.getpid).result(timeout=60)
    assert worker != os.getpid()
    assert signed["proof"] and anchored["proof"]
    assert "ledger.vc.verify" in loaded and "pyld" in loaded  # preloaded, so inherited
    assert not [name for name in loaded if name.split(".")[0] == "aiohttp"
                or name in DAEMON_SIDE]
