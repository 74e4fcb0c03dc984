"""An employment record of an employer retired from the consortium: it can record no end
any more, so its verdict says the chain cannot tell whether the employment continues,
never "currently employed", in every language the verdict is said in."""

from __future__ import annotations

from cli.check_words import check_words
from cli.language import Words
from ledger.chain import Chain
from ledger.credentials import IssuedBatch
from ledger.facts import LocalFacts
from ledger.payloads import ACTION_RETIRE_MEMBER
from ledger.verification import Verdict, verify_credential
from storage.kv import MemoryStore
from tests.node.academic_fixtures import issue
from tests.node.conftest import CHAIN_ID, accredit, commit, documents_of
from tests.node.test_employment import EMPLOYEES
from tests.node.test_governance import Council, approve, commit_until, make_council, member_action

RETIRED_AT = 10


def _employed_by(retire_at: int, until: int) -> tuple[Council, Chain, IssuedBatch]:
    council = make_council()
    chain = Chain(MemoryStore(), council.genesis)
    commit(chain, [accredit(council, council.university,  # type: ignore[arg-type]
                            ["employment"])])
    batch = issue(chain, council.university, "KazNU", EMPLOYEES, "employment")
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university), retire_at)
    commit_until(chain, until)
    return council, chain, batch


def _verdict(chain: Chain, batch: IssuedBatch, *, block_times: bool = True) -> Verdict:
    facts = (LocalFacts(chain.state, "test", chain.height, chain.block_time) if block_times
             else LocalFacts(chain.state, "test"))
    return verify_credential(documents_of(batch)[0], facts, CHAIN_ID)


def _employment_line(verdict: Verdict, language: str) -> str:
    check = next(c for c in verdict.checks if c.name == "employment")
    return check_words(check, verdict, Words(language), None)


def test_an_employer_that_left_cannot_say_the_employment_continues() -> None:
    _council, chain, batch = _employed_by(RETIRED_AT, RETIRED_AT + 2)
    verdict = _verdict(chain, batch)
    assert verdict.status == "valid", verdict.reason
    employment = verdict.facts["employment"]
    assert employment["current"] is False and employment["end_date"] is None
    assert employment["employer_left_height"] == RETIRED_AT
    assert employment["employer_left_at"] == verdict.facts["issuer_left_at"]
    assert "currently employed" not in verdict.reason
    assert "whether it continues is not known from the chain" in verdict.reason
    english = _employment_line(verdict, "en")
    assert "left the consortium on" in english and f"(block {RETIRED_AT})" in english
    assert "не записав окончания работы" in _employment_line(verdict, "ru")
    assert "консорциумнан шықты" in _employment_line(verdict, "kk")
    # an offline proof has no block times: said by the height alone
    offline = _verdict(chain, batch, block_times=False)
    assert offline.facts["employment"]["employer_left_height"] == RETIRED_AT
    assert "employer_left_at" not in offline.facts["employment"]
    assert f"at block {RETIRED_AT} without" in _employment_line(offline, "en")


def test_an_employer_leaving_later_still_employs() -> None:
    _council, chain, batch = _employed_by(30, 12)
    verdict = _verdict(chain, batch)
    assert verdict.status == "valid", verdict.reason
    assert verdict.facts["employment"]["current"] is True
    assert "currently employed" in verdict.reason
