"""Chains whose validator set changes, built by hand for light-client tests.

A block that schedules a change writes the record as the governance rule does
(`write_validator_set` into the block's own state), and every block names and
is certified by the set the test says is in force.
"""

from __future__ import annotations

import dataclasses

from ledger.blocks import Block
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.transactions import Transaction
from ledger.validator_sets import ValidatorSetRecord, validator_set_hash, write_validator_set
from tests.node.certificates import make_quorum_certificate
from tests.node.conftest import keys_from, next_time


def validator_keys(label: str, count: int) -> list[KeyPair]:
    return [keys_from(f"{label}-{i}") for i in range(count)]


def record_of(from_height: int, validators: list[KeyPair]) -> ValidatorSetRecord:
    return ValidatorSetRecord.of(from_height, [k.public_key for k in validators])


def commit_as(chain: Chain, txs: list[Transaction], named: list[KeyPair],
              signers: list[KeyPair] | None = None, time_ms: int | None = None,
              schedule: ValidatorSetRecord | None = None) -> Block:
    """Commit `txs` in a block naming the set `named`, certified by `signers` (all of
    `named` by default); `schedule` is a set change the block writes."""
    when = next_time(chain) if time_ms is None else time_ms
    execution = chain.build(txs, named[0].member_id, 0, when)
    assert not execution.rejected, [(e.code, e.message) for _, e in execution.rejected]
    if schedule is not None:
        write_validator_set(execution.overlay, schedule)
    header = dataclasses.replace(
        execution.header, state_root=execution.overlay.root(),
        validator_set_hash=validator_set_hash([k.public_key for k in named]))
    execution = dataclasses.replace(execution, header=header)
    certificate = make_quorum_certificate(signers or named, chain.chain_id, header.height, 0,
                                          header.block_hash)
    chain.commit(execution, certificate)
    return execution.block
