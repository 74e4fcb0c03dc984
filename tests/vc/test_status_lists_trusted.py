"""Whose status list says a VC is revoked: a node reads a Senim VC against its own batch's
list alone, and `senim verify` reads a foreign VC's list only when its issuer signed it,
asking a bounded number of hosts. A stranger's VC naming a real batch's list was called
revoked by the node (which signed that list itself); a list anyone signed, served at the
URL a genuine VC names, made `senim verify` say REVOKED."""

from __future__ import annotations

from collections import Counter
from typing import Any

from cli.language import Words
from cli.vc import STATUS_FETCHES_MAX, fetched_at_most, vc_warning
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, RevokePayload
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from storage.batch_tree import audit_path
from tests.node.conftest import make_tx
from tests.node.test_api import wait_committed
from tests.vc.conftest import VcNode, post


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
