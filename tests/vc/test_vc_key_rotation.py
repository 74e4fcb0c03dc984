"""VC 2.0 for an issuer that rotated its key: earlier credentials keep verifying and name
the key that signed their batch, later ones the new key; a did:key the member never held
is refused; a stolen-key report splits VC verdicts at its height as it does natively."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result

from cli.main import main
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.errors import InvalidDocument
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import IssueBatchPayload, ReportCompromisePayload, RotateKeyPayload
from ledger.records import Batch
from ledger.rules import load_batch
from ledger.vc.didkey import did_key
from ledger.vc.export import to_vc
from ledger.vc.issuer_keys import check_export_key
from ledger.vc.verify import KEY_NOT_TIED, VcVerdict, verify_vc
from node.api import make_app
from node.files import load_key, save_key
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from node.vc_api import configure_vc
from storage.kv import LevelDBStore, MemoryStore
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)
from tests.node.engine_node import running_engine
from tests.vc.conftest import NOW, RECORDS, STATUS_BASE, TOKEN

CREATED_MS = 1_750_000_000_000


@dataclass
class Issuance:
    documents: list[dict[str, Any]]
    batch: Batch


def issue(chain: Chain, keys: KeyPair) -> Issuance:
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, keys.member_id, "KazNU")
    commit(chain, [make_tx(keys, IssueBatchPayload("diploma", batch.root, len(RECORDS)))])
    on_chain = load_batch(chain.state, keys.member_id, batch.root)
    assert on_chain is not None
    return Issuance(documents_of(batch), on_chain)


def rotate(chain: Chain, keys: KeyPair) -> KeyPair:
    fresh = KeyPair.generate()
    proof = prove_possession(fresh, CHAIN_ID, keys.member_id)
    commit(chain, [make_tx(keys, RotateKeyPayload(fresh.public_key, proof))])
    return KeyPair.from_seed(fresh.seed, keys.member_id)


def export(issued: Issuance, keys: KeyPair, index: int = 0, current_key: bytes | None = None
           ) -> dict[str, Any]:
    """As `senim export-vc` does: the key must be the one that signed the batch, or the
    member's current key."""
    check_export_key(keys, keys.member_id, issued.batch.signer_key, current_key)
    return to_vc(issued.documents[index], keys, STATUS_BASE, issued.batch.height,
                 issued.batch.time_ms, CREATED_MS)


def verdict(chain: Chain, vc: dict[str, Any]) -> VcVerdict:
    return verify_vc(json.loads(json.dumps(vc)), NOW, LocalFacts(chain.state, "test"),
                     CHAIN_ID)


@pytest.fixture
def net() -> Consortium:
    return make_consortium()


@pytest.fixture
def chain(net: Consortium) -> Iterator[Chain]:
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    yield chain
    kv.close()


def test_credentials_on_both_sides_of_a_rotation_verify_with_their_batch_key(
        chain: Chain, net: Consortium) -> None:
    old = net.university
    before = issue(chain, old)
    exported_before = export(before, old)
    new = rotate(chain, old)
    after = issue(chain, new)

    again = export(before, old, index=1)  # an earlier credential, exported after rotating
    later = export(after, new)
    assert exported_before["issuer"]["id"] == again["issuer"]["id"] == did_key(old.public_key)
    assert later["issuer"]["id"] == did_key(new.public_key)
    for vc in (exported_before, again, later):
        result = verdict(chain, vc)
        assert (result.valid, result.status) == (True, "valid"), result.to_json()
        assert "signed the batch" in result.checks[-1].detail
    # Without a chain the new key cannot be tied to the member id: said, not hidden.
    alone = verify_vc(later, NOW)
    assert alone.valid and KEY_NOT_TIED in alone.warnings
    assert KEY_NOT_TIED not in verify_vc(exported_before, NOW).warnings


