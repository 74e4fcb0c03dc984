"""Employment records: issued by an accredited employer, ended by a second transaction
that names the first (no personal data on chain); each refusal changes nothing."""

from __future__ import annotations

import datetime
import json

import msgpack
import pytest

from cli.check_words import check_words, employment_standing
from cli.language import Words
from ledger.academic import day_number
from ledger.chain import Chain
from ledger.credential_documents import disclose
from ledger.credentials import IssuedBatch
from ledger.errors import MalformedInput
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, EmploymentEndPayload, RevokePayload, checked
from ledger.verification import verify_credential
from storage.batch_tree import audit_path
from tests.node.academic_fixtures import issue
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of, make_tx
from tests.node.test_ledger_refusals import assert_refused

EMPLOYEES = [
    {"full_name": "Айгерим Нурланқызы", "iin": "010101500013", "position": "Data engineer",
     "organisation": "Kaspi Bank", "start_date": "2024-09-02"},
    {"full_name": "Нурлан Ержанұлы", "iin": "010101500023", "position": "Analyst",
     "organisation": "Kaspi Bank", "start_date": "2025-02-01"},
]
START = day_number(datetime.date(2024, 9, 2))
END = day_number(datetime.date(2026, 6, 30))


def facts_of(chain: Chain) -> LocalFacts:
    return LocalFacts(chain.state, "test", chain.height)


@pytest.fixture
def employed(chain: Chain, net: Consortium) -> tuple[Chain, IssuedBatch]:
    commit(chain, [accredit(net, net.employer, ["employment"]),
                   accredit(net, net.university, ["diploma"])])
    return chain, issue(chain, net.employer, "Kaspi", EMPLOYEES, "employment")


def _end(batch: IssuedBatch, *, issuer: KeyPair, index: int = 0, start: int = START,
         end: int = END) -> EmploymentEndPayload:
    ref = CredentialRef(batch.root, batch.target_hashes[index], index,
                        tuple(audit_path(batch.target_hashes, index)))
    return EmploymentEndPayload(issuer.member_id, ref, start, end)


