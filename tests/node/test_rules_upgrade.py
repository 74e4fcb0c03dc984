"""A node whose release does not know the rules version of the next block stops before it:
one ERROR line naming the version, the height and the upgrade, no traceback, nothing
written; started again by a release that knows the version, it goes on from there.

The real engine on its thread (a lone validator commits alone, `tests/node/engine_node`),
and `node.daemon`'s start and exit code.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import ledger.rules_version as rules_version
from ledger.errors import RulesVersionUnknown
from ledger.genesis import Genesis, GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload, ProposePayload, RulesVersionAction
from ledger.rules_version import MAX_KNOWN_RULES_VERSION
from ledger.transactions import Transaction
from node import daemon
from node.config import NodeConfig, load_config
from node.files import load_genesis, load_key
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from node.store_failures import EXIT_UPGRADE_NEEDED, StoppedForUpgrade
from storage.kv import LevelDBStore
from tests.node.api_server import api_core
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS, commit, keys_from, make_tx
from tests.node.engine_node import engine_on_thread, running_engine
from tests.node.test_engine_thread import wait_until
from tests.node.test_refused_start import node_folder

UNKNOWN = MAX_KNOWN_RULES_VERSION + 1
EFFECTIVE = 5  # approved when proposed (one ministry: a threshold of one)
WAIT_S = 20.0


def _genesis(ministry: KeyPair) -> Genesis:
    return current_rules_genesis(CHAIN_ID, GENESIS_TIME_MS, (
        GenesisMember("Ministry of Science", "ministry", ministry.public_key, True),))


def _schedule(ministry: KeyPair, version: int, effective: int,
              chain_id: str = CHAIN_ID) -> Transaction:
    return make_tx(ministry, ProposePayload(RulesVersionAction(version), effective,
                                            effective - 2), chain_id=chain_id)


def _anchor(ministry: KeyPair, n: int) -> Transaction:
    return make_tx(ministry, AnchorPayload(bytes([n]) * 32))


async def _committed(core: NodeCore, tx: Transaction) -> int:
    [(_, refusal)] = await core.submit([tx.encode()])
    assert refusal is None, refusal
    status = await core.wait_for(tx.tx_id, WAIT_S)
    assert status.status == "committed" and status.height is not None, status
    return status.height


async def test_the_engine_stops_before_the_block_and_goes_on_once_upgraded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    ministry = keys_from("ministry")
    genesis = _genesis(ministry)
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    try:
        core = api_core(ministry, genesis, kv)
        with caplog.at_level(logging.INFO):
            async with engine_on_thread(core) as (_, thread):
                # (after the genesis time, long past, the first block is an empty one)
                assert await _committed(core, _schedule(ministry, UNKNOWN, EFFECTIVE)) <= 3
                while core.chain.height < EFFECTIVE - 1:
                    await _committed(core, _anchor(ministry, core.chain.height))
                [(_, refusal)] = await core.submit([_anchor(ministry, EFFECTIVE).encode()])
                assert refusal is None  # admitted: the block that would hold it is not made
                await wait_until(lambda: thread.failure is not None, "the engine to stop")
        failure = thread.failure
        assert isinstance(failure, RulesVersionUnknown), failure
        assert (failure.version, failure.height) == (UNKNOWN, EFFECTIVE)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert [r.getMessage() for r in errors] == [
            f"stopping the node before block {EFFECTIVE}: the chain's ledger rules are "
            f"version {UNKNOWN} from block {EFFECTIVE}, which this release does not know "
            f"(it knows versions up to {MAX_KNOWN_RULES_VERSION}): upgrade senim to a "
            f"release that knows rules version {UNKNOWN}, then start the node again; "
            f"nothing is damaged, and it goes on from block {EFFECTIVE}"]
        assert errors[0].exc_info is None  # no traceback: it is no bug
        assert core.chain.height == EFFECTIVE - 1

        # the same store, opened by a release that knows the version
        monkeypatch.setattr(rules_version, "MAX_KNOWN_RULES_VERSION", UNKNOWN)
        upgraded = api_core(ministry, genesis, kv)  # checks the store's recent blocks
        assert upgraded.chain.height == EFFECTIVE - 1
        async with running_engine(upgraded):
            assert await _committed(upgraded, _anchor(ministry, 99)) == EFFECTIVE
    finally:
        kv.close()


async def test_a_node_asked_for_nothing_stops_once_the_next_block_needs_an_upgrade(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # On a 5-validator loopback network scheduling rules version 3 from block 144, the two
    # nodes asked to build or judge block 144 stopped; the others (a follower among them)
    # stayed at block 143, running, with no quorum left to propose 144: stalled, not stopped
    # for the upgrade their start would refuse. Nothing is submitted here after the block
    # before: the engine stops without being asked for the next one (an idle lone validator
    # would make an empty block only after a minute, past this wait).
    ministry = keys_from("ministry")
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    try:
        core = api_core(ministry, _genesis(ministry), kv)
        with caplog.at_level(logging.INFO):
            async with engine_on_thread(core) as (_, thread):
                assert await _committed(core, _schedule(ministry, UNKNOWN, EFFECTIVE)) <= 3
                while core.chain.height < EFFECTIVE - 1:
                    await _committed(core, _anchor(ministry, core.chain.height))
                await wait_until(lambda: thread.failure is not None, "the engine to stop")
        failure = thread.failure
        assert isinstance(failure, RulesVersionUnknown), failure
        assert (failure.version, failure.height) == (UNKNOWN, EFFECTIVE)
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].startswith(
            f"stopping the node before block {EFFECTIVE}: "), errors
        assert core.chain.height == EFFECTIVE - 1
    finally:
        kv.close()


# ---- the daemon ---------------------------------------------------------------------------

def _no_own_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    # the node's own handler would replace the one the test reads the log from
    monkeypatch.setattr(daemon, "setup_logging", lambda *args: None)


def test_a_node_that_stopped_for_an_upgrade_exits_with_its_code_and_no_second_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")

    async def serve(config: NodeConfig) -> None:  # the engine thread said it already
        raise StoppedForUpgrade(str(RulesVersionUnknown(UNKNOWN, EFFECTIVE,
                                                        MAX_KNOWN_RULES_VERSION)))

    monkeypatch.setattr(daemon, "serve", serve)
    _no_own_logging(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="senim.daemon"):
        assert daemon.run(config) == EXIT_UPGRADE_NEEDED
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_node_whose_next_block_needs_an_upgrade_does_not_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Stopped before block 5 and started again by the same release: one line at once,
    rather than a node that serves, then stops when the next block comes."""
    config_path = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    config = load_config(config_path)
    keys = load_key(config.key_file)
    config.data_dir.mkdir(mode=0o700)
    kv = LevelDBStore(str(config.data_dir / "chain.ldb"))
    try:
        core = NodeCore(keys, load_genesis(config.genesis_file), kv,
                        MempoolLimits(10, 1 << 20, 10), NodeMetrics())
        commit(core.chain, [_schedule(keys, UNKNOWN, EFFECTIVE, core.chain_id)],
               proposer=keys)  # block 1
        while core.chain.height < EFFECTIVE - 1:
            commit(core.chain, [], proposer=keys)
        core.worker.shutdown(wait=True)
    finally:
        kv.close()
    _no_own_logging(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="senim.daemon"):
        assert daemon.run(config_path) == EXIT_UPGRADE_NEEDED
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith(
        f"cannot start: the chain's ledger rules are version {UNKNOWN} from block "
        f"{EFFECTIVE}"), errors
    assert "upgrade senim" in errors[0]