def test_export_takes_the_batch_signer_or_the_current_key_alone(chain: Chain,
                                                                 net: Consortium) -> None:
    """A member whose key was lost and replaced holds only its current key: export took
    the batch's key alone, so none of its earlier credentials could be had as VCs,
    though a verifier takes a VC signed with any key the member held."""
    old = net.university
    before = issue(chain, old)
    new = rotate(chain, old)
    after = issue(chain, new)
    with pytest.raises(InvalidDocument, match="signed with the issuer's key"):
        export(before, new)  # not said to be current: refused
    with pytest.raises(InvalidDocument, match="signed with the issuer's key"):
        export(after, old, current_key=new.public_key)  # an earlier key, not the batch's
    with_current = export(before, new, current_key=new.public_key)
    assert with_current["issuer"]["id"] == did_key(new.public_key)
    result = verdict(chain, with_current)
    assert (result.valid, result.status) == (True, "valid"), result.to_json()
    assert "another of its keys signed the batch" in result.checks[-1].detail
    with pytest.raises(InvalidDocument, match="not the credential's issuer"):
        check_export_key(net.university2, old.member_id, None)


def test_a_did_key_the_member_held_is_taken_one_it_never_held_is_refused(
        chain: Chain, net: Consortium) -> None:
    old = net.university
    before = issue(chain, old)
    new = rotate(chain, old)
    # Signed after the rotation with the current key: a key the member holds.
    by_current = to_vc(before.documents[2], new, STATUS_BASE, before.batch.height,
                       before.batch.time_ms, CREATED_MS)
    result = verdict(chain, by_current)
    assert result.valid, result.to_json()
    assert "another of its keys signed the batch" in result.checks[-1].detail
    # A key that claims the member's id but was never on chain for it.
    stranger = KeyPair.from_seed(b"\x5a" * 32, old.member_id)
    forged = to_vc(before.documents[2], stranger, STATUS_BASE, before.batch.height,
                   before.batch.time_ms, CREATED_MS)
    refused = verdict(chain, forged)
    assert (refused.valid, refused.status) == (False, "tampered")
    assert "neither the key that signed the batch nor any key KazNU has held" in refused.reason


def test_a_stolen_key_report_splits_vc_verdicts_at_its_height(chain: Chain, net: Consortium
                                                              ) -> None:
    old = net.university
    early, late = issue(chain, old), issue(chain, old)
    early_vc, late_vc = export(early, old), export(late, old)
    new = rotate(chain, old)
    after = issue(chain, new)
    commit(chain, [make_tx(new, ReportCompromisePayload(old.public_key, late.batch.height))])

    assert verdict(chain, early_vc).status == "valid"
    stolen = verdict(chain, late_vc)
    assert (stolen.valid, stolen.status) == (False, "compromised_key")
    assert f"stolen from height {late.batch.height}" in stolen.reason
    assert verdict(chain, export(after, new)).status == "valid"
    # The stolen key dressing up a credential the new key issued: refused too.
    by_thief = to_vc(after.documents[1], old, STATUS_BASE, after.batch.height,
                     after.batch.time_ms, CREATED_MS)
    result = verdict(chain, by_thief)
    assert (result.valid, result.status) == (False, "compromised_key"), result.to_json()


# The node and the CLI: VC-API verify, `senim export-vc`, `senim verify`.

@dataclass
class RotatedNode:
    client: TestClient[Any, Any]
    url: str
    old_key: Path
    new_key: Path
    new: KeyPair
    before: Issuance
    after: Issuance


@pytest.fixture
async def rotated_node(tmp_path: Path, net: Consortium) -> AsyncIterator[RotatedNode]:
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = NodeCore(net.ministry, net.genesis, kv,
                    MempoolLimits(max_txs=100, max_bytes=1 << 20, max_per_sender=50),
                    NodeMetrics())
    commit(core.chain, [accredit(net, net.university, ["diploma", "certificate"])])
    before = issue(core.chain, net.university)
    new = rotate(core.chain, net.university)
    after = issue(core.chain, new)
    save_key(tmp_path / "old.json", net.university)
    save_key(tmp_path / "new.json", new)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    app = make_app(core, "vc-node")
    configure_vc(app, tmp_path / "new.json", token_file, STATUS_BASE)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        async with running_engine(core):
            yield RotatedNode(client, str(client.make_url("")).rstrip("/"),
                              tmp_path / "old.json", tmp_path / "new.json", new, before, after)
    finally:
        await client.close()
        kv.close()


