"""What the node's VC workers run, in a module that imports only `ledger`,
`node.orphan_guard` (which imports only the standard library) and the standard library.

A worker imports the module of each function it is handed as it unpickles the job.
The warm-up job lived in `node.vc_api`, the signing jobs in `node.vc_issuing` and the
workers' initializer in `node.vc_common`, so each worker imported aiohttp and most of
the node (0.59 s of CPU, measured): two workers took more than a second of every node
start. The fork server preloads this module (`node.vc_common.FORK_SERVER_PRELOAD`), so
a worker forked from it has everything its jobs need.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2, canonize
from ledger.vc.proofs import add_proof
from ledger.vc.verify import verify_vc
from node.orphan_guard import exit_with


def start_worker(parent_pid: int, niceness: int) -> None:
    # SIGINT is ignored already: the fork server ignores it from its first preloaded
    # module (node.sigint_ignored), and hands each worker the handlers it had.
    os.nice(niceness)
    exit_with(parent_pid)


def warm_worker() -> None:
    """Load the bundled contexts and PyLD's caches in a worker process."""
    canonize({"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
              "credentialSubject": {"id": "did:example:warm"}})


def sign_checked(unsigned: dict[str, Any], issuer: KeyPair, now: str) -> dict[str, Any]:
    """`unsigned` with its proof, refused if what was signed would not verify."""
    signed = add_proof(unsigned, issuer, now)
    shape = verify_vc(signed, datetime.now(tz=UTC))
    if not shape.valid and shape.status == "malformed":
        raise InvalidDocument(shape.reason)
    return signed


def sign_anchored(issuer: KeyPair, now: str, anchored: dict[str, Any]) -> dict[str, Any]:
    """`anchored` with its proof. It comes last: `issue_anchored` hands it to a partial
    that holds the issuer and the time."""
    return add_proof(anchored, issuer, now)
