"""`senim verify VC.json --genesis` against a node that lies: a W3C VC is held to the
same light-client checks as a native credential (tests/node/test_hostile_node.py has
the world and the liar)."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from pathlib import Path

from aiohttp import web
from click.testing import CliRunner, Result

from cli.language import Words
from cli.main import main
from ledger.identity import KeyPair
from ledger.records import revocation_key
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.export import STATUS_PATH, to_vc
from ledger.vc.proofs import add_proof
from tests.node import test_hostile_node
from tests.node.test_hostile_node import World, answer_from, forged_state, hostile

world = test_hostile_node.world  # the fixture, both chains

BATCH_HEIGHT = 2


async def proof_belies_answer(request: web.Request, body: bytes) -> web.StreamResponse | None:
    """A liar's state answers: every key said to hold nothing, beside the honest proof that
    it holds something."""
    if not request.path.startswith("/v1/state/"):
        return None
    return web.json_response({**json.loads(body), "value": None})


async def _verify_vc(world: World, index: int, url: str, tmp_path: Path, *args: str) -> Result:
    """`senim verify` on the VC of document `index`, asking the node at `url`."""
    vc = to_vc(world.documents[index], world.net.university, url, BATCH_HEIGHT,
               int(time.time() * 1000), int(time.time() * 1000))
    vc_path, genesis_path = tmp_path / f"vc-{index}.json", tmp_path / "genesis.json"
    vc_path.write_text(json.dumps(vc))
    genesis_path.write_text(json.dumps(world.net.genesis.to_json()))
    command = ["verify", str(vc_path), "--node", url, "--genesis", str(genesis_path), *args]
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: CliRunner().invoke(main, command))


async def test_a_hidden_revocation_in_a_vc_is_caught(world: World, tmp_path: Path) -> None:
    revoked = world.documents[0]
    key = revocation_key(world.net.university.member_id, bytes.fromhex(revoked["batch"]["root"]),
                         bytes.fromhex(revoked["target_hash"]))
    state_lie = answer_from(*forged_state(world, {key: None}))

    async def lie(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.path.startswith(STATUS_PATH):  # the list would tell: say there is none
            return web.json_response({"error": {"code": "not_found"}}, status=404)
        return await state_lie(request, body)

    server, url = await hostile(world, lie)
    try:
        result = await _verify_vc(world, 0, url, tmp_path)
    finally:
        await server.close()
    assert result.exit_code == 1, result.output
    assert result.output.startswith("UNTRUSTED: the node's answer cannot be trusted")
    # The lie changes nothing the VC shows alone, checked before any node was asked: its
    # signature holds, by the issuer it was checked against (cli.vc_verify.with_own_checks).
    signer = did_key(world.net.university.public_key)
    assert f"(W3C VC 2.0, issuer {signer})" in result.output, result.output
    assert any(line.lstrip().startswith("2. ✔ eddsa-rdfc-2022 signature by did:key:")
               for line in result.output.splitlines()), result.output


async def test_an_honest_answer_to_a_vc_says_who_certified_it_and_can_be_stale(
        world: World, tmp_path: Path) -> None:
    fresh = await _verify_vc(world, 1, world.honest_url, tmp_path, "--max-age", "3600")
    assert fresh.exit_code == 0, fresh.output
    assert f"block {world.core.chain.height}" in fresh.output
    assert "certified by the" in fresh.output
    stale = await _verify_vc(world, 1, world.honest_url, tmp_path, "--max-age", "0")
    assert stale.exit_code == 1 and stale.output.startswith("STALE: "), stale.output
    # a stale answer confirms no contents, as for the Senim document (they were listed)
    assert "Full name" not in stale.output and "Full name" in fresh.output, stale.output


async def test_a_vcs_node_whose_proof_belies_its_answer_is_said_as_that_lie(
        world: World, tmp_path: Path) -> None:
    """Without --genesis, kk and ru blamed a genesis file the officer never gave, and the
    failed check pointed to a reason "above" that was not there; the native credential
    said the lie as it is."""
    server, url = await hostile(world, proof_belies_answer)
    vc = to_vc(world.documents[1], world.net.university, url, BATCH_HEIGHT,
               int(time.time() * 1000), int(time.time() * 1000))
    vc_path = tmp_path / "vc.json"
    vc_path.write_text(json.dumps(vc))
    try:
        for lang, said in (
                ("kk", "жіберген дәлел оның жауабымен сәйкес келмейді: бұл түйінге сенбеңіз"),
                ("ru", "прислал доказательство, которое не сходится с его ответом"),
                ("en", "sent a proof that does not agree with its answer")):
            command = ["verify", str(vc_path), "--node", url, "--lang", lang]
            result = await asyncio.get_running_loop().run_in_executor(
                None, lambda: CliRunner().invoke(main, command))  # noqa: B023 (awaited here)
            assert result.exit_code == 1 and said in result.output, result.output
            assert "Http://" not in result.output, result.output  # a URL keeps its case
            headline = result.output.split("\n")[0].lower()  # none was given: not what it saw
            assert "genesis" not in headline and "генезис" not in headline, result.output
    finally:
        await server.close()


async def test_a_vc_signed_again_by_a_forger_is_said_as_a_forged_copy(
        world: World, tmp_path: Path) -> None:
    """The contents are the issuer's record; the did:key is a stranger's. kk and ru said
    "its contents no longer match what the issuer recorded", which they do."""
    forger = KeyPair.from_seed(b"\x09" * 32)
    vc = to_vc(world.documents[1], world.net.university, world.honest_url, BATCH_HEIGHT,
               int(time.time() * 1000), int(time.time() * 1000))
    vc.pop("proof")
    vc["issuer"]["id"] = did_key(forger.public_key)
    vc_path, genesis_path = tmp_path / "forged.json", tmp_path / "genesis.json"
    vc_path.write_text(json.dumps(add_proof(vc, forger, "2026-06-15T12:00:00Z")))
    genesis_path.write_text(json.dumps(world.net.genesis.to_json()))
    for lang, said in (("ru", "Поддельная копия: её содержание совпадает с записью"),
                       ("kk", "Жалған көшірме: мазмұны"),
                       ("en", "TAMPERED: the issuer's did:key is neither")):
        command = ["verify", str(vc_path), "--node", world.honest_url, "--genesis",
                   str(genesis_path), "--lang", lang]
        result = await asyncio.get_running_loop().run_in_executor(
            None, lambda: CliRunner().invoke(main, command))  # noqa: B023 (awaited here)
        assert result.exit_code == 1 and result.output.startswith(said), result.output
        # the failed check says so too, as the portal's catalogue lacks a sentence for it
        assert lang != "ru" or "эту копию подписал кто-то другой" in result.output


async def test_a_presentation_a_node_lies_about_blames_the_node_not_the_holder(
        world: World, tmp_path: Path) -> None:
    """A genuine presentation, signed for the officer's challenge, checked against a node
    whose proofs belie its answers: it read "This is not a readable W3C presentation, or it
    is not signed by its holder" in every language, naming no node, and the officer turned
    the graduate away. It is the node's answer that cannot be trusted, and that node is
    named: in the sentence when its proof gives it away, on the source line otherwise; and
    that the holder's signature and the challenge held (it said nothing of them)."""
    server, url = await hostile(world, proof_belies_answer)
    holder = KeyPair.from_seed(b"\x62" * 32)
    vc = to_vc(world.documents[1], world.net.university, url, BATCH_HEIGHT,
               int(time.time() * 1000), int(time.time() * 1000))
    vp = add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                    "holder": did_key(holder.public_key), "verifiableCredential": [vc]},
                   holder, "2026-07-01T09:00:00Z", purpose="authentication",
                   challenge="hr-0042")
    vp_path, genesis_path = tmp_path / "vp.json", tmp_path / "genesis.json"
    vp_path.write_text(json.dumps(vp))
    genesis_path.write_text(json.dumps(world.net.genesis.to_json()))
    try:
        for lang in ("kk", "ru", "en"):
            words = Words(lang)
            for genesis, said in (
                    ((), words.t("cli.status.untrusted_proof_false", node=url)),
                    (("--genesis", str(genesis_path)), words.t("cli.status.untrusted",
                                                                node=url))):
                command = ["verify", str(vp_path), "--node", url, "--challenge", "hr-0042",
                           "--lang", lang, *genesis]
                result = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: CliRunner().invoke(main, command))  # noqa: B023 (awaited)
                assert result.exit_code == 1, result.output
                assert result.output.startswith(said), (lang, genesis, result.output)
                # what the presentation's own checks found is said too: they held
                headline = result.output.splitlines()[0]
                assert url in headline, (lang, genesis, result.output)  # --genesis: it named none
                assert words.t("cli.vp.holder_signature_holds", signer=did_key(
                    holder.public_key)) in headline, (lang, genesis, result.output)
                assert words.t("vp.challenge_matched") in headline, result.output
                assert words.t("vp.malformed") not in result.output, result.output
                source = [line for line in result.output.splitlines()
                          if line.startswith(f"  {words.t('cli.source')}: ")]
                assert len(source) == 1 and url in source[0], (lang, genesis, result.output)
    finally:
        await server.close()


