"""The node's memory while many connections ask for `GET /v1/governance` and read nothing.

One validator node (a real process) with three more ministries (keys only), rules version
4 from genesis, a retired university and MAX_OPEN_PROPOSALS open `revoke_credentials`
proposals of MAX_REVOKED_PER_PROPOSAL credentials each: an answer of about 1.5 MB. Then
CONNECTIONS connections from one loopback address each send the request and read
nothing (a receive buffer of RECEIVE_BUFFER_BYTES, as a slow client's), in GROUPS groups
with a block of one anchor between two groups. The node's resident memory (VmRSS) is
read before, at its highest while they are open (for at most HOLD_S), and after they are
closed. `python -m bench.governance_hold [--connections N] [--source 127.0.0.1]`.

On loopback Linux lets a socket's send buffer grow to net.ipv4.tcp_wmem's maximum (4 MiB
here), so the kernel takes the whole answer of each connection and the node's RSS does not
show it (`ss -tm` does: 284 MiB queued for 200). A connection to a distant client that
reads nothing keeps a smaller one; to see what the node then holds, run it in a network
namespace of its own whose send buffers stop at 64 KiB (root; nothing outside changes):

    unshare -n sh -c 'ip link set lo up; sysctl -q -w net.ipv4.tcp_wmem="4096 16384 65536";
                      python -m bench.governance_hold'
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.governance_view import revocable_cohort, revoke_proposals
from bench.network import BenchMember, BenchNetwork
from bench.single_node import post_msgpack, wait_height_for
from cli.client import NodeClient
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AccreditPayload,
    AnchorPayload,
    MemberAction,
    ProposePayload,
    VotePayload,
)

CONNECTIONS = 200
GROUPS = 10
HOLD_S = 10.0  # the connections stay open this long at most
SETTLED_S = 1.0  # ... and end sooner once the memory has not grown for this long
RECEIVE_BUFFER_BYTES = 4_096
ANSWER_WAIT_S = 10.0
COMMIT_WAIT_S = 120.0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _lay_out(root: Path) -> BenchNetwork:
    network = BenchNetwork(root, validators=1)
    network.members[1:1] = [BenchMember(f"m{i}", f"Ministry M{i}", "ministry", False, False)
                            for i in range(1, 4)]
    network.lay_out()
    genesis = root / "genesis.json"
    # Pinned to 4, over the current rules the bench network states: bulk revocations
    # (from 4), and every open place one ministry's proposal (refused from 5).
    document = json.loads(genesis.read_text())
    document["rules_version"] = 4
    genesis.write_text(json.dumps(document))
    return network


def _fill(network: BenchNetwork) -> None:
    """The retired university and its 32 open proposals, committed."""
    node = network.ministry
    client = NodeClient(node.api)
    ministries = [m for m in network.members if m.role == "ministry"]
    uni = network.university
    now_ms = int(time.time() * 1000)
    client.submit_and_wait(client.make_tx(node.keys, AccreditPayload(
        uni.keys.member_id, ("diploma",), now_ms - 86_400_000, now_ms + 86_400_000)))
    issues, refs = revocable_cohort()
    txs = [client.make_tx(uni.keys, issue) for issue in issues]
    post_msgpack(node.api, txs)
    wait_height_for(node.api, txs[-1], COMMIT_WAIT_S)
    head = int(client.status()["height"])
    retire = ProposePayload(MemberAction(ACTION_RETIRE_MEMBER, uni.keys.member_id),
                            head + 8, head + 6)
    propose = client.make_tx(node.keys, retire)
    client.submit_and_wait(propose)
    for ministry in ministries[1:3]:
        client.submit_and_wait(client.make_tx(ministry.keys, VotePayload(propose.tx_id)))
    while int(client.status()["height"]) < retire.effective_height:
        _anchor(client, node)
    head = int(client.status()["height"])
    proposals = [client.make_tx(ministries[n % 4].keys, payload) for n, payload in
                 enumerate(revoke_proposals(uni.keys.member_id, refs, head + 50_000))]
    for start in range(0, len(proposals), 8):
        post_msgpack(node.api, proposals[start:start + 8])
    wait_height_for(node.api, proposals[-1], COMMIT_WAIT_S)


def _anchor(client: NodeClient, node: BenchMember) -> None:
    client.submit_and_wait(client.make_tx(node.keys, AnchorPayload(time.time_ns().to_bytes(
        32, "big"))))


def _open_unread(port: int, source: str, path: str, answered: bool) -> socket.socket:
    """A connection that asked for `path` and reads nothing; with `answered`, once its
    answer has begun to arrive (looked at, not read: MSG_PEEK), for at most ANSWER_WAIT_S."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path.encode())
    if answered:
        sock.settimeout(ANSWER_WAIT_S)
        with contextlib.suppress(OSError):  # not answered in time: it is still held
            sock.recv(1, socket.MSG_PEEK)
        sock.settimeout(None)
    return sock


