"""`senim prove` tells the holder what the proof would show before writing it: a credential
altered, or never issued on the node's chain, gets no proof, and a sentence saying why,
rather than a proof an employer then finds TAMPERED or UNKNOWN."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.credentials import make_batch
from tests.cli import test_verify_across_set_changes as set_changes
from tests.cli.test_verify_across_set_changes import senim
from tests.node.conftest import CHAIN_ID, Consortium, documents_of

net, node_url = set_changes.net, set_changes.node_url  # the fixtures: a node and a diploma


async def test_an_altered_credential_gets_no_proof(node_url: str, tmp_path: Path) -> None:
    document = json.loads((tmp_path / "diploma.json").read_text(encoding="utf-8"))
    document["fields"]["gpa"]["value"] = "4.0"
    altered, proved = tmp_path / "altered.json", tmp_path / "proved.json"
    altered.write_text(json.dumps(document), encoding="utf-8")
    result = await senim("prove", str(altered), "--out", str(proved), "--node", node_url)
    assert result.exit_code == 1, result.output
    assert "no proof written" in result.output and "TAMPERED" in result.output, result.output
    assert not proved.exists()


async def test_a_credential_of_another_chain_gets_no_proof(net: Consortium, node_url: str,
                                                           tmp_path: Path) -> None:
    # Same network name and issuer, a batch this chain never recorded: as a credential of
    # another consortium, or of a test network, reads.
    batch = make_batch([{"full_name": "Aigerim", "gpa": "3.9"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    other, proved = tmp_path / "other.json", tmp_path / "proved.json"
    other.write_text(json.dumps(documents_of(batch)[0]), encoding="utf-8")
    result = await senim("prove", str(other), "--out", str(proved), "--node", node_url)
    assert result.exit_code == 1, result.output
    assert "UNKNOWN" in result.output and "never issued here" in result.output, result.output
    assert not proved.exists()


async def test_a_genuine_credential_gets_its_proof(node_url: str, tmp_path: Path) -> None:
    proved = tmp_path / "proved.json"
    result = await senim("prove", str(tmp_path / "diploma.json"), "--out", str(proved),
                         "--node", node_url)
    assert result.exit_code == 0, result.output
    assert json.loads(proved.read_text(encoding="utf-8"))["proof"]["format"] == "senim-proof/v1"
