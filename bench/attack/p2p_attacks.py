"""Attacks on the P2P port: silent sockets from many sources, and a Byzantine validator key."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.attack.base import Attack, Check
from bench.attack.http_attacks import attacker_source
from bench.attack.lab import LATE_S, Lab, PhaseResult, http_json
from bench.network import BenchMember
from node.files import load_genesis
from p2p import connection as conn
from p2p.errors import P2PError
from p2p.handshake import Identity, Role

RECONNECT_SLACK_S = 5.0  # a restart under attack may reconnect this much slower
RECONNECT_WIDE_S = 30.0
MAX_CONNECTS = 200_000  # silent sockets opened in one attack, in all
REOPEN_EVERY_S = 0.5


def validator_peers(lab: Lab, member: BenchMember) -> int:
    """How many other validators `member` has an authenticated connection to."""
    status, body = http_json(member.api + "/v1/status", timeout_s=2)
    if status != 200 or not isinstance(body, dict):
        return 0
    return sum(1 for p in body.get("peers", []) if p.get("authenticated") and p.get("validator"))


class HandshakeFlood(Attack):
    """Silent TCP sockets at every P2P port while validators are killed and restarted.

    Both phases kill -9 and restart the same validators a quarter into the phase
    and time how long each takes to be connected to every other validator again.
    """

    name = "handshake-flood-restart"

    def __init__(self, short: bool) -> None:
        super().__init__(short)
        self.sources = 8 if self.short else 20
        self.per_source = 16 if self.short else 24

    def victims(self, lab: Lab) -> list[BenchMember]:
        return lab.validators[-1:] if self.short else lab.validators[-2:]

    def prepare(self, lab: Lab) -> None:
        lab.honest_exclude.update(m.slug for m in self.victims(lab))

    def cleanup(self, lab: Lab) -> None:
        lab.honest_exclude.difference_update(m.slug for m in self.victims(lab))

    def both_phases(self, lab: Lab, seconds: float) -> dict[str, float]:
        time.sleep(seconds / 4)
        victims = self.victims(lab)
        for victim in victims:
            lab.network.kill(victim)
        restarted = time.monotonic()
        for victim in victims:
            lab.network.start(victim)
        deadline = restarted + seconds + LATE_S
        wanted = len(lab.validators) - 1
        waiting = {v.slug: v for v in victims}
        took: dict[str, float] = {}
        while waiting and time.monotonic() < deadline:
            for slug, victim in list(waiting.items()):
                if validator_peers(lab, victim) >= wanted:
                    took[slug] = time.monotonic() - restarted
                    del waiting[slug]
            time.sleep(0.2)
        never = deadline - restarted
        return {"reconnect_s": max([*took.values(), *(never for _ in waiting)], default=0.0)}

    def start(self, lab: Lab, until: float) -> None:
        ports = [m.p2p_port for m in lab.network.members if m.runs_node]
        self.spawn(lambda u: self._flood(ports, u), until)

    def _flood(self, ports: list[int], until: float) -> None:
        slots: dict[tuple[int, int], socket.socket | None] = {
            (port, n): None for port in ports for n in range(self.sources * self.per_source)}
        connects = 0
        while self.running(until) and connects < MAX_CONNECTS:
            for (port, n), sock in slots.items():
                if not self.running(until):
                    break
                if sock is not None and closed_by_peer(sock):
                    sock.close()
                    self.count("closed by node")
                    sock = slots[(port, n)] = None
                if sock is None and connects < MAX_CONNECTS:
                    connects += 1
                    slots[(port, n)] = silent_socket(attacker_source(n % self.sources), port)
                    self.count("opened" if slots[(port, n)] else "refused")
            self._stop.wait(REOPEN_EVERY_S)
        for sock in slots.values():
            if sock is not None:
                sock.close()

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        before, after = base.extra.get("reconnect_s", 0.0), hit.extra.get("reconnect_s", 0.0)
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return [
            Check(self.name, "restart reconnect s", f"{before:.1f}", f"{after:.1f}",
                  f"<= {before + RECONNECT_SLACK_S:.1f}", after <= before + RECONNECT_SLACK_S,
                  after > before + RECONNECT_WIDE_S),
            Check(self.name, "silent sockets", "-", counts, "(reported)", True, False),
        ]


def silent_socket(source: str, port: int) -> socket.socket | None:
    sock = socket.socket()
    sock.settimeout(1.0)
    try:
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        return sock
    except OSError:
        sock.close()
        return None


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b""  # a node that talks first is not closing it
    except BlockingIOError:
        return False
    except OSError:
        return True


class EvidenceSpam(Attack):
    """A process holding the last validator's key sends conflicting votes and bad view
    changes. The real holder of that key is stopped for the whole attack (both phases)."""

    name = "evidence-spam"

    def __init__(self, short: bool) -> None:
        super().__init__(short)
        self.process: subprocess.Popen[bytes] | None = None
        self.sent: dict[str, int] = {}

    def byzantine(self, lab: Lab) -> BenchMember:
        return lab.validators[-1]

    def prepare(self, lab: Lab) -> None:
        lab.network.kill(self.byzantine(lab))
        lab.honest_exclude.add(self.byzantine(lab).slug)

    def cleanup(self, lab: Lab) -> None:
        member = self.byzantine(lab)
        lab.network.start(member)
        lab.network.wait_ready(member, 60)
        lab.honest_exclude.discard(member.slug)

    def start(self, lab: Lab, until: float) -> None:
        member = self.byzantine(lab)
        honest = [v for v in lab.validators if v is not member]
        command = [sys.executable, "-m", "bench.attack.byzantine",
                   "--key", str(lab.root / "keys" / f"{member.slug}.key"),
                   "--genesis", str(lab.root / "genesis.json"),
                   "--status", honest[0].api + "/v1/status",
                   "--seconds", f"{max(1.0, until - time.monotonic()):.1f}",
                   "--votes-per-s", "1000", "--view-changes-per-s", "10"]
        for peer in honest:
            command += ["--peer", f"127.0.0.1:{peer.p2p_port}"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        super().stop()
        if self.process is None:
            return
        try:
            out, _ = self.process.communicate(timeout=60)
            self.sent = json.loads(out.decode().strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            self.process.kill()
            self.process.wait()
        self.process = None

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        sent = ", ".join(f"{k}: {v}" for k, v in sorted(self.sent.items()))
        return [Check(self.name, "byzantine messages", "-", sent or "none", "(reported)",
                      True, False)]


STRANGER_CONNECTS_MAX = 100_000  # connections one attack opens, in all


class StrangerLines(Attack):
    """What strangers make two validators write to their logs: handshakes completed with a
    fresh key each (refused as no member), and malformed HTTP heads and P2P junk, each from
    another loopback address. Reports the lines written, and what they cost the nodes."""

    name = "stranger-lines"

    def start(self, lab: Lab, until: float) -> None:
        network_id = load_genesis(lab.root / "genesis.json").network_id
        for number, target in enumerate(lab.validators[1:3]):
            self.spawn(functools.partial(self._keys_loop, target, network_id), until)
            self.spawn(functools.partial(self._junk, target, number), until)

    def _keys_loop(self, target: BenchMember, network_id: bytes, until: float) -> None:
        asyncio.run(self._keys(target, network_id, until))

    async def _keys(self, target: BenchMember, network_id: bytes, until: float) -> None:
        source = attacker_source(target.p2p_port % 200)
        for _ in range(STRANGER_CONNECTS_MAX):
            if not self.running(until):
                return
            # from an address the node does not dial (its peers are at 127.0.0.1)
            done = await fresh_key_handshake(target.p2p_port, source, network_id)
            self.count("fresh keys not connected" if done is None
                       else "fresh keys" if done else "fresh keys refused")

    def _junk(self, target: BenchMember, number: int, until: float) -> None:
        head = b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
        for i in range(STRANGER_CONNECTS_MAX):
            if not self.running(until):
                return
            source = f"127.{100 + number}.{i // 250 % 250}.{i % 250 + 1}"
            for port, raw, what in ((target.api_port, head, "bad heads"),
                                    (target.p2p_port, bytes(64), "p2p junk")):
                with socket.socket() as sock:
                    sock.settimeout(2)
                    try:
                        sock.bind((source, 0))
                        sock.connect(("127.0.0.1", port))
                        sock.sendall(raw)
                        sock.recv(1024)
                        self.count(what)
                    except OSError:
                        self.count(what + " failed")

    def both_phases(self, lab: Lab, seconds: float) -> dict[str, float]:
        targets = lab.validators[1:3]
        lines, cpu = sum(_log_lines(lab, m) for m in targets), _cpu_s(targets)
        time.sleep(seconds)
        return {"log_lines": float(sum(_log_lines(lab, m) for m in targets) - lines),
                "cpu_s": _cpu_s(targets) - cpu}

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return [Check(self.name, "log lines (2 nodes)", f"{base.extra.get('log_lines', 0):.0f}",
                      f"{hit.extra.get('log_lines', 0):.0f}", "(reported)", True, False),
                Check(self.name, "CPU s (2 nodes)", f"{base.extra.get('cpu_s', 0):.1f}",
                      f"{hit.extra.get('cpu_s', 0):.1f}", "(reported)", True, False),
                Check(self.name, "attack", "-", counts, "(reported)", True, False)]


async def fresh_key_handshake(port: int, source: str, network_id: bytes) -> bool | None:
    """One handshake from `source` to the P2P port `port` with a key made for it: True
    done, False refused by the node, None not connected."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                       local_addr=(source, 0))
    except OSError:
        return None
    try:
        secured = await conn.secure_connection(
            reader, writer, identity=Identity.from_seed(os.urandom(32)), chain_id=network_id,
            role=Role.INITIATOR, is_allowed=lambda key: True, handshake_timeout_s=2)
        await secured.close()
        return True
    except P2PError:
        writer.close()
        return False


def _cpu_s(members: list[BenchMember]) -> float:
    """User and system CPU seconds the members' node processes have used."""
    total = 0.0
    for member in members:
        if member.process is None:
            continue
        try:
            fields = Path(f"/proc/{member.process.pid}/stat").read_text().rsplit(")", 1)[1]
        except OSError:
            continue
        user, system = fields.split()[11:13]
        total += (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")
    return total


def _log_lines(lab: Lab, member: BenchMember) -> int:
    path = lab.root / f"{member.slug}.log"
    try:
        with path.open("rb") as log:
            return sum(1 for _ in log)
    except FileNotFoundError:
        return 0
