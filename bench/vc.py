"""W3C VC 2.0 issue and verify rates, beside the native format's, in process.

Both formats are verified against the same chain facts (an in-memory state with
the issuer, its accreditation and the batch), so the difference is the format's
own cost: RDFC-1.0 canonicalisation (PyLD, pure Python) and one Ed25519
signature per VC, against salted hashes and an audit path for the native one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from ledger.credentials import make_batch
from ledger.facts import StateFacts
from ledger.identity import KeyPair, MemberId
from ledger.records import (
    Accreditation,
    Batch,
    Grant,
    Member,
    accreditation_key,
    batch_key,
    member_key,
)
from ledger.vc.export import to_vc
from ledger.vc.verify import verify_vc
from ledger.verification import verify_credential

CHAIN_ID = "senim-bench"
ISSUED_MS = 1_780_000_000_000
MAX_DOCUMENTS = 2_000
MAX_SECONDS_PER_PHASE = 60.0


class _Facts(StateFacts):
    def __init__(self, values: dict[bytes, bytes]) -> None:
        self.values = values

    def describe(self) -> str:
        return "bench state"

    def get(self, key: bytes) -> bytes | None:
        return self.values.get(key)


def _rate(items: list[Any], work: Any) -> tuple[float, list[Any]]:
    """Documents per second over `items`, stopping early at the phase's time limit."""
    started = time.perf_counter()
    results = []
    for item in items:
        results.append(work(item))
        if time.perf_counter() - started > MAX_SECONDS_PER_PHASE:
            break
    return len(results) / (time.perf_counter() - started), results


def vc_rates(documents: int = 200) -> dict[str, float]:
    """Issue and verify rates (documents/s) of native and VC 2.0 credentials."""
    count = max(1, min(documents, MAX_DOCUMENTS))
    issuer, ministry = KeyPair.from_seed(b"u" * 32), KeyPair.from_seed(b"m" * 32)
    records = [{"full_name": f"Student {i}", "iin": f"{i:012d}", "degree": "BSc",
                "programme": "Computer Science", "gpa": "3.50", "graduated": "2026-06-30"}
               for i in range(count)]
    started = time.perf_counter()
    batch = make_batch(records, "diploma", CHAIN_ID, issuer.member_id, "University")
    native = list(batch.documents())
    native_issue = count / (time.perf_counter() - started)
    grant = Grant(("diploma",), 0, ISSUED_MS * 2, MemberId(ministry.member_id), 1)
    facts = _Facts({
        member_key(issuer.member_id): Member("University", "university", issuer.public_key,
                                             False, 0).encode(),
        member_key(ministry.member_id): Member("Ministry", "ministry", ministry.public_key,
                                               True, 0).encode(),
        accreditation_key(issuer.member_id): Accreditation((grant,)).encode(),
        batch_key(issuer.member_id, batch.root): Batch(
            issuer.member_id, "diploma", count, 2, ISSUED_MS,
                                     b"\x00" * 32).encode(),
    })
    vc_issue, vcs = _rate(native, lambda doc: to_vc(doc, issuer, "https://node.example", 2,
                                                    ISSUED_MS, ISSUED_MS))
    native_verify, verdicts = _rate(native, lambda doc: verify_credential(doc, facts, CHAIN_ID))
    now = datetime.now(tz=UTC)
    vc_verify, vc_verdicts = _rate(vcs, lambda vc: verify_vc(vc, now, facts, CHAIN_ID))
    if not all(v.valid for v in verdicts) or not all(v.valid for v in vc_verdicts):
        raise AssertionError("a benchmark document did not verify")
    return {"documents": float(count),
            "native_issue_per_s": native_issue, "vc_issue_per_s": vc_issue,
            "native_verify_per_s": native_verify, "vc_verify_per_s": vc_verify,
            "issue_ratio_native_to_vc": native_issue / vc_issue,
            "verify_ratio_native_to_vc": native_verify / vc_verify}


if __name__ == "__main__":
    for name, value in vc_rates(50).items():
        print(f"{name}: {value:,.1f}")