async def cli(*args: str) -> Result:
    return await asyncio.get_running_loop().run_in_executor(
        None, CliRunner().invoke, main, list(args))


async def test_node_and_cli_export_and_verify_across_a_rotation(
        rotated_node: RotatedNode, tmp_path: Path) -> None:
    node = rotated_node
    # the earlier credential by the key that signed its batch, and by the current key (a
    # member whose key was lost and replaced holds only that); the later one by its own
    cases = [(node.before, node.old_key, None), (node.before, node.new_key, None),
             (node.after, node.new_key, node.old_key)]
    for number, (issued, signer, other) in enumerate(cases):
        native = tmp_path / f"diploma-{number}.json"
        native.write_text(json.dumps(issued.documents[0]))
        out = tmp_path / f"diploma-{number}.vc.json"
        if other is not None:
            wrong = await cli("export-vc", str(native), "--key", str(other), "--out",
                              str(out), "--node", node.url)
            assert wrong.exit_code == 2 and "export it with the key file" in wrong.output, \
                wrong.output
            assert not out.exists()
        done = await cli("export-vc", str(native), "--key", str(signer), "--out", str(out),
                         "--node", node.url)
        assert done.exit_code == 0, done.output
        vc = json.loads(out.read_text())
        assert vc["issuer"]["id"] == did_key(load_key(signer).public_key)
        checked = await cli("verify", str(out), "--node", node.url, "--json")
        assert checked.exit_code == 0, checked.output
        assert json.loads(checked.output)["status"] == "valid"
        response = await node.client.post("/credentials/verify",
                                          json={"verifiableCredential": vc})
        answer = await response.json()
        assert response.status == 200 and answer["verified"], answer
        assert "member" in answer["checks"] and not any(
            w["detail"] == KEY_NOT_TIED for w in answer["warnings"])
        response = await node.client.post("/v1/verify", json=issued.documents[0])
        native_answer = await response.json()
        assert native_answer["status"] == "valid", native_answer  # the native format agrees


