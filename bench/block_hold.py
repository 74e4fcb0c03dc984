"""The node's memory while many connections ask for one large block and read nothing.

One validator node (a real process); BLOCK_TXS anchors submitted in one request, so that
one block holds most of them (its JSON answer about 190 bytes a transaction), then the
connections of `bench.governance_hold.hold_unread` ask for that block (`--raw`: its
bytes), each once its answer has begun, and read nothing.
`python -m bench.block_hold [--connections N] [--raw]`; as for governance, run it where
send buffers stop at 64 KiB to see what the node holds:

    unshare -n sh -c 'ip link set lo up; sysctl -q -w net.ipv4.tcp_wmem="4096 16384 65536";
                      python -m bench.block_hold'
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.governance_hold import CONNECTIONS, hold_unread, say
from bench.network import BenchNetwork
from bench.single_node import post_msgpack, wait_height_for
from cli.client import NodeClient
from ledger.payloads import AnchorPayload

BLOCK_TXS = 8_000
COMMIT_WAIT_S = 120.0


def _fill(network: BenchNetwork) -> int:
    """The height of the block holding the most of BLOCK_TXS anchors."""
    node = network.ministry
    client = NodeClient(node.api)
    txs = [client.make_tx(node.keys, AnchorPayload(os.urandom(32))) for _ in range(BLOCK_TXS)]
    post_msgpack(node.api, txs)  # one request: in the mempool together, for one block
    wait_height_for(node.api, txs[-1], COMMIT_WAIT_S)
    heights: dict[int, int] = {}
    for tx in txs[::50]:
        height = int(client.wait(tx.tx_id.hex(), COMMIT_WAIT_S)["height"])
        heights[height] = heights.get(height, 0) + 1
    return max(heights, key=lambda h: heights[h])


def hold(connections: int = CONNECTIONS, raw: bool = False,
         source: str = "127.0.0.1") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
        network = BenchNetwork(Path(folder), validators=1)
        network.lay_out()
        network.start_all()
        try:
            height = _fill(network)
            path = f"/v1/blocks/{height}" + ("?format=raw" if raw else "")
            return hold_unread(network.ministry, path, connections, source, answered=True)
        finally:
            network.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--raw", action="store_true", help="ask for the block's bytes")
    parser.add_argument("--source", default="127.0.0.1")
    args = parser.parse_args()
    print(say(hold(args.connections, args.raw, args.source)))


if __name__ == "__main__":
    main()
