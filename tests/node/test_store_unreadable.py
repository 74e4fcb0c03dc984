"""A read the system refuses the node's user while the node serves (an operator's chmod or
chown of a table file, files another user owns) is no damage: the API answered it 503
`store_damaged`, telling callers the data was damaged, and logged it once a request. It is
503 `store_unreadable`, whose sentence names the files' owner or mode, and the node's log
says so once a file (again after RETOLD_AFTER_S while it lasts, at most TOLD_MAX files a
window); a read LevelDB finds corrupt is still `store_damaged`."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import plyvel
import pytest

from node.store_refusals import RETOLD_AFTER_S, TOLD_MAX, UnreadableStoreLog
from storage.errors import AccessRefused
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


async def test_a_refusal_is_said_again_for_another_file_and_once_the_files_were_fixed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """It was said once a process, whatever followed: a second file refused, or the same
    one refused again after the operator had fixed it, was never in the log."""
    net = make_consortium()
    folder = tmp_path / "chain.ldb"
    kv = LevelDBStore(str(folder))
    core = api_core(net.ministry, net.genesis, kv)
    commit(core.chain, [])
    real = kv._db
    one, other = (f"IO error: {folder}/{name}: Permission denied".encode()
                  for name in ("000005.ldb", "000007.ldb"))
    try:
        with caplog.at_level(logging.INFO):
            async with serving(core) as client:
                for refusal in (one, one, other, other, None, one):
                    kv._db = real if refusal is None else ReadsRefused(real, refusal)
                    answer = await client.get("/v1/blocks/1")
                    assert answer.status == (200 if refusal is None else 503)
    finally:
        kv._db = real
        kv.close()
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 4, said
    assert "000005.ldb" in said[0] and "000007.ldb" in said[1], said
    assert said[2] == ("answering GET /v1/blocks/1 again: the node's files are readable "
                       "again"), said
    assert said[3].startswith("not answering GET /v1/blocks/1") and "000005.ldb" in said[3]


async def test_a_request_refused_before_it_reads_is_no_sign_the_files_were_fixed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Any answer under 500 was taken for the files readable again: a 400 the request's
    own query earns before it reads (or a 429) said them fixed, and the refusal anew."""
    net = make_consortium()
    folder = tmp_path / "chain.ldb"
    kv = LevelDBStore(str(folder))
    core = api_core(net.ministry, net.genesis, kv)
    commit(core.chain, [])
    real = kv._db
    kv._db = ReadsRefused(real, _refusal(folder, errno.EACCES))
    try:
        with caplog.at_level(logging.INFO):
            async with serving(core) as client:
                statuses = [(await client.get(path)).status for path in (
                    "/v1/blocks/1", "/v1/blocks/1?format=raw&format=json", "/v1/blocks/1")]
    finally:
        kv._db = real
        kv.close()
    assert statuses == [503, 400, 503], statuses
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1 and said[0].startswith("not answering GET /v1/blocks/1"), said


def test_a_refusal_that_lasts_is_said_again_every_ten_minutes(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    told = UnreadableStoreLog(clock=lambda: now[0])
    refusal = AccessRefused("the system refuses this user a read of the chain database")
    with caplog.at_level(logging.INFO):
        for step_s in (0.0, 1.0, RETOLD_AFTER_S - 2.0, 1.0, 1.0):
            now[0] += step_s
            told.refused("GET", "/v1/members", refusal)
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(said) == 2, said  # at 1000 and at 1000 + RETOLD_AFTER_S
    assert RETOLD_AFTER_S == 600.0


def test_the_refusals_remembered_are_bounded() -> None:
    told = UnreadableStoreLog()
    for number in range(TOLD_MAX * 3):
        told.refused("GET", f"/v1/blocks/{number}", AccessRefused(f"file {number}"))
    assert len(told._told) == TOLD_MAX and len(told._refused) == TOLD_MAX


def test_files_refused_by_the_hundred_are_said_in_at_most_told_max_lines_and_one_more(
        caplog: pytest.LogCaptureFixture) -> None:
    # An operator's chown -R of a store of thousands of tables: past TOLD_MAX files, each
    # request read a file forgotten since, and was a line again.
    now = [1000.0]
    told = UnreadableStoreLog(clock=lambda: now[0])
    with caplog.at_level(logging.INFO):
        for _ in range(2):
            for number in range(TOLD_MAX + 1):
                now[0] += 0.01
                told.refused("GET", f"/v1/blocks/{number}", AccessRefused(f"file {number}"))
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(said) == TOLD_MAX + 1, len(said)
    assert f"more than {TOLD_MAX} of the node's files" in said[-1], said[-1]
    assert len(told._told) == TOLD_MAX
    # A window later, the files still refused are said again, as few
    now[0] += RETOLD_AFTER_S
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for number in range(TOLD_MAX + 1):
            told.refused("GET", f"/v1/blocks/{number}", AccessRefused(f"file {number}"))
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(said) == TOLD_MAX + 1, len(said)
    # the last file's refusal not said a window ago, and this one
    assert "(refusals not said since this line last was: 2;" in said[-1], said[-1]
