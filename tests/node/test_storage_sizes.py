"""[storage]: the memory a node's store may keep, set by its operator (a small machine
may need less than the defaults, a large state more), each key checked and named."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import plyvel
import pytest

from ledger.chain import Chain
from ledger.payloads import AnchorPayload
from node.chain_open import open_core
from node.config import NodeConfig, load_config, render_config
from storage.kv import LevelDBStore, MemoryStore
from storage.state_tree import STATE_NODES_CACHED_MAX
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.node_folders import write_lone_validator
from tests.node.test_config_genesis import GOOD, field_of, message_of, write


def test_the_defaults_are_the_stores_own(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.block_cache_mb << 20 == LevelDBStore.BLOCK_CACHE_BYTES
    assert config.write_buffer_mb << 20 == LevelDBStore.WRITE_BUFFER_BYTES
    assert config.state_nodes_cached == STATE_NODES_CACHED_MAX


def test_an_operator_sets_them(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD + "\n[storage]\nblock_cache_mb = 16\n"
                               "write_buffer_mb = 8\nstate_nodes_cached = 50000\n"))
    assert (config.block_cache_mb, config.write_buffer_mb, config.state_nodes_cached) == (
        16, 8, 50_000)


@pytest.mark.parametrize(("line", "field"), [
    ("block_cache_mb = 0", "storage.block_cache_mb"),
    ("block_cache_mb = 1e3", "storage.block_cache_mb"),
    ('write_buffer_mb = "32"', "storage.write_buffer_mb"),
    ("write_buffer_mb = 4096", "storage.write_buffer_mb"),
    ("state_nodes_cached = -1", "storage.state_nodes_cached"),
    ("state_nodes_cached = true", "storage.state_nodes_cached"),
    ("block_cache = 64", "storage.block_cache"),
])
def test_a_bad_size_is_refused_by_name(tmp_path: Path, line: str, field: str) -> None:
    assert field_of(tmp_path, GOOD + f"\n[storage]\n{line}\n") == field


def test_a_misspelt_size_names_the_key_meant(tmp_path: Path) -> None:
    message = message_of(tmp_path, GOOD + "\n[storage]\nblock_cache_mbs = 64\n")
    assert "did you mean 'block_cache_mb'" in message


def test_the_node_cache_keeps_at_most_what_the_operator_set(net: Consortium) -> None:
    capacity = 10_000
    chain = Chain(MemoryStore(), net.genesis, state_nodes_cached=capacity)
    for _ in range(4):  # ~1,500 entries a block: more nodes than the cache may hold
        commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))
                       for _ in range(1_500)])
    assert 0 < len(chain.state._nodes.cache) <= capacity


def test_a_node_opens_its_store_with_the_configured_sizes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[dict[str, Any]] = []
    open_leveldb = plyvel.DB

    def recorded(*args: Any, **options: Any) -> plyvel.DB:
        opened.append(options)
        return open_leveldb(*args, **options)

    monkeypatch.setattr(plyvel, "DB", recorded)  # storage.kv calls plyvel.DB
    write_lone_validator(tmp_path)
    (tmp_path / "node.toml").write_text(render_config(
        "n1", "node.key", "genesis.json", "data", "127.0.0.1:0", "127.0.0.1:0", [],
        overrides={"storage": {"state_nodes_cached": 20_000, "block_cache_mb": 16,
                               "write_buffer_mb": 8}}))
    config: NodeConfig = load_config(tmp_path / "node.toml")
    core, kv, _ = open_core(config)
    try:
        assert core.chain.state._nodes._capacity == 20_000
        assert [(o["lru_cache_size"], o["write_buffer_size"]) for o in opened] == [
            (16 << 20, 8 << 20)]
    finally:
        kv.close()
