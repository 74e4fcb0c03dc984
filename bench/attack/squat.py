"""Batch-root squat: an accredited issuer submits another issuer's root before it does.

The honest issuer hashes a batch and publishes its root; a second accredited
issuer, having seen the root (in the mempool, or from a leaked file), submits
it first. The aim: the real issuer's batch is still accepted, and its
graduates' documents verify as issued by the real issuer.
"""

from __future__ import annotations

import json
import time

from bench.attack.base import Attack, Check
from bench.attack.http_attacks import attacker_request, attacker_source
from bench.attack.lab import Lab, PhaseResult, http_json
from cli.client import NodeClient
from ledger.admission import prove_admission
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, AddMemberPayload, IssueBatchPayload, Payload
from ledger.transactions import Transaction

WAIT_S = 30.0
SQUATS_MAX = 20


class BatchRootSquat(Attack):
    name = "batch-root-squat"

    def __init__(self, short: bool) -> None:
        super().__init__(short)
        self.squatter = KeyPair.generate()
        self.squats = 0
        self.real_accepted = 0
        self.real_verified = 0

    def prepare(self, lab: Lab) -> None:
        client = NodeClient(lab.network.ministry.api)
        ministry = lab.network.ministry.keys
        now_ms = int(time.time() * 1000)
        name, role = "Squatter Institute", "university"
        # The squatter asks to be admitted, as every new member does from rules version 12.
        proof = prove_admission(self.squatter, client.status()["chain_id"], name, role)
        setup: list[Payload] = [
            AddMemberPayload(name, role, self.squatter.public_key, proof),
            AccreditPayload(self.squatter.member_id, ("diploma",), now_ms - 86_400_000,
                            now_ms + 86_400_000 * 365)]
        for payload in setup:
            result = client.submit_and_wait(client.make_tx(ministry, payload), WAIT_S)
            if result["status"] != "committed":
                raise RuntimeError(f"squat set-up: {payload.KIND} not committed: {result}")

    def start(self, lab: Lab, until: float) -> None:
        self.spawn(lambda u: self._squat(lab, u), until)

    def _submit_and_wait(self, api: str, tx: Transaction, source: str | None = None) -> str:
        body = json.dumps({"tx": tx.encode().hex()}).encode()
        if source is not None:  # the squatter, from an address of its own
            if attacker_request(api + "/v1/transactions", body, 10, source) != 202:
                return "refused"
        else:
            status, answer = http_json(api + "/v1/transactions", body, 10)
            if status != 202:
                return (str(answer.get("error", {}).get("code")) if isinstance(answer, dict)
                        else "error")
        result = NodeClient(api).wait(tx.tx_id.hex(), WAIT_S)
        return str(result.get("status"))

    def _squat(self, lab: Lab, until: float) -> None:
        real = lab.follower
        records = [{"full_name": f"Graduate {i}", "iin": f"{i:012d}", "program": "Law",
                    "graduation_date": "2026-06-30"} for i in range(5)]
        client = NodeClient(real.api)
        for _ in range(SQUATS_MAX if self.short else SQUATS_MAX * 2):
            if not self.running(until):
                return
            batch = make_batch(records, "diploma", lab.chain_id, real.keys.member_id,
                               real.name)
            squat = client.make_tx(self.squatter,
                                   IssueBatchPayload("diploma", batch.root, len(records)))
            if self._submit_and_wait(lab.validators[1].api, squat,
                                     attacker_source(0)) == "committed":
                self.squats += 1
            own = client.make_tx(real.keys,
                                 IssueBatchPayload("diploma", batch.root, len(records)))
            outcome = self._submit_and_wait(real.api, own)
            self.count(f"real issuer: {outcome}")
            if outcome == "committed":
                self.real_accepted += 1
            status, verdict = http_json(real.api + "/v1/verify",
                                        json.dumps(next(batch.documents())).encode(), 10)
            if status == 200 and isinstance(verdict, dict) and verdict.get("valid"):
                self.real_verified += 1
            else:
                reason = verdict.get("reason") if isinstance(verdict, dict) else status
                self.count(f"verify: {str(reason)[:40]}")

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        tried = sum(v for k, v in self.counts.items() if k.startswith("real issuer"))
        return [
            Check(self.name, "squats committed", "-", str(self.squats), "(reported)", True,
                  False),
            Check(self.name, "real batches accepted", "-", f"{self.real_accepted} of {tried}",
                  "all", tried > 0 and self.real_accepted == tried,
                  self.real_accepted * 2 < tried),
            Check(self.name, "real documents valid", "-", f"{self.real_verified} of {tried}",
                  "all", tried > 0 and self.real_verified == tried,
                  self.real_verified * 2 < tried),
        ]
