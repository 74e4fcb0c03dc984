"""One test per refusal reason; each refusal must change nothing.

A refusal is checked three ways: the rule itself on a fresh overlay (no key
written, root unchanged), block building (the transaction is dropped and the
block's state root is the head's) and block validation (a block holding it is
refused). The store must be byte-for-byte unchanged afterwards.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from cli.language import Words
from cli.verdict_words import verdict_sentence
from ledger.blocks import Block, transactions_root
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.errors import MalformedInput, TxRejected
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.payloads import (
    AccreditPayload,
    AddMemberPayload,
    AnchorPayload,
    CredentialRef,
    IssueBatchPayload,
    RevokePayload,
    SuspendPayload,
)
from ledger.records import MAX_GRANTS_PER_ISSUER, day
from ledger.rules import MAX_TX_TTL_BLOCKS, apply_transaction, block_context, check_envelope
from ledger.transactions import Transaction, build_transaction
from ledger.verification import verify_credential
from storage.batch_tree import audit_path, tree_root
from tests.node.conftest import (
    CHAIN_ID,
    DAY_MS,
    GENESIS_TIME_MS,
    YEAR_MS,
    Consortium,
    accredit,
    admission,
    bft_basis,
    block_basis,
    commit,
    commit_times,
    documents_of,
    keys_from,
    make_tx,
    next_time,
    snapshot,
)


def assert_refused(chain: Chain, tx: Transaction, code: str, time_ms: int | None = None
                   ) -> TxRejected:
    """The transaction is refused with `code` by every path, and nothing changes."""
    last_commit, when = block_basis(chain, time_ms)
    before = snapshot(chain.kv)
    root, height = chain.state.root, chain.height

    # 1. the rule itself, on an overlay: nothing written
    overlay = chain.state.overlay()
    ctx = block_context(chain.state, chain.chain_id, chain.height + 1, when, chain.evidence_check)
    with pytest.raises(TxRejected) as info:
        sender = check_envelope(overlay, tx, ctx, chain.is_committed)
        apply_transaction(overlay, tx, sender, ctx)
    assert info.value.code == code, info.value.message
    assert overlay.keys_changed() == 0
    assert overlay.root() == root

    # 2. block building drops it: the block changes no state
    execution = chain.build([tx], keys_from("ministry").member_id, 0, when,
                            last_commit=last_commit)
    assert execution.accepted == []
    assert [(t.tx_id, e.code) for t, e in execution.rejected] == [(tx.tx_id, code)]
    assert execution.header.state_root == root

    # 3. a block that holds it anyway is invalid
    forged = Block(dataclasses.replace(execution.header, txs_root=transactions_root([tx])),
                   (tx,), last_commit)
    with pytest.raises(MalformedInput, match="refused transaction"):
        chain.validate(forged, commit_times=commit_times(chain))

    assert snapshot(chain.kv) == before
    assert (chain.state.root, chain.height) == (root, height)
    return info.value


@pytest.fixture
def accredited(chain: Chain, net: Consortium) -> Chain:
    """KazNU and ENU accredited for diplomas and transcripts at height 1."""
    commit(chain, [accredit(net, net.university, ["diploma", "transcript"]),
                   accredit(net, net.university2, ["diploma"])])
    return chain


def issue(chain: Chain, keys: KeyPair, n: int = 3, ctype: str = "diploma"
          ) -> tuple[bytes, list[bytes]]:
    leaves = [os.urandom(32) for _ in range(n)]
    root = tree_root(leaves)
    commit(chain, [make_tx(keys, IssueBatchPayload(ctype, root, n))])
    return root, leaves


def revoke_tx(keys: KeyPair, root: bytes, leaves: list[bytes], index: int,
              path: list[bytes] | None = None) -> Transaction:
    path = audit_path(leaves, index) if path is None else path
    return make_tx(keys, RevokePayload(CredentialRef(root, leaves[index], index, tuple(path)),
                                       "issued_in_error"))


# ---- envelope ------------------------------------------------------------------------

def test_unknown_sender(chain: Chain, net: Consortium) -> None:
    assert_refused(chain, make_tx(net.outsider, AnchorPayload(os.urandom(32))),
                   "unknown_sender")


def test_expired(chain: Chain, net: Consortium) -> None:
    tx = make_tx(net.ministry, AnchorPayload(os.urandom(32)), expires_at=2)
    commit(chain, [])
    commit(chain, [])  # head 2: the next block is 3 > 2
    assert_refused(chain, tx, "expired")


def test_expiry_at_the_next_height_is_still_accepted(chain: Chain, net: Consortium) -> None:
    commit(chain, [make_tx(net.ministry, AnchorPayload(os.urandom(32)), expires_at=1)])


def test_expiry_too_far(chain: Chain, net: Consortium) -> None:
    too_far = chain.height + 1 + MAX_TX_TTL_BLOCKS + 1
    assert_refused(chain, make_tx(net.ministry, AnchorPayload(os.urandom(32)),
                                  expires_at=too_far), "expiry_too_far")
    commit(chain, [make_tx(net.ministry, AnchorPayload(os.urandom(32)),
                           expires_at=too_far - 1)])


def test_replayed_after_commit(chain: Chain, net: Consortium) -> None:
    tx = make_tx(net.ministry, AnchorPayload(os.urandom(32)))
    commit(chain, [tx])
    assert_refused(chain, tx, "replayed")


def test_replayed_twice_in_one_block(chain: Chain, net: Consortium) -> None:
    tx = make_tx(net.ministry, AnchorPayload(os.urandom(32)))
    root = chain.state.root
    last_commit, when = bft_basis(chain)
    once = chain.build([tx], net.ministry.member_id, 0, when, last_commit=last_commit)
    twice = chain.build([tx, tx], net.ministry.member_id, 0, when, last_commit=last_commit)
    assert twice.accepted == [tx]
    assert [e.code for _, e in twice.rejected] == ["replayed"]
    assert twice.header.state_root == once.header.state_root != root
    header = dataclasses.replace(twice.header, txs_root=transactions_root([tx, tx]))
    with pytest.raises(MalformedInput, match="refused transaction"):
        chain.validate(Block(header, (tx, tx), last_commit), commit_times=commit_times(chain))
    assert chain.state.root == root


def test_bad_signature(chain: Chain, net: Consortium) -> None:
    good = make_tx(net.ministry, AnchorPayload(os.urandom(32)))
    flipped = bytes([good.signature[0] ^ 1]) + good.signature[1:]
    tampered = Transaction(good.sender, good.nonce, good.expires_at, good.payload,
                           flipped)
    assert_refused(chain, tampered, "bad_signature")
    # signed by someone else under the ministry's id
    unsigned = Transaction(good.sender, good.nonce, good.expires_at, good.payload)
    forged = Transaction(good.sender, good.nonce, good.expires_at, good.payload,
                         net.university.sign_raw(unsigned.signed_message(CHAIN_ID)))
    assert_refused(chain, forged, "bad_signature")


def test_signature_for_another_chain_is_bad(chain: Chain, net: Consortium) -> None:
    tx = make_tx(net.ministry, AnchorPayload(os.urandom(32)), chain_id="senim-other")
    assert_refused(chain, tx, "bad_signature")


# ---- membership and accreditation ------------------------------------------------------

def test_not_a_ministry(chain: Chain, net: Consortium) -> None:
    newcomer = KeyPair.generate().public_key
    assert_refused(chain, make_tx(net.university, AddMemberPayload("Fake Uni", "university",
                                                                   newcomer)), "not_a_ministry")
    tx = build_transaction(net.university, CHAIN_ID,
                           AccreditPayload(net.university.member_id, ("diploma",), 0, 10**13),
                           1000)
    refusal = assert_refused(chain, tx, "not_a_ministry")
    assert refusal.message.endswith("sender is a university"), refusal.message  # "an university"
    tx = make_tx(net.employer, SuspendPayload(net.university.member_id, "other"))
    refusal = assert_refused(chain, tx, "not_a_ministry")
    assert refusal.message.endswith("sender is an employer"), refusal.message  # "a employer"


def test_already_member(chain: Chain, net: Consortium) -> None:
    tx = make_tx(net.ministry, admission(net.university, "KazNU again", "university"))
    refusal = assert_refused(chain, tx, "already_member")
    # named as the officer knows it, not by 40 hex digits alone
    assert refusal.message == (f"this key is already a member's: KazNU "
                               f"({net.university.member_id.hex()})"), refusal.message


def test_add_member_then_member_can_act(chain: Chain, net: Consortium) -> None:
    newcomer = KeyPair.generate()
    commit(chain, [make_tx(net.ministry, admission(newcomer, "AITU", "university"))])
    commit(chain, [make_tx(newcomer, AnchorPayload(os.urandom(32)))])
    assert_refused(chain, make_tx(net.ministry, admission(newcomer, "AITU", "university")),
                   "already_member")


def test_unknown_issuer(chain: Chain, net: Consortium) -> None:
    assert_refused(chain, accredit(net, net.outsider, ["diploma"]), "unknown_issuer")


def test_too_many_grants(chain: Chain, net: Consortium) -> None:
    grants = [accredit(net, net.university, ["diploma"]) for _ in range(MAX_GRANTS_PER_ISSUER)]
    commit(chain, grants)
    assert_refused(chain, accredit(net, net.university, ["diploma"]), "too_many_grants")


def test_not_accredited_never_accredited(chain: Chain, net: Consortium) -> None:
    tx = make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 10))
    assert_refused(chain, tx, "not_accredited")


def test_not_accredited_before_the_period(chain: Chain, net: Consortium) -> None:
    start = GENESIS_TIME_MS + 30 * DAY_MS
    commit(chain, [accredit(net, net.university, ["diploma"], start, start + YEAR_MS)])
    tx = make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 10))
    refusal = assert_refused(chain, tx, "accreditation_not_started", time_ms=start - 1)
    assert refusal.message.endswith(f"accreditation starts on {day(start)}"), refusal.message
    commit(chain, [tx], time_ms=start)  # the first moment of the period is inside


def test_not_accredited_after_the_period(chain: Chain, net: Consortium) -> None:
    end = GENESIS_TIME_MS + 30 * DAY_MS
    commit(chain, [accredit(net, net.university, ["diploma"], GENESIS_TIME_MS, end)])
    tx = make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 10))
    refusal = assert_refused(chain, tx, "accreditation_ended", time_ms=end)  # end is exclusive
    assert refusal.message.endswith(f"accreditation ended on {day(end)}"), refusal.message
    commit(chain, [tx], time_ms=end - 1)


def test_not_accredited_for_this_type(accredited: Chain, net: Consortium) -> None:
    tx = make_tx(net.university2, IssueBatchPayload("transcript", os.urandom(32), 10))
    refusal = assert_refused(accredited, tx, "type_not_accredited")
    assert refusal.message.endswith("not accredited for this type (accredited for: diploma)")


def test_not_accredited_when_suspended(accredited: Chain, net: Consortium) -> None:
    commit(accredited, [make_tx(net.ministry, SuspendPayload(net.university.member_id,
                                                             "investigation"))])
    tx = make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 10))
    refusal = assert_refused(accredited, tx, "issuer_suspended")
    assert refusal.message.endswith(
        f"suspended since height {accredited.height + 1} (under investigation)"), refusal.message


def test_suspend_of_unaccredited_issuer_refused(accredited: Chain, net: Consortium) -> None:
    tx = make_tx(net.ministry, SuspendPayload(net.employer.member_id, "licence_revoked"))
    refusal = assert_refused(accredited, tx, "not_accredited")
    assert refusal.message.endswith("has no active accreditation to suspend: it was never "
                                    "accredited"), refusal.message
    commit(accredited, [make_tx(net.ministry, SuspendPayload(net.university2.member_id,
                                                             "investigation"))])
    suspended_from = accredited.height + 1
    again = make_tx(net.ministry, SuspendPayload(net.university2.member_id, "other"))
    refusal = assert_refused(accredited, again, "not_accredited")
    # it said '<40 hex digits> has no active accreditation' to a ministry suspending twice
    assert refusal.message == (f"ENU ({net.university2.member_id.hex()}) has no active "
                               "accreditation to suspend: it is suspended already, from "
                               f"height {suspended_from}"), refusal.message


def test_suspend_does_not_void_earlier_batches(accredited: Chain, net: Consortium) -> None:
    batch = make_batch([{"name": "Aigerim", "gpa": "3.9"}, {"name": "Nurlan"}], "diploma",
                       CHAIN_ID, net.university.member_id, "KazNU")
    commit(accredited, [make_tx(net.university, IssueBatchPayload(
        "diploma", batch.root, len(documents_of(batch))))])
    issued_at = accredited.height
    commit(accredited, [make_tx(net.ministry, SuspendPayload(net.university.member_id,
                                                             "investigation"))])
    facts = LocalFacts(accredited.state, "test")
    for document in documents_of(batch):
        verdict = verify_credential(document, facts, CHAIN_ID)
        assert verdict.status == "valid", verdict.reason
        assert verdict.facts["height"] == issued_at
        accredited_check = [c for c in verdict.checks if c.name == "accredited"]
        assert accredited_check and accredited_check[0].ok
    grant = facts.accreditation(net.university.member_id).grants[0]
    assert grant.suspended_height == issued_at + 2  # committed at +1, effective from +2
    assert grant.suspend_reason == "investigation"
    # and each verdict says so after it: it said nothing of the suspension, in any language
    assert verdict.facts["issuer_suspended_height"] == issued_at + 2
    assert "suspended from height" in verdict.reason
    said = {lang: verdict_sentence(verdict, Words(lang)) for lang in ("en", "ru", "kk")}
    assert said["en"].endswith("Note: KazNU's accreditation has been suspended since "
                               f"{said['en'].split('since ')[-1].split(' (')[0]} (under "
                               "investigation); documents it issued before then, this one "
                               "among them, stay valid.")
    assert "аккредитация организации «KazNU» приостановлена (идёт проверка)" in said["ru"]
    assert "«KazNU» ұйымының аккредиттелуі тоқтатылған (күні — " in said["kk"]
    assert "; тексеру жүріп жатыр)" in said["kk"]


def test_revocation_voids_a_credential(accredited: Chain, net: Consortium) -> None:
    batch = make_batch([{"name": "Aigerim"}, {"name": "Nurlan"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    commit(accredited, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 2))])
    commit(accredited, [revoke_tx(net.university, batch.root, batch.target_hashes, 1)])
    facts = LocalFacts(accredited.state, "test")
    documents = documents_of(batch)
    assert verify_credential(documents[0], facts, CHAIN_ID).status == "valid"
    revoked = verify_credential(documents[1], facts, CHAIN_ID)
    assert (revoked.valid, revoked.status) == (False, "revoked")
    assert revoked.facts["revocation_reason"] == "issued_in_error"
    assert revoked.facts["revocation_reason_text"] == "issued in error"
    assert revoked.reason.endswith(": issued in error")


# ---- batches, revocations, anchors -------------------------------------------------------

def test_duplicate_batch(accredited: Chain, net: Consortium) -> None:
    root, _ = issue(accredited, net.university)
    assert_refused(accredited, make_tx(net.university, IssueBatchPayload("diploma", root, 3)),
                   "duplicate_batch")


def test_unknown_batch(accredited: Chain, net: Consortium) -> None:
    leaves = [os.urandom(32) for _ in range(3)]
    assert_refused(accredited, revoke_tx(net.university, tree_root(leaves), leaves, 0),
                   "unknown_batch")


def test_only_the_issuer_may_revoke(accredited: Chain, net: Consortium) -> None:
    # A batch is looked up among the sender's own, so another member finds none.
    root, leaves = issue(accredited, net.university)
    assert_refused(accredited, revoke_tx(net.university2, root, leaves, 0), "unknown_batch")
    assert_refused(accredited, revoke_tx(net.ministry, root, leaves, 0), "unknown_batch")


def test_not_in_batch(accredited: Chain, net: Consortium) -> None:
    root, leaves = issue(accredited, net.university, n=5)
    wrong_path = audit_path(leaves, 1)
    assert_refused(accredited, revoke_tx(net.university, root, leaves, 0, wrong_path),
                   "not_in_batch")
    stranger = make_tx(net.university, RevokePayload(CredentialRef(
        root, os.urandom(32), 0, tuple(audit_path(leaves, 0))), "other"))
    assert_refused(accredited, stranger, "not_in_batch")
    wrong_index = make_tx(net.university, RevokePayload(CredentialRef(
        root, leaves[2], 3, tuple(audit_path(leaves, 2))), "other"))
    assert_refused(accredited, wrong_index, "not_in_batch")


def test_already_revoked(accredited: Chain, net: Consortium) -> None:
    root, leaves = issue(accredited, net.university)
    commit(accredited, [revoke_tx(net.university, root, leaves, 2)])
    error = assert_refused(accredited, revoke_tx(net.university, root, leaves, 2),
                           "already_revoked")
    assert f"height {accredited.height}" in error.message


def test_already_anchored(chain: Chain, net: Consortium) -> None:
    digest = os.urandom(32)
    commit(chain, [make_tx(net.employer, AnchorPayload(digest))])
    assert_refused(chain, make_tx(net.university, AnchorPayload(digest)), "already_anchored")


def test_second_of_two_conflicting_txs_in_one_block_is_dropped(
        chain: Chain, net: Consortium) -> None:
    digest = os.urandom(32)
    first = make_tx(net.employer, AnchorPayload(digest))
    second = make_tx(net.university, AnchorPayload(digest))
    execution = chain.build([first, second], net.ministry.member_id, 0, next_time(chain))
    assert execution.accepted == [first]
    assert [e.code for _, e in execution.rejected] == ["already_anchored"]
