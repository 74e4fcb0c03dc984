"""Governance chains that tests of the ledger and of the CLI's words both start from: a
doubted admission in a consortium of two voters, and a vote set aside by a thief's report
that counts again once a replacement undoes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.chain import Chain
from ledger.governance_policy import GovernancePolicy, load_voters
from ledger.identity import KeyPair
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AddMemberAction,
    MemberAction,
    ReportCompromisePayload,
    VotePayload,
)
from ledger.rules_version import ADMISSION_CONFIRMED_FROM, STOLEN_VOTES_SET_ASIDE_FROM
from ledger.transactions import Transaction
from storage.kv import MemoryStore
from tests.node.conftest import commit, keys_from, make_tx
from tests.node.test_governance import Council, make_council, proposal
from tests.node.test_governance_key_replacement import council_chain, issue, replacement
from tests.node.test_stolen_key_admission import admitted
from tests.node.test_stolen_key_records import rotate_and_report, rotated


@dataclass(frozen=True)
class DoubtedOfTwo:
    """`university`, admitted by the Ministry of Education (ministry2), which then reported
    its key stolen from before the admission and signs with `admitting` since."""

    council: Council
    chain: Chain
    university: KeyPair
    diploma: dict[str, Any]
    admitting: KeyPair


def doubted_of_two_voters() -> DoubtedOfTwo:
    """The pilot's consortium: two voting ministries (the Ministry of Justice retired) at a
    threshold of two. The Ministry of Education admits a university the Ministry of Science
    accredits too, which issues a diploma; then it reports its key stolen."""
    council, chain = council_chain(ADMISSION_CONFIRMED_FROM)
    retire = proposal(council.ministry, MemberAction(ACTION_RETIRE_MEMBER,
                                                     council.ministry3.member_id),
                      chain.height + 10, chain.height + 8)
    commit(chain, [retire])
    commit(chain, [make_tx(council.ministry2, VotePayload(retire.tx_id))])
    assert len(load_voters(chain.state)) == 2
    cautious_from = chain.height
    university = admitted(chain, council.ministry2, "Astana IT University",
                          council.ministry2, council.ministry)
    diploma = issue(chain, university)
    admitting = rotate_and_report(chain, council.ministry2, cautious_from)
    return DoubtedOfTwo(council, chain, university, diploma, admitting)


@dataclass(frozen=True)
class VoteSetAside:
    """`made`, Honest College's admission at a threshold of three, voted by all three
    ministries, but ministry2's honest vote is set aside: a thief holding `copied` (its
    current key) reported its older key stolen from height 1."""

    council: Council
    chain: Chain
    college: KeyPair
    made: Transaction
    copied: KeyPair
    theft: int  # the height of the thief's report

    def count_again(self) -> KeyPair:
        """The replacement that undoes the thief's report, approved: ministry2's vote counts
        again, and the proposal has the votes it needs. Ministry2's new key."""
        chain, council = self.chain, self.council
        new, action = replacement(chain, self.copied, compromised_from=self.theft)
        undo = proposal(council.ministry, action, chain.height + 10, chain.height + 8)
        commit(chain, [undo])
        commit(chain, [make_tx(self.copied, VotePayload(undo.tx_id))])
        commit(chain, [make_tx(council.ministry3, VotePayload(undo.tx_id))])
        return new


def vote_set_aside() -> VoteSetAside:
    council = make_council(GovernancePolicy(3), rules_version=STOLEN_VOTES_SET_ASIDE_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    college = keys_from("honest college")
    made = proposal(council.ministry, AddMemberAction("Honest College", "university",
                                                      college.public_key),
                    chain.height + 60, chain.height + 50)
    commit(chain, [made])
    commit(chain, [make_tx(council.ministry2, VotePayload(made.tx_id))])  # honest, with K1
    copied = rotated(chain, council.ministry2)  # K2, which the thief copies
    theft = chain.height + 1
    commit(chain, [make_tx(copied, ReportCompromisePayload(council.ministry2.public_key, 1))])
    commit(chain, [make_tx(council.ministry3, VotePayload(made.tx_id))])
    return VoteSetAside(council, chain, college, made, copied, theft)
