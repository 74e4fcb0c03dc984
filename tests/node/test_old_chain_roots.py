"""Chains made under rules versions 1, 2 and 3 replay to the state roots the releases
before versions 3 and 4 computed for them.

The replay tests of `tests/node/test_rules_version.py` compare a chain with its replica,
both made by the release under test, so a change of what version 1 or 2 blocks write
(a record's encoding, a governance rule applied to an old chain) would change both
alike and pass. Here the roots are pinned: each scenario is deterministic (keys from
labels, block times from the genesis time, Ed25519 signatures, fixed credential
hashes), and the hex constants are what b75f984 (versions 1 and 2) and babde76 (version
3, before version 4's `revoke_credentials`) computed for it. Every transaction kind a
revocation touches is in them: an issuer's revocation and supersede, governance retiring
the issuer, the version 1 duplicate proposal, the scheduled move to version 2, and from
version 3 the consortium's revocation of one of the retired issuer's credentials.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from unittest import mock

import pytest

import ledger.transactions
from ledger.chain import Chain
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AnchorPayload,
    CredentialRef,
    IssueBatchPayload,
    RevokeCredentialAction,
    RevokePayload,
    RulesVersionAction,
    SuspendPayload,
)
from storage.batch_tree import audit_path, tree_root
from storage.kv import MemoryStore
from tests.node.conftest import accredit, commit, commit_times, make_tx
from tests.node.test_governance import (
    approve,
    commit_until,
    make_council,
    member_action,
    proposal,
)

TARGETS = [bytes([i]) * 32 for i in range(1, 6)]

# What b75f984 (MAX_KNOWN_RULES_VERSION 2) computed for `_scenario(version)` of versions
# 1 and 2, and babde76 (MAX_KNOWN_RULES_VERSION 3) of version 3.
EXPECTED_ROOTS = {
    1: "abb3faa919ee2eec216e226315443fa1801d8c401b8ed9df760d3a3b9e49bf0b",
    2: "568cd9b7414c771c3bd47fab2dcce1348ffb1c841b7dba6fdcd738f3de4ad28f",
    3: "7178ee72752d4d935b31eadaa83287732fb6a72c04c5a5b4503cbcf4fba5d96e",
}


def _ref(index: int) -> CredentialRef:
    return CredentialRef(tree_root(TARGETS), TARGETS[index], index,
                         tuple(audit_path(TARGETS, index)))


@contextmanager
def _counted_nonces() -> Iterator[None]:
    """Transactions' nonces from a counter, not os.urandom: the proposal ids (tx ids)
    are in the state, so a random nonce gives another root each run."""
    counter = itertools.count()

    def nonce(size: int) -> bytes:
        return hashlib.sha256(str(next(counter)).encode()).digest()[:size]

    with mock.patch.object(ledger.transactions, "os", SimpleNamespace(urandom=nonce)):
        yield


def _scenario(version: int) -> Chain:
    with _counted_nonces():
        return _made(version)


def _made(version: int) -> Chain:
    council = make_council(rules_version=version)
    chain = Chain(MemoryStore(), council.genesis)
    uni = council.university
    commit(chain, [accredit(council, uni, ["diploma"])])  # type: ignore[arg-type]
    commit(chain, [make_tx(uni, IssueBatchPayload("diploma", tree_root(TARGETS),
                                                  len(TARGETS)))])
    commit(chain, [make_tx(uni, RevokePayload(_ref(0), "fraud", b"\x07" * 32))])
    commit(chain, [make_tx(uni, RevokePayload(_ref(1), "superseded", None, _ref(2)))])
    commit(chain, [make_tx(council.ministry, AnchorPayload(b"\x01" * 32))])
    retire = member_action(ACTION_RETIRE_MEMBER, uni)
    if version == 1:  # a duplicate, which version 1 accepts
        commit(chain, [proposal(council.ministry3, retire, 40, 30)])
        approve(chain, council, RulesVersionAction(2), chain.height + 6)
    approve(chain, council, retire, chain.height + 8)
    commit(chain, [make_tx(council.ministry, SuspendPayload(uni.member_id, "investigation"))])
    commit_until(chain, chain.height + 10)
    if version >= 3:  # the consortium revokes one of the retired university's own
        approve(chain, council, RevokeCredentialAction(uni.member_id, _ref(3),
                                                       "court_decision"), chain.height + 8)
        commit_until(chain, chain.height + 10)
    return chain


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_old_chain_replays_to_the_roots_its_release_computed(version: int) -> None:
    chain = _scenario(version)
    replica = Chain(MemoryStore(), chain.genesis)
    for height in range(1, chain.height + 1):
        block, certificate = chain.get_block(height), chain.get_certificate(height)
        assert block is not None and certificate is not None
        replica.commit(replica.validate(block, commit_times=commit_times(replica)),
                       certificate)
    assert replica.state.root == chain.state.root
    assert chain.state.root.hex() == EXPECTED_ROOTS[version]