def test_current_then_ended(employed: tuple[Chain, IssuedBatch], net: Consortium) -> None:
    chain, batch = employed
    document = documents_of(batch)[0]
    verdict = verify_credential(document, facts_of(chain), CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert verdict.facts["employment"]["current"] is True
    assert verdict.reason.endswith(f"currently employed as Data engineer at Kaspi Bank from "
                                   f"2024-09-02, as of block {chain.height}")
    # the command line's kk and ru verdicts go on with the standing, as the portal's does
    # (they stopped at "genuine … not revoked", the role dropped from the check too)
    standing = employment_standing(verdict, Words("ru"), document)
    assert standing.startswith(" Работает в должности «Data engineer» в организации «Kaspi "
                               "Bank»"), standing
    block = commit(chain, [make_tx(net.employer, _end(batch, issuer=net.employer))])
    verdict = verify_credential(disclose(document, ["iin"]), facts_of(chain), CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert verdict.facts["employment"] == {"start_date": "2024-09-02", "end_date": "2026-06-30",
                                           "current": False,
                                           "end_recorded_at_height": block.header.height}
    assert "employed as Data engineer at Kaspi Bank from 2024-09-02 to 2026-06-30" in \
        verdict.reason
    # the other employee is still current
    other = verify_credential(documents_of(batch)[1], facts_of(chain), CHAIN_ID)
    assert other.facts["employment"]["current"] is True
    # with the start hidden, it stays hidden: the end's record on chain states it too, and
    # the verdict said it, on the portal and the command line, in a copy that hid it
    hidden = verify_credential(disclose(document, ["start_date", "position"]),
                               facts_of(chain), CHAIN_ID)
    assert "employed at Kaspi Bank from a date the holder hid to 2026-06-30" in hidden.reason
    assert hidden.facts["employment"]["start_date"] is None
    assert "2024-09-02" not in json.dumps(hidden.facts)
    said = {lang: check_words(next(c for c in hidden.checks if c.name == "employment"),
                              hidden, Words(lang), None) for lang in ("en", "ru")}
    assert "2024-09-02" not in said["en"] + said["ru"] and "30" in said["ru"], said


def test_an_end_the_holder_hid_is_never_read_as_current(chain: Chain, net: Consortium) -> None:
    """A record issued already ended: hiding its end date must not make it verify as a
    current employment (it did: only a shown end date was looked for)."""
    commit(chain, [accredit(net, net.employer, ["employment"])])
    ended = [{**EMPLOYEES[0], "start_date": "2019-09-02", "end_date": "2020-01-31"}]
    document = documents_of(issue(chain, net.employer, "Kaspi", ended, "employment"))[0]
    shown = verify_credential(document, facts_of(chain), CHAIN_ID)
    assert shown.reason.endswith("from 2019-09-02 to 2020-01-31 (as issued)")
    verdict = verify_credential(disclose(document, ["end_date"]), facts_of(chain), CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert verdict.facts["employment"] == {"start_date": "2019-09-02", "end_date": None,
                                           "current": False, "end_date_hidden": True}
    assert "currently" not in verdict.reason
    assert verdict.reason.endswith("employed as Data engineer at Kaspi Bank from 2019-09-02 "
                                   "to a date the holder hid (the document states when it "
                                   "ended)")
    check = next(c for c in verdict.checks if c.name == "employment")
    said = {lang: check_words(check, verdict, Words(lang), None) for lang in ("en", "ru", "kk")}
    assert said["en"] == ("Employment: Employed from 2 September 2019 to a date the holder hid: "
                          "the document states when the employment ended.")
    assert "по дату, скрытую владельцем" in said["ru"] and "Работает" not in said["ru"]
    assert "аяқталған күні — иесі жасырған" in said["kk"] and "қазір" not in said["kk"]


def test_end_transaction_holds_no_personal_data(employed: tuple[Chain, IssuedBatch],
                                                net: Consortium) -> None:
    _chain, batch = employed
    tx = make_tx(net.employer, _end(batch, issuer=net.employer))
    wire = tx.encode()
    for record in EMPLOYEES:
        for value in record.values():
            assert value.encode() not in wire
    payload = msgpack.unpackb(wire, raw=False)[5]
    assert [type(item).__name__ for item in payload] == ["bytes", "list", "int", "int"]


def test_start_recorded_on_chain_must_match_the_document(
        employed: tuple[Chain, IssuedBatch], net: Consortium) -> None:
    chain, batch = employed
    commit(chain, [make_tx(net.employer, _end(batch, start=START + 1, issuer=net.employer))])
    verdict = verify_credential(documents_of(batch)[0], facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "inconsistent")


# ---- refusals: one per code, nothing changed -------------------------------------------

def test_ending_someone_elses_record(employed: tuple[Chain, IssuedBatch],
                                     net: Consortium) -> None:
    chain, batch = employed
    # KazNU names Kaspi's record as Kaspi's: not its issuer
    refusal = assert_refused(chain, make_tx(net.university, _end(batch, issuer=net.employer)),
                             "not_record_issuer")
    assert "only its issuer may record its end" in refusal.message
    # KazNU names it as its own: it has no such batch
    refusal = assert_refused(chain, make_tx(net.university, _end(batch,
                                                                 issuer=net.university)),
                             "unknown_batch")
    # It said "may revoke or replace it", which nobody asked to do.
    assert refusal.message.endswith("only the issuer of a credential may record the end of "
                                    "its employment"), refusal.message


def test_ending_twice(employed: tuple[Chain, IssuedBatch], net: Consortium) -> None:
    chain, batch = employed
    first = commit(chain, [make_tx(net.employer, _end(batch, issuer=net.employer))])
    refusal = assert_refused(chain, make_tx(net.employer, _end(batch, end=END + 1,
                                                                issuer=net.employer)),
                             "already_ended")
    assert f"height {first.header.height}" in refusal.message


def test_end_before_start(employed: tuple[Chain, IssuedBatch], net: Consortium) -> None:
    chain, batch = employed
    assert_refused(chain, make_tx(net.employer, _end(batch, end=START - 1,
                                                     issuer=net.employer)),
                   "end_before_start")
    # ending on the day it started is a (short) employment
    commit(chain, [make_tx(net.employer, _end(batch, end=START, issuer=net.employer))])


def test_ending_what_is_not_an_employment_record(chain: Chain, net: Consortium) -> None:
    commit(chain, [accredit(net, net.employer, ["employment", "certificate"])])
    batch = issue(chain, net.employer, "Kaspi", [{"full_name": "A", "course": "Excel"}],
                  "certificate")
    assert_refused(chain, make_tx(net.employer, _end(batch, issuer=net.employer)),
                   "not_employment_record")


def test_ending_a_credential_not_in_the_batch(employed: tuple[Chain, IssuedBatch],
                                              net: Consortium) -> None:
    chain, batch = employed
    payload = _end(batch, issuer=net.employer)
    forged = CredentialRef(batch.root, bytes(32), 0, payload.credential.path)
    assert_refused(chain, make_tx(net.employer, EmploymentEndPayload(
        net.employer.member_id, forged, START, END)), "not_in_batch")


def test_revoked_record_reports_revoked_not_employment(employed: tuple[Chain, IssuedBatch],
                                                       net: Consortium) -> None:
    chain, batch = employed
    payload = _end(batch, issuer=net.employer)
    commit(chain, [make_tx(net.employer, RevokePayload(payload.credential, "issued_in_error"))])
    verdict = verify_credential(documents_of(batch)[0], facts_of(chain), CHAIN_ID)
    assert verdict.status == "revoked" and "employment" not in verdict.facts


@pytest.mark.parametrize("start,end", [(-1, END), (START, 10**6)])
def test_day_numbers_out_of_range_are_malformed(employed: tuple[Chain, IssuedBatch],
                                                net: Consortium, start: int, end: int) -> None:
    _chain, batch = employed
    with pytest.raises(MalformedInput):
        checked(_end(batch, start=start, end=end, issuer=net.employer))
