"""VC-API issuing anchored on chain, and revocation through the VC-API status route."""

from __future__ import annotations

import asyncio
import copy
import uuid
from pathlib import Path
from typing import Any

import pytest

from ledger.facts import LocalFacts
from ledger.rules import load_batch
from ledger.vc import anchored
from ledger.vc.anchored import ANCHOR_CONTEXT
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.status import bit_is_set, decode_list
from ledger.vc.verify import VcVerdict, check_senim
from node import vc_issuing
from node.files import save_key
from node.vc_api import configure_vc
from tests.vc.conftest import TOKEN, VcNode, post

AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "https://node.senim.test"


def credential(node: VcNode, **extra: Any) -> dict[str, Any]:
    return {"@context": [CREDENTIALS_V2], "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential"], "issuer": did_key(node.issuer.public_key),
            "credentialSubject": {"id": "did:example:holder", "name": "A. Student"}, **extra}


async def issue(node: VcNode, body: dict[str, Any], status: int = 201) -> Any:
    return await post(node, "/credentials/issue", body, status, AUTH)


async def status_list_bits(node: VcNode, url: str) -> bytes:
    assert url.startswith(BASE)
    response = await node.client.get(url.removeprefix(BASE))
    assert response.status == 200, await response.text()
    listed = await response.json()
    assert listed["credentialSubject"]["statusPurpose"] == "revocation"
    return decode_list(listed["credentialSubject"]["encodedList"])


async def test_issued_vc_is_anchored_and_its_revocation_flips_the_list(node: VcNode) -> None:
    asked = credential(node)
    issued = (await issue(node, {"credential": asked, "options": {
        "credentialStatus": {"type": "BitstringStatusListEntry"}}}))["verifiableCredential"]
    entry = issued["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusListIndex"] == "0"
    senim = issued["senim"]
    root = bytes.fromhex(senim["batch"]["root"])
    assert entry["statusListCredential"] == (
        f"{BASE}/credentials/status/{(node.issuer.member_id + root).hex()}")
    assert issued["@context"] == [CREDENTIALS_V2, ANCHOR_CONTEXT]  # nothing to fetch
    on_chain = load_batch(node.core.chain.state, node.issuer.member_id, root)
    assert on_chain is not None and on_chain.credential_type == "certificate"
    assert on_chain.count == 1 and senim["block_height"] == on_chain.height
    # Personal data stays off chain: the block holds the root, not the subject's name.
    block = node.core.chain.get_block(on_chain.height)
    assert block is not None and b"A. Student" not in block.encode()

    verified = await post(node, "/credentials/verify", {"verifiableCredential": issued}, 200)
    assert {"signature", "status", "on_chain", "accredited", "not_revoked"} <= set(
        verified["checks"])
    assert not bit_is_set(await status_list_bits(node, entry["statusListCredential"]), 0)

    update = {"credentialId": asked["id"], "credentialStatus": [
        {"type": "BitstringStatusListEntry", "status": "revoked"}], "reason": "fraud"}
    await post(node, "/credentials/status", update, 401)
    done = await post(node, "/credentials/status", update, 200, AUTH)
    assert done["revoked"][0]["batch_root"] == root.hex()
    assert bit_is_set(await status_list_bits(node, entry["statusListCredential"]), 0)
    refused = await post(node, "/credentials/verify", {"verifiableCredential": issued}, 400)
    assert refused["errors"][0]["title"] == "revoked"
    again = await post(node, "/credentials/status", update, 409, AUTH)
    assert again["error"]["code"] == "already_revoked"


async def test_the_anchor_covers_the_content_a_chain_verifier_recomputes(
        node: VcNode) -> None:
    issued = (await issue(node, {"credential": credential(node)}))["verifiableCredential"]
    facts = LocalFacts(node.core.chain.state, "test")

    def chain_verdict(document: dict[str, Any]) -> VcVerdict:
        verdict = VcVerdict(False, "malformed", "", issuer=did_key(node.issuer.public_key))
        return check_senim(verdict, document, facts, node.core.chain_id)

    assert chain_verdict(issued).valid
    edited = copy.deepcopy(issued)
    edited["credentialSubject"]["name"] = "B. Impostor"
    assert chain_verdict(edited).status == "tampered"


