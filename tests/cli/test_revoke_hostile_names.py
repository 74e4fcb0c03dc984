"""`senim governance revoke` names the retired issuer and each file on lines of its own:
a name on chain holding terminal escapes or a direction override is shown as U+FFFD
there too, as everywhere else (its dry run and per-file lines printed them as they were)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner, Result

from cli.main import main
from ledger.genesis import Genesis, GenesisMember
from node.files import save_key
from storage.kv import MemoryStore
from tests.cli.test_consortium_revocation_cli import kaznu_retired
from tests.node.api_server import api_core, serving
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS, documents_of, keys_from
from tests.node.engine_node import running_engine

HOSTILE = "Kaz\x1b[2J\x1b[31mNU\u202e"


def genesis() -> Genesis:
    return Genesis(CHAIN_ID, GENESIS_TIME_MS, (
        GenesisMember("Ministry of Science", "ministry", keys_from("ministry").public_key, True),
        GenesisMember("Ministry of Education", "ministry", keys_from("ministry2").public_key,
                      False),
        GenesisMember("Ministry of Justice", "ministry", keys_from("ministry3").public_key,
                      False),
        GenesisMember(HOSTILE, "university", keys_from("kaznu").public_key, False),
        GenesisMember("KBTU", "university", keys_from("kbtu").public_key, False)), None, 4)


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
