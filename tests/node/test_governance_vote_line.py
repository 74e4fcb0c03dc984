"""How many votes `governance propose` and `governance revoke` say a proposal still needs,
and when `governance list` says how to vote: as the node counts them.

`propose` said "it needs threshold - 1 more vote(s)" whatever the proposal: a
confirm-admission by a ministry that did not admit the member, of two voters, is approved
by the proposal itself, and was said to need another vote; one by the admitting ministry,
whose vote does not count, needs the others' two, and was said to need one. `revoke` did
the same sum. `list` said how to vote only while a proposal needed a vote, not for one
that has the votes it needs, which the next vote of any voter approves.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import cli.governance
import cli.governance_vote
import node.governance_view
from cli.main import main
from ledger.chain import Chain
from ledger.governance_votes import Ballot
from ledger.identity import KeyPair
from ledger.payloads import (
    ACTION_ADD_VALIDATOR,
    MemberAction,
    ProposePayload,
    VotePayload,
)
from ledger.rules_version import ADMISSION_CONFIRMED_FROM
from ledger.validator_sets import StateReader
from storage.kv import MemoryStore
from tests.cli.test_bulk_revocation_cli import Officer, officer
from tests.cli.test_consortium_revocation_cli import senim
from tests.node.conftest import commit, make_tx
from tests.node.governance_scenes import doubted_of_two_voters, vote_set_aside
from tests.node.test_admission_confirmation import member_of
from tests.node.test_governance import make_council
from tests.node.test_governance_cli import _ChainClient, _key
from tests.node.test_governance_key_replacement import council_chain, issue
from tests.node.test_stolen_key_admission import admitted
from tests.node.test_stolen_key_records import rotate_and_report

__all__ = ["officer"]  # a fixture, used by name

HOW_TO_VOTE = {"en": "To vote for an open proposal, a voter that has not voted yet runs:",
               "kk": "Ашық ұсынысқа дауыс беру үшін",
               "ru": "Чтобы проголосовать за открытое предложение,"}
HOW_TO_APPROVE = {
    "en": "To approve an open proposal that has the votes it needs, any voter runs: senim "
          "governance vote --key KEY PROPOSAL_ID (the id's first 8 digits are enough unless "
          "another proposal starts with them).\n",
    "kk": "Қажетті дауыстары жеткен ашық ұсынысты бекіту үшін басқаруда дауыс беретін кез "
          "келген министрлік мына команданы орындайды: senim governance vote --key КІЛТ "
          "ҰСЫНЫС_ИДЕНТИФИКАТОРЫ (басқа ұсыныс сол цифрлардан басталмаса, идентификатордың "
          "алғашқы 8 цифры жеткілікті).\n",
    "ru": "Чтобы одобрить открытое предложение, у которого уже достаточно голосов, любое "
          "голосующее министерство выполняет: senim governance vote --key КЛЮЧ "
          "ИДЕНТИФИКАТОР_ПРЕДЛОЖЕНИЯ (достаточно первых 8 цифр идентификатора, если с них не "
          "начинается другое предложение).\n",
}


def _served(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    _ChainClient.chain = chain
    for module in (cli.governance, cli.governance_vote):
        monkeypatch.setattr(module, "NodeClient", _ChainClient)


def _confirm(tmp_path: Path, keys: KeyPair, university: KeyPair, lang: str = "en") -> Result:
    return CliRunner().invoke(main, ["governance", "propose", "--key",
                                     _key(tmp_path, keys, "proposer"), "--action",
                                     "confirm-admission", "--member", "Astana IT University",
                                     "--public-key", university.public_key.hex(), "--lang",
                                     lang])


def _listed(lang: str) -> str:
    listed = CliRunner().invoke(main, ["governance", "list", "--lang", lang])
    assert listed.exit_code == 0 and "Traceback" not in listed.output, listed.output
    return listed.output


def test_a_confirmation_approved_by_its_proposal_asks_for_no_vote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two voters: the Ministry of Education admitted the university, so the Ministry of
    Science's proposal is the one vote that counts, and it confirms at once."""
    doubted = doubted_of_two_voters()
    chain, university = doubted.chain, doubted.university
    _served(chain, monkeypatch)

    proposed = _confirm(tmp_path, doubted.council.ministry, university)
    assert proposed.exit_code == 0, proposed.output
    assert member_of(chain, university).admission_confirmed == chain.height
    assert "more vote" not in proposed.output and "governance vote" not in proposed.output
    assert f"Confirmed at height {chain.height}, approved by Ministry of Science." \
        in proposed.output, proposed.output
    for lang in ("en", "kk", "ru"):  # nothing is open to vote for
        assert HOW_TO_VOTE[lang] not in _listed(lang)


def _doubted_by_justice(monkeypatch: pytest.MonkeyPatch) -> tuple[KeyPair, KeyPair]:
    """A university the Ministry of Justice admitted, served: the university's keys, and
    the ministry's since it reported its key stolen."""
    council, chain = council_chain(ADMISSION_CONFIRMED_FROM)
    cautious_from = chain.height
    university = admitted(chain, council.ministry3, "Astana IT University",
                          council.ministry3, council.ministry)
    issue(chain, university)
    new = rotate_and_report(chain, council.ministry3, cautious_from)
    _served(chain, monkeypatch)
    return university, new


