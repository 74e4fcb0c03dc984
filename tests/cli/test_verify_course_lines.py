"""`senim verify` lists the course lines a transcript shows, as the portal's table does, in
the reader's language: a pass or a word grade said in words, not as its code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.course_lines import course_lines
from cli.language import Words
from cli.main import main
from ledger.chain import Chain
from ledger.credential_documents import disclose
from ledger.credentials import make_batch
from ledger.offline import make_bundle, proof_keys
from ledger.payloads import IssueBatchPayload
from storage.kv import MemoryStore
from tests.node.academic_fixtures import COURSES, transcript_record
from tests.node.conftest import CHAIN_ID, accredit, commit, documents_of, make_consortium, make_tx

PE = {"code": "PE1101", "title_kk": "Дене шынықтыру", "title_ru": "Физическая культура",
      "title_en": "Physical education", "credits": "2", "grade": "pass"}
HISTORY = {"code": "HIS0001", "title_ru": "История Казахстана", "credits": "3",
           "grade": "excellent", "numeric": "92"}


def test_course_lines_are_listed_with_their_grades_in_words(tmp_path: Path) -> None:
    net = make_consortium()
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["transcript"])])
    record = transcript_record(courses=[COURSES[0], PE, HISTORY], gpa="3.33", total="10")
    batch = make_batch([record], "transcript", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("transcript", batch.root, 1))])
    document = disclose(documents_of(batch)[0], ["course.03"])  # the holder hides one
    keys = proof_keys(batch.root, net.university.member_id,
                      bytes.fromhex(document["target_hash"]), [net.ministry.member_id])
    header = chain.head_header
    bundle = make_bundle(chain.state, header, chain.get_certificate(header.height) or b"",
                         keys, chain.set_change_proofs(0, 10))
    kv.close()
    path, genesis = tmp_path / "transcript.json", tmp_path / "genesis.json"
    path.write_text(json.dumps({**document, "proof": bundle}), "utf-8")
    genesis.write_text(json.dumps(net.genesis.to_json()), "utf-8")
    expected = {
        "en": ["Courses:", "1. INF1101 Programming basics · Term 1 · Credits 5 · Grade B+ (86) "
               "· Points 3.33", "2. PE1101 Physical education · Credits 2 · Grade pass"],
        "ru": ["Дисциплины:", "1. INF1101 Основы программирования · Семестр 1 · Кредиты 5 · "
               "Оценка B+ (86) · Баллы 3.33",
               "2. PE1101 Физическая культура · Кредиты 2 · Оценка зачтено"],
        "kk": ["Пәндер:", "1. INF1101 Бағдарламалау негіздері · Семестр 1 · Кредиттер 5 · "
               "Баға B+ (86) · Балл 3.33",
               "2. PE1101 Дене шынықтыру · Кредиттер 2 · Баға есептелді"]}
    for language, lines in expected.items():
        result = CliRunner().invoke(main, ["verify", str(path), "--offline", "--genesis",
                                           str(genesis), "--lang", language])
        assert result.exit_code == 0, result.output
        shown = [line.strip() for line in result.output.splitlines()]
        assert shown[-3:] == lines, result.output


@pytest.mark.parametrize("language, word", [("en", "excellent (92)"), ("ru", "отлично (92)"),
                                            ("kk", "өте жақсы (92)")])
def test_a_word_grade_is_said_in_the_readers_language(language: str, word: str) -> None:
    said = course_lines(Words(language), {"course_lines": [{"field": "course.07", **HISTORY,
                                                            "points": None}]})
    assert said[1].endswith(f" {word}") and said[1].startswith("  7. HIS0001 ")
