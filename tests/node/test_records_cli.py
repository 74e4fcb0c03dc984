"""`senim employment` and `senim recognise` without a node: what they send, what they
keep on disk, and one-line errors for bad input."""

from __future__ import annotations

import datetime
import json
import stat
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

import cli.records
from cli.client import ClientError
from cli.main import main
from ledger.credentials import make_batch
from ledger.payloads import EmploymentEndPayload, IssueBatchPayload, Payload
from ledger.transactions import Transaction
from node.files import save_key
from tests.node.academic_fixtures import transcript_record
from tests.node.conftest import CHAIN_ID, Consortium, documents_of, make_tx


class _Node:
    """Stands in for NodeClient: answers status and members, then commits or refuses."""

    submitted: ClassVar[list[Transaction]] = []
    refuse: ClassVar[ClientError | None] = None

    def __init__(self, _url: str) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {"chain_id": CHAIN_ID, "height": 5}

    def request(self, _method: str, _path: str) -> dict[str, Any]:
        return {"members": []}

    def make_tx(self, keys: Any, payload: Payload) -> Transaction:
        return make_tx(keys, payload)

    def submit_and_wait(self, tx: Transaction, timeout_s: float = 60.0) -> dict[str, Any]:
        if _Node.refuse is not None:
            raise _Node.refuse
        _Node.submitted.append(tx)
        return {"status": "committed", "height": 9, "tx_id": tx.tx_id.hex(),
                "block_hash": "00" * 32, "time": "2026-11-30 09:00:00 UTC"}


@pytest.fixture
def fake_node(monkeypatch: pytest.MonkeyPatch) -> type[_Node]:
    monkeypatch.setattr(cli.records, "NodeClient", _Node)
    _Node.submitted, _Node.refuse = [], None
    return _Node


START = ["--full-name", "Aigerim", "--position", "Analyst", "--organisation", "Kaspi Bank",
         "--start", "2025-02-01"]
# Two days on, not one: computed as the module loads, "tomorrow" was today for a test run
# after midnight (CI on 5fde986 ran across it and failed three tests)
TOMORROW = datetime.date.today() + datetime.timedelta(days=2)


def _key(tmp_path: Path, net: Consortium) -> str:
    path = tmp_path / "kaspi.key"
    if not path.exists():
        save_key(path, net.employer)
    return str(path)


