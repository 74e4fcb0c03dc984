"""`senim verify` without --genesis takes the node's word for the state, and says so; a
node whose records decode but hold values of the wrong kind must still get one error
line and exit 3, not a traceback (tests/node/test_hostile_node.py has the world)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from cli.main import main
from ledger.codec import encode
from ledger.records import Batch, Member, Revocation, batch_key, member_key, revocation_key
from tests.node import test_hostile_node
from tests.node.test_hostile_node import Lie, World, answer_from, forged_state, hostile

world = test_hostile_node.world  # the fixture, both chains
TOO_LATE_MS = 2**62  # no calendar has this year


def _odd_records(world: World) -> dict[str, dict[bytes, bytes | None]]:
    document = world.documents[0]
    issuer = world.net.university.member_id
    root, target = (bytes.fromhex(document["batch"]["root"]),
                    bytes.fromhex(document["target_hash"]))
    batch = Batch.decode(world.core.chain.state.get(batch_key(issuer, root)) or b"")
    revocation = Revocation.decode(
        world.core.chain.state.get(revocation_key(issuer, root, target)) or b"")
    replaced_by_numbers = encode([revocation.batch_root, "withdrawn_by_issuer",
                                  revocation.height, revocation.time_ms, revocation.revoked_by,
                                  None, [1, 2]])
    return {
        "a batch issued in no calendar's year": {
            batch_key(issuer, root): dataclasses.replace(batch, time_ms=TOO_LATE_MS).encode()},
        "a replacement named by numbers": {
            revocation_key(issuer, root, target): replaced_by_numbers},
    }


@pytest.mark.parametrize("which", ["a batch issued in no calendar's year",
                                   "a replacement named by numbers"])
async def test_odd_records_on_the_nodes_word_are_one_error_line(
        world: World, tmp_path: Path, which: str) -> None:
    server, url = await hostile(world, answer_from(*forged_state(world, _odd_records(world)[
        which])))
    path = tmp_path / "diploma.json"
    path.write_text(json.dumps(world.documents[0]))
    try:
        result = await asyncio.get_running_loop().run_in_executor(
            None, lambda: CliRunner().invoke(main, ["verify", str(path), "--node", url]))
    finally:
        await server.close()
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == 3, result.output
    assert result.output.startswith("error: the node sent a record"), result.output


async def _verify_through(world: World, tmp_path: Path, lie: Lie, *args: str) -> Result:
    server, url = await hostile(world, lie)
    path = tmp_path / "diploma.json"
    path.write_text(json.dumps(world.documents[1]))
    try:
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: CliRunner().invoke(main, ["verify", str(path), "--node", url, *args]))
    finally:
        await server.close()


def _state_answers_with(**changed: object) -> Lie:
    """A node answering every state question with `changed` fields in place of its own."""
    async def lie(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if not request.path.startswith("/v1/state/"):
            return None
        return web.json_response({**json.loads(body), **changed})
    return lie


@pytest.mark.parametrize("with_genesis", [False, True])
async def test_a_state_proof_that_is_no_proof_is_one_error_line(
        world: World, tmp_path: Path, with_genesis: bool) -> None:
    # MalformedProofError is no ValueError: it ended in a traceback, exit 1.
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(world.net.genesis.to_json()))
    result = await _verify_through(world, tmp_path, _state_answers_with(proof={}),
                                   *(["--genesis", str(genesis)] if with_genesis else []))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == 3 and "malformed state answer" in result.output, result.output


async def test_a_block_time_past_every_calendar_is_one_error_line(
        world: World, tmp_path: Path) -> None:
    # The issuer retired (on the node's word), the block it retired at dated 10**20 ms:
    # datetime raised OSError, which no handler named.
    issuer = world.net.university.member_id
    member = Member.decode(world.core.chain.state.get(member_key(issuer)) or b"")
    retired = dataclasses.replace(member, retired_height=world.core.chain.height)
    state = answer_from(*forged_state(world, {member_key(issuer): retired.encode()}))

    async def lie(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.path.startswith("/v1/blocks/"):
            return web.json_response({**json.loads(body), "time_ms": 10**20})
        return await state(request, body)

    result = await _verify_through(world, tmp_path, lie)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    # a block that does not decode is an answer not to trust, as any other is
    assert result.exit_code == 1, result.output
    assert result.output.startswith("UNTRUSTED: ") and "block time 100000000000000000000 ms " \
        "is no time a calendar shows" in result.output, result.output


@pytest.mark.parametrize("lang, said", [
    ("en", "sent a proof that does not agree with its answer: do not trust this node"),
    ("ru", "прислал доказательство, которое не сходится с его ответом: не доверяйте этому"),
    ("kk", "жіберген дәлел оның жауабымен сәйкес келмейді: бұл түйінге сенбеңіз")])
async def test_a_node_whose_proof_belies_its_answer_is_untrusted_in_every_language(
        world: World, tmp_path: Path, lang: str, said: str) -> None:
    # In kk and ru it was "the node could not be asked: it is down or answers otherwise
    # than a Senim node does", as if it had never answered.
    # a node hiding each record it holds (a revocation, say) behind the proof of it
    result = await _verify_through(world, tmp_path, _state_answers_with(value=None),
                                   "--lang", lang)
    assert result.exit_code != 0 and said in result.output, result.output
    assert "Traceback" not in result.output
    assert "genesis" not in result.output.split("\n")[0]  # none was given: not what it saw


@pytest.mark.parametrize("status, body, lang, said, not_said", [
    (503, {"error": {"code": "busy", "message": "retry shortly"}}, "ru", "узел занят",
     "проверьте, что --node"),
    (503, {"error": {"code": "busy", "message": "retry shortly"}}, "en",
     "the node is busy; try again in a moment", "--node"),
    (429, None, "kk", "түйін қазір бос емес", "--node"),
    (500, None, "ru", "ответил ошибкой HTTP 500", "--node"),
    (404, None, "en", "check that --node is a Senim node's base address", "busy")])
async def test_an_error_answer_is_said_as_what_it_is(
        world: World, tmp_path: Path, status: int, body: object, lang: str, said: str,
        not_said: str) -> None:
    """A busy node's 503 told kk and ru readers to fix their --node address, when they
    should only ask again shortly; only a status of no route says so now."""
    async def lie(request: web.Request, _body: bytes) -> web.StreamResponse | None:
        if not request.path.startswith("/v1/state/"):
            return None
        return (web.json_response(body, status=status) if body is not None
                else web.Response(status=status, text="oops"))

    result = await _verify_through(world, tmp_path, lie, "--lang", lang)
    assert result.exit_code == 3, result.output
    assert said in result.output and not_said not in result.output, result.output


@pytest.mark.parametrize("changed, with_genesis", [
    ({"height": -5}, True), ({"height": 10**30}, True), ({"height": True}, False),
    ({"height": 1.5}, False), ({"height": "9" * 5000}, False), ({"state_root": 5}, False)])
async def test_a_state_answer_of_no_shape_is_one_sentence_without_pythons_words(
        world: World, tmp_path: Path, changed: dict[str, object], with_genesis: bool) -> None:
    """A height of True or 1.5 was taken as 1 (no --genesis); -5 asked the node for block
    -5 and said its HTTP 400 as a wrong --node address; kk and ru sentences held Python's
    own words ("fromhex() argument must be str, not int")."""
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(world.net.genesis.to_json()))
    args = ["--genesis", str(genesis)] if with_genesis else []
    for lang, said in (("ru", "прислал ответ неверного формата о состоянии цепочки: это узел "
                              "Senim?"),
                       ("en", "sent a malformed state answer")):
        result = await _verify_through(world, tmp_path, _state_answers_with(**changed),
                                       *args, "--lang", lang)
        assert result.exit_code == 3 and said in result.output, result.output
        assert "--node" not in result.output, result.output  # not the address's fault
        assert lang == "en" or "fromhex" not in result.output, result.output  # English
        # keeps the technical detail in brackets, as its other sentences do


async def test_a_node_answering_as_of_a_block_it_has_not_is_untrusted(
        world: World, tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(world.net.genesis.to_json()))
    result = await _verify_through(world, tmp_path, _state_answers_with(height=10**6),
                                   "--genesis", str(genesis))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("UNTRUSTED: ") and "block 1000000, which it then says " \
        "it does not hold" in result.output, result.output
