"""Attacks by anyone who can reach the public HTTP API: no key, no membership."""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import time
import urllib.parse
from collections.abc import Callable

from bench.attack.base import Attack, Check
from bench.attack.lab import Lab, PhaseResult
from bench.network import BenchMember
from ledger.codec import encode
from ledger.credentials import DOCUMENT_FORMAT
from ledger.payloads import IssueBatchPayload
from ledger.transactions import Transaction
from node.http_limits import HEADER_TIMEOUT_S

REQUEST_TIMEOUT_S = 60.0
MAX_REQUESTS = 20_000  # per attacking thread, whatever the time left
PAUSE_S = 0.02  # between one thread's requests: the attack is the bodies, not our CPU


def attacker_source(index: int) -> str:
    """Loopback addresses other than the honest clients' 127.0.0.1."""
    return f"127.0.0.{2 + index % 250}"


def attacker_request(url: str, body: bytes | None, timeout_s: float, source: str,
                     content_type: str = "application/json") -> int:
    """One request from `source` (so per-address limits can tell attacker from honest
    clients, who use 127.0.0.1); the status, or 0 when there was no answer."""
    parts = urllib.parse.urlsplit(url)
    if not (parts.hostname or "").startswith("127.") or not source.startswith("127."):
        raise ValueError(f"the lab only attacks loopback addresses, not {url}")
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_s,
                                            source_address=(source, 0))
    try:
        connection.request("POST" if body is not None else "GET", parts.path, body=body,
                           headers={"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


def hidden_fields_document(chain_id: str, issuer: bytes, fields: int) -> bytes:
    """A legal credential document of `fields` hidden fields (about 90 bytes each)."""
    document = {
        "format": DOCUMENT_FORMAT, "chain_id": chain_id, "type": "diploma",
        "issuer": {"member_id": issuer.hex(), "name": "Somebody"},
        "fields": {f"field{i:07d}": {"hash": os.urandom(32).hex()} for i in range(fields)},
        "target_hash": os.urandom(32).hex(),
        "batch": {"root": os.urandom(32).hex(), "index": 0, "size": 1, "path": []},
    }
    return json.dumps(document).encode()


class _RequestFlood(Attack):
    """Threads that each POST one of a few prepared bodies to a target, again and again."""

    content_type = "application/json"
    path = "/v1/verify"

    def targets(self, lab: Lab) -> list[BenchMember]:
        return lab.validators[1:3]

    def senders_per_target(self) -> int:
        return 2

    def bodies(self, lab: Lab) -> list[bytes]:
        raise NotImplementedError

    def start(self, lab: Lab, until: float) -> None:
        bodies = self.bodies(lab)
        senders = self.senders_per_target()
        for number, target in enumerate(self.targets(lab)):
            for sender in range(senders):
                self.spawn(self._flooder(target.api, bodies, number * senders + sender), until)

    def _flooder(self, api: str, bodies: list[bytes], offset: int) -> Callable[[float], None]:
        source = attacker_source(offset)

        def loop(until: float) -> None:
            for i in range(MAX_REQUESTS):
                if not self.running(until):
                    return
                timeout = max(1.0, min(REQUEST_TIMEOUT_S, until - time.monotonic()))
                body = bodies[(i + offset) % len(bodies)] if bodies else None
                status = attacker_request(api + self.path, body, timeout, source,
                                          self.content_type)
                self.count(f"http {status}" if status else "no answer")
                time.sleep(PAUSE_S)
        return loop

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return [Check(self.name, "attack requests", "-", answers or "none", "(reported)",
                      True, False)]


class VerifyBodyFlood(_RequestFlood):
    """Large legal POST /v1/verify bodies, many hidden fields, at two validators."""

    name = "verify-body-flood"

    def bodies(self, lab: Lab) -> list[bytes]:
        fields = 50_000 if self.short else 400_000  # about 4.5 MB and 36 MB
        return [hidden_fields_document(lab.chain_id, lab.follower.keys.member_id, fields)]


class BadSignatureFlood(_RequestFlood):
    """Batches of transactions with bad signatures, at one validator or at two."""

    content_type = "application/msgpack"
    path = "/v1/transactions"

    def __init__(self, short: bool, validators: int) -> None:
        super().__init__(short)
        self.validators = validators
        self.name = f"bad-signature-flood-{validators}"

    def targets(self, lab: Lab) -> list[BenchMember]:
        return lab.validators[1:1 + self.validators]

    def senders_per_target(self) -> int:
        return 4 if self.short else 8

    def bodies(self, lab: Lab) -> list[bytes]:
        per_body = 10_000 if self.short else 20_000
        # The sender is a real member (a validator), so the signature must be checked.
        sender = lab.validators[-1].keys.member_id
        height = lab.height(lab.network.ministry) or 0
        bodies = []
        for _ in range(4):
            txs = [Transaction(sender, os.urandom(16), height + 1000,
                               IssueBatchPayload("certificate", os.urandom(32), 1),
                               os.urandom(64)).encode()
                   for _ in range(per_body)]
            bodies.append(encode(txs))
        return bodies


class EvidenceReadLoop(_RequestFlood):
    """GET /v1/evidence in a loop at two validators, after a Byzantine key filled it."""

    name = "evidence-read-loop"
    path = "/v1/evidence"

    def prepare(self, lab: Lab) -> None:
        from bench.attack.p2p_attacks import EvidenceSpam  # the seeding uses the spammer

        seeder = EvidenceSpam(self.short)
        seeder.prepare(lab)
        seed_s = 5.0 if self.short else 20.0
        seeder.start(lab, time.monotonic() + seed_s)
        time.sleep(seed_s)
        seeder.stop()
        seeder.cleanup(lab)
        lab.settle()

    def senders_per_target(self) -> int:
        return 4

    def bodies(self, lab: Lab) -> list[bytes]:
        return []  # GET


class SlowLoris(Attack):
    """Many connections that send a header line now and then and never finish."""

    name = "slow-loris"
    # The node closes a request head not finished within HEADER_TIMEOUT_S; a phase
    # shorter than that could not tell a node that closes them from one that never does.
    min_phase_s = HEADER_TIMEOUT_S + 4.0
    TRICKLE_S = 5.0
    NEGLECT_PROOF_S = 25.0

    def __init__(self, short: bool) -> None:
        super().__init__(short)
        self.opened = 0
        self.held_at_end = 0
        self.phase_s = 0.0

    def start(self, lab: Lab, until: float) -> None:
        per_target = 100 if self.short else 400
        targets = lab.validators[1:3]
        self.phase_s = until - time.monotonic()
        self.spawn(lambda u: self._hold(targets, per_target, u), until)

    def _hold(self, targets: list[BenchMember], per_target: int, until: float) -> None:
        sockets: list[socket.socket] = []
        for target in targets:
            for i in range(per_target):
                sock = socket.socket()
                sock.settimeout(2.0)
                try:
                    sock.bind((attacker_source(i % 10), 0))
                    sock.connect(("127.0.0.1", target.api_port))
                    sock.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: senim\r\n")
                    sock.setblocking(False)
                    sockets.append(sock)
                except OSError:
                    sock.close()
                    self.count("refused")
        self.opened = len(sockets)
        open_ = set(sockets)
        last_trickle = time.monotonic()
        while self.running(until) and open_:
            readable, _, _ = select.select(list(open_), [], [], 0.5)
            for sock in readable:  # the server answered or closed: either way it let go
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data or b"HTTP/1." in data:
                    open_.discard(sock)
                    sock.close()
            if time.monotonic() - last_trickle >= self.TRICKLE_S:
                last_trickle = time.monotonic()
                for sock in list(open_):
                    try:
                        sock.send(b"X-Slow: 1\r\n")
                    except OSError:
                        open_.discard(sock)
                        sock.close()
        self.held_at_end = len(open_)
        for sock in open_:
            sock.close()

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        held = self.held_at_end
        # A server may allow a slow client some seconds: only a long phase proves neglect.
        neglect = self.phase_s >= self.NEGLECT_PROOF_S and held * 2 > self.opened
        return [Check(self.name, f"slow conns held {self.phase_s:.0f}s", "-",
                      f"{held} of {self.opened}", "0 (server closes them)",
                      held == 0 and self.opened > 0, neglect)]


class GovernanceReadLoop(Attack):
    """GET /v1/governance from one address per target over many kept-alive connections:
    the answer is worked out in the verification pool, which it then held for others."""

    name = "governance-read-loop"
    CONNECTIONS = 24  # per target, from one address

    def start(self, lab: Lab, until: float) -> None:
        for number, target in enumerate(lab.validators[1:3]):
            for _ in range(self.CONNECTIONS):
                self.spawn(self._reader(target, attacker_source(number)), until)

    def _reader(self, target: BenchMember, source: str) -> Callable[[float], None]:
        if not source.startswith("127."):
            raise ValueError(f"the lab only attacks loopback addresses, not {source}")

        def loop(until: float) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", target.api_port,
                                                    timeout=REQUEST_TIMEOUT_S,
                                                    source_address=(source, 0))
            for _ in range(MAX_REQUESTS):
                if not self.running(until):
                    break
                try:
                    connection.request("GET", "/v1/governance")
                    response = connection.getresponse()
                    response.read()
                    self.count(f"http {response.status}")
                    if response.will_close:
                        connection.close()
                except (OSError, http.client.HTTPException):
                    self.count("no answer")
                    connection.close()
            connection.close()
        return loop

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return [Check(self.name, "attack requests", "-", answers or "none", "(reported)",
                      True, False)]
