"""Document format v2 (labels), transcripts with course lines, attestats with subjects."""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import pytest

from ledger.academic import CourseLine, line_text, parse_course_line
from ledger.academic_checks import check_transcript
from ledger.chain import Chain
from ledger.credential_documents import disclose
from ledger.credentials import (
    DOCUMENT_FORMAT_V1,
    DOCUMENT_FORMAT_V2,
    field_hash,
    make_batch,
    target_hash,
)
from ledger.errors import InvalidDocument
from ledger.facts import LocalFacts
from ledger.labels import FIELD_LABELS
from ledger.payloads import IssueBatchPayload
from ledger.verification import verify_credential
from storage.batch_tree import audit_paths, tree_root
from tests.node.academic_fixtures import ATTESTAT, COURSES, issue, transcript_record
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of, make_tx


def facts_of(chain: Chain) -> LocalFacts:
    return LocalFacts(chain.state, "test", chain.height)


@pytest.fixture
def accredited(chain: Chain, net: Consortium) -> Chain:
    commit(chain, [accredit(net, net.university, ["diploma", "transcript"]),
                   accredit(net, net.university2, ["attestat"])])
    return chain


def _portal_labels(language: str) -> dict[str, str]:
    path = os.path.join(os.path.dirname(__file__), "..", "..", "node", "static", "i18n",
                        f"{language}.json")
    with open(path, encoding="utf-8") as handle:
        words: dict[str, str] = json.load(handle)
    return words


# ---- format v2 and labels --------------------------------------------------------------

