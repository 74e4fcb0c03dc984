"""`senim verify FILE --offline --node URL`: the node the officer named was left unasked and
named nowhere, so a credential revoked after its proof was made was said VALID (exit 0)
while that node records the revocation. --node typed beside --offline is now refused, exit
2, before anything is read, saying what each option does; $SENIM_NODE left set is not."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.client import DEFAULT_NODE
from cli.language import Words
from cli.main import main
from ledger.credentials import make_batch
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import senim
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import (
    CHAIN_ID,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)

NODE = "http://127.0.0.1:9"  # asked by nothing here: the command ends before any request


async def test_a_revoked_credential_is_not_said_valid_by_a_node_left_unasked(
        tmp_path: Path) -> None:
    net = make_consortium()
    kv = MemoryStore()
    core = api_core(net.ministry, net.genesis, kv)
    commit(core.chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch([{"full_name": "Dana Bekova", "gpa": "2.10"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    commit(core.chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 1))])
    diploma, proved = tmp_path / "diploma.json", tmp_path / "proved.json"
    diploma.write_text(json.dumps(documents_of(batch)[0]), encoding="utf-8")
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(net.genesis.to_json()), encoding="utf-8")
    path = tuple(bytes.fromhex(step) for step in documents_of(batch)[0]["batch"]["path"])
    try:
        async with serving_url(core) as url:
            made = await senim("prove", str(diploma), "--out", str(proved), "--node", url)
            assert made.exit_code == 0, made.output
            commit(core.chain, [make_tx(net.university, RevokePayload(
                CredentialRef(batch.root, batch.target_hashes[0], 0, path),
                "court_decision"))])
            online = await senim("verify", str(proved), "--node", url, "--genesis",
                                 str(genesis), "--lang", "en")
            assert online.exit_code == 1 and "REVOKED" in online.output, online.output
            for extra in ((), ("--json",)):
                both = await senim("verify", str(proved), "--offline", "--node", url,
                                   "--genesis", str(genesis), "--lang", "en", *extra)
                assert both.exit_code == 2, both.output
                assert "VALID" not in both.output and "valid" not in both.output
                assert url in both.output, both.output
                assert ("--offline checks the proof a Senim credential file carries (senim "
                        "prove) without asking any node") in both.output, both.output
                assert f"To ask {url}, drop --offline" in both.output, both.output
                assert "to check a credential file's own proof, drop --node" in (
                    both.output), both.output
            # the proof alone still says what it proves (as of its block), the node unnamed
            alone = await senim("verify", str(proved), "--offline", "--genesis", str(genesis),
                                "--lang", "en")
            assert alone.exit_code == 0, alone.output
    finally:
        kv.close()


@pytest.mark.parametrize("language, said", [
    ("en", "--offline and --node do not go together"),
    ("kk", "--offline пен --node бірге берілмейді"),
    ("ru", "--offline и --node вместе не задаются"),
])
def test_refused_before_the_file_or_the_genesis_is_read(tmp_path: Path, language: str,
                                                        said: str) -> None:
    """A file that is no JSON and no --genesis: each would be refused by its own words;
    the options are said first, in the reader's language, naming every node given."""
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00 not json")
    other = "http://127.0.0.2:9"
    result = CliRunner().invoke(main, ["verify", str(garbage), "--offline", "--node", NODE,
                                       "--node", other, "--lang", language])
    assert result.exit_code == 2, result.output
    assert said in result.output, result.output
    assert f"{NODE}, {other}" in result.output, result.output
    assert "--genesis" not in result.output and "JSON" not in result.output


def test_a_node_left_in_the_environment_is_not_refused(tmp_path: Path) -> None:
    """$SENIM_NODE, set once for every command, is no node named for this check: --offline
    goes on to its own needs (here --genesis), the node unasked."""
    document = tmp_path / "diploma.json"
    document.write_text('{"format": "senim-credential/v2"}')
    result = CliRunner().invoke(main, ["verify", str(document), "--offline", "--lang", "en"],
                                env={"SENIM_NODE": NODE})
    assert result.exit_code == 2, result.output
    assert "--offline needs --genesis" in result.output, result.output
    assert "do not go together" not in result.output


