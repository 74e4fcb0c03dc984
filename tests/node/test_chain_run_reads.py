"""What a run of synced blocks reads once, not once a block (`ledger.chain_run.ChainRun`):
the rules versions and its validator set's hash."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.chain import Chain
from ledger.rules_version import RULES_VERSION_KEY
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit_times
from tests.node.test_engine import source_chain


class ReadCounted(MemoryStore):
    """Counts the reads of each key."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: dict[bytes, int] = {}

    def get(self, key: bytes) -> bytes | None:
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().get(key)


@pytest.mark.parametrize("stated", [False, True])
def test_a_run_reads_the_rules_versions_once(net: Consortium, stated: bool) -> None:
    """The blocks of a run read the rules versions (the genesis's record, or none for a
    genesis that states no version: version 1 throughout) from the committed state,
    which remembers what it checked, the absence too: not from the store at every block,
    and not walked again by every block's root."""
    genesis = net.genesis if stated else dataclasses.replace(net.genesis, rules_version=None)
    source = source_chain(dataclasses.replace(net, genesis=genesis), 5)
    kv = ReadCounted()
    chain = Chain(kv, source.genesis)
    run = chain.start_run()
    for height in range(1, 6):
        block = source.get_block(height)
        assert block is not None
        chain.validate(block, commit_times=commit_times(chain), run=run)
        assert not run.ended
    reads = sum(count for key, count in kv.reads.items() if key.endswith(RULES_VERSION_KEY))
    assert reads <= 1
    chain.commit_run([(execution, source.get_certificate(execution.header.height) or b"")
                      for execution in run.executions])
    assert chain.state.root == source.state.root


def test_a_run_reads_the_hash_of_its_validator_set_once(net: Consortium) -> None:
    source = source_chain(net, 5)
    chain = Chain(MemoryStore(), source.genesis)
    heights: list[int] = []
    read = chain.validator_set_hash_at

    def counted(height: int) -> bytes:
        heights.append(height)
        return read(height)

    chain.validator_set_hash_at = counted  # type: ignore[method-assign]
    run = chain.start_run()
    for height in range(1, 6):
        block = source.get_block(height)
        assert block is not None
        chain.validate(block, commit_times=commit_times(chain), run=run)
    assert heights == [1]
    chain.commit_run([(execution, source.get_certificate(execution.header.height) or b"")
                      for execution in run.executions])
    assert chain.state.root == source.state.root
