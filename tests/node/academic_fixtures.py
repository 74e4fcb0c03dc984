"""Records for the academic-record tests: transcripts with course lines, attestats."""

from __future__ import annotations

from ledger.academic import line_text
from ledger.chain import Chain
from ledger.credentials import IssuedBatch, make_batch
from ledger.identity import KeyPair
from ledger.payloads import IssueBatchPayload
from tests.node.conftest import CHAIN_ID, commit, make_tx

# As the registrar parser writes a line: every part text, keys sorted, compact.
COURSES = [
    {"code": "INF1101", "title_kk": "Бағдарламалау негіздері",
     "title_ru": "Основы программирования", "title_en": "Programming basics", "term": "1",
     "credits": "5", "grade": "B+", "numeric": "86", "points": "3.33"},
    {"code": "MAT1102", "title_kk": "Математикалық талдау", "title_ru": "Математический анализ",
     "title_en": "Calculus", "term": "1", "credits": "6", "grade": "A-", "numeric": "91",
     "points": "3.67"},
    {"code": "HIS1103", "title_kk": "Қазақстанның қазіргі заман тарихы",
     "title_ru": "Современная история Казахстана", "title_en": "Modern history of Kazakhstan",
     "term": "2", "credits": "5", "grade": "B", "numeric": "80", "points": "3.0"},
    {"code": "PHY1104", "title_en": "Physics", "term": "2", "credits": "6", "grade": "C+"},
]
# (5*3.33 + 6*3.67 + 5*3.0 + 6*2.33) / 22 = 3.0818...
GPA = "3.08"
TOTAL_CREDITS = "22"


def transcript_record(name: str = "Иванова Анна Сергеевна", iin: str = "010101500013",
                      courses: list[dict[str, str]] | None = None, gpa: str = GPA,
                      total: str = TOTAL_CREDITS) -> dict[str, str]:
    record = {"full_name": name, "iin": iin, "programme": "Информационные системы",
              "gpa": gpa, "total_credits": total}
    for number, course in enumerate(COURSES if courses is None else courses, start=1):
        record[f"course.{number:02d}"] = line_text(course)
    return record


ATTESTAT = {"full_name": "Әсел Қайратқызы Нұрланова", "iin": "010101500013",
            "school": "Алматы қаласының № 12 мектеп-гимназиясы",
            "graduation_date": "2026-05-25", "subject.algebra": "5", "subject.physics": "4",
            "subject.kazakh_language": "3", "subject.robotics": "5"}


def issue(chain: Chain, keys: KeyPair, issuer_name: str, records: list[dict[str, str]],
          ctype: str) -> IssuedBatch:
    batch = make_batch(records, ctype, CHAIN_ID, keys.member_id, issuer_name)
    commit(chain, [make_tx(keys, IssueBatchPayload(ctype, batch.root, len(records)))])
    return batch