async def test_a_vc_whose_node_lies_to_a_genesis_file_names_that_node(
        world: World, tmp_path: Path) -> None:
    """A VC checked with --genesis against a node caught before any state was read (its
    proof of the validator-set index fails): no line named the node to distrust, where a
    native credential's source line does."""
    server, url = await hostile(world, proof_belies_answer)
    try:
        for lang in ("kk", "ru", "en"):
            result = await _verify_vc(world, 1, url, tmp_path, "--lang", lang)
            assert result.exit_code == 1, result.output
            source = f"  {Words(lang).t('cli.source')}: "
            assert any(line.startswith(source) and url in line
                       for line in result.output.splitlines()), (lang, result.output)
    finally:
        await server.close()


async def test_a_credential_altered_after_signing_is_said_whatever_the_node_lies(
        world: World, tmp_path: Path) -> None:
    """A presentation holding a credential whose GPA was changed after signing (its own
    signature fails: no node is needed to tell) and a genuine one, checked against a node
    that lies about the genuine one: it said only that the node's answer cannot be trusted,
    and the altered credential was never named. The altered one now heads the verdict, in
    either order; the lie is the genuine credential's own verdict, naming the node."""
    server, url = await hostile(world, proof_belies_answer)
    holder = KeyPair.from_seed(b"\x62" * 32)
    genuine = to_vc(world.documents[1], world.net.university, url, BATCH_HEIGHT,
                    int(time.time() * 1000), int(time.time() * 1000))
    altered = copy.deepcopy(genuine)
    altered["credentialSubject"]["fields"]["gpa"] = "4.00"
    genesis_path = tmp_path / "genesis.json"
    genesis_path.write_text(json.dumps(world.net.genesis.to_json()))
    try:
        for held in ([altered, genuine], [genuine, altered]):
            vp = add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                            "holder": did_key(holder.public_key), "verifiableCredential": held},
                           holder, "2026-07-01T09:00:00Z", purpose="authentication",
                           challenge="hr-0042")
            vp_path = tmp_path / "vp.json"
            vp_path.write_text(json.dumps(vp))
            for lang in ("kk", "ru", "en"):
                words = Words(lang)
                for genesis in ((), ("--genesis", str(genesis_path))):
                    command = ["verify", str(vp_path), "--node", url, "--challenge", "hr-0042",
                               "--lang", lang, *genesis]
                    result = await asyncio.get_running_loop().run_in_executor(
                        None, lambda: CliRunner().invoke(main, command))  # noqa: B023
                    said = (lang, genesis, result.output)
                    assert result.exit_code == 1, said
                    assert result.output.startswith(words.t(
                        "vp.credential_fails", signer=did_key(holder.public_key),
                        failed=2, count=2)), said
                    tampered = ("TAMPERED: " if lang == "en" else
                                words.t("status.tampered").split(":")[0])
                    assert tampered in result.output, said
                    lie = (words.t("cli.status.untrusted", node=url) if genesis else
                           words.t("cli.status.untrusted_proof_false", node=url))
                    assert ("UNTRUSTED: " if lang == "en" else lie) in result.output, said
                    assert url in result.output, said
    finally:
        await server.close()
