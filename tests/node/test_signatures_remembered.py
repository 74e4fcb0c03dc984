"""A validator set remembers the signatures it verified good, by their exact bytes
(node.validators.SIGNATURES_REMEMBERED_MAX), and those its node made itself: a
proposal's last commit is made of votes this node verified, or signed, a block before.
Nothing else may pass for one of them."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from consensus import ValidatorId
from ledger.identity import KeyPair, verify_signature
from node.validators import SIGNATURES_REMEMBERED_MAX, SIGNED_BYTES_REMEMBERED_MAX, ValidatorSet
from tests.node.conftest import Consortium, keys_from
from tests.node.test_engine import Clock, engine_for, submit

SIGNER = keys_from("remembered-signer")
OTHER = keys_from("remembered-other")
SIGNER_ID = ValidatorId(SIGNER.member_id)


def validator_set() -> ValidatorSet:
    return ValidatorSet(b"senim-remembered", (SIGNER_ID, ValidatorId(OTHER.member_id)),
                        {SIGNER.member_id: SIGNER.public_key, OTHER.member_id: OTHER.public_key})


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The messages whose signature was checked by Ed25519, in order."""
    checked: list[bytes] = []

    def counted(public_key: bytes, message: bytes, signature: bytes) -> bool:
        checked.append(message)
        return verify_signature(public_key, message, signature)

    monkeypatch.setattr("node.validators.verify_signature", counted)
    return checked


def test_a_good_signature_is_checked_once(checks: list[bytes]) -> None:
    validators = validator_set()
    vote = b"commit vote for block 7"
    signature = SIGNER.sign_raw(vote)
    assert validators.verify(SIGNER_ID, vote, signature)
    assert validators.verify(SIGNER_ID, bytes(vote), bytes(signature))  # equal bytes, anew
    assert checks == [vote]


def test_nothing_passes_for_a_remembered_signature(checks: list[bytes]) -> None:
    validators = validator_set()
    vote = b"commit vote for block 7"
    signature = SIGNER.sign_raw(vote)
    assert validators.verify(SIGNER_ID, vote, signature)
    assert not validators.verify(SIGNER_ID, b"commit vote for block 8", signature)
    assert not validators.verify(ValidatorId(OTHER.member_id), vote, signature)
    assert not validators.verify(SIGNER_ID, vote, signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not validators.verify(ValidatorId(KeyPair.generate().member_id), vote, signature)
    assert len(checks) == 4  # every one of them checked, none taken from memory


def test_a_bad_signature_is_never_remembered(checks: list[bytes]) -> None:
    validators = validator_set()
    vote = b"commit vote for block 7"
    forged = OTHER.sign_raw(vote)
    assert not validators.verify(SIGNER_ID, vote, forged)
    assert not validators.verify(SIGNER_ID, vote, forged)
    assert len(checks) == 2


def test_the_memory_is_bounded(checks: list[bytes]) -> None:
    validators = validator_set()
    votes = [b"vote %d" % n for n in range(SIGNATURES_REMEMBERED_MAX + 1)]
    signatures = [SIGNER.sign_raw(vote) for vote in votes]
    for vote, signature in zip(votes, signatures, strict=True):
        assert validators.verify(SIGNER_ID, vote, signature)
    assert validators.verify(SIGNER_ID, votes[-1], signatures[-1])  # the newest: kept
    assert validators.verify(SIGNER_ID, votes[0], signatures[0])  # the oldest: forgotten
    assert checks == [*votes, votes[0]]


def test_a_large_signed_message_is_not_held(checks: list[bytes]) -> None:
    """A proposal signs a whole block: a member sending many would fill every node."""
    validators = validator_set()
    proposal = bytes(SIGNED_BYTES_REMEMBERED_MAX + 1)
    signature = SIGNER.sign_raw(proposal)
    assert validators.verify(SIGNER_ID, proposal, signature)
    assert validators.verify(SIGNER_ID, proposal, signature)
    assert checks == [proposal, proposal]


def test_an_own_signature_is_remembered_unchecked(checks: list[bytes]) -> None:
    validators = validator_set()
    vote = b"own commit vote for block 7"
    signature = SIGNER.sign_raw(vote)
    validators.remember_own(SIGNER, vote, signature)
    assert validators.verify(SIGNER_ID, vote, signature)
    assert not validators.verify(ValidatorId(OTHER.member_id), vote, signature)
    assert checks == [vote]  # only the other validator's claim was checked


def test_an_own_signature_vouches_for_no_other_key(checks: list[bytes]) -> None:
    """A node whose key is not the one its validator has in the set (rotated, or the
    wrong key file) signs nothing that set would accept: it is checked like any other."""
    validators = validator_set()
    stranger = KeyPair.from_seed(os.urandom(32), SIGNER.member_id)  # the signer, rotated
    vote = b"own commit vote for block 7"
    validators.remember_own(stranger, vote, stranger.sign_raw(vote))
    assert not validators.verify(SIGNER_ID, vote, stranger.sign_raw(vote))
    assert checks == [vote]


def test_an_own_proposal_is_not_held() -> None:
    """A proposal signs a whole block: the primary signs one a block."""
    validators = validator_set()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        proposal = bytes(SIGNED_BYTES_REMEMBERED_MAX + 1) * 4096  # a megabyte
        validators.remember_own(SIGNER, proposal, SIGNER.sign_raw(proposal))
        del proposal
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 100_000


def test_a_validator_never_checks_its_own_commit_vote(
        net: Consortium, checks: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block's last commit is the block before's certificate: the lone validator's
    own commit vote, which it signed, not one it heard. Found good, yet not checked."""
    found: list[bool] = []
    verify = ValidatorSet.verify

    def answered(self: ValidatorSet, validator: ValidatorId, message: bytes,
                 signature: bytes) -> bool:
        found.append(verify(self, validator, message, signature))
        return found[-1]

    monkeypatch.setattr(ValidatorSet, "verify", answered)
    clock = Clock(net.genesis.genesis_time_ms + 10_000)
    validator, out = engine_for(net.ministry, net, clock)
    for _ in range(3):
        submit(validator, net)
        clock.now_ms += 100
    assert [report.execution.header.height for report in out.reports] == [1, 2, 3]
    assert found == [True, True]  # the last commits of blocks 2 and 3
    assert checks == []
