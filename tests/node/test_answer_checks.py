"""What a sync answer's parts of signature checks hold (node.signature_checks): a vote
that two certificates in one part carry is checked once, and counts for both."""

from __future__ import annotations

import os

import pytest

import node.signature_workers
import node.validators
from consensus import Digest, Height, ValidatorId, View, commit_signing_bytes, encode_certificate
from consensus.certificate import make_certificate as make_consensus_certificate
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.payloads import IssueBatchPayload
from node.signature_checks import AnswerChecks, _AnswerPart
from node.signature_workers import WORKER_BATCH_MIN, SignatureWorkers, check_in_turn
from node.validators import ValidatorSet, ValidatorSets
from tests.node.certificates import make_quorum_certificate
from tests.node.conftest import Consortium, accredit, commit, make_tx, random_hash
from tests.node.test_signature_workers import UNEXPLAINED, children_of, raise_once

CHAIN_ID = "senim-answer-checks"
HEIGHT = 7
BLOCK_HASH = bytes(range(32))
VOTE_TIME_MS = 1_000


def validators(count: int) -> list[KeyPair]:
    return [KeyPair.from_seed((b"answer-checks-%d" % i).ljust(32, b".")) for i in range(count)]


def certificate(signers: list[KeyPair]) -> bytes:
    return make_quorum_certificate(signers, CHAIN_ID, HEIGHT, 0, BLOCK_HASH, VOTE_TIME_MS)


def forged_certificate(signers: list[KeyPair], forged: KeyPair, impostor: KeyPair) -> bytes:
    """`certificate(signers)` with `forged`'s vote signed by `impostor`."""
    message = commit_signing_bytes(CHAIN_ID.encode(), Height(HEIGHT), View(0),
                                   Digest(BLOCK_HASH), VOTE_TIME_MS)
    votes = {ValidatorId(k.member_id): (VOTE_TIME_MS, (impostor if k is forged else k)
                                        .sign_raw(message)) for k in signers}
    return encode_certificate(make_consensus_certificate(Height(HEIGHT), View(0),
                                                         Digest(BLOCK_HASH), votes))


