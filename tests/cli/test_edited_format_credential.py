"""A diploma whose "format" was edited to another string is still a credential: it holds
every key of one (cli.verify_files.CREDENTIAL_KEYS), and fails its own checks, MALFORMED.
Since only the format made a JSON object a credential, such a diploma was looked up by its
bytes as an anchored document, and anyone who anchored those bytes had it said VALID,
"recorded by" their member."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from ledger.anchor_verification import document_hash
from ledger.payloads import AnchorPayload
from storage.kv import MemoryStore
from tests.cli.test_verify_document_first import (
    altered,
    diploma,
    down,
    genesis_file,
    senim,
    written,
)
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import commit, make_consortium, make_tx
from tests.node.engine_node import running_engine

EDITED_FORMATS = ("x", "SENIM-CREDENTIAL/1", " senim-credential/1", None)


def edited(new_format: str | None) -> dict[str, Any]:
    document = altered(diploma())
    if new_format is None:
        del document["format"]
    else:
        document["format"] = new_format
    return document


def said_malformed(result: Result) -> None:
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["status"] == "malformed", result.output


@pytest.mark.parametrize("new_format", EDITED_FORMATS)
async def test_an_anchored_diploma_with_an_edited_format_is_not_valid(
        tmp_path: Path, new_format: str | None) -> None:
    net = make_consortium()
    core = api_core(net.ministry, net.genesis, MemoryStore())
    path = written(tmp_path, "diploma.json", edited(new_format))
    commit(core.chain, [make_tx(net.university,
                                AnchorPayload(document_hash(path.read_bytes())))])
    loop = asyncio.get_running_loop()
    async with running_engine(core), serving_url(core) as url:
        checked = await loop.run_in_executor(
            None, senim, "verify", str(path), "--node", url, "--json")
    said_malformed(checked)


@pytest.mark.parametrize("new_format", EDITED_FORMATS)
def test_a_diploma_with_an_edited_format_is_malformed_offline_and_with_its_node_down(
        tmp_path: Path, new_format: str | None) -> None:
    path = written(tmp_path, "diploma.json", edited(new_format))
    said_malformed(senim("verify", str(path), "--offline", "--genesis",
                         str(genesis_file(tmp_path)), "--json"))
    said_malformed(senim("verify", str(path), "--node", down(), "--json"))
