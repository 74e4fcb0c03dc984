"""New connections from ever-new loopback addresses at every validator's P2P port.

Each connection comes from an address not used before (127.10.0.1 onwards, never a
configured peer's 127.0.0.1), so per-address limits (`p2p.admission.HandshakeRates`,
`PendingHandshakes`) see each as a first comer. It sends a valid HELLO (one made once:
the node cannot tell) and closes once the node answers or closes, so the node makes its
key and signs for any it lets past the HELLO. The attacker does no crypto of its own:
on a shared two-core machine its CPU would otherwise count against the node's.
"""

from __future__ import annotations

import asyncio
import os
import time

from bench.attack.base import Attack, Check
from bench.attack.lab import Lab, PhaseResult
from bench.attack.p2p_attacks import _cpu_s
from node.files import load_genesis
from p2p import handshake

RATE_PER_S = 484.0  # connections a second, to all validators together (the finding's)
CONNECTS_MAX = 100_000  # in one phase, in all
IN_FLIGHT_MAX = 256  # the attacker's own open connections at once
ANSWER_WAIT_S = 0.5


def source(index: int) -> str:
    """The index-th fresh loopback address (16 million before one repeats)."""
    return f"127.{10 + index // 62_500 % 240}.{index // 250 % 250}.{index % 250 + 1}"


class AddressFlood(Attack):
    name = "address-flood"

    def start(self, lab: Lab, until: float) -> None:
        network_id = load_genesis(lab.root / "genesis.json").network_id
        ports = [v.p2p_port for v in lab.validators]
        self.spawn(lambda u: asyncio.run(self._flood(ports, network_id, u)), until)

    async def _flood(self, ports: list[int], network_id: bytes, until: float) -> None:
        _, hello = handshake.start(handshake.Identity.from_seed(os.urandom(32)), network_id,
                                   handshake.Role.INITIATOR)
        slots = asyncio.Semaphore(IN_FLIGHT_MAX)
        tasks: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        for n in range(CONNECTS_MAX):
            if not self.running(until):
                break
            # Paced by the clock, not by answers: a node that stalls does not slow the flood.
            await asyncio.sleep(max(0.0, started + n / RATE_PER_S - time.monotonic()))
            if slots.locked():
                self.count("skipped (attacker at its own cap)")
                continue
            await slots.acquire()
            task = asyncio.create_task(self._one(ports[n % len(ports)], source(n), hello))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            task.add_done_callback(lambda _: slots.release())
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, port: int, address: str, hello: bytes) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                           local_addr=(address, 0))
        except OSError:
            self.count("not connected")
            return
        try:
            writer.write(hello)
            async with asyncio.timeout(ANSWER_WAIT_S):
                answer = await reader.read(handshake.HELLO_BYTES)
            self.count("answered (past the HELLO)" if answer else "closed unanswered")
        except (OSError, TimeoutError):
            self.count("reset or no answer")
        finally:
            writer.close()

    def both_phases(self, lab: Lab, seconds: float) -> dict[str, float]:
        cpu = _cpu_s(lab.validators)
        time.sleep(seconds)
        return {"cpu_s": _cpu_s(lab.validators) - cpu}

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return [Check(self.name, "validators' CPU s", f"{base.extra.get('cpu_s', 0):.1f}",
                      f"{hit.extra.get('cpu_s', 0):.1f}", "(reported)", True, False),
                Check(self.name, "attack", "-", counts or "none", "(reported)", True, False)]
