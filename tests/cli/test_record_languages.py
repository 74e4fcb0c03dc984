"""`senim employment start | end`, `senim recognise` and `senim anchor` in the HR
officer's, the registrar's and the teacher's language, run against an in-process node
(the real engine on its thread, a lone validator, its API on loopback) with --lang kk and
ru, and with LANG=ru_RU.UTF-8: each success, and the refusals they meet (a start after
today, an end before the start, an IIN with a wrong check digit, someone else's record, a
course list in cp1251 or with an unknown column, a document anchored already, an existing
--out file, a node down) come out in Kazakh or Russian, no English sentence among them,
no traceback, with English's exit code.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.credentials import IssuedBatch, make_batch
from ledger.payloads import IssueBatchPayload
from node.files import save_key
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import DOWN, refused_in_every_language, said_in, senim
from tests.node.academic_fixtures import transcript_record
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)
from tests.node.engine_node import running_engine

TODAY = datetime.date.today()
TOMORROW = TODAY + datetime.timedelta(days=2)  # after today even for a run past midnight
START = ["--full-name", "Әлия Серікова", "--iin", "0101 0150 0013", "--position",
         "Аналитик", "--organisation", "Kaspi Bank", "--start", "01.02.2025"]


@dataclass
class Office:
    url: str
    folder: Path
    net: Consortium
    transcripts: IssuedBatch  # KazNU's, on chain

    def key(self, who: str) -> str:
        path = self.folder / f"{who}.key"
        if not path.exists():
            save_key(path, getattr(self.net, who))
        return str(path)

    def new(self, name: str) -> str:
        """A path no file is at yet."""
        return str(self.folder / name)


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    async with running_office(tmp_path) as running:
        yield running


@asynccontextmanager
async def running_office(tmp_path: Path) -> AsyncIterator[Office]:
    """Kaspi accredited for employment records, ENU for recognitions, KazNU for
    transcripts, one of which it issued; the node then runs."""
    net = make_consortium()
    core = api_core(net.ministry, net.genesis, MemoryStore())
    commit(core.chain, [accredit(net, net.employer, ["employment"]),
                        accredit(net, net.university2, ["recognition"]),
                        accredit(net, net.university, ["transcript"])])
    transcripts = make_batch([transcript_record()], "transcript", CHAIN_ID,
                             net.university.member_id, "KazNU")
    commit(core.chain, [make_tx(net.university, IssueBatchPayload("transcript",
                                                                  transcripts.root, 1))])
    async with running_engine(core), serving_url(core) as url:
        yield Office(url, tmp_path, net, transcripts)


async def test_employment_start_and_end_speak_kk_and_ru(office: Office) -> None:
    node = ("--node", office.url)
    kaspi = office.key("employer")
    started = said_in("kk", await senim("employment", "start", "--key", kaspi, *START,
                                        "--out", office.new("aliya.json"), *node, "--lang",
                                        "kk"), 0)
    assert re.match(r"еңбек қызметі туралы құжат: \d+-блокта берілді, файл: ", started), started
    started = said_in("ru", await senim("employment", "start", "--key", kaspi, *START, "--out",
                                        office.new("aliya-ru.json"), *node,
                                        env={"LANG": "ru_RU.UTF-8"}), 0)
    assert started.startswith("документ о трудоустройстве: выдан в блоке "), started

    # a start after today, a wrong check digit, a day no calendar has, an --out there is
    future = await refused_in_every_language(
        "employment", "start", "--key", kaspi, *START[:-1], TOMORROW.isoformat(), "--out",
        office.new("later.json"), *node, code=2)
    assert "--start: дата " in future["ru"] and "позже сегодняшней" in future["ru"]
    assert "бүгінгі күннен" in future["kk"]
    digit = await refused_in_every_language(
        "employment", "start", "--key", kaspi, *START[:2], "--iin", "010101500014", *START[4:],
        "--out", office.new("typo.json"), *node, code=2)
    assert "неверная контрольная цифра ИИН" in digit["ru"]
    assert "ЖСН-нің бақылау цифры дұрыс емес" in digit["kk"]
    await refused_in_every_language("employment", "start", "--key", kaspi, *START[:-1],
                                    "31.02.2025", "--out", office.new("x.json"), *node, code=2)
    await refused_in_every_language("employment", "start", "--key", kaspi, *START, "--out",
                                    office.new("aliya.json"), *node, code=2)
    await refused_in_every_language("employment", "start", "--key", kaspi, *START, "--out",
                                    office.new("down.json"), "--node", DOWN, code=3)
    assert not Path(office.new("down.json")).exists()
    unaccredited = await refused_in_every_language(
        "employment", "start", "--key", office.key("university"), *START, "--out",
        office.new("kaznu.json"), *node, code=1)
    assert ("узел отклонил транзакцию — организация «KazNU» не аккредитована на выдачу "
            "документов этого типа: документ о трудоустройстве (type_not_accredited)") \
        in unaccredited["ru"]
    assert not Path(office.new("kaznu.json")).exists()

    record = office.new("aliya.json")
    before = await refused_in_every_language("employment", "end", "--key", kaspi, record,
                                             "--end", "2025-01-31", *node, code=2)
    assert "раньше начала работы (1 февраля 2025 г.)" in before["ru"]
    assert "жұмыс басталған күннен (2025 жылғы 1 ақпан) бұрын" in before["kk"]
    await refused_in_every_language("employment", "end", "--key", kaspi, record, "--end",
                                    TOMORROW.strftime("%d.%m.%Y"), *node, code=2)
    missing = await refused_in_every_language("employment", "end", "--key", kaspi,
                                              office.new("nothere.json"), "--end",
                                              "2026-06-30", *node, code=2)
    assert "nothere.json кілт" not in missing["kk"] and "файла " in missing["ru"]
    theirs = await refused_in_every_language("employment", "end", "--key",
                                             office.key("university"), record, "--end",
                                             "2026-06-30", *node, code=2)
    assert "записать окончание работы может только она" in theirs["ru"]
    await refused_in_every_language("employment", "end", "--key", kaspi, record, "--end",
                                    "2026-06-30", "--node", DOWN, code=3)
    ended = said_in("ru", await senim("employment", "end", "--key", kaspi, record, "--end",
                                      "30.06.2026", *node, "--lang", "ru"), 0)
    assert "работал(а) с 1 февраля 2025 г. по 30 июня 2026 г." in ended
    ended = said_in("kk", await senim("employment", "end", "--key", kaspi,
                                      office.new("aliya-ru.json"), "--end", "2026-06-30",
                                      *node, "--lang", "kk"), 0)
    assert "жұмыстың аяқталуы тізбекке жазылды" in ended


async def test_recognise_speaks_kk_and_ru(office: Office) -> None:
    node = ("--node", office.url)
    enu = office.key("university2")
    original = Path(office.new("original.json"))
    original.write_text(json.dumps(documents_of(office.transcripts)[0]), "utf-8")
    courses = Path(office.new("courses.csv"))
    text = "from_code;from_field;as_code;as_title_ru;credits\r\nINF1101;course.01;ИНФ101;" \
           "Информатика;5\r\n"
    courses.write_text(text, "utf-8")
    args = ("recognise", "--key", enu, "--original", str(original), "--courses", str(courses))
    done = said_in("kk", await senim(*args, "--out", office.new("r-kk.json"), *node, "--lang",
                                     "kk"), 0)
    assert re.match(r"кредиттерді қайта есептеу: \d+-блокта берілді, файл: ", done), done
    done = said_in("ru", await senim(*args, "--out", office.new("r-ru.json"), *node,
                                     env={"LANG": "ru_RU.UTF-8"}), 0)
    assert done.startswith("перезачёт: выдан в блоке "), done

    # Excel's plain "CSV" (cp1251) is read as an export is (it was refused); a file of
    # UTF-8 with a cp1251 line no encoding reads for certain, an unknown column, a code
    # the original does not show are refused
    cp1251 = Path(office.new("cp1251.csv"))
    cp1251.write_bytes(text.encode("cp1251"))
    done = said_in("ru", await senim(*args[:-1], str(cp1251), "--out", office.new("r-cp.json"),
                                     *node, "--lang", "ru"), 0)
    assert done.startswith("перезачёт: выдан в блоке "), done
    mixed = Path(office.new("mixed.csv"))
    mixed.write_bytes(text.encode() + "INF1101;course.01;ИНФ101;Информатика;5\r\n".encode(
        "cp1251"))
    said = await refused_in_every_language(*args[:-1], str(mixed), "--out",
                                           office.new("never.json"), *node, code=2)
    assert "сохраните файл как «CSV UTF-8»" in said["ru"]
    unknown = Path(office.new("unknown.csv"))
    unknown.write_text("from_code,as_code,credits,teacher\nINF1101,ИНФ101,5,Иванов\n", "utf-8")
    said = await refused_in_every_language(*args[:-1], str(unknown), "--out",
                                           office.new("never.json"), *node, code=2)
    assert "дисциплина 1: неизвестные столбцы: teacher (известные: from_code" in said["ru"]
    assert "1-пән: белгісіз бағандар: teacher" in said["kk"]
    other = Path(office.new("other.csv"))
    other.write_text(text.replace("INF1101", "MAT1102"), "utf-8")
    said = await refused_in_every_language(*args[:-1], str(other), "--out",
                                           office.new("never.json"), *node, code=2)
    assert "в исходном транскрипте course.01 — это INF1101, а не MAT1102" in said["ru"]
    await refused_in_every_language(*args, "--out", office.new("r-kk.json"), *node, code=2)
    altered = documents_of(office.transcripts)[0]
    altered["fields"]["full_name"]["value"] = "Петров Пётр"
    original.write_text(json.dumps(altered), "utf-8")
    said = await refused_in_every_language(*args, "--out", office.new("never.json"), *node,
                                           code=1)
    assert "исходный транскрипт не прошёл проверку: Документ изменён" in said["ru"]
    await refused_in_every_language(*args, "--out", office.new("never.json"), "--node", DOWN,
                                    code=3)
    assert not Path(office.new("never.json")).exists()


async def test_anchor_and_its_verify_speak_kk_and_ru(office: Office) -> None:
    """A teacher's university anchors teaching material; verify then says who and when."""
    node = ("--node", office.url)
    key = office.key("university")
    plan = Path(office.new("plan.pdf"))
    plan.write_bytes(b"%PDF-1.4 a syllabus")
    anchored = said_in("kk", await senim("anchor", "--key", key, str(plan), *node,
                                         "--lang", "kk"), 0)
    assert anchored.startswith("файлдың SHA-256 хэші: "), anchored
    assert "құжатты тіркеу: " in anchored and "транзакциясы тізбекке жазылды" in anchored
    again = await refused_in_every_language("anchor", "--key", key, str(plan), *node, code=1)
    assert re.search(r"этот документ уже записан в цепочку организацией «KazNU» в блоке \d+ "
                     r"\(already_anchored\)", again["ru"]), again["ru"]
    await refused_in_every_language("anchor", "--key", key, office.new("none.pdf"), *node,
                                    code=2)
    await refused_in_every_language("anchor", "--key", office.key("outsider"), str(plan),
                                    *node, code=1)
    await refused_in_every_language("anchor", "--key", key, str(plan), "--node", DOWN, code=3)
    checked = said_in("ru", await senim("verify", str(plan), *node,
                                        env={"LANG": "ru_RU.UTF-8"}), 0)
    assert checked.startswith("Записан в цепочке Senim организацией «KazNU» "), checked
    said_in("kk", await senim("verify", str(plan), *node, "--lang", "kk"), 0)