@pytest.mark.parametrize("language, said", [
    ("en", "Not with --offline, which asks no node: a --node given with it is refused"),
    ("kk", "--offline параметрімен бірге берілмейді, ол ешбір түйіннен сұрамайды"),
    ("ru", "Не задаётся вместе с --offline, который ни к одному узлу не обращается"),
])
def test_help_says_node_is_not_for_offline(language: str, said: str) -> None:
    """--help says the refusal in every language (kk and ru from the catalogue, which said
    nothing of it while the English help did)."""
    result = CliRunner().invoke(main, ["verify", "--help", "--lang", language],
                                terminal_width=10_000)
    assert result.exit_code == 0, result.output
    assert said in " ".join(result.output.split()), result.output


def test_the_catalogues_english_node_help_is_the_one_shown() -> None:
    """en.json's copy of --node's help, the one kk and ru translate, is what English shows."""
    command = main.get_command(click.Context(main), "verify")
    assert command is not None
    shown = next(param.help for param in command.params
                 if isinstance(param, click.Option) and param.name == "nodes")
    assert Words("en").t("cli.help.verify.nodes") == shown


@pytest.mark.parametrize("language, said, advice", [
    ("en", "--offline checks the proof a Senim credential file carries (senim prove)",
     "To ask {node}, drop --offline; to check a credential file's own proof, drop --node"),
    ("kk", "--offline ешбір түйіннен сұрамай Senim құжаты файлындағы дәлелді (senim prove)",
     "{node} түйінінен сұрау үшін --offline параметрін алып тастаңыз; құжат файлының өз "
     "дәлелін тексеру үшін --node параметрін алып тастаңыз"),
    ("ru", "--offline проверяет доказательство в файле документа Senim (senim prove)",
     "Чтобы обратиться к {node}, уберите --offline; чтобы проверить собственное "
     "доказательство файла документа, уберите --node"),
])
def test_a_vc_is_not_told_to_drop_node_alone(tmp_path: Path, language: str, said: str,
                                             advice: str) -> None:
    """A W3C VC has no proof of its own to check offline: "to check the proof alone, drop
    --node" led it to a second refusal (cli.usage.offline_vc). The refusal now says whose
    proof --offline checks, and drops --node only for that."""
    vc = tmp_path / "diploma.vc.json"
    vc.write_text(json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"],
                              "type": ["VerifiableCredential"]}), encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(vc), "--offline", "--node", NODE,
                                       "--lang", language], terminal_width=10_000)
    assert result.exit_code == 2, result.output
    said_once = " ".join(result.output.split())
    assert said in said_once and advice.format(node=NODE) in said_once, result.output


@pytest.mark.parametrize("typed", ["", ",", " , "])
@pytest.mark.parametrize("language, said", [
    ("en", "--node names the node to ask, and here names none. To check a credential "
           "file's own proof, drop --node"),
    ("kk", "бұл жерде ешбірін атамаған. Құжат файлының өз дәлелін тексеру үшін --node "
           "параметрін алып тастаңыз"),
    ("ru", "но здесь не называет ни одного. Чтобы проверить собственное доказательство "
           "файла документа, уберите --node"),
])
def test_a_node_typed_with_no_url_is_not_offered_to_ask(tmp_path: Path, typed: str,
                                                        language: str, said: str) -> None:
    """`--node ''` (or only commas) names no node: the refusal offered to ask the default
    node, which the user never typed ("To ask http://127.0.0.1:8101, drop --offline")."""
    document = tmp_path / "diploma.json"
    document.write_text('{"format": "senim-credential/v2"}')
    result = CliRunner().invoke(main, ["verify", str(document), "--offline", "--node", typed,
                                       "--lang", language], terminal_width=10_000)
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split()), result.output
    assert DEFAULT_NODE not in result.output and "127.0.0.1" not in result.output
