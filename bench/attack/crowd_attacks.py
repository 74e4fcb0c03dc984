"""Attacks found by the session-20 trial: bodies and crowds from many addresses.

- empty-array-bodies: 16 MiB msgpack submissions of empty arrays (one byte each).
- connection-crowd: more addresses than CONNECTIONS_MAX / CONNECTIONS_PER_SOURCE_MAX,
  each holding its cap of idle connections to one validator's API and reopening them.
- vc-crowd: more addresses than MAX_VC_IN_FLIGHT / MAX_VC_IN_FLIGHT_PER_SOURCE posting
  costly VC documents (many values of one property, and indistinguishable blank
  nodes) to one validator.

- vc-empty-objects: six addresses posting /credentials/verify bodies of 60,000 `{}`
  (180 KB, well under the VC body limit), three at each of two validators (found by
  the last session's attackers: each took ~0.25 s of the node's own process to parse
  and measure).

The crowds are judged by a probe: a client from an address of its own (not the
rate-exempt 127.0.0.1 the honest load uses) asking the attacked node throughout, and
how many of its requests were served.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

from bench.attack.base import Attack, Check
from bench.attack.http_attacks import _RequestFlood, attacker_request, attacker_source
from bench.attack.lab import Lab, PhaseResult
from bench.attack.p2p_attacks import closed_by_peer, silent_socket
from bench.network import BenchMember
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key, multibase_encode, verification_method
from ledger.vc.proofs import add_proof

PROBE_SOURCE = "127.0.0.251"  # the probe's own address: not an attacker's, not exempt
PROBE_EVERY_S = 0.25
PROBE_TIMEOUT_S = 15.0
SERVED_AIM = 0.9  # of the probe's requests
SERVED_WIDE = 0.5
MAX_CONNECTS = 100_000  # connections the crowd opens in one attack, in all
CROWD_REOPEN_S = 0.2
MAX_VC_REQUESTS = 5_000  # per crowd client


def empty_arrays_body(size: int) -> bytes:
    """A msgpack array of `size - 5` empty arrays: `size` bytes."""
    count = size - 5
    return b"\xdd" + struct.pack(">I", count) + b"\x90" * count


class EmptyArrayBodies(_RequestFlood):
    """16 MiB POST /v1/transactions bodies of empty arrays, at two validators."""

    name = "empty-array-bodies"
    content_type = "application/msgpack"
    path = "/v1/transactions"

    def bodies(self, lab: Lab) -> list[bytes]:
        return [empty_arrays_body((4 if self.short else 16) * 1024 * 1024 - 64)]


def empty_objects_body(count: int) -> bytes:
    """A VC-API verify body whose credential holds `count` empty objects."""
    return ('{"verifiableCredential": {"x": [' + ",".join(["{}"] * count) + "]}}").encode()


class VcEmptyObjects(_RequestFlood):
    """/credentials/verify bodies of 60,000 `{}`, from six addresses at two validators."""

    name = "vc-empty-objects"
    path = "/credentials/verify"

    def senders_per_target(self) -> int:
        return 3

    def bodies(self, lab: Lab) -> list[bytes]:
        return [empty_objects_body(60_000)]


class _Probed(Attack):
    """An attack on one validator's API, with a probe asking it from its own address."""

    probe_path = "/v1/status"
    probe_body: bytes | None = None

    def __init__(self, short: bool) -> None:
        super().__init__(short)
        self.probe: dict[int, int] = {}

    def target(self, lab: Lab) -> BenchMember:
        return lab.validators[1]

    def start_probe(self, lab: Lab, until: float) -> None:
        url = self.target(lab).api + self.probe_path

        def loop(end: float) -> None:
            time.sleep(min(2.0, max(0.0, end - time.monotonic()) / 4))  # the crowd first
            while self.running(end):
                started = time.monotonic()
                status = attacker_request(url, self.probe_body, PROBE_TIMEOUT_S, PROBE_SOURCE)
                with self._lock:
                    self.probe[status] = self.probe.get(status, 0) + 1
                self._stop.wait(max(0.0, PROBE_EVERY_S - (time.monotonic() - started)))
        self.spawn(loop, until)

    def served(self) -> float:
        asked = sum(self.probe.values())
        refused = self.probe.get(0, 0) + self.probe.get(429, 0) + self.probe.get(503, 0)
        return (asked - refused) / asked if asked else 0.0

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        served = self.served()
        answers = ", ".join(f"{k or 'none'}: {v}" for k, v in sorted(self.probe.items()))
        crowd = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return [Check(self.name, "probe served", "-", f"{served:.0%} ({answers})",
                      f">= {SERVED_AIM:.0%}", served >= SERVED_AIM, served < SERVED_WIDE),
                Check(self.name, "crowd", "-", crowd or "none", "(reported)", True, False)]