def test_v2_document_carries_labels_outside_the_hash(accredited: Chain, net: Consortium
                                                     ) -> None:
    batch = issue(accredited, net.university, "KazNU",
                  [{"full_name": "Aigerim", "iin": "010101500013", "gpa": "3.5",
                    "qualification": "Bachelor", "thesis_topic": "Ledgers"}], "diploma")
    document = documents_of(batch)[0]
    assert document["format"] == DOCUMENT_FORMAT_V2
    assert document["labels"]["full_name"] == {"kk": "Аты-жөні", "ru": "ФИО",
                                               "en": "Full name"}
    assert "thesis_topic" not in document["labels"]  # an issuer's own field: no label
    verdict = verify_credential(document, facts_of(accredited), CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert verdict.facts["format"] == DOCUMENT_FORMAT_V2
    assert verdict.facts["labels"]["gpa"]["ru"] == "Средний балл (GPA)"

    # an altered label changes nothing a verifier reports: the table's labels are shown
    relabelled = copy.deepcopy(document)
    relabelled["labels"]["full_name"]["en"] = "Honours"
    verdict = verify_credential(relabelled, facts_of(accredited), CHAIN_ID)
    assert verdict.valid
    assert verdict.facts["labels"]["full_name"]["en"] == "Full name"
    assert verdict.facts["labels_not_standard"] == ["full_name"]

    # the format is in the target hash: a v2 document cannot pass as v1
    downgraded = copy.deepcopy(document)
    downgraded["format"] = DOCUMENT_FORMAT_V1
    assert verify_credential(downgraded, facts_of(accredited), CHAIN_ID).status == "tampered"


def test_labels_agree_with_the_portal() -> None:
    for language in ("kk", "ru", "en"):
        portal = _portal_labels(language)
        for name, label in FIELD_LABELS.items():
            if f"field.{name}" in portal:
                assert label[language] == portal[f"field.{name}"], (language, name)


def _v1_documents(records: list[dict[str, str]], issuer: bytes) -> tuple[bytes, list[Any]]:
    """Documents made the way v1 made them: no labels, v1 in the target hash."""
    fields_of, targets = [], []
    for record in records:
        fields = {name: {"value": value, "salt": os.urandom(16).hex()}
                  for name, value in record.items()}
        hashes = {name: field_hash(name, entry["value"], bytes.fromhex(entry["salt"]))
                  for name, entry in fields.items()}
        fields_of.append(fields)
        targets.append(target_hash(CHAIN_ID, issuer, "diploma", hashes, DOCUMENT_FORMAT_V1))
    root = tree_root(targets)
    documents = [{"format": DOCUMENT_FORMAT_V1, "chain_id": CHAIN_ID, "type": "diploma",
                  "issuer": {"member_id": issuer.hex(), "name": "KazNU"}, "fields": fields,
                  "target_hash": target.hex(),
                  "batch": {"root": root.hex(), "index": index, "size": len(targets),
                            "path": [p.hex() for p in path]}}
                 for index, (fields, target, path) in enumerate(
                     zip(fields_of, targets, audit_paths(targets), strict=True))]
    return root, documents


def test_v1_documents_still_verify(accredited: Chain, net: Consortium) -> None:
    root, documents = _v1_documents([{"full_name": "Aigerim", "iin": "010101500013"},
                                     {"full_name": "Nurlan"}], net.university.member_id)
    commit(accredited, [make_tx(net.university, IssueBatchPayload("diploma", root, 2))])
    for document in documents:
        verdict = verify_credential(document, facts_of(accredited), CHAIN_ID)
        assert verdict.valid, verdict.reason
        assert verdict.facts["format"] == DOCUMENT_FORMAT_V1
    shown = verify_credential(disclose(documents[0], ["iin"]), facts_of(accredited), CHAIN_ID)
    assert shown.valid and "iin" not in shown.facts["labels"]
    documents[1]["fields"]["full_name"]["value"] = "Someone"
    assert verify_credential(documents[1], facts_of(accredited), CHAIN_ID).status == "tampered"


# ---- transcripts ---------------------------------------------------------------------

def test_registrar_line_parses() -> None:
    line = parse_course_line(line_text(COURSES[0]))
    assert line == CourseLine("INF1101", line.credits, "B+", "Бағдарламалау негіздері",
                              "Основы программирования", "Programming basics", 1,
                              line.numeric, line.points)
    assert (str(line.credits), str(line.numeric), str(line.points)) == ("5", "86", "3.33")


@pytest.mark.parametrize("change,message", [
    ({"grade": "Q"}, "grade must be one of"),
    ({"credits": "0"}, "credits must be a positive number"),
    ({"credits": "five"}, "credits is not a number"),
    ({"points": "4.0"}, "grade A- carries 3.67 points, not 4.0"),
    ({"numeric": "70"}, "a numeric grade of 70 is C+, not A-"),
    ({"term": "21"}, "term must be 1 to 20"),
    ({"teacher": "Aliyev"}, "unknown parts ['teacher']"),
])
def test_unsound_course_line_refused_naming_the_field(change: dict[str, str], message: str
                                                      ) -> None:
    courses = [COURSES[0], {**COURSES[1], **change}]
    record = transcript_record(courses=courses, gpa="3.51", total="11")
    with pytest.raises(InvalidDocument) as info:
        make_batch([transcript_record(), record], "transcript", CHAIN_ID, b"\x01" * 20, "U")
    assert str(info.value).startswith("record 2: course.02: "), str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize("gpa,total,message", [
    ("3.50", "22", "gpa: the course lines give a GPA of 3.08, not 3.50"),
    ("3.08", "23", "total_credits: the course lines add up to 22 credits, not 23"),
    ("3.08", "many", "total_credits: total_credits is not a number"),
])
def test_totals_checked_against_lines(gpa: str, total: str, message: str) -> None:
    with pytest.raises(InvalidDocument, match=f"^record 1: {message}"):
        make_batch([transcript_record(gpa=gpa, total=total)], "transcript", CHAIN_ID,
                   b"\x01" * 20, "U")
    record = transcript_record()
    del record["gpa"]
    with pytest.raises(InvalidDocument, match="gpa: a transcript with course lines"):
        check_transcript(record)
    with pytest.raises(InvalidDocument, match=re.escape("'course.x' is not a line name")):
        check_transcript({**transcript_record(), "course.x": "{}"})


def test_graduate_hides_courses_and_the_transcript_still_verifies(
        accredited: Chain, net: Consortium) -> None:
    batch = issue(accredited, net.university, "KazNU", [transcript_record()], "transcript")
    document = documents_of(batch)[0]
    assert document["labels"]["course.02"]["ru"] == "Дисциплина 2"
    chosen = disclose(document, ["course.02", "course.04", "iin"])
    verdict = verify_credential(chosen, facts_of(accredited), CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert [line["code"] for line in verdict.facts["course_lines"]] == ["INF1101", "HIS1103"]
    lines = next(c for c in verdict.checks if c.name == "lines")
    assert lines.detail == "2 course line(s) shown (10 ECTS credits), 2 hidden by the holder"
    assert "MAT1102" not in json.dumps(verdict.to_json(), ensure_ascii=False)
    # a shown line altered after issue breaks the hash
    chosen["fields"]["course.01"]["value"] = line_text({**COURSES[0], "grade": "A"})
    assert verify_credential(chosen, facts_of(accredited), CHAIN_ID).status == "tampered"


# ---- attestats -----------------------------------------------------------------------

def test_attestat_subjects_are_fields_shown_by_verify(accredited: Chain, net: Consortium
                                                      ) -> None:
    batch = issue(accredited, net.university2, "School 12", [ATTESTAT], "attestat")
    document = documents_of(batch)[0]
    assert document["labels"]["subject.algebra"]["kk"] == "Алгебра"
    assert document["labels"]["subject.robotics"]["en"] == "Subject: robotics"
    verdict = verify_credential(disclose(document, ["subject.physics"]), facts_of(accredited),
                                CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert verdict.facts["subjects"] == {"algebra": "5", "kazakh_language": "3",
                                         "robotics": "5"}
    subjects = next(c for c in verdict.checks if c.name == "subjects")
    assert subjects.detail == ("3 subject grade(s) shown: Algebra 5, Kazakh language 3, "
                               "Subject: robotics 5; 1 hidden")


@pytest.mark.parametrize("name,value,message", [
    ("subject.algebra", "6", "subject.algebra: a school grade is a whole number from 1 to 5"),
    ("subject.Algebra", "5", "'subject.Algebra' is not a subject name"),
])
def test_bad_subject_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidDocument, match=f"^record 1: {message}"):
        make_batch([{**ATTESTAT, name: value}], "attestat", CHAIN_ID, b"\x01" * 20, "S")


def test_an_attestat_subject_passed_or_exempted_from_is_issued_and_verified(
        accredited: Chain, net: Consortium) -> None:
    # A pass/fail subject and one the student was exempted from carry no mark: the
    # registrar records them as the codes `pass` and `exempt` (registrar.school_outcomes).
    record = {**ATTESTAT, "subject.physical_education": "pass", "subject.music": "exempt"}
    batch = issue(accredited, net.university2, "School 12", [record], "attestat")
    verdict = verify_credential(documents_of(batch)[0], facts_of(accredited), CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert verdict.facts["subjects"]["physical_education"] == "pass"
    assert verdict.facts["subjects"]["music"] == "exempt"


@pytest.mark.parametrize("value", ["зачтено", "Pass", "exempted", "5.0"])
def test_a_subject_outcome_is_one_of_the_codes_in_a_document(value: str) -> None:
    # The words of an export are the registrar's to read; a document holds the code.
    with pytest.raises(InvalidDocument, match="from 1 to 5, pass or exempt"):
        make_batch([{**ATTESTAT, "subject.music": value}], "attestat", CHAIN_ID,
                   b"\x01" * 20, "S")
