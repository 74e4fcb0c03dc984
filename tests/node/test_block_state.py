"""A block keeps its senders' member records and accreditations decoded while it is
executed (ledger.block_state): a change to either earlier in the block must reach every
later transaction of it exactly as a read of the state would. Each block here is also
executed the straightforward way, every record read from a plain overlay, and must give
the same verdicts and the same state root."""

from __future__ import annotations

import os

from ledger.block_state import BlockState
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.errors import TxRejected
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import IssueBatchPayload, RotateKeyPayload, SuspendPayload
from ledger.records import Accreditation, accreditation_key
from ledger.rules import apply_transaction, block_context, check_envelope
from ledger.transactions import Transaction
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    bft_basis,
    commit,
    commit_times,
    make_tx,
)


def issuance(keys: KeyPair, credential_type: str) -> Transaction:
    batch = make_batch([{"full_name": "Graduate", "iin": "000000000001"}], credential_type,
                       CHAIN_ID, keys.member_id, "KazNU")
    return make_tx(keys, IssueBatchPayload(credential_type, batch.root, 1))


def straightforward(chain: Chain, txs: list[Transaction], time_ms: int,
                    verified: frozenset[bytes]) -> tuple[list[str | None], bytes]:
    """Each transaction's refusal code (None if accepted) and the state root after them,
    executed on a plain overlay, every record read from it."""
    overlay = chain.state.overlay()
    ctx = block_context(overlay, chain.chain_id, chain.height + 1, time_ms)
    verdicts: list[str | None] = []
    for tx in txs:
        try:
            sender = check_envelope(overlay, tx, ctx, chain.is_committed, tx.tx_id in verified)
            apply_transaction(overlay, tx, sender, ctx)
        except TxRejected as exc:
            verdicts.append(exc.code)
        else:
            verdicts.append(None)
    return verdicts, overlay.root()


def built(chain: Chain, txs: list[Transaction], verified: frozenset[bytes]
          ) -> tuple[list[str | None], bytes]:
    """What `Chain.build` gives for `txs`, checked against the straightforward execution
    and against a follower's validation of the block it made."""
    last_commit, time_ms = bft_basis(chain)
    execution = chain.build(txs, chain.genesis.members[0].member_id, 0, time_ms, verified,
                            last_commit)
    refused = {tx.tx_id: exc.code for tx, exc in execution.rejected}
    verdicts = [refused.get(tx.tx_id) for tx in txs]
    assert (verdicts, execution.header.state_root) == straightforward(
        chain, txs, execution.header.time_ms, verified)
    validated = chain.validate(execution.block, verified, commit_times=commit_times(chain))
    assert validated.overlay.root() == execution.header.state_root
    return verdicts, execution.header.state_root


def test_a_grant_and_a_rotated_key_earlier_in_a_block_reach_its_later_transactions(
        chain: Chain, net: Consortium) -> None:
    university = net.university
    commit(chain, [accredit(net, university, ["certificate"])])
    new = KeyPair.generate()
    rotated = KeyPair.from_seed(new.seed, university.member_id)
    rotation = make_tx(university, RotateKeyPayload(
        new.public_key, prove_possession(new, CHAIN_ID, university.member_id)))
    txs = [
        issuance(university, "certificate"),  # its records are read, and kept
        issuance(university, "diploma"),  # not accredited for diplomas yet
        accredit(net, university, ["diploma"]),
        issuance(university, "diploma"),  # the grant just added covers it
        rotation,
        issuance(university, "certificate"),  # the old key, its signature checked before
        issuance(rotated, "certificate"),
    ]
    # every signature good when admitted: a rotated sender's are checked again
    verdicts, _ = built(chain, txs, frozenset(tx.tx_id for tx in txs))
    assert verdicts == [None, "type_not_accredited", None, None, None, "bad_signature", None]


def test_a_suspension_earlier_in_a_block_is_in_force_from_the_next(
        chain: Chain, net: Consortium) -> None:
    university = net.university
    commit(chain, [accredit(net, university, ["certificate"])])
    suspension = make_tx(net.ministry, SuspendPayload(university.member_id, "investigation"))
    txs = [issuance(university, "certificate"), suspension,
           issuance(university, "certificate"),  # this block still: the rule's own choice
           make_tx(net.ministry, SuspendPayload(university.member_id, "investigation"))]
    verdicts, _ = built(chain, txs, frozenset())
    assert verdicts == [None, None, None, "not_accredited"]
    commit(chain, txs[:3])
    verdicts, _ = built(chain, [issuance(university, "certificate")], frozenset())
    assert verdicts == ["issuer_suspended"]


def test_blocks_of_many_issuers_agree_with_the_straightforward_execution(
        chain: Chain, net: Consortium) -> None:
    issuers = [net.university, net.university2, net.employer]
    commit(chain, [*(accredit(net, keys, ["certificate"]) for keys in issuers[:2]),
                   accredit(net, net.employer, ["diploma"])])  # its record is kept
    txs = [issuance(issuers[i % 3], "certificate") for i in range(12)]
    txs.insert(5, accredit(net, net.employer, ["certificate"]))
    txs.insert(9, make_tx(net.ministry, SuspendPayload(net.university2.member_id,
                                                       "investigation")))
    txs.append(make_tx(net.outsider, IssueBatchPayload("certificate", os.urandom(32), 1)))
    verdicts, _ = built(chain, txs, frozenset(tx.tx_id for tx in txs[::2]))
    # the employer's first, before its grant; the outsider's
    assert [(i, v) for i, v in enumerate(verdicts) if v] == [
        (2, "type_not_accredited"), (len(txs) - 1, "unknown_sender")]


def test_any_write_to_an_accreditation_drops_the_grants_found(chain: Chain,
                                                             net: Consortium) -> None:
    """No rule of today takes a grant away within its block (a suspension is in force
    from the next), so the block state is written here as a later rule might write it."""
    university = net.university
    commit(chain, [accredit(net, university, ["certificate"])])
    state = BlockState(chain.state.overlay())
    key = accreditation_key(university.member_id)
    stored = chain.state.get(key)
    assert stored is not None
    at = (chain.height + 1, chain.head_header.time_ms + 1)
    assert state.may_issue(university.member_id, "certificate", *at)
    state.set(key, Accreditation(()).encode())
    assert not state.may_issue(university.member_id, "certificate", *at)
    state.set(key, stored)
    assert state.may_issue(university.member_id, "certificate", *at)
    assert not state.may_issue(university.member_id, "diploma", *at)
