"""One address at one validator's P2P port and API at once, each at its own limit.

p2p.admission.HandshakeRates (2 handshakes a second, a burst of 16, per address) and
node.client_limits.ClientLimits (verification requests, per address) are separate
buckets: an address may use both fully. `one-address-p2p` and `one-address-api` use
one each, `one-address-both` both together, from the same address; comparing their
honest commit latency says whether the pair costs consensus more than either alone.
"""

from __future__ import annotations

import asyncio
import time

from bench.attack.base import Attack, Check
from bench.attack.http_attacks import attacker_request, attacker_source, hidden_fields_document
from bench.attack.lab import Lab, PhaseResult
from bench.attack.p2p_attacks import _cpu_s, fresh_key_handshake
from bench.network import BenchMember
from node.files import load_genesis

SOURCE = attacker_source(77)
HANDSHAKES_MAX = 200_000  # handshakes tried in one phase, in all (some 1,700 a second)
REQUESTS_MAX = 50_000  # verification requests per thread in one phase
API_THREADS = 4  # enough to keep the address's verification bucket empty
DOCUMENT_FIELDS = 40


class OneAddress(Attack):
    """`mode`: "p2p", "api" or "both", all from SOURCE at the second validator."""

    def __init__(self, short: bool, mode: str) -> None:
        super().__init__(short)
        self.mode = mode
        self.name = f"one-address-{mode}"

    def target(self, lab: Lab) -> BenchMember:
        return lab.validators[1]

    def start(self, lab: Lab, until: float) -> None:
        target = self.target(lab)
        if self.mode in ("p2p", "both"):
            network_id = load_genesis(lab.root / "genesis.json").network_id
            self.spawn(lambda u: asyncio.run(self._handshakes(target, network_id, u)), until)
        if self.mode in ("api", "both"):
            body = hidden_fields_document(lab.chain_id, lab.follower.keys.member_id,
                                          DOCUMENT_FIELDS)
            for _ in range(API_THREADS):
                self.spawn(lambda u: self._requests(target, body, u), until)

    async def _handshakes(self, target: BenchMember, network_id: bytes, until: float) -> None:
        """Fresh-key handshakes back to back: the node's bucket is the only pace."""
        for _ in range(HANDSHAKES_MAX):
            if not self.running(until):
                return
            done = await fresh_key_handshake(target.p2p_port, SOURCE, network_id)
            if done is None:
                self.count("p2p not connected")
                await asyncio.sleep(0.01)
            else:
                self.count("p2p handshakes" if done else "p2p refused")

    def _requests(self, target: BenchMember, body: bytes, until: float) -> None:
        for _ in range(REQUESTS_MAX):
            if not self.running(until):
                return
            timeout = max(1.0, min(10.0, until - time.monotonic()))
            status = attacker_request(target.api + "/v1/verify", body, timeout, SOURCE)
            self.count(f"api {status}" if status else "api no answer")
            if status == 429:
                time.sleep(0.005)  # the bucket is empty: it refills at its rate

    def both_phases(self, lab: Lab, seconds: float) -> dict[str, float]:
        target = [self.target(lab)]
        cpu = _cpu_s(target)
        time.sleep(seconds)
        return {"cpu_s": _cpu_s(target) - cpu}

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return [Check(self.name, "target CPU s", f"{base.extra.get('cpu_s', 0):.1f}",
                      f"{hit.extra.get('cpu_s', 0):.1f}", "(reported)", True, False),
                Check(self.name, "attack", "-", counts or "none", "(reported)", True, False)]
