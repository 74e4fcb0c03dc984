"""Time anchors committing on a running testnet, one at a time (scripts/testnet grow|shrink).

    python scripts/testnet_anchors.py KEY API LABEL COUNT [UNTIL_HEIGHT]

Submits COUNT anchor transactions signed by KEY to API, each after the previous one
committed, and prints each commit latency (submit to committed, in this process, so
no CLI start-up is counted), then a line `LABEL: median … ms`. With UNTIL_HEIGHT it
stops early once the node's height passes it (to span a validator-set switch).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from cli.client import NodeClient
from ledger.payloads import AnchorPayload
from node.files import load_key

WAIT_S = 60.0


def main(key_file: Path, api: str, label: str, count: int, until_height: int | None) -> int:
    keys = load_key(key_file)
    client = NodeClient(api)
    latencies: list[float] = []
    for n in range(1, count + 1):
        if until_height is not None and client.status()["height"] > until_height:
            break
        started = time.monotonic()
        result = client.submit_and_wait(client.make_tx(keys, AnchorPayload(os.urandom(32))),
                                        WAIT_S)
        took_ms = (time.monotonic() - started) * 1000
        if result["status"] != "committed":
            print(f"   anchor {n}: {result['status']} after {took_ms:.0f} ms", file=sys.stderr)
            return 1
        latencies.append(took_ms)
        print(f"   anchor {n} committed at height {result.get('height')} in {took_ms:.0f} ms")
    if not latencies:
        print(f"{label}: no anchors (the height was already past {until_height})")
        return 0
    print(f"{label}: median {statistics.median(latencies):.0f} ms, "
          f"max {max(latencies):.0f} ms over {len(latencies)} anchors")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]),
                  int(sys.argv[5]) if len(sys.argv) == 6 else None))