async def test_a_given_status_entry_is_kept_beside_the_nodes_own(node: VcNode) -> None:
    theirs = {"id": "https://example.edu/status/1#7", "type": "BitstringStatusListEntry",
              "statusPurpose": "revocation", "statusListIndex": "7",
              "statusListCredential": "https://example.edu/status/1"}
    issued = (await issue(node, {"credential": credential(node, credentialStatus=theirs)})
              )["verifiableCredential"]
    assert issued["credentialStatus"][0] == theirs
    assert issued["credentialStatus"][1]["statusListCredential"].startswith(BASE)
    facts = LocalFacts(node.core.chain.state, "test")
    verdict = VcVerdict(False, "malformed", "", issuer=did_key(node.issuer.public_key))
    assert check_senim(verdict, issued, facts, node.core.chain_id).valid


async def test_an_unaccredited_issuer_gets_a_4xx_and_nothing_goes_on_chain(
        node: VcNode, tmp_path: Path) -> None:
    height = node.core.chain.height
    transcript = await issue(node, {"credential": credential(node),
                                    "options": {"credentialType": "employment"}}, 400)
    assert transcript["error"]["code"] == "malformed"
    options: object  # objects of the wrong content, and a list where an object belongs
    for options in ({"credentialType": "passport"}, {"credentialType": ["diploma"]},
                    {"credentialStatus": {"type": "StatusList2021Entry"}}, []):
        await issue(node, {"credential": credential(node), "options": options}, 400)
    save_key(tmp_path / "ministry.json", node.net.ministry)  # a member, accredited for nothing
    configure_vc(node.app, tmp_path / "ministry.json", tmp_path / "token")
    node.issuer = node.net.ministry
    refused = await issue(node, {"credential": credential(node)}, 403)
    assert refused["error"]["code"] == "not_accredited", refused
    assert "certificate" in refused["error"]["message"]
    assert node.core.chain.height == height and len(node.core.mempool) == 0


async def test_tokenless_and_malformed_status_updates_are_refused(node: VcNode) -> None:
    body = {"credential": credential(node)}
    await post(node, "/credentials/issue", body, 401)
    await post(node, "/credentials/issue", body, 401, {"Authorization": "Bearer nope"})
    update = {"credentialId": "urn:uuid:never-issued", "credentialStatus": [
        {"type": "BitstringStatusListEntry", "status": "revoked"}]}
    await post(node, "/credentials/status", update, 401)
    missing = await post(node, "/credentials/status", update, 404, AUTH)
    assert missing["error"]["code"] == "unknown_credential"
    suspend = {**update, "credentialStatus": [{"type": "BitstringStatusListEntry",
                                               "status": "suspended"}]}
    unsupported = await post(node, "/credentials/status", suspend, 400, AUTH)
    assert unsupported["error"]["code"] == "unsupported_status"
    for bad in ({}, {"credentialId": 5}, {**update, "credentialStatus": []},
                {**update, "credentialStatus": [{"status": "revoked"}]},
                {**update, "reason": "superseded"}, {**update, "reason": "because"},
                {**update, "reason": ["fraud"]}, {**update, "credentialStatus": "revoked"}):
        refused = await post(node, "/credentials/status", bad, 400, AUTH)
        assert refused["error"]["code"] == "malformed", bad
    issued = await post(node, "/credentials/issue", {"credential": credential(
        node, proof={"type": "DataIntegrityProof"})}, 400, AUTH)
    assert issued["error"]["code"] == "malformed"



