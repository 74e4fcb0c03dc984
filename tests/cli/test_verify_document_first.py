"""`senim verify` says what the document itself shows before it asks any node: a diploma
with a byte changed (a native credential, a W3C VC, a presentation holding one, one with
an offline proof) is TAMPERED, exit 1, when its node is down, when all of several are
down, and whatever a node would say. It was "cannot reach the node" (exit 3), or, offline
without a proof, "unproven". A genuine one with no node answering stays unconfirmed
(exit 3). An answer that cannot be trusted still names the issuer a VC claims, and an
image (a QR code of a link, say) is told what to do with it; each in kk, ru and en."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.language import Words
from cli.main import main
from ledger.credentials import make_batch
from ledger.genesis import GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.export import to_vc
from ledger.vc.proofs import add_proof
from ledger.vc.verify import verify_vc
from ledger.verification import ChainFacts, verify_credential
from tests.e2e.processes import free_port

CHAIN_ID = "senim-hr"
UNIVERSITY = KeyPair.from_seed(b"\x41" * 32)
HOLDER = KeyPair.from_seed(b"\x42" * 32)
LANGUAGES = ("en", "kk", "ru")
ISSUED_MS = 1_780_000_000_000


def diploma() -> dict[str, Any]:
    batch = make_batch([{"full_name": "Aigerim Sarsenova", "gpa": "3.41"},
                        {"full_name": "Dana Bekova", "gpa": "3.02"}], "diploma", CHAIN_ID,
                       UNIVERSITY.member_id, "Bench University")
    document: dict[str, Any] = next(iter(batch.documents()))
    return document


def altered(document: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(document).replace('"3.41"', '"3.91"'))
    assert copy != document
    return copy


def vc_of(document: dict[str, Any]) -> dict[str, Any]:
    return to_vc(document, UNIVERSITY, "http://127.0.0.1:9", 3, ISSUED_MS, ISSUED_MS)


def presentation(credentials: list[dict[str, Any]]) -> dict[str, Any]:
    return add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                      "holder": did_key(HOLDER.public_key),
                      "verifiableCredential": credentials}, HOLDER, "2026-07-01T09:00:00Z",
                     purpose="authentication")


def genesis_file(tmp_path: Path) -> Path:
    genesis = current_rules_genesis(CHAIN_ID, ISSUED_MS - 3_600_000, tuple(
        GenesisMember(f"Ministry {n}", "ministry", KeyPair.from_seed(bytes([n]) * 32).public_key,
                      True) for n in range(1, 5)))
    return written(tmp_path, "genesis.json", genesis.to_json())


def down() -> str:
    """A node URL nothing listens at."""
    return f"http://127.0.0.1:{free_port()}"


def senim(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def written(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def said_tampered(result: Result, language: str) -> None:
    assert result.exit_code == 1, result.output
    assert Words(language).t("cli.source.document_alone") in result.output, result.output


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_changed_diploma_is_tampered_with_its_nodes_down(tmp_path: Path,
                                                          language: str) -> None:
    path = written(tmp_path, "diploma.json", altered(diploma()))
    for nodes in ([down()], [down(), down()]):
        given = [arg for node in nodes for arg in ("--node", node)]
        checked = senim("verify", str(path), *given, "--lang", language)
        said_tampered(checked, language)
        assert checked.output.startswith("TAMPERED") if language == "en" else \
            checked.output.startswith(Words(language).t("status.tampered")), checked.output


def test_the_json_says_tampered_and_that_no_node_was_asked(tmp_path: Path) -> None:
    path = written(tmp_path, "diploma.json", altered(diploma()))
    nodes = [down(), down()]
    checked = senim("verify", str(path), "--node", nodes[0], "--node", nodes[1], "--json")
    assert checked.exit_code == 1, checked.output
    verdict = json.loads(checked.output)
    assert (verdict["status"], verdict["nodes_not_asked"]) == ("tampered", nodes)
    assert [check["check"] for check in verdict["checks"]] == ["fields"]


def test_an_unusable_genesis_is_refused_before_a_changed_diploma_is_judged(
        tmp_path: Path) -> None:
    """As it is for a genuine one, offline, and for a VC: the changed diploma was TAMPERED,
    exit 1, never saying that the --genesis file given could not be used."""
    broken = tmp_path / "genesis.json"
    broken.write_text('{"chain_id": ', encoding="utf-8")
    for document in (altered(diploma()), diploma()):
        path = written(tmp_path, "diploma.json", document)
        checked = senim("verify", str(path), "--node", down(), "--genesis", str(broken),
                        "--lang", "en")
        assert checked.exit_code == 2, checked.output
        assert str(broken) in checked.output, checked.output


def test_a_genuine_diploma_with_its_node_down_is_still_unconfirmed(tmp_path: Path) -> None:
    path = written(tmp_path, "diploma.json", diploma())
    checked = senim("verify", str(path), "--node", down(), "--lang", "en")
    assert checked.exit_code == 3, checked.output
    assert "cannot reach" in checked.output, checked.output


@pytest.mark.parametrize("language", LANGUAGES)
def test_offline_a_changed_diploma_without_its_proof_is_tampered(tmp_path: Path,
                                                                 language: str) -> None:
    """Its proof stripped (or broken) as well: "unproven" hid the change."""
    path = written(tmp_path, "diploma.json", altered(diploma()))
    checked = senim("verify", str(path), "--offline", "--genesis", str(genesis_file(tmp_path)),
                    "--lang", language)
    said_tampered(checked, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_changed_vc_is_tampered_with_its_node_down(tmp_path: Path, language: str) -> None:
    vc = json.loads(json.dumps(vc_of(diploma())).replace('"3.41"', '"3.91"'))
    path = written(tmp_path, "diploma.vc.json", vc)
    for nodes in ([down()], [down(), down()]):
        given = [arg for node in nodes for arg in ("--node", node)]
        checked = senim("verify", str(path), *given, "--lang", language)
        said_tampered(checked, language)
    as_json = senim("verify", str(path), "--node", down(), "--json")
    assert json.loads(as_json.output)["status"] == "tampered", as_json.output


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_presentation_of_a_changed_vc_is_refused_with_its_node_down(
        tmp_path: Path, language: str) -> None:
    """The nodes are asked still, for what the chain holds of the genuine credential beside
    it; none answering, the altered one is the verdict and the genuine one is unconfirmed
    (it was said valid, as its signature holds, with no chain asked)."""
    words = Words(language)
    genuine = vc_of(diploma())
    changed = json.loads(json.dumps(genuine).replace('"3.41"', '"3.91"'))
    path = written(tmp_path, "diploma.vp.json", presentation([changed, genuine]))
    for nodes in ([down()], [down(), down()]):
        given = [arg for node in nodes for arg in ("--node", node)]
        checked = senim("verify", str(path), *given, "--lang", language)
        assert checked.exit_code == 1, checked.output
        said = checked.output
        assert words.t("cli.source.document_alone_unanswered") in said, said
        assert said.startswith(words.t("vp.credential_fails", signer=did_key(
            HOLDER.public_key), failed=2, count=2)), said  # one altered, one unconfirmed
        tampered = "TAMPERED: " if language == "en" else words.t("status.tampered")
        unchecked = ("CHAIN_UNCHECKED: " if language == "en" else
                     words.t("cli.status.chain_unchecked"))
        assert tampered in said and unchecked in said, said
        assert "VALID" not in said, said
        for node in nodes:
            assert words.t("cli.nodes.no_answer", node=node, why="\x00").split("\x00")[0] \
                in said, said
    node = down()
    as_json = json.loads(senim("verify", str(path), "--node", node, "--json").output)
    assert [inner["status"] for inner in as_json["credentials"]] == ["tampered",
                                                                     "chain_unchecked"]
    # why the node gave no answer, as each of several is listed
    assert as_json["nodes"] == [{"node": node, "answered": False, "used": False,
                                 "problem": as_json["nodes"][0]["problem"]}], as_json
    assert node in as_json["nodes"][0]["problem"], as_json
    several = json.loads(senim("verify", str(path), "--node", node, "--node", down(),
                               "--json").output)
    assert sorted(several) == sorted(as_json), (several, as_json)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_presentation_signed_for_another_challenge_needs_no_node(
        tmp_path: Path, language: str) -> None:
    path = written(tmp_path, "diploma.vp.json", presentation([vc_of(diploma())]))
    checked = senim("verify", str(path), "--node", down(), "--challenge", "hr-0042",
                    "--lang", language)
    said_tampered(checked, language)


def test_a_vc_signed_over_fields_its_hash_does_not_hold_is_tampered_with_no_chain() -> None:
    """Signed by its issuer, but the credential it stands for is not the one in its batch:
    with no chain asked it passed as valid ("chain not checked")."""
    document = diploma()
    inconsistent = dict(document, fields=altered(document)["fields"])
    vc = to_vc(document, UNIVERSITY, "http://127.0.0.1:9", 3, ISSUED_MS, ISSUED_MS)
    vc.pop("proof")
    vc["credentialSubject"]["fields"] = {name: field["value"] for name, field
                                         in inconsistent["fields"].items()}
    signed = add_proof(vc, UNIVERSITY, "2026-07-01T09:00:00Z")
    verdict = verify_vc(signed, datetime.now(tz=UTC))
    assert (verdict.valid, verdict.status) == (False, "tampered"), verdict.to_json()


class NoChain:
    """Chain facts that must not be asked: a check reaching them fails the test."""
    height = None

    def describe(self) -> str:
        return "no chain"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the chain was asked {name}")


def test_a_changed_copy_from_another_network_is_tampered_not_unknown() -> None:
    facts: ChainFacts = NoChain()  # type: ignore[assignment]
    verdict = verify_credential(altered(diploma()), facts, "another-network")
    assert verdict.status == "tampered", verdict.to_json()
    genuine = verify_credential(diploma(), facts, "another-network")
    assert genuine.status == "unknown", genuine.to_json()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_changed_vc_names_the_issuer_it_claims_as_a_claim(tmp_path: Path,
                                                            language: str) -> None:
    """Its signature fails, so the issuer it names is no checked one: said as its claim,
    not as "issuer X" (nor as "(W3C VC)", read as a hole where the issuer should be)."""
    vc = json.loads(json.dumps(vc_of(diploma())).replace('"3.41"', '"3.91"'))
    path = written(tmp_path, "diploma.vc.json", vc)
    checked = senim("verify", str(path), "--node", down(), "--lang", language)
    said_tampered(checked, language)
    words = Words(language)
    claimed = words.t("cli.vc.about_claimed_issuer", issuer=vc["issuer"]["id"])
    file_line = next(line for line in checked.output.splitlines()
                     if str(path) in line)
    assert file_line.endswith(claimed), checked.output
    assert words.t("cli.vc.about_issuer", issuer=vc["issuer"]["id"]) not in checked.output


@pytest.mark.parametrize("as_json", [True, False])
def test_a_password_in_senim_node_is_not_printed_for_a_changed_document(
        tmp_path: Path, as_json: bool) -> None:
    """$SENIM_NODE with a login in it, for a document failing its own checks: --json's
    `nodes_not_asked` and a presentation's line saying the node gave no answer name it as
    'http://…@host' (cli.node_answers.shown_node), as its refusal does, not with its
    password."""
    node = "http://hr:s3cretPass@" + down().removeprefix("http://")
    documents = {"diploma.json": altered(diploma()), "diploma.vp.json": presentation(
        [json.loads(json.dumps(vc_of(diploma())).replace('"3.41"', '"3.91"')),
         vc_of(diploma())])}
    for name, document in documents.items():
        path = written(tmp_path, name, document)
        checked = CliRunner().invoke(main, ["verify", str(path), *(["--json"] * as_json)],
                                     env={"SENIM_NODE": node})
        assert "s3cretPass" not in checked.output, checked.output


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["diploma.json", "diploma.vc.json", "diploma.vp.json"])
def test_a_changed_link_document_is_not_said_checked_against_a_node_never_asked(
        tmp_path: Path, language: str, kind: str) -> None:
    """A link's document failing its own checks, its node down: the verdict is the
    document's own, and no line says it "was checked against {node} instead" of the
    link's node (cli.vc_verify.no_node_gave): that node was never asked, or never
    answered."""
    changed_vc = json.loads(json.dumps(vc_of(diploma())).replace('"3.41"', '"3.91"'))
    document = {"diploma.json": altered(diploma()), "diploma.vc.json": changed_vc,
                "diploma.vp.json": presentation([changed_vc, vc_of(diploma())])}[kind]
    path = written(tmp_path, kind, document)
    shared = senim("share", str(path), "--node", "https://portal.example.kz")
    link = re.search(r"https://portal\.example\.kz/\S+", shared.output)
    assert link is not None, shared.output
    node = down()
    checked = senim("verify", link.group(0), "--node", node, "--lang", language)
    assert checked.exit_code == 1, checked.output
    words = Words(language)
    alone = "cli.source.document_alone" + ("_unanswered" if kind.endswith("vp.json") else "")
    assert words.t(alone) in checked.output, checked.output
    checked_here = words.t("cli.link.checked_here", origin="https://portal.example.kz",
                           node=node)
    assert checked_here not in checked.output, checked.output


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_newer_format_is_not_said_past_what_any_node_could_change(
        tmp_path: Path, language: str) -> None:
    """A credential in a format newer than this senim reads: its verdict tells the reader
    to check it with an updated senim, and its source agrees (cli.source.document_newer),
    where it said nothing a node or a proof could say would change the verdict."""
    path = written(tmp_path, "diploma.json", {**diploma(), "format": "senim-credential/v9"})
    checked = senim("verify", str(path), "--node", down(), "--lang", language)
    assert checked.exit_code == 1, checked.output
    words = Words(language)
    assert words.t("cli.source.document_newer") in checked.output, checked.output
    assert words.t("cli.source.document_alone") not in checked.output, checked.output
    as_json = json.loads(senim("verify", str(path), "--node", down(), "--json").output)
    assert (as_json["status"], as_json["source"]) == (
        "newer_format", Words("en").t("cli.source.document_newer")), as_json
