"""Course lines graded without a letter (pass/fail, word grades of the five-point scale):
issued as codes, left out of the GPA, shown by verification as parsed lines."""

from __future__ import annotations

import re

import pytest

from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.errors import InvalidDocument
from ledger.facts import LocalFacts
from ledger.verification import verify_credential
from tests.node.academic_fixtures import COURSES, GPA, issue, transcript_record
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of

PE = {"code": "PE1101", "title_kk": "Дене шынықтыру", "title_ru": "Физическая культура",
      "credits": "2", "grade": "pass"}
HISTORY = {"code": "HIS0001", "title_ru": "История Казахстана", "credits": "3",
           "grade": "excellent", "numeric": "92"}


def test_a_pass_and_a_word_grade_verify_as_lines_outside_the_gpa(chain: Chain,
                                                                 net: Consortium) -> None:
    commit(chain, [accredit(net, net.university, ["transcript"])])
    # the GPA of COURSES alone; the total counts the unlettered lines' credits too
    record = transcript_record(courses=[*COURSES, PE, HISTORY], gpa=GPA, total="27")
    batch = issue(chain, net.university, "KazNU", [record], "transcript")
    verdict = verify_credential(documents_of(batch)[0], LocalFacts(chain.state, "t",
                                                                    chain.height), CHAIN_ID)
    assert verdict.valid, verdict.reason
    pe, history = verdict.facts["course_lines"][4:]
    assert (pe["grade"], pe["points"], history["grade"], history["points"]) == (
        "pass", None, "excellent", None)
    lines = next(c for c in verdict.checks if c.name == "lines")
    assert lines.detail == "6 course line(s) shown (27 ECTS credits), 0 hidden by the holder"


@pytest.mark.parametrize("courses, gpa, message", [
    ([PE, HISTORY], None, None),  # an old transcript: word grades alone, no GPA
    ([PE, HISTORY], "3.0", "gpa: no course line carries a letter grade"),
    ([COURSES[0], PE], None, "gpa: a transcript with course lines graded by letter must"),
    ([COURSES[0], {**PE, "points": "0"}], "3.33", "course.02: grade pass carries no points"),
    ([COURSES[0], {**HISTORY, "numeric": "89"}], "3.33",
     "course.02: a numeric grade of 89 is not excellent (90 to 100 is)"),
    ([COURSES[0], {**PE, "grade": "зачтено"}], "3.33", "course.02: grade must be one of"),
])
def test_unlettered_lines_checked_when_the_batch_is_hashed(
        courses: list[dict[str, str]], gpa: str | None, message: str | None) -> None:
    record = transcript_record(courses=courses, total=str(sum(int(c["credits"])
                                                              for c in courses)))
    del record["gpa"]
    if gpa is not None:
        record["gpa"] = gpa
    if message is None:
        make_batch([record], "transcript", CHAIN_ID, b"\x01" * 20, "U")
        return
    with pytest.raises(InvalidDocument, match="^" + re.escape(f"record 1: {message}")):
        make_batch([record], "transcript", CHAIN_ID, b"\x01" * 20, "U")
