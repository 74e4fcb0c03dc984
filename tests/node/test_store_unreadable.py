"""A read the system refuses the node's user while the node serves (an operator's chmod or
chown of a table file, files another user owns) is no damage: the API answered it 503
`store_damaged`, telling callers the data was damaged, and logged it once a request. It is
503 `store_unreadable`, whose sentence names the files' owner or mode, and the node's log
says so once; a read LevelDB finds corrupt is still `store_damaged`."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import plyvel
import pytest

from storage.kv import LevelDBStore
from tests.node.api_server import api_core, serving
from tests.node.conftest import commit, make_consortium
from tests.storage.refused_reads import ReadsRefused

READS = ("/v1/blocks/1", "/v1/blocks/2", "/v1/members")


def _refusal(folder: Path, code: int) -> bytes:
    return f"IO error: {folder}/000005.ldb: {os.strerror(code)}".encode()


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM])
async def test_a_read_refused_for_permission_is_store_unreadable_and_said_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, code: int) -> None:
    net = make_consortium()
    folder = tmp_path / "chain.ldb"
    kv = LevelDBStore(str(folder))
    core = api_core(net.ministry, net.genesis, kv)
    commit(core.chain, [])
    commit(core.chain, [])
    real = kv._db
    kv._db = ReadsRefused(real, _refusal(folder, code))
    try:
        with caplog.at_level(logging.INFO):
            async with serving(core) as client:
                answers = []
                for path in READS:
                    answer = await client.get(path)
                    answers.append((answer.status, (await answer.json())["error"]))
                metrics = await (await client.get("/metrics")).text()
    finally:
        kv._db = real
        kv.close()
    for status, error in answers:
        assert (status, error["code"]) == (503, "store_unreadable"), answers
        assert "not readable by the node's user" in error["message"], error
        assert "damaged" not in error["message"].replace("nothing is damaged", ""), error
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1, said
    assert said[0].startswith(f"not answering GET {READS[0]}, "), said
    assert (f"the system refuses this user a read of the chain database: IO error: "
            f"{folder}/000005.ldb: {os.strerror(code)}; nothing is damaged: the node's files "
            "are not readable by the node's user: fix their owner or mode") in said[0], said
    assert f"senim_store_unreadable_total {len(READS)}.0" in metrics
    assert "senim_store_damage_total 0.0" in metrics


async def test_a_read_leveldb_finds_corrupt_is_still_damage(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    net = make_consortium()
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = api_core(net.ministry, net.genesis, kv)
    commit(core.chain, [])
    real = kv._db
    kv._db = ReadsRefused(real, b"Corruption: block checksum mismatch",
                          plyvel.CorruptionError)
    try:
        async with serving(core) as client:
            answer = await client.get("/v1/blocks/1")
            body = await answer.json()
    finally:
        kv._db = real
        kv.close()
    assert (answer.status, body["error"]["code"]) == (503, "store_damaged"), body
