"""Chains whose validator set changes, for light-client and state-sync tests.

`commit_as` builds them by hand: a block that schedules a change writes the record
as the governance rule does (`write_validator_set` into the block's own state), and
every block names and is certified by the set the test says is in force.
`CertifiedChain` goes through real governance transactions instead (`voted_chain`:
the ministries vote a validator in, later another out).
"""

from __future__ import annotations

import dataclasses

from consensus import quorum_size
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.payloads import ACTION_ADD_VALIDATOR, ACTION_REMOVE_VALIDATOR, VotePayload
from ledger.transactions import Transaction
from ledger.validator_sets import (
    ValidatorSetRecord,
    validator_set_at,
    validator_set_hash,
    write_validator_set,
)
from storage.kv import MemoryStore
from tests.node.certificates import make_quorum_certificate
from tests.node.conftest import CHAIN_ID, keys_from, make_tx, next_time
from tests.node.test_governance import Council, make_council, member_action, proposal


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


class CertifiedChain:
    """A chain whose every block is certified by a quorum of the set in force at it."""

    def __init__(self, council: Council) -> None:
        self.council = council
        self.chain = Chain(MemoryStore(), council.genesis)
        self.keys = {k.public_key: k for k in (*council.validators, council.university)}

    def commit(self, txs: list[Transaction]) -> None:
        chain = self.chain
        execution = chain.build(txs, self.council.ministry.member_id, 0, next_time(chain))
        assert not execution.rejected, [(e.code, e.message) for _, e in execution.rejected]
        header = execution.header
        in_force = validator_set_at(chain.state, header.height).public_keys
        assert header.validator_set_hash == validator_set_at(chain.state,
                                                             header.height).set_hash
        signers = [self.keys[k] for k in in_force][-quorum_size(len(in_force)):]
        chain.commit(execution, make_quorum_certificate(signers, CHAIN_ID, header.height, 0,
                                                        header.block_hash))

    def approve(self, action_name: str, member: KeyPair, effective: int) -> None:
        council = self.council
        propose = proposal(council.ministry, member_action(action_name, member), effective,
                           effective - 2)
        self.commit([propose])
        self.commit([make_tx(council.ministry2, VotePayload(propose.tx_id))])

    def until(self, height: int) -> None:
        while self.chain.height < height:
            self.commit([])


def voted_chain(height: int = 14) -> CertifiedChain:
    """KazNU voted in as a validator from block 6, validator 3 voted out from block 12,
    committed up to `height` (at least 11: the second vote is in blocks 8 and 9)."""
    council = make_council()
    world = CertifiedChain(council)
    world.approve(ACTION_ADD_VALIDATOR, council.university, 6)
    world.until(7)
    world.approve(ACTION_REMOVE_VALIDATOR, council.validators[3], 12)
    world.until(height)
    return world