def test_start_writes_a_private_file_and_submits_only_the_root(
        tmp_path: Path, net: Consortium, fake_node: type[_Node]) -> None:
    out = tmp_path / "employment.json"
    done = CliRunner().invoke(main, ["employment", "start", "--key", _key(tmp_path, net),
                                     *START, "--field", "department=Risk", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text())
    assert document["issuance"]["height"] == 9
    assert document["fields"]["department"]["value"] == "Risk"
    (tx,) = fake_node.submitted
    assert isinstance(tx.payload, IssueBatchPayload) and tx.payload.count == 1
    assert b"Aigerim" not in tx.encode() and b"Analyst" not in tx.encode()


def test_refused_start_leaves_no_file(tmp_path: Path, net: Consortium,
                                      fake_node: type[_Node]) -> None:
    fake_node.refuse = ClientError("Kaspi may not issue employment now: not accredited",
                                   "not_accredited", 422)
    out = tmp_path / "employment.json"
    done = CliRunner().invoke(main, ["employment", "start", "--key", _key(tmp_path, net),
                                     *START, "--out", str(out)])
    assert done.exit_code == 1 and "not_accredited" in done.output
    assert not out.exists()
    fake_node.refuse = ClientError("cannot reach the node", "unreachable")
    done = CliRunner().invoke(main, ["employment", "start", "--key", _key(tmp_path, net),
                                     *START, "--out", str(out)])
    assert done.exit_code == 3 and "is kept" in done.output
    assert json.loads(out.read_text())["issuance"] is None


@pytest.mark.parametrize("args,message", [
    (["--start", "2025-13-01"], "--start '2025-13-01' is no day of the calendar"),
    (["--start", "31.02.2025"], "--start '31.02.2025' is no day of the calendar"),
    (["--start", "03/04/2025"], "could be day/month or month/day"),
    (["--start", "1 Feb 2025"], "--start must be a day as YYYY-MM-DD or DD.MM.YYYY"),
    # said as an export's row says them (they were "must be a day as YYYY-MM-DD")
    (["--start", "01.02.25"], "--start: 01.02.25: the year has two digits"),
    # a time of day and Excel's number of a day: the day asked for, no spreadsheet advice
    (["--start", "2025-02-01 10:30"], "--start '2025-02-01 10:30' holds a time of day as "
                                      "well: a record states only the day, so give the day "
                                      "alone (--start 2025-02-01)\n"),
    (["--start", "45536"], "--start '45536' looks like Excel's number of a day (2024-09-01, "
                           "if it is one): give the day itself"),
    # Until its first day a verifier would read it as a current employment.
    (["--start", "2999-01-01"], "--start 2999-01-01 is after today"),
    # An IIN was not checked at all ('12345' was issued), and a missing position was
    # 'record 1: position: …', a record the officer never numbered.
    (["--iin", "12345"], "--iin '12345': an IIN is 12 digits; this has 5\n"),
    (["--iin", "011020510004"], "--iin '011020510004': the IIN's check digit is wrong (a typo "
     "in the number?)"),
    (["--iin", "0110-2051-0004"], "--iin '0110-2051-0004': the IIN's check digit is wrong (a "
     "typo in the number?)"),
    (["--position", " "], "error: --position: "),
    (["--field", "oops"], "--field takes NAME=VALUE"),
    (["--field", "position=Boss"], "field 'position' is given twice"),
    # an employment already over is given its end by --field, checked as --end is
    # named as typed: it said "end_date 2024-12-31 is before …", naming no option
    (["--field", f"end_date={TOMORROW}"], f"error: --field end_date={TOMORROW} is after today"),
    (["--field", "end_date=2024-12-31"], "error: --field end_date=2024-12-31 is before the "
                                         "employment started (2025-02-01)"),
    (["--field", "end_date=soon"], "error: --field end_date must be a day as YYYY-MM-DD"),
])
def test_bad_start_is_one_line(tmp_path: Path, net: Consortium, fake_node: type[_Node],
                               args: list[str], message: str) -> None:
    out = tmp_path / "employment.json"
    done = CliRunner().invoke(main, ["employment", "start", "--key", _key(tmp_path, net),
                                     *START, *args, "--out", str(out)])
    assert done.exit_code == 2, done.output
    assert message in done.output and "Traceback" not in done.output
    assert not out.exists() and fake_node.submitted == []


@pytest.mark.parametrize("typed", ["01.02.2025", "2025/02/01", "2025/2/1", " 1.2.2025 ",
                                   "2025.02.01", "01.02.2025 0:00:00"])
def test_start_as_people_type_it_is_recorded_as_a_day(
        tmp_path: Path, net: Consortium, fake_node: type[_Node], typed: str) -> None:
    # It said 'record 1: start_date must be a date YYYY-MM-DD (got '01.02.2025')': an
    # export's words for a day written the way it is written in Kazakhstan.
    out = tmp_path / "employment.json"
    done = CliRunner().invoke(main, ["employment", "start", "--key", _key(tmp_path, net),
                                     *START[:-1], typed, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["fields"]["start_date"]["value"] == "2025-02-01"


@pytest.mark.parametrize("typed", ["0110 2051 0003", "0110-2051-0003", "011020\u00a0510003"])
def test_an_iin_typed_in_groups_is_recorded_whole(tmp_path: Path, net: Consortium,
                                                  fake_node: type[_Node], typed: str) -> None:
    # With dashes it was "an IIN is 12 digits" (an export's column takes them too)
    out = tmp_path / "employment.json"
    done = CliRunner().invoke(main, ["employment", "start", "--key", _key(tmp_path, net),
                                     *START, "--iin", typed, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["fields"]["iin"]["value"] == "011020510003"


def _employment_file(tmp_path: Path, net: Consortium, issuer: Any = None) -> Path:
    keys = issuer or net.employer
    batch = make_batch([{"full_name": "A", "position": "Analyst", "organisation": "Kaspi",
                         "start_date": "2025-02-01"}], "employment", CHAIN_ID,
                       keys.member_id, "Kaspi")
    path = tmp_path / "record.json"
    path.write_text(json.dumps(documents_of(batch)[0]))
    return path


def test_end_sends_days_and_the_reference(tmp_path: Path, net: Consortium,
                                          fake_node: type[_Node]) -> None:
    record = _employment_file(tmp_path, net)
    done = CliRunner().invoke(main, ["employment", "end", "--key", _key(tmp_path, net),
                                     str(record), "--end", "2026-03-08"])
    assert done.exit_code == 0, done.output
    assert "employed from 2025-02-01 to 2026-03-08" in done.output
    done = CliRunner().invoke(main, ["employment", "end", "--key", _key(tmp_path, net),
                                     str(record), "--end", "08.03.2026"])
    assert done.exit_code == 0 and "to 2026-03-08" in done.output, done.output
    for tx in fake_node.submitted:
        assert isinstance(tx.payload, EmploymentEndPayload)
        assert tx.payload.end_day - tx.payload.start_day == 400


@pytest.mark.parametrize("end,message", [
    ("2025-01-31", "before the employment started"),
    ("31/01/2026", "a day with slashes is not read, as 03/04 is March or April depending on "
                   "who typed it: write it as 31.01.2026 or 2026-01-31"),
    ("31.01.2025", "before the employment started"),
    # Once recorded, every verifier reads the employment as ended: a day to come was
    # taken up to a year ahead.
    ("2999-01-01", "--end 2999-01-01 is after today"),
    (TOMORROW.strftime("%d.%m.%Y"), f"--end {TOMORROW} is after today"),
])
def test_bad_end_is_one_line(tmp_path: Path, net: Consortium, fake_node: type[_Node],
                             end: str, message: str) -> None:
    record = _employment_file(tmp_path, net)
    done = CliRunner().invoke(main, ["employment", "end", "--key", _key(tmp_path, net),
                                     str(record), "--end", end])
    assert done.exit_code == 2 and message in done.output, done.output
    assert fake_node.submitted == []


def test_end_of_another_employers_record_refused_before_sending(
        tmp_path: Path, net: Consortium, fake_node: type[_Node]) -> None:
    record = _employment_file(tmp_path, net, issuer=net.university)
    done = CliRunner().invoke(main, ["employment", "end", "--key", _key(tmp_path, net),
                                     str(record), "--end", "2026-03-08"])
    assert done.exit_code == 2 and "only its issuer may end it" in done.output
    # named as the file names it, not only by 40 hex digits
    assert f"issued by Kaspi ({net.university.member_id.hex()})" in done.output
    assert fake_node.submitted == []


def test_recognise_bad_course_list_is_one_line(tmp_path: Path, net: Consortium,
                                               fake_node: type[_Node]) -> None:
    original = tmp_path / "original.json"
    batch = make_batch([{"full_name": "A"}], "transcript", CHAIN_ID, net.university.member_id,
                       "KazNU")
    original.write_text(json.dumps(documents_of(batch)[0]))
    courses = tmp_path / "courses.csv"
    courses.write_text("from_code;as_code;credits;teacher\nINF1101;CS101;5;Aliyev\n")
    done = CliRunner().invoke(main, ["recognise", "--key", _key(tmp_path, net), "--original",
                                     str(original), "--courses", str(courses), "--out",
                                     str(tmp_path / "r.json")])
    assert done.exit_code == 2 and "unknown columns ['teacher']" in done.output, done.output
    assert not (tmp_path / "r.json").exists() and fake_node.submitted == []


def _original_transcript(tmp_path: Path, net: Consortium,
                         monkeypatch: pytest.MonkeyPatch) -> Path:
    """A transcript of KazNU's in a file, its check against a node left out (no node)."""
    original = tmp_path / "original.json"
    batch = make_batch([transcript_record()], "transcript", CHAIN_ID,
                       net.university.member_id, "KazNU")
    original.write_text(json.dumps(documents_of(batch)[0]))
    monkeypatch.setattr(cli.records, "_check_original", lambda document, url: None)
    return original


def test_recognise_reads_a_course_list_as_excel_saves_it(
        tmp_path: Path, net: Consortium, fake_node: type[_Node],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Excel saves the rows of its used range, empty ones too (";;;"), which read as a
    # course with no code; and its plain "CSV" is cp1251, read as an export is (it was
    # refused, advising "CSV UTF-8", which a file of UTF-8 and cp1251 lines still gets).
    original = _original_transcript(tmp_path, net, monkeypatch)
    text = ("from_code;from_field;as_code;as_title_ru;credits\r\n"
            "INF1101;course.01;ИНФ101;Информатика;5\r\n;;;;\r\n;;;;\r\n")
    courses = tmp_path / "courses.csv"
    courses.write_text(text, encoding="utf-8", newline="")
    args = ["recognise", "--key", _key(tmp_path, net), "--original", str(original),
            "--courses", str(courses), "--out", str(tmp_path / "r.json")]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    recognition = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [name for name in recognition["fields"] if name.startswith("recognised.")] == [
        "recognised.01"]
    courses.write_bytes(text.encode("cp1251"))
    done = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "r2.json")])
    assert done.exit_code == 0, done.output
    recognition = json.loads((tmp_path / "r2.json").read_text(encoding="utf-8"))
    assert json.loads(recognition["fields"]["recognised.01"]["value"])["as_title_ru"] == \
        "Информатика"
    courses.write_bytes(text.encode() + "INF1101;course.01;ИНФ101;Информатика;5\r\n".encode(
        "cp1251"))
    done = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "r3.json")])
    assert done.exit_code == 2 and "it is not UTF-8 text (Excel's plain \"CSV\" is " \
        "Windows-1251): save it as \"CSV UTF-8\"" in done.output, done.output