def checked_here(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Votes a set checks on the caller's thread (not ahead) from now on."""
    checked: list[bytes] = []
    real_verify = ValidatorSet.verify

    def verify(self: ValidatorSet, validator: bytes, message: bytes, signature: bytes
               ) -> bool:
        checked.append(signature)
        return real_verify(self, validator, message, signature)  # type: ignore[arg-type]

    monkeypatch.setattr(node.validators.ValidatorSet, "verify", verify)
    return checked


def test_a_vote_two_certificates_carry_is_checked_once_and_counts_for_both(
        monkeypatch: pytest.MonkeyPatch) -> None:
    keys = validators(4)
    members = ValidatorSet.of_keys(CHAIN_ID, [k.public_key for k in keys])
    # The next block's last commit, and the certificate another node collected: two of
    # the three votes are the same votes.
    proposed, served = certificate(keys[:3]), certificate(keys[1:])
    assert proposed != served
    part = _AnswerPart()
    part.add_certificate(members, proposed)
    part.add_certificate(members, served)
    assert len(part.checks) == 4
    assert len(set(part.checks)) == 4
    part.verified(0, check_in_turn)
    here = checked_here(monkeypatch)
    assert members.certificate_for(proposed, HEIGHT, BLOCK_HASH) is not None
    assert members.certificate_for(served, HEIGHT, BLOCK_HASH) is not None
    assert here == []  # both remembered as good: nothing checked again


def test_a_bad_vote_two_certificates_carry_leaves_neither_remembered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    keys = validators(4)
    members = ValidatorSet.of_keys(CHAIN_ID, [k.public_key for k in keys])
    impostor = KeyPair.from_seed(b"not-a-validator".ljust(32, b"."))
    # Validator 1's vote forged (signed with another key) the same way in both.
    proposed, served = (forged_certificate(signers, keys[1], impostor)
                        for signers in (keys[:3], keys[1:]))
    part = _AnswerPart()
    part.add_certificate(members, proposed)
    part.add_certificate(members, served)
    assert len(part.checks) == 4
    part.verified(0, check_in_turn)
    here = checked_here(monkeypatch)
    assert members.certificate_for(proposed, HEIGHT, BLOCK_HASH) is None
    assert members.certificate_for(served, HEIGHT, BLOCK_HASH) is None
    assert here  # not remembered: checked again, and refused


def test_an_unverified_quorum_certificate_is_checked_for_all_but_its_signatures(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a run takes a last commit inside it for (node.engine_runs): votes of a quorum
    of distinct members for that block, their signatures not checked."""
    keys = validators(4)
    members = ValidatorSet.of_keys(CHAIN_ID, [k.public_key for k in keys])
    impostor = KeyPair.from_seed(b"not-a-validator".ljust(32, b"."))
    here = checked_here(monkeypatch)
    forged = forged_certificate(keys[:3], keys[1], impostor)
    taken = members.unverified_quorum_certificate(forged, HEIGHT, BLOCK_HASH)
    assert taken is not None and len(taken.vote_times) == 3
    assert here == []
    # All but the signatures: too few votes, a vote of no member, another block or height,
    # or no certificate at all.
    outsider = certificate([*keys[:2], impostor])
    for data, height, block_hash in [(certificate(keys[:2]), HEIGHT, BLOCK_HASH),
                                     (outsider, HEIGHT, BLOCK_HASH),
                                     (forged, HEIGHT + 1, BLOCK_HASH),
                                     (forged, HEIGHT, bytes(32)),
                                     (b"\x93junk", HEIGHT, BLOCK_HASH)]:
        assert members.unverified_quorum_certificate(data, height, block_hash) is None
    assert members.certificate_for(forged, HEIGHT, BLOCK_HASH) is None  # in full: refused


def test_a_part_whose_answers_raised_is_not_collected_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync answer's checks are closed (every part collected) in a finally, after
    `verified` raised too: the batch that raised is not collected a second time, which
    would drop its worker's child twice and let the set start more than it may."""
    signer = validators(1)[0]
    raise_once(monkeypatch, "receive")
    workers = SignatureWorkers(1)
    try:
        part = _AnswerPart()
        part.checks.extend((signer.public_key, b"vote %d" % i, signer.sign_raw(b"vote %d" % i))
                           for i in range(WORKER_BATCH_MIN))
        with pytest.raises(RuntimeError, match=UNEXPLAINED):
            part.verified(0, workers)
        part.collect()  # as AnswerChecks.close
        # Its one child dropped once: of the next two batches, one has a new child and
        # the other, finding none free in a set of one, is checked here.
        later = [workers.start(part.checks) for _ in range(2)]
        assert len(children_of(os.getpid())) == 1
        assert [pending() for pending in later] == [[True] * WORKER_BATCH_MIN] * 2
    finally:
        workers.close()


def test_closing_an_answer_collects_the_parts_after_one_that_raised(
        monkeypatch: pytest.MonkeyPatch, net: Consortium, chain: Chain) -> None:
    """`close` runs in a finally when an answer's checks are left: a part whose answers
    raised does not leave the parts after it out, each with a worker's child leased."""
    commit(chain, [accredit(net, net.university, ["certificate"])])
    head = chain.height
    for _ in range(2):  # a block a part: each holds a worker's batch of checks
        commit(chain, [make_tx(net.university, IssueBatchPayload("certificate", random_hash(), 1))
                       for _ in range(WORKER_BATCH_MIN)])
    answer = [(block, chain.get_certificate(height) or b"") for height in (head + 1, head + 2)
              if (block := chain.get_block(height)) is not None]
    raise_once(monkeypatch, "receive")
    workers = SignatureWorkers(2)
    try:
        checks = AnswerChecks(answer, head, chain, ValidatorSets.for_chain(chain), workers,
                              run_ends=lambda _: False)
        assert [len(part.checks) >= WORKER_BATCH_MIN for part in checks._parts] == [True] * 2
        with pytest.raises(RuntimeError, match=UNEXPLAINED):
            checks.close()
        # The first part's child was dropped, the second's given back: both of the next
        # two batches find a child (one new), none is checked here.
        def in_turn(*_: object) -> list[bool]:
            raise AssertionError("checked here: a child was left leased")
        monkeypatch.setattr(node.signature_workers, "check_in_turn", in_turn)
        batch = checks._parts[0].checks[:WORKER_BATCH_MIN]
        later = [workers.start(batch) for _ in range(2)]
        assert [pending() for pending in later] == [[True] * WORKER_BATCH_MIN] * 2
        assert len(children_of(os.getpid())) == 2
    finally:
        workers.close()