def _counted_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """The node counts every proposal open with the votes it needs, as it lists one whose
    vote set aside counts again (test_a_proposal_that_has_the_votes_it_needs_...)."""
    def every_vote_needed(_state: StateReader, _ballot: Ballot, _version: int) -> int:
        return 99

    monkeypatch.setattr(node.governance_view, "counted_votes", every_vote_needed)


def test_a_confirmation_by_the_admitting_ministry_needs_the_others_votes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    university, new = _doubted_by_justice(monkeypatch)
    proposed = _confirm(tmp_path, new, university)
    assert proposed.exit_code == 0, proposed.output
    assert "it needs 2 more vote(s) of the other governance voters by height " \
        in proposed.output, proposed.output


APPROVE_IT = {
    "en": "to approve it, any governance voter runs: senim governance vote --key KEY {id}\n",
    "kk": "оны бекіту үшін басқаруда дауыс беретін кез келген министрлік мына команданы "
          "орындайды: senim governance vote --key КІЛТ {id}\n",
    "ru": "чтобы одобрить его, любое голосующее министерство выполняет: senim governance vote "
          "--key КЛЮЧ {id}\n",
}


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_a_proposal_open_with_the_votes_it_needs_is_said_with_how_to_approve_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """propose said where such a proposal stands, as list does, but not the command that
    approves it, which list gives."""
    university, new = _doubted_by_justice(monkeypatch)
    _counted_enough(monkeypatch)
    proposed = _confirm(tmp_path, new, university, lang)
    assert proposed.exit_code == 0, proposed.output
    made = re.search(r"\b[0-9a-f]{64}\b", proposed.output)
    assert made is not None, proposed.output
    said = proposed.output.split(APPROVE_IT[lang].format(id=made[0]))
    assert len(said) == 2, proposed.output  # after where it stands, once
    assert said[0].endswith(".\n") and "more vote" not in proposed.output, proposed.output


async def test_revoke_of_a_proposal_open_with_the_votes_it_needs_says_how_to_approve_it(
        officer: Officer, monkeypatch: pytest.MonkeyPatch) -> None:
    _counted_enough(monkeypatch)
    diploma = officer.file(officer.kaznu, 0)
    proposed = await senim("governance", "revoke", "--key", officer.key("ministry"), diploma,
                           "--reason", "fraud", "--node", officer.url)
    assert proposed.exit_code == 0, proposed.output
    made = re.search(r"proposal id: ([0-9a-f]{64})\n", proposed.output)
    assert made is not None, proposed.output
    assert proposed.output.endswith(APPROVE_IT["en"].format(id=made[1])), proposed.output
    assert "the next vote of any voter approves it" in proposed.output, proposed.output


def test_a_proposal_that_has_the_votes_it_needs_is_listed_with_how_to_approve_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The Ministry of Education's vote, set aside by a thief's report, counts again once a
    replacement undoes the report: the proposal has its three votes, and any voter's next
    vote approves it (tests/node/test_governance_stolen_votes.py)."""
    scene = vote_set_aside()
    _served(scene.chain, monkeypatch)
    for lang in ("en", "kk", "ru"):  # one vote short: a voter that has not voted votes
        said = _listed(lang)
        assert HOW_TO_VOTE[lang] in said and HOW_TO_APPROVE[lang] not in said, said

    scene.count_again()
    for lang in ("en", "kk", "ru"):
        said = _listed(lang)
        assert said.endswith(HOW_TO_APPROVE[lang]), said
        assert HOW_TO_VOTE[lang] not in said, said


def test_an_expired_proposal_and_one_that_cannot_apply_are_not_said_to_take_votes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    council = make_council()
    chain = Chain(MemoryStore(), council.genesis)
    add = MemberAction(ACTION_ADD_VALIDATOR, council.university.member_id)
    first, second = (make_tx(council.ministry, ProposePayload(add, h, h - 2)) for h in (30, 31))
    closing = make_tx(council.ministry, ProposePayload(
        MemberAction(ACTION_ADD_VALIDATOR, council.ministry3.member_id), 5, 3))
    commit(chain, [first, second, closing])
    commit(chain, [make_tx(council.ministry3, VotePayload(first.tx_id))])
    while chain.height < 3:  # the next block is past `closing`'s expiry height
        commit(chain, [])
    _served(chain, monkeypatch)
    said = _listed("en")
    assert "Can no longer apply as the chain stands" in said, said
    assert "Expired: voting closed at height 3" in said, said
    assert "Open," not in said, said
    for lang in ("en", "kk", "ru"):
        said = _listed(lang)
        assert HOW_TO_VOTE[lang] not in said and HOW_TO_APPROVE[lang].strip() not in said


async def test_revoke_says_the_votes_the_node_counts(
        officer: Officer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node counts no vote on the proposal yet (its proposer's set aside, as a vote
    cast with a key distrusted at its height is): the line says the two votes it needs,
    not the policy's threshold less one."""
    def proposers_set_aside(_state: StateReader, _ballot: Ballot, _version: int) -> int:
        return 0

    monkeypatch.setattr(node.governance_view, "counted_votes", proposers_set_aside)
    diploma = officer.file(officer.kaznu, 0)
    proposed = await senim("governance", "revoke", "--key", officer.key("ministry"), diploma,
                           "--reason", "fraud", "--node", officer.url)
    assert proposed.exit_code == 0, proposed.output
    assert "the credential is revoked once 2 more voter(s) vote for it" in proposed.output, \
        proposed.output