def test_a_recognised_course_passed_is_recorded_as_its_code(
        tmp_path: Path, net: Consortium, fake_node: type[_Node],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The receiving office types the grade as it reads on the original: a word was refused
    # as no letter, and any other word is still refused, naming the codes.
    original = _original_transcript(tmp_path, net, monkeypatch)
    courses = tmp_path / "courses.csv"
    args = ["recognise", "--key", _key(tmp_path, net), "--original", str(original),
            "--courses", str(courses), "--out"]
    courses.write_text("from_code;as_code;credits;grade\nPE1;ФК101;2;Зачтено\n"
                       "HIS1;ИСТ101;3;өте жақсы\nINF1;ИНФ101;5;B+\n", encoding="utf-8")
    done = CliRunner().invoke(main, [*args, str(tmp_path / "r.json")])
    assert done.exit_code == 0, done.output
    fields = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["fields"]
    assert [json.loads(fields[f"recognised.0{n}"]["value"])["grade"] for n in (1, 2, 3)] == [
        "pass", "excellent", "B+"]
    courses.write_text("from_code;as_code;credits;grade\nPE1;ФК101;2;освоено\n",
                       encoding="utf-8")
    done = CliRunner().invoke(main, [*args, str(tmp_path / "r2.json")])
    assert done.exit_code == 2 and "grade must be one of A, A-" in done.output, done.output
