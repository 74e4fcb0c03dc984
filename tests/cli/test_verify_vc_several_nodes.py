"""`senim verify --node A --node B` on a W3C VC and on a presentation, as on a native
credential (tests/cli/test_verify_several_nodes.py): a batch of two diplomas, the first
revoked at block 3, asked of a node that has the revocation (block 3), one that lags at
block 2 (where it is still valid) and one that is down. With --genesis the verdict is the
newest certified state's, the lagging node named beside it, in every language; without it,
the revoked verdict; a node down is said and left out; --json lists each node's answer. A
presentation's challenge is checked alike whichever node answers. Each was refused with
exit 2 ("a W3C VC or presentation is checked against one node")."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import ledger.vc.canon_pyld
from cli.language import Words
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.export import to_vc
from ledger.vc.proofs import add_proof
from tests.cli.lagging_nodes import first_revoked_on_one_node
from tests.cli.test_verify_across_set_changes import senim, verdict_of
from tests.e2e.processes import free_port
from tests.node.conftest import documents_of

HOLDER = KeyPair.from_seed(b"\x61" * 32)
CHALLENGE = "hr-2026-0042"


@dataclass(frozen=True)
class VcNodes:
    fresh: str  # holds the revocation, block 3
    lagging: str  # stopped at block 2: the first diploma still valid there
    down: str  # nothing listens
    revoked: Path  # the first diploma, as a VC
    genuine: Path  # the second, never revoked, in a presentation signed for CHALLENGE
    revoked_shown: Path  # the first, in a presentation signed for CHALLENGE
    genesis: Path


def presentation(credential: dict[str, Any]) -> dict[str, Any]:
    return add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                      "holder": did_key(HOLDER.public_key),
                      "verifiableCredential": [credential]}, HOLDER, "2026-07-01T09:00:00Z",
                     purpose="authentication", challenge=CHALLENGE)


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[VcNodes]:
    async with first_revoked_on_one_node([{"full_name": "Aigerim", "gpa": "3.9"},
                                          {"full_name": "Nurlan", "gpa": "3.5"}]) as chain:
        height, time_ms = chain.issued.height, chain.issued.time_ms
        # The chain, not the status list, decides a Senim VC checked against a node: no
        # verifier fetches this list.
        vcs = [to_vc(document, chain.net.university, "http://127.0.0.1:9", height, time_ms,
                     time_ms) for document in documents_of(chain.batch)]
        files = {"revoked.vc.json": vcs[0], "genuine.vp.json": presentation(vcs[1]),
                 "revoked.vp.json": presentation(vcs[0]),
                 "genesis.json": chain.net.genesis.to_json()}
        for name, document in files.items():
            (tmp_path / name).write_text(json.dumps(document), encoding="utf-8")
        yield VcNodes(chain.fresh, chain.lagging, chain.down, tmp_path / "revoked.vc.json",
                      tmp_path / "genuine.vp.json", tmp_path / "revoked.vp.json",
                      tmp_path / "genesis.json")


def given(*nodes: str) -> list[str]:
    return [arg for node in nodes for arg in ("--node", node)]


async def test_a_revoked_vc_is_shown_revoked_from_the_newest_certified_block(
        nodes: VcNodes) -> None:
    """The lagging node alone says VALID; asked beside the up-to-date one, in either order,
    the verdict is REVOKED as of block 3, the lagging node named, and --json lists both."""
    genesis = str(nodes.genesis)
    alone = await senim("verify", str(nodes.revoked), "--node", nodes.lagging,
                        "--genesis", genesis, "--json")
    assert alone.exit_code == 0 and verdict_of(alone)["status"] == "valid", alone.output
    for order in ([nodes.lagging, nodes.fresh], [nodes.fresh, nodes.lagging]):
        checked = await senim("verify", str(nodes.revoked), *given(*order), "--genesis",
                              genesis, "--json")
        assert checked.exit_code == 1, checked.output
        verdict = verdict_of(checked)
        assert verdict["status"] == "revoked" and verdict["facts"]["as_of_height"] == 3
        listed = {each["node"]: each for each in verdict["nodes"]}
        assert [each["node"] for each in verdict["nodes"]] == order
        assert {node: (each["status"], each["height"], each["certified"], each["used"])
                for node, each in listed.items()} == {
            nodes.fresh: ("revoked", 3, True, True), nodes.lagging: ("valid", 2, True, False)}
    for language in ("en", "kk", "ru"):
        said = await senim("verify", str(nodes.revoked), *given(nodes.lagging, nodes.fresh),
                           "--genesis", genesis, "--lang", language)
        assert said.exit_code == 1, said.output
        words = Words(language)
        differs = words.t("cli.nodes.differs", node=nodes.lagging, height=2, behind=1,
                          shownHeight=3, shown=nodes.fresh)
        assert differs in said.output, said.output


async def test_without_genesis_the_revoked_vc_verdict_is_shown(nodes: VcNodes) -> None:
    checked = await senim("verify", str(nodes.revoked), *given(nodes.lagging, nodes.fresh))
    assert checked.exit_code == 1, checked.output
    assert checked.output.startswith("REVOKED"), checked.output
    assert "Without --genesis no answer is certified" in checked.output


async def test_a_node_down_is_left_out_of_a_vcs_verdict(nodes: VcNodes) -> None:
    genesis = str(nodes.genesis)
    checked = await senim("verify", str(nodes.revoked), *given(nodes.down, nodes.fresh),
                          "--genesis", genesis)
    assert checked.exit_code == 1, checked.output
    assert checked.output.startswith("REVOKED"), checked.output
    assert f"{nodes.down} gave no answer and was left out: cannot reach the node at " \
        f"{nodes.down}" in checked.output, checked.output
    listed = await senim("verify", str(nodes.revoked), *given(nodes.down, nodes.fresh),
                         "--genesis", genesis, "--json")
    assert [(n["node"], n["answered"]) for n in verdict_of(listed)["nodes"]] == [
        (nodes.down, False), (nodes.fresh, True)]
    other = f"http://127.0.0.1:{free_port()}"
    none = await senim("verify", str(nodes.revoked), *given(nodes.down, other),
                       "--genesis", genesis)
    assert none.exit_code == 3, none.output
    assert "none of the 2 nodes asked answered" in none.output
    assert nodes.down in none.output and other in none.output


async def test_a_presentation_with_a_challenge_against_two_nodes(nodes: VcNodes) -> None:
    """The holder's signature and challenge hold whichever node answers; the credential in
    it is judged as of the newest certified block: the genuine one valid (the lagging node
    said to lag), the revoked one failing the presentation."""
    genesis, both = str(nodes.genesis), given(nodes.lagging, nodes.fresh)
    en = Words("en")
    genuine = await senim("verify", str(nodes.genuine), *both, "--genesis", genesis,
                          "--challenge", CHALLENGE)
    assert genuine.exit_code == 0, genuine.output
    assert genuine.output.startswith(en.t("vp.valid", signer=did_key(HOLDER.public_key),
                                          count=1)), genuine.output
    assert en.t("vp.challenge_matched") in genuine.output
    assert f"{nodes.lagging} gives the same verdict, but as of block 2" in genuine.output
    for language in ("en", "kk", "ru"):
        words = Words(language)
        revoked = await senim("verify", str(nodes.revoked_shown), *both, "--genesis", genesis,
                              "--challenge", CHALLENGE, "--lang", language)
        assert revoked.exit_code == 1, revoked.output
        assert revoked.output.startswith(words.t(
            "vp.credential_fails", signer=did_key(HOLDER.public_key), failed=1, count=1)), \
            revoked.output
        assert words.t("cli.nodes.differs", node=nodes.lagging, height=2, behind=1,
                       shownHeight=3, shown=nodes.fresh) in revoked.output, revoked.output
    listed = await senim("verify", str(nodes.revoked_shown), *both, "--genesis", genesis,
                         "--challenge", CHALLENGE, "--json")
    verdict = verdict_of(listed)
    assert listed.exit_code == 1 and verdict["facts"]["challenge"] == "checked", listed.output
    assert [c["status"] for c in verdict["credentials"]] == ["revoked"]
    assert [(n["node"], n["status"], n["height"], n["used"]) for n in verdict["nodes"]] == [
        (nodes.lagging, "valid", 2, False), (nodes.fresh, "revoked", 3, True)]
    wrong = await senim("verify", str(nodes.genuine), *both, "--genesis", genesis,
                        "--challenge", "another", "--json")
    verdict = verdict_of(wrong)
    assert wrong.exit_code == 1 and verdict["facts"]["challenge"] == "mismatch", wrong.output
    # its own check fails: no node's answer could change that, so none is asked
    assert verdict["nodes_not_asked"] == [nodes.lagging, nodes.fresh], verdict


async def test_one_node_lists_no_nodes_with_a_changed_credential_held(nodes: VcNodes,
                                                                       tmp_path: Path) -> None:
    """A presentation holding a credential that fails its own checks asks the nodes about
    the others all the same; with one node given, --json has the shape it has for a
    genuine one (it gained a "nodes" list of that one node)."""
    genuine_vp = json.loads(nodes.genuine.read_text(encoding="utf-8"))
    vc = genuine_vp["verifiableCredential"][0]
    changed = json.loads(json.dumps(vc).replace('"Nurlan"', '"Nurlan Abai"'))
    assert changed != vc
    both = tmp_path / "both.vp.json"
    shown = add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                       "holder": did_key(HOLDER.public_key),
                       "verifiableCredential": [changed, vc]}, HOLDER, "2026-07-01T09:00:00Z",
                      purpose="authentication", challenge=CHALLENGE)
    both.write_text(json.dumps(shown), encoding="utf-8")
    one = ["--node", nodes.fresh, "--genesis", str(nodes.genesis), "--challenge", CHALLENGE,
           "--json"]
    failing = await senim("verify", str(both), *one)
    assert failing.exit_code == 1, failing.output
    verdict = verdict_of(failing)
    assert [c["status"] for c in verdict["credentials"]] == ["tampered", "valid"], verdict
    passing = await senim("verify", str(nodes.genuine), *one)
    assert passing.exit_code == 0, passing.output
    assert set(verdict) == set(verdict_of(passing)), (sorted(verdict),
                                                      sorted(verdict_of(passing)))


@asynccontextmanager
async def status_saying(chain_id: object) -> AsyncIterator[str]:
    """A node whose /v1/status gives `chain_id`, and that has nothing else."""
    async def handle(request: web.Request) -> web.Response:
        if request.path == "/v1/status":
            return web.json_response({"chain_id": chain_id, "height": 3})
        return web.json_response({"error": "no such thing"}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_a_node_giving_no_chain_id_is_a_node_that_failed(nodes: VcNodes) -> None:
    """Without --genesis the chain id is the node's word: an empty one had the VC checked
    against no chain (VALID, "chain not checked", of a revoked VC, exit 0 alone), and 5 or
    ["x"] became verdicts. Each is a malformed answer, as for a native credential."""
    for chain_id in ("", None, 5, ["x"], "x" * 65):
        async with status_saying(chain_id) as liar:
            beside = await senim("verify", str(nodes.revoked), *given(liar, nodes.fresh))
            assert beside.exit_code == 1, beside.output
            assert beside.output.startswith("REVOKED"), beside.output
            assert f"{liar} gave no answer and was left out: the node sent a record that does " \
                "not decode: its status gives the chain id" in beside.output, beside.output
            listed = await senim("verify", str(nodes.revoked), *given(liar, nodes.fresh),
                                 "--json")
            assert [(n["node"], n["answered"]) for n in verdict_of(listed)["nodes"]] == [
                (liar, False), (nodes.fresh, True)], listed.output
            alone = await senim("verify", str(nodes.revoked), "--node", liar)
            assert alone.exit_code == 3, (chain_id, alone.output)


async def test_the_nodes_not_asked_of_a_vc_no_chain_records_are_said(
        nodes: VcNodes, tmp_path: Path) -> None:
    """A VC with no Senim section asks no chain: the nodes given are said not asked, in
    every language and in --json, not dropped unsaid."""
    foreign = tmp_path / "foreign.vc.json"
    foreign.write_text(json.dumps(add_proof(
        {"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
         "issuer": did_key(HOLDER.public_key), "credentialSubject": {"id": "did:example:s"}},
        HOLDER, "2026-07-01T09:00:00Z")), encoding="utf-8")
    both = given(nodes.fresh, nodes.lagging)
    for language in ("en", "kk", "ru"):
        said = await senim("verify", str(foreign), *both, "--lang", language)
        assert said.exit_code == 1, said.output
        assert Words(language).t("cli.nodes.not_asked",
                                 nodes=f"{nodes.fresh}, {nodes.lagging}") in said.output, \
            said.output
    listed = verdict_of(await senim("verify", str(foreign), *both, "--json"))
    assert listed["status"] == "unconfirmed"
    assert listed["nodes_not_asked"] == [nodes.fresh, nodes.lagging]
    shown = tmp_path / "foreign.vp.json"
    shown.write_text(json.dumps(presentation(json.loads(foreign.read_text()))))
    held = await senim("verify", str(shown), *both, "--challenge", CHALLENGE)
    assert held.exit_code == 1, held.output
    assert Words("en").t("cli.nodes.not_asked", nodes=f"{nodes.fresh}, {nodes.lagging}") \
        in held.output, held.output
    alone = verdict_of(await senim("verify", str(foreign), "--node", nodes.fresh, "--json"))
    # one node given: no line and no nodes_not_asked, as with the default node
    assert "nodes_not_asked" not in alone


async def test_each_document_is_canonicalised_once_however_many_nodes(
        nodes: VcNodes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The presentation's signature and its credential's are the same from every node:
    asked of three nodes, each is canonicalised as often as asked of one (it was three
    times as often, on threads that raced in PyLD's shared caches)."""
    real = ledger.vc.canon_pyld.normalize
    calls: list[str] = []

    def counted(document: Mapping[str, Any], loader: Any, processed: Any) -> str:
        calls.append(json.dumps(document))
        return real(document, loader, processed)

    monkeypatch.setattr(ledger.vc.canon_pyld, "normalize", counted)
    counts = []
    for asked in ([nodes.fresh], [nodes.fresh, nodes.lagging, nodes.fresh + "/"]):
        calls.clear()
        checked = await senim("verify", str(nodes.revoked_shown), *given(*asked),
                              "--genesis", str(nodes.genesis), "--challenge", CHALLENGE)
        assert checked.exit_code == 1, checked.output
        assert len(set(calls)) == len(calls)
        counts.append(len(calls))
    assert counts[0] == counts[1] > 0
