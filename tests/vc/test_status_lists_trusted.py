"""Whose status list says a VC is revoked: a node reads a Senim VC against its own batch's
list alone, and `senim verify` reads a foreign VC's list only when its issuer signed it,
asking a bounded number of hosts. A stranger's VC naming a real batch's list was called
revoked by the node (which signed that list itself); a list anyone signed, served at the
URL a genuine VC names, made `senim verify` say REVOKED."""

from __future__ import annotations

from collections import Counter
from typing import Any

from cli.language import Words
from cli.vc_verify import STATUS_FETCHES_MAX, fetched_at_most, vc_warning
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, RevokePayload
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.verify import verify_vc
from storage.batch_tree import audit_path
from tests.node.conftest import CHAIN_ID, make_tx
from tests.node.test_api import wait_committed
from tests.vc.conftest import NOW, Issued, VcNode, post
from tests.vc.test_export_verify import _listing, export


def strangers_vc(node: VcNode, index: int) -> dict[str, Any]:
    """A VC anyone could sign, naming the status list of the node's real batch (at any
    host) and the index of a credential of it."""
    stranger = KeyPair.from_seed(b"\x5a" * 32)
    list_id = (node.net.university.member_id + node.batch.root).hex()
    return add_proof({
        "@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
        "issuer": did_key(stranger.public_key), "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:forged", "name": "Forged Person"},
        "credentialStatus": {
            "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": str(index),
            "statusListCredential": f"https://anything.example/credentials/status/{list_id}"},
    }, stranger, "2024-01-01T00:00:00Z")


async def test_a_strangers_vc_is_not_read_against_a_real_batchs_list(node: VcNode) -> None:
    targets = node.batch.target_hashes
    tx = make_tx(node.net.university, RevokePayload(CredentialRef(
        node.batch.root, targets[1], 1, tuple(audit_path(targets, 1))), "fraud"))
    response = await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()})
    assert response.status == 202, await response.text()
    await wait_committed(node, tx.tx_id.hex())  # type: ignore[arg-type]
    result = await post(node, "/credentials/verify",
                        {"verifiableCredential": strangers_vc(node, 1)}, 200)
    # its signature is good, which is all a W3C verifier promises of it; no list of
    # this node speaks of it
    assert result["verified"] is True and result["verdict"]["status"] == "valid", result
    assert "status" not in result["checks"], result


def test_status_lists_are_asked_for_once_each_and_at_most_a_few() -> None:
    asked: Counter[str] = Counter()

    def fetch(url: str) -> dict[str, Any] | None:
        asked[url] += 1
        return None

    lookup = fetched_at_most(fetch)
    for n in range(300):  # a document's 300 entries, each naming a host
        lookup(f"https://host{n}.example/list")
        lookup("https://host0.example/list")
    assert len(asked) == STATUS_FETCHES_MAX and set(asked.values()) == {1}


def test_a_list_its_issuer_did_not_sign_is_said_unused_in_the_readers_language() -> None:
    warning = ("status list https://x.example/l is not signed by the credential's issuer: "
               "not used")
    assert vc_warning(warning).said(Words("en")) == warning
    assert "подписан не издателем" in vc_warning(warning).said(Words("ru"))
    assert "қол қоймаған" in vc_warning(warning).said(Words("kk"))


def test_a_verifiers_own_list_is_read_for_its_own_batchs_credential_alone(
        issued: Issued) -> None:
    """A presentation's credentials share the node's lists by URL: a stranger's VC naming
    another credential's list was read against it."""
    genuine = export(issued, 3)
    listing = _listing(genuine, [3])
    stranger = KeyPair.from_seed(b"\x5b" * 32)
    theirs = add_proof({
        "@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
        "issuer": did_key(stranger.public_key), "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:forged", "name": "Forged Person"},
        "credentialStatus": {**genuine["credentialStatus"]}}, stranger, "2024-01-01T00:00:00Z")
    verdict = verify_vc(theirs, NOW, status_lookup=listing, lists_vouched=True)
    assert verdict.valid and "status" not in [c.name for c in verdict.checks], verdict.to_json()
    assert verify_vc(genuine, NOW, status_lookup=listing, lists_vouched=True).status == \
        "revoked"


def test_a_senim_section_copied_from_a_real_credential_is_tampered_not_revoked(
        issued: Issued) -> None:
    """Its list's bit (the real credential's) was read for it, and the VC-API answered
    "revoked" of a stranger's document; the chain finds it is no credential of the
    batch."""
    genuine = export(issued, 3)
    stranger = KeyPair.from_seed(b"\x5c" * 32)
    forged = {key: value for key, value in genuine.items() if key != "proof"}
    forged["issuer"] = did_key(stranger.public_key)
    forged["credentialSubject"] = {**genuine["credentialSubject"], "id": "did:example:x"}
    forged = add_proof(forged, stranger, "2024-01-01T00:00:00Z")
    verdict = verify_vc(forged, NOW, issued.facts(), CHAIN_ID,
                        status_lookup=_listing(genuine, [3]), lists_vouched=True)
    assert not verdict.valid and verdict.status == "tampered", verdict.to_json()