async def test_senim_revoke_takes_the_issued_vc_file(node: VcNode, tmp_path: Path) -> None:
    """The register is lost on restart; the VC itself names its batch for `senim revoke`."""
    import asyncio
    import json

    from click.testing import CliRunner

    from cli.main import main

    issued = (await issue(node, {"credential": credential(node)}))["verifiableCredential"]
    vc_file, key = tmp_path / "issued.vc.json", tmp_path / "university.json"
    vc_file.write_text(json.dumps(issued))
    save_key(key, node.net.university)
    url = str(node.client.make_url("")).rstrip("/")
    result = await asyncio.get_running_loop().run_in_executor(None, CliRunner().invoke, main, [
        "revoke", str(vc_file), "--key", str(key), "--reason", "issued_in_error",
        "--node", url])
    assert result.exit_code == 0, result.output
    list_url = issued["credentialStatus"]["statusListCredential"]
    assert bit_is_set(await status_list_bits(node, list_url), 0)


async def test_a_token_that_is_not_utf8_is_a_401_not_a_500(node: VcNode) -> None:
    """aiohttp keeps header bytes that are not UTF-8 as lone surrogates, which the token
    check encoded strictly: any outsider's `Authorization: Bearer \\xff` to the issuing
    routes was a 500 with an ERROR traceback in the node's log."""
    for path in ("/credentials/issue", "/credentials/status"):
        reader, writer = await asyncio.open_connection("127.0.0.1", node.client.port)
        try:
            writer.write(f"POST {path} HTTP/1.1\r\nHost: node\r\nContent-Type: "
                         "application/json\r\nContent-Length: 2\r\nConnection: close\r\n"
                         "Authorization: Bearer ".encode() + b"\xff\xfe\r\n\r\n{}")
            await writer.drain()
            status_line = (await reader.readline()).decode()
        finally:
            writer.close()
        assert status_line.split()[1] == "401", status_line


async def test_a_vc_a_wallet_rewrote_without_changing_its_meaning_still_verifies(
        node: VcNode) -> None:
    """The anchor hashed the VC's JSON text: an issuer written as {"id": ...}, types in
    another order or one type in a list kept the VC's meaning and its proof, and its
    anchor said TAMPERED. It hashes what the proof signs now, the canonical N-Quads."""
    issued = (await issue(node, {"credential": credential(
        node, type=["VerifiableCredential", "ExampleDegreeCredential"],
        **{"@context": [CREDENTIALS_V2, "https://www.w3.org/ns/credentials/examples/v2"]})}
    ))["verifiableCredential"]
    assert issued["senim"]["covers"] == "credential-rdfc"
    as_object = {**issued, "issuer": {"id": issued["issuer"]}}
    reordered = {**issued, "type": list(reversed(issued["type"]))}
    for rewritten in (issued, as_object, reordered):
        verified = await post(node, "/credentials/verify",
                              {"verifiableCredential": rewritten}, 200)
        assert "on_chain" in verified["checks"], verified
    changed = copy.deepcopy(issued)
    changed["credentialSubject"]["name"] = "B. Impostor"
    await post(node, "/credentials/verify", {"verifiableCredential": changed}, 400)


async def test_a_vc_anchored_by_its_json_text_before_still_verifies(
        node: VcNode, monkeypatch: pytest.MonkeyPatch) -> None:
    """VCs anchored before the canonical digest say `"covers": "credential"` and are
    checked by their JSON text, as they were made."""
    monkeypatch.setattr(anchored, "COVERS_CANONICAL", anchored.COVERS_CREDENTIAL)
    monkeypatch.setattr(vc_issuing, "anchor_record", lambda document: {
        anchored.ANCHOR_FIELD: anchored.content_digest(document)})
    issued = (await issue(node, {"credential": credential(node)}))["verifiableCredential"]
    monkeypatch.undo()
    assert issued["senim"]["covers"] == "credential"
    verified = await post(node, "/credentials/verify", {"verifiableCredential": issued}, 200)
    assert "on_chain" in verified["checks"], verified
    changed = copy.deepcopy(issued)
    changed["credentialSubject"]["name"] = "B. Impostor"
    await post(node, "/credentials/verify", {"verifiableCredential": changed}, 400)