class ConnectionCrowd(_Probed):
    """Idle connections from many addresses, each at its per-address cap, reopened."""

    name = "connection-crowd"

    def start(self, lab: Lab, until: float) -> None:
        addresses = 20 if self.short else 40
        port = self.target(lab).api_port
        self.spawn(lambda end: self._hold(port, addresses, 64, end), until)
        self.start_probe(lab, until)

    def _hold(self, port: int, addresses: int, per_address: int, until: float) -> None:
        held: dict[tuple[int, int], socket.socket | None] = {}
        connects = 0
        while self.running(until) and connects < MAX_CONNECTS:
            for address in range(addresses):
                for n in range(per_address):
                    sock = held.get((address, n))
                    if sock is not None and closed_by_peer(sock):
                        sock.close()
                        sock = None
                        self.count("closed by node")
                    if sock is None and connects < MAX_CONNECTS:
                        connects += 1
                        sock = silent_socket(attacker_source(address), port)
                    held[(address, n)] = sock
            self._stop.wait(CROWD_REOPEN_S)
        self.count("opened", connects)
        for sock in held.values():
            if sock is not None:
                sock.close()


def many_values_vc(values: int) -> dict[str, Any]:
    """A signed VC whose subject has one property of `values` strings (PyLD's node map
    compares each value with those before it)."""
    keys = KeyPair.generate()
    unsigned = {"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
                "issuer": did_key(keys.public_key), "validFrom": "2026-01-01T00:00:00Z",
                "credentialSubject": {"id": "did:example:crowd",
                                      "name": [f"value {i}" for i in range(values)]}}
    return add_proof(unsigned, keys, "2026-01-01T00:00:00Z")


def blank_node_bomb_vc(nodes: int) -> dict[str, Any]:
    """A VC of `nodes` blank nodes each linked to all the others (RDFC-1.0 cannot tell
    them apart but by trying orders), with a proof of the right shape signing nothing."""
    keys = KeyPair.generate()
    linked = [{"id": f"_:n{i}", "p": [{"id": f"_:n{j}"} for j in range(nodes) if j != i]}
              for i in range(nodes)]
    return {"@context": [CREDENTIALS_V2, {"p": "https://example.org/p",
                                          "q": "https://example.org/q"}],
            "type": ["VerifiableCredential"], "issuer": did_key(keys.public_key),
            "credentialSubject": {"q": linked},
            "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                      "created": "2026-01-01T00:00:00Z", "proofPurpose": "assertionMethod",
                      "verificationMethod": verification_method(keys.public_key),
                      "proofValue": multibase_encode(bytes(64))}}


class VcCrowd(_Probed):
    """Costly VC verifications from six addresses, two at a time each, at one validator;
    the probe verifies a small VC."""

    name = "vc-crowd"
    probe_path = "/credentials/verify"

    def __init__(self, short: bool) -> None:
        super().__init__(short)
        self.bodies: list[bytes] = []

    def prepare(self, lab: Lab) -> None:
        self.bodies = [json.dumps({"verifiableCredential": many_values_vc(1_900)}).encode(),
                       json.dumps({"verifiableCredential": blank_node_bomb_vc(8)}).encode()]
        self.probe_body = json.dumps({"verifiableCredential": many_values_vc(3)}).encode()

    def start(self, lab: Lab, until: float) -> None:
        url = self.target(lab).api + "/credentials/verify"
        for client in range(12):
            self.spawn(self._client(url, attacker_source(client % 6), client), until)
        self.start_probe(lab, until)

    def _client(self, url: str, source: str, offset: int) -> Any:
        def loop(until: float) -> None:
            for i in range(MAX_VC_REQUESTS):
                if not self.running(until):
                    return
                body = self.bodies[(i + offset) % len(self.bodies)]
                status = attacker_request(url, body, PROBE_TIMEOUT_S * 4, source)
                self.count(f"http {status}" if status else "no answer")
                if status in (0, 429):
                    self._stop.wait(0.05)
        return loop

