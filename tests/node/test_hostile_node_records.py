"""`senim verify` without --genesis takes the node's word for the state, and says so; a
node whose records decode but hold values of the wrong kind must still get one error
line and exit 3, not a traceback (tests/node/test_hostile_node.py has the world)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.codec import encode
from ledger.records import Batch, Revocation, batch_key, revocation_key
from tests.node import test_hostile_node
from tests.node.test_hostile_node import World, answer_from, forged_state, hostile

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
