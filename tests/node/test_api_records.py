"""POST /v1/verify for the new records, in-process: a real engine and aiohttp server."""

from __future__ import annotations

import time
from typing import Any

from ledger.academic import day_number, parse_date
from ledger.credential_documents import disclose
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, CredentialRef, EmploymentEndPayload, Payload
from ledger.payloads import IssueBatchPayload as Issue
from storage.batch_tree import audit_path
from tests.node.academic_fixtures import transcript_record
from tests.node.conftest import CHAIN_ID, YEAR_MS, documents_of, make_tx
from tests.node.test_api import Node, json_of, node, wait_committed

__all__ = ["node"]  # the in-process node fixture of test_api


async def _commit(node: Node, keys: KeyPair, payload: Payload) -> dict[str, Any]:
    tx = make_tx(keys, payload, expires_at=10_000)
    await json_of(await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()}),
                  202)
    return await wait_committed(node, tx.tx_id.hex())


async def test_verify_reports_employment_and_transcript_lines(node: Node) -> None:
    net, now = node.net, int(time.time() * 1000)
    await _commit(node, net.ministry, AccreditPayload(
        net.employer.member_id, ("employment",), 0, now + YEAR_MS))
    await _commit(node, net.ministry, AccreditPayload(
        net.university.member_id, ("transcript",), 0, now + YEAR_MS))
    record = {"full_name": "Aigerim", "iin": "010101500013", "position": "Analyst",
              "organisation": "Kaspi Bank", "start_date": "2025-02-01"}
    batch = make_batch([record], "employment", CHAIN_ID, net.employer.member_id, "Kaspi")
    await _commit(node, net.employer, Issue("employment", batch.root, 1))
    document = disclose(documents_of(batch)[0], ["iin"])

    verdict = await json_of(await node.client.post("/v1/verify", json=document), 200)
    assert verdict["valid"], verdict
    height = verdict["facts"]["employment"]["as_of_height"]
    assert height == node.core.chain.height or height == node.core.chain.height - 1
    assert verdict["reason"].endswith(f"as of block {height}")
    assert "010101500013" not in str(verdict)

    ref = CredentialRef(batch.root, batch.target_hashes[0], 0,
                        tuple(audit_path(batch.target_hashes, 0)))
    start = day_number(parse_date("2025-02-01", "start"))
    await _commit(node, net.employer, EmploymentEndPayload(net.employer.member_id, ref, start,
                                                           start + 400))
    verdict = await json_of(await node.client.post("/v1/verify", json=document), 200)
    assert verdict["valid"] and verdict["facts"]["employment"]["end_date"] == "2026-03-08"
    assert "from 2025-02-01 to 2026-03-08" in verdict["reason"]

    transcript = make_batch([transcript_record()], "transcript", CHAIN_ID,
                            net.university.member_id, "KazNU")
    await _commit(node, net.university, Issue("transcript", transcript.root, 1))
    shown = disclose(documents_of(transcript)[0], ["course.01"])
    verdict = await json_of(await node.client.post("/v1/verify", json=shown), 200)
    assert verdict["valid"], verdict
    assert [line["field"] for line in verdict["facts"]["course_lines"]] == [
        "course.02", "course.03", "course.04"]
    assert verdict["facts"]["labels"]["course.02"]["kk"] == "Пән 2"
