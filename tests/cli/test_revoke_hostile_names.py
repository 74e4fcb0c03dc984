"""`senim governance revoke` names the retired issuer and each file on lines of its own:
a name on chain holding terminal escapes or a direction override is shown as U+FFFD
there too, as everywhere else (its dry run and per-file lines printed them as they were)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner, Result

from cli.main import main
from ledger.genesis import Genesis
from node.files import save_key
from storage.kv import MemoryStore
from tests.cli.test_consortium_revocation_cli import consortium_genesis, kaznu_retired
from tests.node.api_server import api_core, serving
from tests.node.conftest import documents_of, keys_from
from tests.node.engine_node import running_engine

HOSTILE = "Kaz\x1b[2J\x1b[31mNU\u202e"


def genesis() -> Genesis:
    """The revocation tests' consortium, KazNU named as a hostile node could name it."""
    base = consortium_genesis(4)
    return dataclasses.replace(base, members=tuple(
        dataclasses.replace(m, name=HOSTILE) if m.name == "KazNU" else m
        for m in base.members))


async def test_a_hostile_issuer_name_reaches_no_terminal(tmp_path: Path) -> None:
    core = api_core(keys_from("ministry"), genesis(), MemoryStore())
    kaznu, kbtu = kaznu_retired(core.chain, ["Aida", "Bolat"])
    files = []
    for number, document in enumerate((documents_of(kaznu)[0], documents_of(kbtu)[0])):
        path = tmp_path / f"c{number}.json"
        path.write_text(json.dumps(document))
        files.append(str(path))
    key = tmp_path / "ministry.key"
    save_key(key, keys_from("ministry"))
    async with running_engine(core), serving(core) as client:
        url = str(client.make_url("")).rstrip("/")

        def revoke(args: list[str]) -> Result:
            return CliRunner().invoke(main, ["governance", "revoke", "--key", str(key), *args,
                                             "--reason", "fraud", "--node", url])

        loop = asyncio.get_running_loop()
        dry = await loop.run_in_executor(None, revoke, [files[0], "--dry-run"])
        mixed = await loop.run_in_executor(None, revoke, [*files, "--dry-run"])
    for result in (dry, mixed):
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "\x1b" not in result.output and "\u202e" not in result.output, result.output
    assert "Would revoke 1 credential(s) of Kaz\ufffd[2J\ufffd[31mNU\ufffd" in dry.output