def hold_unread(node: BenchMember, path: str, connections: int, source: str,
                answered: bool = False) -> dict[str, Any]:
    """`connections` connections asking `node` for `path` and reading nothing, opened in
    GROUPS groups with a block between two (`answered`: each once its answer has begun,
    for an answer the node works out each time, which a crowd asking at once would find
    busy): the node's RSS before, at its highest and after they closed, and the status
    lines they were sent."""
    if not source.startswith("127."):
        raise ValueError(f"only loopback sources, not {source}")
    client = NodeClient(node.api)
    with urllib.request.urlopen(node.api + path, timeout=60) as answer:
        size = len(answer.read())
    assert node.process is not None
    pid = node.process.pid
    time.sleep(1.0)
    before = _rss_kib(pid)
    socks: list[socket.socket] = []
    highest = before
    per_group = max(1, connections // GROUPS)
    for start in range(0, connections, per_group):
        socks += [_open_unread(node.api_port, source, path, answered)
                  for _ in range(min(per_group, connections - start))]
        _anchor(client, node)
        highest = max(highest, _rss_kib(pid))
    deadline = time.monotonic() + HOLD_S
    grew = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - grew < SETTLED_S:
        time.sleep(0.1)
        now = _rss_kib(pid)
        if now > highest:
            highest, grew = now, time.monotonic()
    statuses: dict[str, int] = {}
    for sock in socks:
        sock.settimeout(5)
        try:
            line = sock.recv(64).split(b"\r\n", 1)[0].decode(errors="replace")
        except OSError as exc:
            line = type(exc).__name__
        statuses[line] = statuses.get(line, 0) + 1
        sock.close()
    time.sleep(1.0)
    after = _rss_kib(pid)
    return {"connections": connections, "source": source, "path": path,
            "answer_bytes": size, "before_mib": before / 1024, "highest_mib": highest / 1024,
            "after_mib": after / 1024, "statuses": statuses}


def hold(connections: int = CONNECTIONS, source: str = "127.0.0.1") -> dict[str, Any]:
    if not source.startswith("127."):
        raise ValueError(f"only loopback sources, not {source}")
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
        network = _lay_out(Path(folder))
        network.start_all()
        try:
            _fill(network)
            return hold_unread(network.ministry, "/v1/governance", connections, source)
        finally:
            network.stop_all()


def say(result: dict[str, Any]) -> str:
    return (f"{result['connections']} unread connections from {result['source']} asking for "
            f"{result['path']} ({result['answer_bytes']:,} bytes): node RSS "
            f"{result['before_mib']:.1f} MiB before, {result['highest_mib']:.1f} MiB at the "
            f"highest (+{result['highest_mib'] - result['before_mib']:.1f}), "
            f"{result['after_mib']:.1f} MiB after they closed; answers {result['statuses']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--source", default="127.0.0.1")
    args = parser.parse_args()
    print(say(hold(args.connections, args.source)))


if __name__ == "__main__":
    main()
