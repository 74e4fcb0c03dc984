"""A validator set remembers the signatures it verified good, by their exact bytes
(node.validators.SIGNATURES_REMEMBERED_MAX): a proposal's last commit is made of votes
this node verified a block before. Nothing else may pass for one of them."""

from __future__ import annotations

import pytest

from consensus import ValidatorId
from ledger.identity import KeyPair, verify_signature
from node.validators import SIGNATURES_REMEMBERED_MAX, SIGNED_BYTES_REMEMBERED_MAX, ValidatorSet
from tests.node.conftest import keys_from

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
