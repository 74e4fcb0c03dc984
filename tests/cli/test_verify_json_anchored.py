"""A JSON file anchored as it is, whose top level happens to have a "format" key of its
own (a registrar's export), is looked up as an anchored document: only a format naming a
Senim credential makes a file one (cli.verify_files.is_credential). It was taken for a
credential, failed the credential's own checks and was MALFORMED, "nothing a node or a
proof could say would change that", though the chain recorded it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import Result

from ledger.anchor_verification import document_hash
from ledger.payloads import AnchorPayload
from storage.kv import MemoryStore
from tests.cli.test_verify_document_first import senim
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import commit, make_consortium, make_tx
from tests.node.engine_node import running_engine

EXPORT = {"format": "registry-export/2", "rows": [["A", "3.41"]]}


async def test_an_anchored_json_file_with_a_format_key_is_found_on_chain(
        tmp_path: Path) -> None:
    net = make_consortium()
    core = api_core(net.ministry, net.genesis, MemoryStore())
    export, unanchored = tmp_path / "export.json", tmp_path / "other-export.json"
    export.write_text(json.dumps(EXPORT))
    unanchored.write_text(json.dumps({**EXPORT, "rows": [["B", "2.10"]]}))
    commit(core.chain, [make_tx(net.university,
                                AnchorPayload(document_hash(export.read_bytes())))])

    def verified(path: Path) -> Result:
        return senim("verify", str(path), "--node", url, "--json")

    loop = asyncio.get_running_loop()
    async with running_engine(core), serving_url(core) as url:
        found = await loop.run_in_executor(None, verified, export)
        absent = await loop.run_in_executor(None, verified, unanchored)
    assert found.exit_code == 0, found.output
    assert json.loads(found.output)["status"] == "valid", found.output
    # one the chain does not record is no record, not a credential "cut short or damaged"
    assert absent.exit_code == 1, absent.output
    assert json.loads(absent.output)["status"] == "unknown", absent.output
