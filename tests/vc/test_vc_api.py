"""The VC-API and status lists on an in-process node (real engine, aiohttp TestServer)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, RevokePayload
from ledger.rules import load_batch
from ledger.vc.canon import CREDENTIALS_V2, SENIM_CONTEXT, bundled_contexts
from ledger.vc.didkey import did_key
from ledger.vc.export import to_vc
from ledger.vc.proofs import add_proof
from ledger.vc.status import bit_is_set, decode_list
from node.files import save_key
from storage.batch_tree import audit_path
from storage.kv import LevelDBStore
from tests.node.api_server import api_core, serving
from tests.node.conftest import Consortium, documents_of, make_tx
from tests.node.test_api import wait_committed
from tests.vc.conftest import JSON_BODY, TOKEN, VcNode, post


def exported(node: VcNode, index: int) -> dict[str, Any]:
    on_chain = load_batch(node.core.chain.state, node.net.university.member_id,
                          node.batch.root)
    assert on_chain is not None
    document = documents_of(node.batch)[index]
    return to_vc(document, node.net.university, "https://node.senim.test", on_chain.height,
                 on_chain.time_ms, on_chain.time_ms)


async def test_senim_vc_verifies_and_a_revocation_shows_in_the_list(node: VcNode) -> None:
    vc = exported(node, 2)
    result = await post(node, "/credentials/verify", {"verifiableCredential": vc}, 200)
    assert result["verified"] is True and result["errors"] == []
    assert {"signature", "status", "on_chain", "accredited", "not_revoked", "member"} <= set(
        result["checks"])
    path = "/credentials/status/" + (node.net.university.member_id + node.batch.root).hex()
    listed = await (await node.client.get(path)).json()
    assert listed["id"] == "https://node.senim.test" + path
    assert not bit_is_set(decode_list(listed["credentialSubject"]["encodedList"]), 2)
    targets = node.batch.target_hashes
    tx = make_tx(node.net.university, RevokePayload(CredentialRef(
        node.batch.root, targets[2], 2, tuple(audit_path(targets, 2))), "fraud"))
    response = await node.client.post("/v1/transactions",
                                      json={"tx": tx.encode().hex()})
    assert response.status == 202, await response.text()
    await wait_committed(node, tx.tx_id.hex())  # type: ignore[arg-type]
    listed = await (await node.client.get(path)).json()
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    assert bit_is_set(bits, 2) and not bit_is_set(bits, 1)
    refused = await post(node, "/credentials/verify", {"verifiableCredential": vc}, 400)
    assert refused["verified"] is False and refused["errors"][0]["title"] == "revoked"
    # The list's bit refused it; the chain says when and why, for the HR officer.
    facts = refused["verdict"]["facts"]
    assert facts["revocation_reason"] == "fraud" and facts["revoked_at"]
    assert facts["revoked_at"] in refused["errors"][0]["detail"]
    missing = await node.client.get("/credentials/status/" + "ab" * 52)
    assert missing.status == 404
    assert (await node.client.get("/credentials/status/zz")).status == 400


async def test_tampered_and_malformed_are_400_never_500(node: VcNode) -> None:
    vc = exported(node, 0)
    vc["credentialSubject"]["fields"]["degree"] = "PhD"
    result = await post(node, "/credentials/verify", {"verifiableCredential": vc}, 400)
    assert result["errors"][0]["type"].endswith("PROOF_VERIFICATION_ERROR")
    for body in (b"not json", b"[]", b'{"verifiableCredential": 5}',
                 b'{"verifiableCredential": {}, "options": 3}', b"\x00" * 10):
        response = await node.client.post("/credentials/verify", data=body,
                                          headers=JSON_BODY)
        assert response.status == 400, await response.text()
    # Over the limit is a 413 naming it, as the routes declare and the node's API answers
    # (it was a 400 "malformed", which the portal words as a damaged file).
    for path in ("/credentials/verify", "/presentations/verify", "/credentials/status"):
        huge = await node.client.post(path, data=b"{" + b" " * 600_000 + b"}",
                                      headers={"Authorization": f"Bearer {TOKEN}", **JSON_BODY})
        assert huge.status == 413, (path, await huge.text())
        error = (await huge.json())["error"]
        assert error["code"] == "body_too_large", error
        assert error["message"] == f"request body exceeds 524288 bytes for {path}"


async def test_a_deeply_nested_body_is_400_never_500(node: VcNode) -> None:
    """JSON parses 900 levels, but the body is pickled to reach a VC worker, and the
    pickler recursed past Python's limit: a 500 and a traceback in the node's log."""
    deep: Any = {"x": 1}
    for _ in range(900):
        deep = {"a": deep}
    vc = exported(node, 0)
    vc["credentialSubject"]["deep"] = deep
    for path, body in (("/credentials/verify", {"verifiableCredential": vc}),
                       ("/presentations/verify", {"verifiablePresentation": {
                           "verifiableCredential": [vc]}})):
        result = await post(node, path, body, 400)
        assert "nested more than" in result["error"]["message"]


async def test_presentation_challenge_and_domain(node: VcNode) -> None:
    holder = KeyPair.from_seed(b"\x55" * 32)
    vp = add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                    "holder": did_key(holder.public_key),
                    "verifiableCredential": [exported(node, 1)]},
                   holder, "2025-01-01T00:00:00Z", purpose="authentication",
                   challenge="c-1", domain="hr.example.kz")
    ok = await post(node, "/presentations/verify", {
        "verifiablePresentation": vp, "options": {"challenge": "c-1", "domain": "hr.example.kz"}},
        200)
    assert ok["verified"] is True
    for options in ({"challenge": "c-2", "domain": "hr.example.kz"},
                    {"challenge": "c-1", "domain": "other.example"}):
        bad = await post(node, "/presentations/verify",
                         {"verifiablePresentation": vp, "options": options}, 400)
        assert "does not match" in bad["errors"][0]["detail"]


async def test_credential_verify_honours_the_expected_purpose_challenge_and_domain(
        node: VcNode) -> None:
    """The W3C Data Integrity suite: options.expectedProofPurpose (and a challenge or
    domain the caller asks for) that the proof does not carry is a refusal."""
    vc = exported(node, 3)
    body: dict[str, Any] = {"verifiableCredential": vc}
    ok = await post(node, "/credentials/verify",
                    {**body, "options": {"expectedProofPurpose": "assertionMethod"}}, 200)
    assert ok["verified"] is True
    for options, why in (({"expectedProofPurpose": "authentication"}, "purpose"),
                         ({"challenge": "c-9"}, "challenge"),
                         ({"domain": "hr.example.kz"}, "domain")):
        refused = await post(node, "/credentials/verify", {**body, "options": options}, 400)
        assert refused["verified"] is False and why in refused["errors"][0]["detail"]
    malformed = await post(node, "/credentials/verify",
                           {**body, "options": {"expectedProofPurpose": 7}}, 400)
    assert "expectedProofPurpose" in json.dumps(malformed)


async def test_issue_needs_the_token_and_signs_as_the_node_issuer(node: VcNode) -> None:
    credential = {"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
                  "issuer": did_key(node.issuer.public_key),
                  "credentialSubject": {"id": "did:example:holder", "name": "A. Student"}}
    body = {"credential": credential, "options": {}}
    await post(node, "/credentials/issue", body, 401)
    await post(node, "/credentials/issue", body, 401, {"Authorization": "Bearer wrong"})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    issued = (await post(node, "/credentials/issue", body, 201, auth))["verifiableCredential"]
    assert issued["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    verified = await post(node, "/credentials/verify", {"verifiableCredential": issued}, 200)
    assert verified["verified"] is True
    other = {**credential, "issuer": did_key(os.urandom(32))}
    await post(node, "/credentials/issue", {"credential": other}, 400, auth)
    undefined = {**credential, "credentialSubject": {"id": "did:example:x", "notATerm": 1}}
    await post(node, "/credentials/issue", {"credential": undefined}, 400, auth)


async def test_issue_is_disabled_without_an_issuer_key(tmp_path: Path, net: Consortium) -> None:
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    try:
        async with serving(api_core(net.ministry, net.genesis, kv), "plain-node") as client:
            response = await client.post("/credentials/issue",
                                         json={"credential": {}},
                                         headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status == 403
    finally:
        kv.close()


async def test_cli_export_vc_then_verify(node: VcNode, tmp_path: Path) -> None:
    """`senim export-vc` against the node, then `senim verify` on the VC file."""
    import asyncio

    from click.testing import CliRunner

    from cli.main import main

    document = tmp_path / "diploma.json"
    document.write_text(json.dumps(documents_of(node.batch)[3]))
    key = tmp_path / "university.json"
    save_key(key, node.net.university)
    out = tmp_path / "diploma.vc.json"
    url = str(node.client.make_url("")).rstrip("/")
    runner = CliRunner()
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, runner.invoke, main, [
        "export-vc", str(document), "--key", str(key), "--out", str(out), "--node", url])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    vc = json.loads(out.read_text())
    assert vc["credentialStatus"]["statusListCredential"].startswith(url)
    result = await loop.run_in_executor(None, runner.invoke, main, [
        "verify", str(out), "--node", url, "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    # Checked against the chain, which holds its revocations, it reads no status list:
    # one from the URL it names (anyone may serve one there) made a genuine VC revoked.
    said = {c["check"]: c["detail"] for c in verdict["checks"]}
    assert verdict["valid"] and "status" not in said
    assert said["not_revoked"] == "no revocation on chain"
    vc["credentialSubject"]["fields"]["degree"] = "PhD"
    out.write_text(json.dumps(vc))
    result = await loop.run_in_executor(None, runner.invoke, main, ["verify", str(out),
                                                                    "--node", url])
    assert result.exit_code == 1 and "TAMPERED" in result.output, result.output
    wrong_key = await loop.run_in_executor(None, runner.invoke, main, [
        "export-vc", str(document), "--key", str(tmp_path / "issuer.json"), "--out",
        str(tmp_path / "x.json"), "--node", url])
    assert wrong_key.exit_code == 2 and "not the credential's issuer" in wrong_key.output
    (tmp_path / "a_file").write_text("not a folder")
    unwritable = await loop.run_in_executor(None, runner.invoke, main, [
        "export-vc", str(document), "--key", str(key), "--out",
        str(tmp_path / "a_file" / "vc.json"), "--node", url])
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.output, unwritable.output


async def test_status_list_over_https_with_a_self_signed_certificate(
        node: VcNode, tmp_path: Path) -> None:
    import ssl

    import aiohttp
    from click.testing import CliRunner

    from cli.main import main
    from node.tls import server_context

    cert, key = tmp_path / "node.crt", tmp_path / "node.key"
    result = CliRunner().invoke(main, ["tls-cert", "--cert", str(cert), "--key", str(key)])
    assert result.exit_code == 0, result.output
    assert key.stat().st_mode & 0o777 == 0o600
    again = CliRunner().invoke(main, ["tls-cert", "--cert", str(cert), "--key", str(key)])
    assert again.exit_code == 2
    runner = web.AppRunner(node.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(cert, key))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        async with aiohttp.ClientSession() as session:
            list_id = (node.net.university.member_id + node.batch.root).hex()
            url = f"https://127.0.0.1:{port}/credentials/status/{list_id}"
            async with session.get(url, ssl=trust) as response:
                assert response.status == 200
                listed = await response.json()
        assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    finally:
        await runner.cleanup()


async def test_a_crowd_gets_busy_not_a_growing_queue(node: VcNode) -> None:
    from node.fair_share import FairSlots
    from node.vc_common import VC

    settings = node.app[VC]
    settings.in_flight = FairSlots(0, waiting_max=0)  # every slot and the waiting room taken
    response = await node.client.post("/credentials/verify",
                                      json={"verifiableCredential": exported(node, 0)})
    assert response.status == 429
    assert (await response.json())["error"]["code"] == "busy"


async def test_one_address_cannot_take_every_verification_slot(node: VcNode) -> None:
    """A client past MAX_VC_IN_FLIGHT_PER_SOURCE documents at once gets 429 for the
    next; before, one client kept all MAX_VC_IN_FLIGHT slots and every verifier got 429."""
    from node.api_public import LIMITS
    from node.fair_share import MAX_VC_IN_FLIGHT_PER_SOURCE
    from node.vc_common import VC

    node.app[LIMITS].exempt = frozenset()  # the test client's 127.0.0.1 is exempt by default
    body = {"verifiableCredential": exported(node, 0)}
    node.app[VC].in_flight_by_source["127.0.0.1"] = MAX_VC_IN_FLIGHT_PER_SOURCE
    response = await node.client.post("/credentials/verify", json=body)
    assert response.status == 429
    assert "from this address" in (await response.json())["error"]["message"]
    del node.app[VC].in_flight_by_source["127.0.0.1"]
    assert (await node.client.post("/credentials/verify", json=body)).status == 200
    assert node.app[VC].in_flight_by_source == {}


async def test_a_status_list_crowd_gets_503_or_429_never_500(
        node: VcNode, monkeypatch: Any) -> None:
    """Each list costs ledger jobs on the engine thread, whose queue is bounded: 700 GETs
    at once on a validator had 250 answered 500 (EngineBusy) with tracebacks."""
    from node import client_limits
    from node.api_public import LIMITS
    from node.engine_thread import EngineBusy

    path = "/credentials/status/" + (node.net.university.member_id + node.batch.root).hex()

    async def busy(*args: object) -> None:
        raise EngineBusy("256 ledger jobs already waiting")

    with monkeypatch.context() as patched:
        patched.setattr(node.core, "in_worker", busy)
        response = await node.client.get(path)
        assert response.status == 503, await response.text()
        assert (await response.json())["error"]["code"] == "busy"
        assert response.headers["Retry-After"]
    node.app[LIMITS].exempt = frozenset()
    monkeypatch.setitem(client_limits.RATES, "verify", (0.001, 1.0))
    assert (await node.client.get(path)).status == 200
    assert (await node.client.get(path)).status == 429


async def test_a_dead_worker_gives_503_then_the_pool_recovers(node: VcNode) -> None:
    import os as os_module
    import signal

    from node.vc_common import VC

    body = {"verifiableCredential": exported(node, 0)}
    assert (await node.client.post("/credentials/verify", json=body)).status == 200
    pool = node.app[VC].pool
    for pid in list(pool._processes):  # type: ignore[attr-defined]
        os_module.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    statuses = []
    while time.monotonic() < deadline:
        statuses.append((await node.client.post("/credentials/verify", json=body)).status)
        if statuses[-1] == 200 and 503 in statuses:
            break
    assert 503 in statuses and statuses[-1] == 200, statuses


async def test_signing_a_status_list_is_under_the_vc_limit(node: VcNode) -> None:
    """A list not yet signed is signed in the VC pool, under MAX_VC_IN_FLIGHT like a
    verification: it was signed outside it, so a crowd asking for many batches' lists
    queued unbounded canonicalisation work while verifiers were told busy."""
    from node.fair_share import FairSlots
    from node.vc_common import VC

    node.app[VC].in_flight = FairSlots(0, waiting_max=0)  # every slot and the waiting room
    path = "/credentials/status/" + (node.net.university.member_id + node.batch.root).hex()
    response = await node.client.get(path)
    assert response.status == 429, await response.text()
    assert (await response.json())["error"]["code"] == "busy"


async def test_a_crowd_of_addresses_holding_the_vc_slots_does_not_refuse_a_newcomer(
        node: VcNode) -> None:
    """Five addresses at MAX_VC_IN_FLIGHT_PER_SOURCE each kept every VC slot taken, and
    every other verifier got 429. Now a newcomer waits, ahead of the crowd's waiters,
    for the next slot freed: served while eight crowd clients keep every slot busy."""
    import asyncio

    from node.fair_share import FairSlots, SlotsBusy
    from node.vc_common import VC

    slots = node.app[VC].in_flight = FairSlots(2, waiting_max=16, wait_s=30.0)
    done = asyncio.Event()

    async def crowd_client(source: str) -> None:
        for _ in range(2_000):  # bounded: ~0.02 s each
            if done.is_set():
                return
            try:
                await slots.acquire(source)
            except SlotsBusy:
                continue
            try:
                await asyncio.sleep(0.02)
            finally:
                slots.release(source)

    crowd = [asyncio.create_task(crowd_client(f"10.0.0.{i % 4 + 1}")) for i in range(8)]
    try:
        async with asyncio.timeout(30):
            while slots.waiting < 6:
                await asyncio.sleep(0.001)
        body = {"verifiableCredential": exported(node, 0)}
        response = await asyncio.wait_for(
            node.client.post("/credentials/verify", json=body), 30)
        assert response.status == 200, await response.text()
        assert not any(task.done() for task in crowd)  # the crowd went on all along
    finally:
        done.set()
        await asyncio.gather(*crowd)


async def test_every_node_serves_the_senim_context_a_vc_names(node: VcNode) -> None:
    """An exported VC names https://senim.kz/contexts/credentials/v1, which no server a
    verifier elsewhere can reach serves: the context was found only in this repository.
    Every node serves its recorded bytes; a verifier's loader maps the URL there."""
    answer = await node.client.get("/contexts/credentials/v1")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/ld+json")
    body = await answer.read()
    recorded = next(line.split()[0] for line in (
        Path(__file__).parents[2] / "ledger/vc/contexts/SHA256SUMS").read_text().splitlines()
        if "https://senim.kz/contexts/credentials/v1" in line)
    assert hashlib.sha256(body).hexdigest() == recorded
    assert json.loads(body) == bundled_contexts()[SENIM_CONTEXT]
