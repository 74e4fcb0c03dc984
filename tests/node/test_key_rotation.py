"""Key rotation and stolen-key reports: the member keeps its id, earlier credentials keep
their meaning, and a report splits an issuer's credentials exactly at its height."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from ledger import key_events
from ledger.chain import Chain
from ledger.codec import encode
from ledger.credentials import make_batch
from ledger.errors import MalformedInput, TxRejected
from ledger.facts import LocalFacts
from ledger.identity import KeyPair, MemberId
from ledger.key_events import (
    MAX_KEY_PERIODS,
    PERIODS_KEPT_FOR_GOVERNANCE,
    VALIDATOR_KEY_CHANGE_DELAY_BLOCKS,
    KeyPeriod,
    key_history_key,
    load_key_history,
    prove_possession,
    rotate_member_key,
    set_compromised_from,
)
from ledger.offline import OfflineFacts, make_bundle, proof_keys
from ledger.payloads import (
    AnchorPayload,
    IssueBatchPayload,
    ReportCompromisePayload,
    RotateKeyPayload,
)
from ledger.records import Batch, batch_key
from ledger.rules import apply_transaction, block_context, check_envelope, load_member
from ledger.validator_sets import validator_set_at
from ledger.verification import Verdict, verify_credential
from node.engine import Engine
from node.engine_types import EngineConfig
from node.files import load_key, save_key
from node.mempool import Mempool, MempoolLimits
from node.validators import ValidatorSets, certifies_by_keys, peer_keys
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    admission,
    commit,
    documents_of,
    make_tx,
)
from tests.node.test_engine import Recorder
from tests.node.test_ledger_refusals import assert_refused

RECORDS = [{"full_name": f"Graduate {i}", "iin": f"{i:012d}", "gpa": "3.1"} for i in range(3)]


def rotation(chain: Chain, keys: KeyPair, new: KeyPair | None = None
             ) -> tuple[KeyPair, RotateKeyPayload]:
    new = new or KeyPair.generate()
    proof = prove_possession(new, chain.chain_id, keys.member_id)
    return KeyPair.from_seed(new.seed, keys.member_id), RotateKeyPayload(new.public_key, proof)


def rotate(chain: Chain, keys: KeyPair) -> KeyPair:
    rotated, payload = rotation(chain, keys)
    commit(chain, [make_tx(keys, payload)])
    return rotated


def issue(chain: Chain, keys: KeyPair) -> list[dict[str, Any]]:
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, keys.member_id, "KazNU")
    commit(chain, [make_tx(keys, IssueBatchPayload("diploma", batch.root, len(RECORDS)))])
    return documents_of(batch)


def verdict_of(chain: Chain, document: dict[str, Any]) -> Verdict:
    return verify_credential(json.loads(json.dumps(document)),
                             LocalFacts(chain.state, "test"), CHAIN_ID)


@pytest.fixture
def accredited(chain: Chain, net: Consortium) -> Chain:
    commit(chain, [accredit(net, net.university, ["diploma"])])
    return chain


def test_rotation_keeps_the_member_id_and_moves_signing_to_the_new_key(
        accredited: Chain, net: Consortium) -> None:
    chain = accredited
    before = issue(chain, net.university)
    new = rotate(chain, net.university)
    rotated_at = chain.height
    assert new.member_id == net.university.member_id != KeyPair.from_seed(new.seed).member_id
    member = load_member(chain.state, net.university.member_id)
    assert member is not None
    assert (member.public_key, member.key_rotated_height) == (new.public_key, rotated_at)
    history = load_key_history(chain.state, net.university.member_id)
    assert history is not None
    assert history.periods == (KeyPeriod(net.university.public_key, 0, rotated_at),
                               KeyPeriod(new.public_key, rotated_at, None))
    after = issue(chain, new)  # the new key issues, under the same id
    assert_refused(chain, make_tx(net.university, AnchorPayload(b"\x01" * 32)),
                   "bad_signature")
    for document in (before[0], after[0]):  # rotation invalidates nothing
        verdict = verdict_of(chain, document)
        assert verdict.status == "valid", verdict.reason
    assert "in use from height 0 to" in verdict_of(chain, before[0]).checks[3].detail


def test_a_signature_checked_before_a_rotation_is_checked_again(
        accredited: Chain, net: Consortium) -> None:
    chain = accredited
    old_signed = make_tx(net.university, AnchorPayload(b"\x02" * 32))
    rotate(chain, net.university)
    ctx = block_context(chain.state, chain.chain_id, chain.height + 1,
                        chain.head_header.time_ms + 1)
    with pytest.raises(TxRejected, match="signature"):
        check_envelope(chain.state.overlay(), old_signed, ctx, chain.is_committed,
                       signature_known_good=True)
    execution = chain.build([old_signed], net.ministry.member_id, 0, ctx.time_ms,
                            verified={old_signed.tx_id})
    assert [e.code for _, e in execution.rejected] == ["bad_signature"]


def test_a_rotated_key_file_signs_for_its_member(tmp_path: Path, accredited: Chain,
                                                 net: Consortium) -> None:
    new = rotate(accredited, net.university)
    save_key(tmp_path / "new.json", new)
    loaded = load_key(tmp_path / "new.json")
    assert (loaded.member_id, loaded.public_key) == (net.university.member_id, new.public_key)
    commit(accredited, [make_tx(loaded, AnchorPayload(b"\x03" * 32))])


def test_stolen_key_report_splits_credentials_exactly_at_its_height(
        accredited: Chain, net: Consortium) -> None:
    chain = accredited
    issued: dict[int, list[dict[str, Any]]] = {}
    for _ in range(4):
        documents = issue(chain, net.university)
        issued[chain.height] = documents
    heights = sorted(issued)
    stolen_from = heights[2]  # the thief had the key from the third batch on
    new = rotate(chain, net.university)
    after_rotation = issue(chain, new)
    commit(chain, [make_tx(new, ReportCompromisePayload(net.university.public_key,
                                                         stolen_from))])
    for height, documents in issued.items():
        verdict = verdict_of(chain, documents[1])
        expected = "valid" if height < stolen_from else "compromised_key"
        assert verdict.status == expected, (height, verdict.reason)
        if expected == "compromised_key":
            assert not verdict.valid
            assert f"stolen from height {stolen_from}" in verdict.reason
            assert verdict.facts["key_compromised_from"] == stolen_from
    assert verdict_of(chain, after_rotation[0]).status == "valid"

    # Governance moves the height earlier: one more batch falls; and back again.
    set_and_commit(chain, net, heights[1])
    assert [verdict_of(chain, issued[h][0]).status for h in heights] == [
        "valid", "compromised_key", "compromised_key", "compromised_key"]
    set_and_commit(chain, net, None)
    assert all(verdict_of(chain, issued[h][0]).valid for h in heights)


def set_and_commit(chain: Chain, net: Consortium, height: int | None) -> None:
    """A governance action as its rule will call it, on an overlay, written directly."""
    overlay = chain.state.overlay()
    set_compromised_from(overlay, net.university.member_id, net.university.public_key, height)
    _apply_overlay(chain, overlay)


def _apply_overlay(chain: Chain, overlay: Any) -> None:
    """Write an overlay's changes to the state outside a block (what a governance action
    would write inside one)."""
    writes = chain.state.commit(overlay)
    chain.kv.write(writes)
    chain.state.committed(overlay)


def test_stolen_key_report_splits_offline_proofs_too(accredited: Chain, net: Consortium
                                                     ) -> None:
    chain = accredited
    early, late = issue(chain, net.university), issue(chain, net.university)
    new = rotate(chain, net.university)
    commit(chain, [make_tx(new, ReportCompromisePayload(net.university.public_key,
                                                         chain.height - 1))])
    certifies = certifies_by_keys(CHAIN_ID)
    statuses = []
    for document in (early[0], late[0]):
        keys = proof_keys(bytes.fromhex(document["batch"]["root"]), net.university.member_id,
                          bytes.fromhex(document["target_hash"]), [net.ministry.member_id])
        proved = copy.deepcopy(document)
        header = chain.head_header
        proved["proof"] = make_bundle(chain.state, header,
                                      chain.get_certificate(header.height) or b"", keys)
        facts = OfflineFacts(proved["proof"], net.genesis, certifies)
        statuses.append(verify_credential(proved, facts, CHAIN_ID).status)
    assert statuses == ["valid", "compromised_key"]


def test_a_batch_recorded_before_rotation_existed_is_read_as_the_first_key(
        accredited: Chain, net: Consortium) -> None:
    chain = accredited
    documents = issue(chain, net.university)
    root = bytes.fromhex(documents[0]["batch"]["root"])
    stored = chain.state.get(batch_key(net.university.member_id, root))
    assert stored is not None
    batch = Batch.decode(stored)
    assert batch.signer_key == net.university.public_key
    legacy = encode([batch.issuer, batch.credential_type, batch.count, batch.height,
                     batch.time_ms, batch.tx_id])
    assert Batch.decode(legacy).signer_key is None
    overlay = chain.state.overlay()
    overlay.set(batch_key(net.university.member_id, root), legacy)
    _apply_overlay(chain, overlay)
    new = rotate(chain, net.university)
    assert verdict_of(chain, documents[0]).valid
    commit(chain, [make_tx(new, ReportCompromisePayload(net.university.public_key,
                                                         batch.height))])
    assert verdict_of(chain, documents[0]).status == "compromised_key"


def test_a_validator_rotation_changes_the_set_two_blocks_later(chain: Chain,
                                                               net: Consortium) -> None:
    new = rotate(chain, net.ministry)
    rotated_at = chain.height
    effective = rotated_at + VALIDATOR_KEY_CHANGE_DELAY_BLOCKS
    assert validator_set_at(chain.state, effective - 1).public_keys == [net.ministry.public_key]
    assert validator_set_at(chain.state, effective).public_keys == [new.public_key]


def test_governance_rotates_a_lost_key(accredited: Chain, net: Consortium) -> None:
    chain = accredited
    documents = issue(chain, net.university)
    new = KeyPair.from_seed(KeyPair.generate().seed, net.university.member_id)
    overlay = chain.state.overlay()
    rotate_member_key(overlay, net.university.member_id, new.public_key, chain.height + 1)
    _apply_overlay(chain, overlay)
    commit(chain, [make_tx(new, AnchorPayload(b"\x04" * 32))])
    assert verdict_of(chain, documents[0]).valid


# ---- refusals: each changes nothing -------------------------------------------------------

def test_bad_possession_proof(accredited: Chain, net: Consortium) -> None:
    new = KeyPair.generate()
    for_another = prove_possession(new, CHAIN_ID, net.university2.member_id)
    assert_refused(accredited, make_tx(net.university, RotateKeyPayload(
        new.public_key, for_another)), "bad_possession_proof")
    other_chain = prove_possession(new, "senim-other", net.university.member_id)
    assert_refused(accredited, make_tx(net.university, RotateKeyPayload(
        new.public_key, other_chain)), "bad_possession_proof")


def test_key_in_use(accredited: Chain, net: Consortium) -> None:
    chain = accredited
    # Another member's first key: the proof of possession would need its seed; a thief
    # of that seed still cannot make two members share it.
    _, payload = rotation(chain, net.university, net.university2)
    assert_refused(chain, make_tx(net.university, payload), "key_in_use")
    new = rotate(chain, net.university)
    _, payload = rotation(chain, net.university2, KeyPair.from_seed(new.seed))
    assert_refused(chain, make_tx(net.university2, payload), "key_in_use")
    _, back = rotation(chain, new, net.university)  # back to its own earlier key
    assert_refused(chain, make_tx(new, back), "key_in_use")
    assert_refused(chain, make_tx(net.ministry, admission(new, "Copy", "university")),
                   "already_member")


def test_too_many_rotations(accredited: Chain, net: Consortium) -> None:
    # A member's own rotations stop short of governance's reserve (from rules version 7).
    own_keys = MAX_KEY_PERIODS - PERIODS_KEPT_FOR_GOVERNANCE
    keys = net.university
    for _ in range(own_keys - 1):
        keys = rotate(accredited, keys)
    _, payload = rotation(accredited, keys)
    refusal = assert_refused(accredited, make_tx(keys, payload), "too_many_rotations")
    assert refusal.message == f"the member has had {own_keys} keys", refusal.message


def test_report_refusals(accredited: Chain, net: Consortium) -> None:
    chain = accredited
    assert_refused(chain, make_tx(net.university, ReportCompromisePayload(
        net.university.public_key, 1)), "key_in_use")
    new = rotate(chain, net.university)
    rotated_at = chain.height
    assert_refused(chain, make_tx(new, ReportCompromisePayload(
        net.university2.public_key, 1)), "unknown_key")
    assert_refused(chain, make_tx(new, ReportCompromisePayload(
        net.university.public_key, rotated_at + 1)), "after_rotation")
    commit(chain, [make_tx(new, ReportCompromisePayload(net.university.public_key, 2))])
    assert_refused(chain, make_tx(new, ReportCompromisePayload(
        net.university.public_key, 2)), "already_reported")
    commit(chain, [make_tx(new, ReportCompromisePayload(net.university.public_key, 1))])
    with pytest.raises(MalformedInput):  # a height of 0 never reaches a node
        make_tx(new, ReportCompromisePayload(net.university.public_key, 0))


def test_governance_refusals_write_nothing(accredited: Chain, net: Consortium) -> None:
    overlay = accredited.state.overlay()
    with pytest.raises(TxRejected) as info:
        rotate_member_key(overlay, MemberId(b"\x00" * 20), KeyPair.generate().public_key, 5)
    assert info.value.code == "unknown_member"
    with pytest.raises(TxRejected) as info:
        set_compromised_from(overlay, net.university.member_id, net.university.public_key, 1)
    assert info.value.code == "key_in_use"
    assert overlay.keys_changed() == 0
    assert overlay.get(key_history_key(net.university.member_id)) is None


def test_rotation_tx_applies_through_the_rules(accredited: Chain, net: Consortium) -> None:
    new, payload = rotation(accredited, net.university)
    tx = make_tx(net.university, payload)
    overlay = accredited.state.overlay()
    ctx = block_context(accredited.state, CHAIN_ID, accredited.height + 1,
                        accredited.head_header.time_ms + 1)
    sender = check_envelope(overlay, tx, ctx, accredited.is_committed)
    apply_transaction(overlay, tx, sender, ctx)
    member = load_member(overlay, net.university.member_id)
    assert member is not None and member.public_key == new.public_key


def test_too_many_set_changes(chain: Chain, net: Consortium,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(key_events, "MAX_VALIDATOR_SET_CHANGES", 1)  # genesis holds the one
    _, payload = rotation(chain, net.ministry)
    assert_refused(chain, make_tx(net.ministry, payload), "too_many_set_changes")
    _, payload = rotation(chain, net.university)  # not a validator: no set to change
    commit(chain, [make_tx(net.university, payload)])


def test_a_rotated_validator_is_named_as_its_member(chain: Chain, net: Consortium) -> None:
    """After a rotation the set names the validator by its new key's id, which is no
    member's: the engine's status still names the member, and its node validates."""
    new = rotate(chain, net.ministry)
    commit(chain, [], proposer=new)
    commit(chain, [], proposer=new)
    assert validator_set_at(chain.state, chain.height + 1).public_keys == [new.public_key]
    engine = Engine(new, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                    ValidatorSets.for_chain(chain), EngineConfig(1_000, 100), lambda: 0,
                    Recorder())
    status = engine.status()
    assert status["mode"] == "pbft"
    assert status["primary"] == "Ministry of Science"
    assert status["reachable"] == ["Ministry of Science"]


def test_a_key_rotated_away_from_may_connect_while_it_still_certifies(
        chain: Chain, net: Consortium) -> None:
    """The validator's node runs the old key until its operator restarts it, and that key
    certifies two more blocks: refused at once by its peers, it left them one vote short
    (a stall when one other validator was down)."""
    old = net.ministry.public_key
    new = rotate(chain, net.ministry)
    allowed = peer_keys(chain.state, chain.height)
    assert allowed[old] == allowed[new.public_key] == "Ministry of Science"
    assert net.university.public_key in allowed and net.outsider.public_key not in allowed
    assert validator_set_at(chain.state, chain.height + 1).public_keys == [old]
    commit(chain, [], proposer=net.ministry)  # the last block the old key certifies
    assert old not in peer_keys(chain.state, chain.height)


def test_a_node_running_a_key_rotated_away_from_says_so_once(
        chain: Chain, net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """Its peers drop it once the old key certifies no more; the operator is told why."""
    def engine(keys: KeyPair) -> Engine:
        return Engine(keys, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                      ValidatorSets.for_chain(chain), EngineConfig(1_000, 100), lambda: 0,
                      Recorder())

    with caplog.at_level(logging.ERROR, logger="senim.engine"):
        running = engine(net.ministry)
        assert not caplog.records
        new = rotate(chain, net.ministry)
        running._follow_sets()  # as after the rotation's commit
        running._follow_sets()
        engine(new)
    told = [r.getMessage() for r in caplog.records]
    assert told == [f"member {net.ministry.member_id.hex()} signs with key "
                    f"{new.public_key.hex()[:16]}… since block 1 (its member rotated it), "
                    f"not with this node's key {net.ministry.public_key.hex()[:16]}…: that "
                    "key certifies blocks up to 2 and its peers admit this node until block "
                    "2 is committed; then restart it with the member's current key file "
                    "([node] key)"]