async def test_the_vc_api_issues_and_verifies_with_the_rotated_key(
        rotated_node: RotatedNode) -> None:
    node = rotated_node
    asked = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:rotated-1",
             "type": ["VerifiableCredential"], "issuer": did_key(node.new.public_key),
             "credentialSubject": {"id": "did:example:holder", "name": "A. Student"}}
    response = await node.client.post("/credentials/issue", json=
        {"credential": asked}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 201, await response.text()
    issued = (await response.json())["verifiableCredential"]
    assert issued["senim"]["issuer_member_id"] == node.new.member_id.hex()
    response = await node.client.post("/credentials/verify",
                                      json={"verifiableCredential": issued})
    answer = await response.json()
    assert response.status == 200 and answer["verified"], answer
    assert "signed the batch" in answer["verdict"]["checks"][-1]["detail"]


async def test_export_signs_only_a_credential_its_node_finds_valid(
        rotated_node: RotatedNode, tmp_path: Path) -> None:
    """`senim export-vc` looked up only the batch: the issuer's key signed a diploma whose
    grade a graduate had raised, and one made up under a real batch's root (a name, a
    target and an audit path of the graduate's own), and a foreign verifier holding only
    the W3C standard took both for genuine."""
    node = rotated_node
    genuine = node.after.documents[0]
    raised = json.loads(json.dumps(genuine))
    raised["fields"]["gpa"]["value"] = "4.0"
    made_up = json.loads(json.dumps(genuine))
    made_up["fields"]["full_name"]["value"] = "Mallory Fakeyeva"
    made_up["target_hash"] = "ab" * 32
    made_up["batch"]["path"] = ["cd" * 32] * len(made_up["batch"]["path"])
    for number, document in enumerate([raised, made_up]):
        native = tmp_path / f"forged-{number}.json"
        native.write_text(json.dumps(document))
        out = tmp_path / f"forged-{number}.vc.json"
        refused = await cli("export-vc", str(native), "--key", str(node.new_key), "--out",
                            str(out), "--node", node.url, "--lang", "en")
        assert refused.exit_code == 1, refused.output
        assert refused.output.startswith(f"error: {native} is not exported as a W3C VC: "
                                         "Altered document: "), refused.output
        assert not out.exists()
        in_russian = await cli("export-vc", str(native), "--key", str(node.new_key), "--out",
                               str(out), "--node", node.url, "--lang", "ru")
        assert in_russian.exit_code == 1 and "не экспортирован как W3C VC" in in_russian.output
    native = tmp_path / "genuine.json"
    native.write_text(json.dumps(genuine))
    done = await cli("export-vc", str(native), "--key", str(node.new_key), "--out",
                     str(tmp_path / "genuine.vc.json"), "--node", node.url)
    assert done.exit_code == 0, done.output


async def test_a_claim_added_to_a_genuine_vc_is_named_in_every_language(
        rotated_node: RotatedNode, tmp_path: Path) -> None:
    """A claim no context defines, added to a genuine VC, is left out of what the signature
    covers: refused, and said as that. In Kazakh and Russian it was "the signature does not
    match the content or the issuer's key", which is false, and named no claim."""
    node = rotated_node
    native = tmp_path / "genuine.json"
    native.write_text(json.dumps(node.after.documents[0]))
    out = tmp_path / "genuine.vc.json"
    done = await cli("export-vc", str(native), "--key", str(node.new_key), "--out", str(out),
                     "--node", node.url)
    assert done.exit_code == 0, done.output
    vc = json.loads(out.read_text())
    vc["credentialSubject"]["honours"] = "summa cum laude"
    added = tmp_path / "added.vc.json"
    added.write_text(json.dumps(vc))
    for lang, said in (("en", "honours"), ("ru", "не определённый его контекстами"),
                       ("kk", "honours")):
        checked = await cli("verify", str(added), "--node", node.url, "--lang", lang)
        assert checked.exit_code == 1, checked.output
        assert said in checked.output and "honours" in checked.output, (lang, checked.output)


@pytest.mark.parametrize("base", ["file:///etc/passwd", "ftp://node.example.kz",
                                  "https://user:pw@node.example.kz", "node.example.kz",
                                  "https://node.example.kz/?a=1", "https://"])
async def test_export_refuses_a_status_base_no_verifier_can_fetch(
        rotated_node: RotatedNode, tmp_path: Path, base: str) -> None:
    """`--status-base file:///etc/passwd` was signed into the VC."""
    native = tmp_path / "genuine.json"
    native.write_text(json.dumps(rotated_node.after.documents[0]))
    out = tmp_path / "genuine.vc.json"
    refused = await cli("export-vc", str(native), "--key", str(rotated_node.new_key), "--out",
                        str(out), "--node", rotated_node.url, "--status-base", base)
    assert refused.exit_code == 2, refused.output
    assert "is not a URL a verifier can fetch a status list from" in refused.output
    assert not out.exists()


async def test_export_warns_that_a_loopback_status_list_is_this_machines_alone(
        rotated_node: RotatedNode, tmp_path: Path) -> None:
    """--status-base defaults to --node, itself 127.0.0.1 by default: a VC handed to an
    employer abroad named a status list no one there can fetch, with no word of it."""
    native = tmp_path / "genuine.json"
    native.write_text(json.dumps(rotated_node.after.documents[0]))
    for base, warned in ((None, True), ("https://node.enu.kz", False)):
        out = tmp_path / f"vc-{warned}.json"
        done = await cli("export-vc", str(native), "--key", str(rotated_node.new_key), "--out",
                         str(out), "--node", rotated_node.url,
                         *(() if base is None else ("--status-base", base)))
        assert done.exit_code == 0, done.output
        assert ("which only this machine can reach" in done.output) is warned, done.output
