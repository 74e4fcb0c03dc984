"""Fixtures of the storage tests."""

from __future__ import annotations

import shutil

import pytest

from tests.node.conftest import make_consortium
from tests.storage.damaged_store import DAMAGED, Pristine, answers, build_store, open_like_node


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    net = make_consortium()
    root = tmp_path_factory.mktemp("damage")
    documents, revoked_key = build_store(root / "store", net)
    # Open a copy: opening rewrites LevelDB's files, and each case damages the originals.
    shutil.copytree(root / "store", root / "reference")
    kv, chain = open_like_node(root / "reference", net)
    try:
        keys = [key for key, _ in chain.state.iterate_items()]
        tx_ids = [tx.tx_id for height in range(1, chain.height + 1)
                  for tx in (chain.get_block(height) or pytest.fail()).transactions]
        reference = answers(chain, [*keys, b"never-written"], tx_ids, documents)
    finally:
        kv.close()
    assert DAMAGED not in reference.values()
    assert [reference[("verdict", 0)], reference[("verdict", 1)]] == ["revoked", "valid"]
    return Pristine(root / "store", net, documents, revoked_key, reference)
