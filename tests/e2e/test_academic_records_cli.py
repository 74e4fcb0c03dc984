"""Academic records through the real `senim` CLI against a real node process: a
transcript with chosen courses shown, a recognition that verifies with its original,
and an employment recorded and ended. Every `senim ...` is a subprocess."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Consortium, Member
from tests.node.academic_fixtures import COURSES, GPA, TOTAL_CREDITS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MEMBERS = [
    Member("mshe", "Ministry of Science and Higher Education", "ministry", validator=True,
           runs_node=True),
    Member("kaznu", "Al-Farabi Kazakh National University", "university"),
    Member("enu", "L.N. Gumilyov Eurasian National University", "university"),
    Member("kaspi", "Kaspi Bank", "employer"),
]


def _verdict(net: Consortium, node: Any, path: Path) -> tuple[int, dict[str, Any]]:
    done = net.cli("verify", str(path), "--json", node=node, check=False)
    return done.returncode, json.loads(done.stdout)


def _one_line_error(done: Any, code: int, words: str) -> None:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert words in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_transcript_recognition_and_employment(tmp_path: Path) -> None:
    with Consortium(tmp_path, MEMBERS) as net:
        node = net.start("mshe")

        def cli(*args: str, check: bool = True) -> Any:
            return net.cli(*args, node=node, check=check)

        key = {slug: str(net.key_path(slug)) for slug in net.members}
        for slug, types in (("kaznu", "transcript"), ("enu", "recognition"),
                            ("kaspi", "employment")):
            cli("accredit", "--key", key["mshe"], "--issuer", net.member_id(slug),
                "--types", types)

        # KazNU issues transcripts with course lines; one with a wrong GPA is refused whole
        # The export as a registrar's system writes it: course<n>_<part> columns.
        records = [{"full_name": "Иванова Анна", "iin": "010101500013", "programme": "IS",
                    "gpa": GPA, "total_credits": TOTAL_CREDITS,
                    **{f"course{n}_{part}": value for n, c in enumerate(COURSES, 1)
                       for part, value in c.items()}}]
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps([{**records[0], "gpa": "3.90"}], ensure_ascii=False))
        refused = cli("issue", "--key", key["kaznu"], "--type", "transcript", "--input",
                      str(bad), "--out", str(tmp_path / "never"), check=False)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert "row 1, column 'gpa'" in refused.stderr and "nothing was issued" in refused.stderr
        assert not (tmp_path / "never").exists()
        good = tmp_path / "transcripts.json"
        good.write_text(json.dumps(records, ensure_ascii=False))
        cli("issue", "--key", key["kaznu"], "--type", "transcript", "--input", str(good),
            "--out", str(tmp_path / "kaznu"))
        (transcript,) = sorted((tmp_path / "kaznu").rglob("transcript-*.json"))

        # the student shows two courses of four
        shown = tmp_path / "shown.json"
        cli("disclose", str(transcript), "--hide", "course.02,course.04,iin", "--out",
            str(shown))
        code, verdict = _verdict(net, node, shown)
        assert code == 0 and verdict["valid"], verdict
        assert [line["code"] for line in verdict["facts"]["course_lines"]] == ["INF1101",
                                                                               "HIS1103"]
        assert "MAT1102" not in json.dumps(verdict, ensure_ascii=False)

        # ENU recognises them (a semicolon CSV, as Excel writes it)
        courses = tmp_path / "recognised.csv"
        courses.write_text("from_code;from_field;as_code;credits\n"
                           "INF1101;course.01;CS101;5\nHIS1103;course.03;HIS100;5\n")
        recognition = tmp_path / "recognition.json"
        cli("recognise", "--key", key["enu"], "--original", str(shown), "--courses",
            str(courses), "--field", "full_name=Иванова Анна", "--out", str(recognition))
        assert stat.S_IMODE(recognition.stat().st_mode) == 0o600
        code, verdict = _verdict(net, node, recognition)
        assert code == 0 and verdict["valid"], verdict
        assert verdict["facts"]["original"]["status"] == "valid"
        assert "MAT1102" not in recognition.read_text(encoding="utf-8")
        again = cli("recognise", "--key", key["enu"], "--original", str(shown), "--courses",
                    str(courses), "--out", str(recognition), check=False)
        _one_line_error(again, 2, "exists: give a new file")

        # Kaspi records an employment, then its end
        employment = tmp_path / "employment.json"
        cli("employment", "start", "--key", key["kaspi"], "--full-name", "Иванова Анна",
            "--position", "Data engineer", "--organisation", "Kaspi Bank", "--start",
            "2024-09-02", "--out", str(employment))
        code, verdict = _verdict(net, node, employment)
        assert code == 0 and "currently employed as Data engineer" in verdict["reason"]
        late = cli("employment", "end", "--key", key["kaspi"], str(employment), "--end",
                   "2024-09-01", check=False)
        _one_line_error(late, 2, "before the employment started")
        not_theirs = cli("employment", "end", "--key", key["enu"], str(employment), "--end",
                         "2026-06-30", check=False)
        _one_line_error(not_theirs, 2, "only its issuer may end it")
        cli("employment", "end", "--key", key["kaspi"], str(employment), "--end",
            "2026-06-30")
        code, verdict = _verdict(net, node, employment)
        assert code == 0 and "from 2024-09-02 to 2026-06-30" in verdict["reason"], verdict
        twice = cli("employment", "end", "--key", key["kaspi"], str(employment), "--end",
                    "2026-07-01", check=False)
        _one_line_error(twice, 1, "already_ended")

        # KazNU revokes the original: the recognition now says so
        cli("revoke", "--key", key["kaznu"], str(transcript), "--reason", "fraud")
        code, verdict = _verdict(net, node, recognition)
        assert code != 0 and verdict["status"] == "original_revoked", verdict
        assert node.stop() == 0, node.log_tail()
