"""An employment end recorded with the employer's key declared stolen since: the thief's
(an employee still at work shown as gone), or the employer's own before it reported the
theft from earlier. Neither "ended" nor "currently employed" can be said, and the end's
start proves nothing against the document's; the HR officer is told to ask the employer,
in each language. It was read as recorded."""

from __future__ import annotations

import pytest

from cli.check_words import check_words, employment_standing
from cli.language import Words
from ledger.chain import Chain
from ledger.credentials import IssuedBatch
from ledger.offline import OfflineFacts, make_bundle, proof_keys
from ledger.payloads import EmploymentEndPayload
from ledger.verification import verify_credential
from node.validators import certifies_by_keys
from tests.node.academic_fixtures import issue
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of, make_tx
from tests.node.test_employment import EMPLOYEES, END, START, _end, facts_of
from tests.node.test_stolen_key_records import rotate_and_report


@pytest.fixture
def employed(chain: Chain, net: Consortium) -> tuple[Chain, IssuedBatch]:
    commit(chain, [accredit(net, net.employer, ["employment"])])
    return chain, issue(chain, net.employer, "Kaspi", EMPLOYEES, "employment")


def test_an_end_recorded_with_a_stolen_key_is_said_to_be_in_doubt(
        employed: tuple[Chain, IssuedBatch], net: Consortium) -> None:
    chain, batch = employed
    document = documents_of(batch)[0]
    stolen_at = chain.height + 1
    # the thief's end, with a start of its own that the document's contradicts
    commit(chain, [make_tx(net.employer, EmploymentEndPayload(
        net.employer.member_id, _end(batch, issuer=net.employer).credential, START - 400,
        END))])
    ended = verify_credential(document, facts_of(chain), CHAIN_ID)
    assert ended.status == "inconsistent"  # until the employer reports the theft

    rotate_and_report(chain, net.employer, stolen_at)
    verdict = verify_credential(document, facts_of(chain), CHAIN_ID)
    assert verdict.status == "valid", verdict.to_json()
    employment = verdict.facts["employment"]
    assert employment["end_doubted"] is True and employment["current"] is False
    assert employment["key_compromised_from"] == stolen_at
    assert employment["start_date"] == "2024-09-02"  # the document's, not the thief's
    assert "ask the employer whether this employment continues" in verdict.reason
    check = next(c for c in verdict.checks if c.name == "employment")
    for lang, said in (("kk", "жұмыс берушіден сұраңыз"), ("ru", "спросите работодателя"),
                       ("en", "ask the employer")):
        line = check_words(check, verdict, Words(lang), document)
        assert said in line and str(stolen_at) in line and "{" not in line, line
        # said after the verdict too, where whether the person still works there is read
        assert said in employment_standing(verdict, Words(lang), document)

    # offline, from the employer's key history carried in the proof
    keys = proof_keys(batch.root, net.employer.member_id, batch.target_hashes[0],
                      [net.ministry.member_id])
    header = chain.head_header
    document["proof"] = make_bundle(chain.state, header,
                                    chain.get_certificate(header.height) or b"", keys)
    offline = verify_credential(document, OfflineFacts(document["proof"], net.genesis,
                                                       certifies_by_keys(CHAIN_ID)), CHAIN_ID)
    assert offline.facts["employment"]["end_doubted"] is True, offline.to_json()


def test_an_end_recorded_before_the_theft_stands(
        employed: tuple[Chain, IssuedBatch], net: Consortium) -> None:
    chain, batch = employed
    commit(chain, [make_tx(net.employer, _end(batch, issuer=net.employer))])
    stolen_at = chain.height + 1
    rotate_and_report(chain, net.employer, stolen_at)
    verdict = verify_credential(documents_of(batch)[0], facts_of(chain), CHAIN_ID)
    assert verdict.status == "valid"
    assert "end_doubted" not in verdict.facts["employment"]
    assert verdict.facts["employment"]["end_date"] == "2026-06-30"


def test_a_document_issued_with_its_end_keeps_it_whatever_is_doubted_on_chain(
        chain: Chain, net: Consortium) -> None:
    commit(chain, [accredit(net, net.employer, ["employment"])])
    ended = [{**EMPLOYEES[0], "end_date": "2025-12-31"}]
    batch = issue(chain, net.employer, "Kaspi", ended, "employment")
    stolen_at = chain.height + 1
    commit(chain, [make_tx(net.employer, _end(batch, issuer=net.employer))])
    rotate_and_report(chain, net.employer, stolen_at)
    verdict = verify_credential(documents_of(batch)[0], facts_of(chain), CHAIN_ID)
    assert verdict.status == "valid"
    assert verdict.facts["employment"] == {"start_date": "2024-09-02",
                                           "end_date": "2025-12-31", "current": False}
