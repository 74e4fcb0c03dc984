"""`senim prove` tells the holder what the proof would show before writing it: a credential
altered, or never issued on the node's chain, gets no proof, and a sentence saying why,
rather than a proof an employer then finds TAMPERED or UNKNOWN."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cli.verifying
from cli.language import Words
from consensus.certificate import (
    CommitCertificate,
    CommitSignature,
    decode_certificate,
    encode_certificate,
)
from ledger.credentials import make_batch
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from tests.cli import test_verify_across_set_changes as set_changes
from tests.cli.test_verify_across_set_changes import senim
from tests.node.conftest import CHAIN_ID, Consortium, documents_of, make_consortium

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


def _lying(monkeypatch: pytest.MonkeyPatch, alter: Callable[[dict[str, Any]], None]) -> None:
    """The node's proof answer altered before `senim prove` sees it, as a hostile or
    broken node (or a proxy in front of it) would serve it."""
    fetch = cli.verifying._fetch_proof

    def fetched(*args: Any) -> tuple[dict[str, Any], int]:
        bundle, height = fetch(*args)
        alter(bundle)
        return bundle, height
    monkeypatch.setattr(cli.verifying, "_fetch_proof", fetched)


def _without_index(bundle: dict[str, Any]) -> None:
    bundle["entries"] = [e for e in bundle["entries"]
                         if bytes.fromhex(e["key"]) != VALIDATOR_SET_INDEX_KEY]


def _signature_flipped(bundle: dict[str, Any]) -> None:
    """A certificate of the right block and shape, one of its signatures forged."""
    certificate = decode_certificate(bytes.fromhex(bundle["certificate"]))
    first = certificate.signatures[0]
    forged = CommitSignature(first.validator, first.time_ms,
                             bytes([first.signature[0] ^ 1]) + first.signature[1:])
    bundle["certificate"] = encode_certificate(CommitCertificate(
        certificate.height, certificate.view, certificate.digest,
        (forged, *certificate.signatures[1:]))).hex()


@pytest.mark.parametrize("alter, code", [
    (lambda b: b.update(header="zz"), "proof_malformed"),
    (lambda b: b.update(certificate="00" * 40), "proof_malformed"),
    (_without_index, "proof_no_index"),
    (lambda b: b["entries"][0].update(value="00"), "proof_altered"),
    (lambda b: b.update(entries=b["entries"][1:]), "proof_lacks_entry"),
])
async def test_a_proof_no_verifier_could_take_is_not_written(
        node_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        alter: Callable[[dict[str, Any]], None], code: str) -> None:
    """A node that hands the holder a broken proof: the holder was told it worked, exit
    0, and every employer's offline check then refused a genuine diploma."""
    _lying(monkeypatch, alter)
    proved = tmp_path / "proved.json"
    diploma = str(tmp_path / "diploma.json")
    result = await senim("prove", diploma, "--out", str(proved), "--node", node_url,
                         "--lang", "ru")
    assert result.exit_code == 3, result.output
    assert "доказательство не записано" in result.output, result.output
    assert Words("ru").t(f"cli.prove.bad_proof.{code}") in result.output, result.output
    english = await senim("prove", diploma, "--out", str(proved), "--node", node_url,
                          "--lang", "en")
    assert english.exit_code == 3, english.output
    assert "would be refused by every verifier" in english.output, english.output
    assert not proved.exists()


async def test_with_genesis_a_proof_is_checked_as_a_verifier_checks_it(
        node_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A forged signature in a well-shaped certificate is seen only by who holds genesis:
    `--genesis` refuses it before it is written; a genuine proof is written either way."""
    genesis, proved = str(tmp_path / "genesis.json"), tmp_path / "proved.json"
    diploma = str(tmp_path / "diploma.json")
    result = await senim("prove", diploma, "--out", str(proved), "--node", node_url,
                         "--genesis", genesis)
    assert result.exit_code == 0, result.output
    proved.unlink()
    _lying(monkeypatch, _signature_flipped)
    result = await senim("prove", diploma, "--out", str(proved), "--node", node_url,
                         "--genesis", genesis, "--lang", "kk")
    assert result.exit_code == 3, result.output
    assert Words("kk").t("cli.prove.bad_proof.proof_uncertified") in result.output
    assert not proved.exists()
    unchecked = await senim("prove", diploma, "--out", str(proved), "--node", node_url)
    assert unchecked.exit_code == 0, unchecked.output  # whose signers only genesis can tell
    offline = await senim("verify", str(proved), "--offline", "--genesis", genesis)
    assert offline.exit_code == 1 and "not certified" in offline.output, offline.output


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
async def test_a_genesis_file_of_another_network_is_refused_before_the_node_is_asked(
        node_url: str, tmp_path: Path, language: str) -> None:
    """A holder who gives the genesis file of another network than the credential's: the
    node's genuine proof was called one "every verifier would refuse", exit 3, and the
    holder sent to ask another node, which would have said the same. The credential and
    the genesis file are what do not go together, which needs no node to tell."""
    other = tmp_path / "other-genesis.json"
    other.write_text(json.dumps(make_consortium("senim-other").genesis.to_json()), "utf-8")
    proved, diploma = tmp_path / "proved.json", str(tmp_path / "diploma.json")
    words = Words(language)
    said = words.t("cli.prove.other_genesis", network="'senim-test'",
                   genesis_network="'senim-other'")
    for node in (node_url, "http://127.0.0.1:1"):  # the node asked, or nothing listening
        result = await senim("prove", diploma, "--out", str(proved), "--node", node,
                             "--genesis", str(other), "--lang", language)
        assert result.exit_code == 2, result.output
        assert said in result.output, result.output
        assert node not in result.output, result.output  # no node was at fault
        assert not proved.exists()
