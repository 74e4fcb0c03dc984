"""The consortium confirms an admission in doubt (rules version 10, `confirm_admission`): a
member an honest ministry admitted by its own `add_member`, whose key that ministry later
reported stolen from before the admission (cautiously, or in the block of its rotation),
had everything it recorded refused for good (`admission_compromised`), and its key could
not be admitted again. The ministries' vote now vouches for it, so what it records counts
again; only an admission in doubt, and only of the key the ministries checked."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.governance_words import proposal_state
from cli.main import main
from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.governance import load_proposal
from ledger.governance_policy import GovernancePolicy, load_voters
from ledger.identity import KeyPair
from ledger.offline import OfflineFacts, make_bundle, proof_keys
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    ConfirmAdmissionAction,
    MemberAction,
    VotePayload,
)
from ledger.records import Member, member_key
from ledger.rules_version import ADMISSION_CONFIRMED_FROM
from ledger.verification import Verdict, verify_credential
from node.governance_view import governance_json
from node.validators import certifies_by_keys
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving
from tests.node.conftest import CHAIN_ID, commit, make_tx
from tests.node.governance_scenes import doubted_of_two_voters
from tests.node.test_governance import Council, make_council, proposal
from tests.node.test_governance_cli import _ChainClient, _key
from tests.node.test_governance_key_replacement import council_chain, issue
from tests.node.test_ledger_refusals import assert_refused
from tests.node.test_stolen_key_admission import admitted
from tests.node.test_stolen_key_records import rotate_and_report, rotated, verdict_of


def doubted_university(version: int = ADMISSION_CONFIRMED_FROM
                       ) -> tuple[Council, Chain, KeyPair, dict[str, Any]]:
    """The Ministry of Justice admits and accredits a university, which issues a diploma;
    then, finding its key was copied, reports it stolen from before the admission."""
    council, chain = council_chain(version)
    cautious_from = chain.height
    university = admitted(chain, council.ministry3, "Astana IT University", council.ministry3,
                          council.ministry)
    diploma = issue(chain, university)
    rotate_and_report(chain, council.ministry3, cautious_from)
    assert verdict_of(chain, diploma).status == "admission_compromised"
    return council, chain, university, diploma


def confirm(chain: Chain, council: Council, member: KeyPair,
            public_key: bytes | None = None) -> bytes:
    """Proposed by the Ministry of Science, voted by the Ministry of Education."""
    action = ConfirmAdmissionAction(member.member_id, public_key or member.public_key)
    made = proposal(council.ministry, action, chain.height + 20, chain.height + 15)
    commit(chain, [made])
    commit(chain, [make_tx(council.ministry2, VotePayload(made.tx_id))])
    return made.tx_id


def member_of(chain: Chain, keys: KeyPair) -> Member:
    return Member.decode(chain.state.get(member_key(keys.member_id)) or b"")


def test_a_confirmed_admission_makes_what_the_member_recorded_count_again() -> None:
    council, chain, university, diploma = doubted_university()
    proposal_id = confirm(chain, council, university)

    approved = load_proposal(chain.state, proposal_id)
    assert approved is not None and approved.status(chain.height + 1) == "in_force"
    assert member_of(chain, university).admission_confirmed == chain.height
    assert verdict_of(chain, diploma).status == "valid"
    assert verdict_of(chain, issue(chain, university)).status == "valid"  # and from now on


def test_an_offline_proof_made_after_the_confirmation_verifies() -> None:
    council, chain, university, diploma = doubted_university()

    def offline() -> Verdict:
        header = chain.head_header
        keys = proof_keys(bytes.fromhex(diploma["batch"]["root"]), university.member_id,
                          bytes.fromhex(diploma["target_hash"]),
                          [council.ministry3.member_id, council.ministry.member_id])
        document = copy.deepcopy(diploma)
        document["proof"] = make_bundle(chain.state, header,
                                        chain.get_certificate(header.height) or b"", keys)
        facts = OfflineFacts(document["proof"], council.genesis, certifies_by_keys(CHAIN_ID))
        return verify_credential(document, facts, CHAIN_ID)

    assert offline().status == "admission_compromised"
    confirm(chain, council, university)
    assert offline().status == "valid"  # the member's record carries the confirmation


def test_only_an_admission_in_doubt_is_confirmed() -> None:
    council, chain = council_chain(ADMISSION_CONFIRMED_FROM)
    honest = admitted(chain, council.ministry3, "Astana IT University", council.ministry3)
    action = ConfirmAdmissionAction(honest.member_id, honest.public_key)
    assert_refused(chain, proposal(council.ministry, action, chain.height + 20,
                                   chain.height + 15), "admission_not_doubted")
    # A genesis member was admitted by no ministry: nothing to confirm either.
    genesis = ConfirmAdmissionAction(council.university.member_id,
                                     council.university.public_key)
    assert_refused(chain, proposal(council.ministry, genesis, chain.height + 20,
                                   chain.height + 15), "admission_not_doubted")
    stranger = KeyPair.generate()
    assert_refused(chain, proposal(council.ministry, ConfirmAdmissionAction(
        stranger.member_id, stranger.public_key), chain.height + 20, chain.height + 15),
        "unknown_member")


def test_a_confirmed_admission_is_not_confirmed_twice() -> None:
    council, chain, university, _ = doubted_university()
    confirm(chain, council, university)
    action = ConfirmAdmissionAction(university.member_id, university.public_key)
    assert_refused(chain, proposal(council.ministry, action, chain.height + 20,
                                   chain.height + 15), "admission_not_doubted")


def test_only_the_key_the_ministries_checked_is_confirmed() -> None:
    council, chain, university, _ = doubted_university()
    other = KeyPair.generate()
    action = ConfirmAdmissionAction(university.member_id, other.public_key)
    assert_refused(chain, proposal(council.ministry, action, chain.height + 20,
                                   chain.height + 15), "member_key_changed")

    # Proposed with its key, which then changes before the vote: the vote is refused.
    made = proposal(council.ministry, ConfirmAdmissionAction(
        university.member_id, university.public_key), chain.height + 20, chain.height + 15)
    commit(chain, [made])
    rotated(chain, university)
    assert_refused(chain, make_tx(council.ministry2, VotePayload(made.tx_id)),
                   "member_key_changed")
    assert member_of(chain, university).admission_confirmed is None


def test_before_version_10_confirming_is_refused() -> None:
    council, chain, university, _ = doubted_university(ADMISSION_CONFIRMED_FROM - 1)
    action = ConfirmAdmissionAction(university.member_id, university.public_key)
    assert_refused(chain, proposal(council.ministry, action, chain.height + 20,
                                   chain.height + 15), "rules_version_too_low")


def test_a_member_record_keeps_its_confirmation_and_refuses_a_bad_one() -> None:
    _, chain, university, _ = doubted_university()
    record = member_of(chain, university)
    confirmed = Member(record.name, record.role, record.public_key, False,
                       record.added_height, None, None, record.added_by, 12)
    assert Member.decode(confirmed.encode()) == confirmed
    assert len(decode(record.encode())) == 8  # a record never confirmed encodes as before
    for bad in ("12", True, None, [12]):
        fields = decode(confirmed.encode())
        fields[8] = bad
        with pytest.raises(MalformedInput):
            Member.decode(encode(fields))


async def test_members_answer_says_when_the_admission_was_confirmed() -> None:
    council = make_council(rules_version=ADMISSION_CONFIRMED_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    chain = core.chain
    commit(chain, [])  # where the report's cautious height can point
    university = admitted(chain, council.ministry3, "Astana IT University", council.ministry3)
    rotate_and_report(chain, council.ministry3, 1)
    async with serving(core) as client:
        def listed(answer: dict[str, Any]) -> dict[str, Any]:
            return next(m for m in answer["members"]
                        if m["member_id"] == university.member_id.hex())
        before = listed(await (await client.get("/v1/members")).json())
        confirm(chain, council, university)
        after = listed(await (await client.get("/v1/members")).json())
    assert (before["admission_doubted_from"], before["admission_confirmed_height"]) == (1, None)
    assert (after["admission_doubted_from"], after["admission_confirmed_height"]) == (
        None, chain.height)


def test_senim_governance_propose_confirm_admission(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    council, chain, university, diploma = doubted_university()
    import cli.governance
    import cli.governance_vote
    _ChainClient.chain = chain
    for module in (cli.governance, cli.governance_vote):
        monkeypatch.setattr(module, "NodeClient", _ChainClient)
    runner = CliRunner()
    first = _key(tmp_path, council.ministry, "m1")

    missing = runner.invoke(main, ["governance", "propose", "--key", first, "--action",
                                   "confirm-admission", "--member", "Astana IT University"])
    assert missing.exit_code == 2 and "needs --member and --public-key" in missing.output
    height = chain.height
    proposed = runner.invoke(main, ["governance", "propose", "--key", first, "--action",
                                    "confirm-admission", "--member", "Astana IT University",
                                    "--public-key", university.public_key.hex()])
    assert proposed.exit_code == 0, proposed.output
    assert chain.height == height + 1
    listed = runner.invoke(main, ["governance", "list"]).output
    assert "confirm the admission of Astana IT University, holding key" in listed
    proposal_id = json.loads(runner.invoke(main, ["governance", "list", "--json"]).output
                             )["proposals"][0]["proposal_id"]
    voted = runner.invoke(main, ["governance", "vote", "--key",
                                 _key(tmp_path, council.ministry2, "m2"), proposal_id])
    assert voted.exit_code == 0, voted.output
    assert "Confirmed at height" in voted.output
    assert verdict_of(chain, diploma).status == "valid"


def test_the_admitting_ministrys_own_vote_does_not_confirm_its_admission() -> None:
    """A thief holding the Ministry of Justice's key admits a mill, rotates the ministry
    onto a key of its own and reports the copied key stolen: the mill's admission is now
    in doubt, and the thief, as the ministry, asks for the confirmation an admitting
    ministry would believably ask for. One ministry misled was enough."""
    council, chain = council_chain(ADMISSION_CONFIRMED_FROM)
    stolen_from = chain.height + 1
    mill = admitted(chain, council.ministry3, "Diploma Mill", council.ministry3,
                    council.ministry)
    forged = issue(chain, mill)
    as_the_ministry = rotate_and_report(chain, council.ministry3, stolen_from)
    assert verdict_of(chain, forged).status == "admission_compromised"

    made = proposal(as_the_ministry, ConfirmAdmissionAction(mill.member_id, mill.public_key),
                    chain.height + 30, chain.height + 25)
    commit(chain, [made])
    commit(chain, [make_tx(council.ministry2, VotePayload(made.tx_id))])  # misled
    assert member_of(chain, mill).admission_confirmed is None
    assert verdict_of(chain, forged).status == "admission_compromised"

    answer = governance_json(chain.state, chain.height)
    shown = next(p for p in answer["proposals"] if p["proposal_id"] == made.tx_id.hex())
    assert shown["votes_needed"] == 1
    assert shown["admitted_by"]["name"] == "Ministry of Justice"
    said = str(proposal_state(shown, answer["voters"], chain.height))
    assert said.startswith("Open, voted by Ministry of Education: it needs 1 more vote")
    assert said.endswith(" Ministry of Justice's own vote does not count: it admitted the "
                         "member whose admission this confirms.")
    assert "not yet voted: Ministry of Science." in said  # not the one whose vote is refused
    assert_refused(chain, make_tx(as_the_ministry, VotePayload(made.tx_id)), "vote_not_counted")
    # Every other ministry has to vote for it: then it is the consortium's word.
    commit(chain, [make_tx(council.ministry, VotePayload(made.tx_id))])
    approved = load_proposal(chain.state, made.tx_id)
    assert approved is not None and approved.voters == (council.ministry2.member_id,
                                                        council.ministry.member_id)
    assert member_of(chain, mill).admission_confirmed == chain.height


def test_of_two_ministries_the_other_one_confirms_alone() -> None:
    """The pilot's consortium: two voting ministries at a threshold of two. Without the
    admitting one's vote the threshold could never be met; the other vouches alone, as it
    could approve anything with the admitting one's key in a thief's hands."""
    doubted = doubted_of_two_voters()
    council, chain, university, diploma = (doubted.council, doubted.chain, doubted.university,
                                           doubted.diploma)
    new = doubted.admitting
    assert verdict_of(chain, diploma).status == "admission_compromised"

    own = proposal(new, ConfirmAdmissionAction(university.member_id, university.public_key),
                   chain.height + 20, chain.height + 15)
    commit(chain, [own])  # the admitting ministry's own proposal: not enough
    assert member_of(chain, university).admission_confirmed is None
    answer = governance_json(chain.state, chain.height)
    shown = next(p for p in answer["proposals"] if p["proposal_id"] == own.tx_id.hex())
    assert shown["votes_needed"] == 1
    commit(chain, [make_tx(council.ministry, VotePayload(own.tx_id))])
    assert member_of(chain, university).admission_confirmed == chain.height
    assert verdict_of(chain, diploma).status == "valid"


def test_a_lone_voter_confirms_what_it_admitted() -> None:
    policy = GovernancePolicy(1)
    council = make_council(policy, rules_version=ADMISSION_CONFIRMED_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    for ministry in (council.ministry2, council.ministry3):
        commit(chain, [proposal(council.ministry, MemberAction(
            ACTION_RETIRE_MEMBER, ministry.member_id), chain.height + 10, chain.height + 8)])
    assert load_voters(chain.state) == [council.ministry.member_id]
    cautious_from = chain.height
    university = admitted(chain, council.ministry, "Astana IT University", council.ministry)
    new = rotate_and_report(chain, council.ministry, cautious_from)
    commit(chain, [proposal(new, ConfirmAdmissionAction(
        university.member_id, university.public_key), chain.height + 20, chain.height + 15)])
    assert member_of(chain, university).admission_confirmed == chain.height
