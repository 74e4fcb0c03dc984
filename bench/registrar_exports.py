"""Registrar exports at scale: rows per second and peak RSS for 100,000 diplomas in
each input format, through what `senim issue` does before it sends anything: read,
check and hash every record, sign the batch and write every credential file (0600)
and the manifest. Only the node is left out. Also writes the sample files in
configs/registrar/.

    scripts/bench --only registrar [--rows N]         # measure; the section in BENCHMARKS.md
    python -m bench.registrar_exports                 # measure (each run in its own process)
    python -m bench.registrar_exports --samples DIR   # rewrite the sample exports

People here are made up; their IINs carry valid check digits.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openpyxl

from bench.kept_sections import REGISTRAR_EXPORTS, BrokenMarkers, kept_in
from bench.machine import machine
from cli.issue_checks import ReaderOptions, check_export
from cli.issue_job import sign_batch
from cli.issued_check import IssuedCheck
from cli.job_folder import start_job, write_credentials
from cli.parallel_hashing import PooledBatchBuilder
from ledger.identity import KeyPair
from node.files import save_key
from registrar import load_mapping, read_export
from registrar.formats import GRADE_SCALE
from registrar.iin import make_iin

KAZAKH_NAMES = ("Әсел Қайратқызы Нұрланова", "Ғалым Серікұлы Өтегенов", "Үміт Ерланқызы Ұлықбекова",
                "Іңкәр Болатқызы Һасенова", "Данияр Асқарұлы Жұмабеков")
RUSSIAN_NAMES = ("Иванова Анна Сергеевна", "Петров Дмитрий Игоревич", "Ким Елена Викторовна",
                 "Смирнов Алексей Павлович", "Ли Мария Андреевна")
DIPLOMA_HEADER = ("full_name", "iin", "birth_date", "student_id", "diploma_number", "programme",
                  "qualification", "graduation_date", "gpa", "honours")


def iins() -> Iterator[tuple[str, str]]:
    """Distinct valid IINs with their ISO birth dates, born from 2001-01-01 on."""
    day = datetime.date(2001, 1, 1)
    while True:
        for century_sex in (5, 6):
            for serial in range(1, 10_000):
                iin = make_iin(day.strftime("%y%m%d"), century_sex, serial)
                if iin is not None:
                    yield iin, day.isoformat()
        day += datetime.timedelta(days=1)


def diploma_rows(count: int, kazakh: bool = True) -> Iterator[dict[str, str]]:
    names = KAZAKH_NAMES if kazakh else RUSSIAN_NAMES
    programme = "Ақпараттық жүйелер" if kazakh else "Информационные системы"
    for index, (iin, born) in zip(range(count), iins(), strict=False):
        yield {"full_name": names[index % len(names)], "iin": iin, "birth_date": born,
               "student_id": f"S{index:07d}", "diploma_number": f"KZ{index:08d}",
               "programme": programme, "qualification": "Бакалавр", "graduation_date":
               "2026-06-30", "gpa": f"{2 + (index % 200) / 100:.2f}",
               "honours": "с отличием" if index % 10 == 0 else ""}


def write_csv(path: Path, header: tuple[str, ...], rows: Iterator[dict[str, str]],
              encoding: str = "utf-8", delimiter: str = ",") -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows([row.get(name, "") for name in header] for row in rows)


def write_json(path: Path, rows: Iterator[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        for number, row in enumerate(rows):
            handle.write((",\n" if number else "") + json.dumps(row, ensure_ascii=False))
        handle.write("\n]\n")


def write_xlsx(path: Path, header: tuple[str, ...], rows: Iterator[dict[str, str]]) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(name) or None for name in header])
    workbook.save(path)


def _headers_for(mapping_name: str) -> dict[str, str]:
    """Field -> the registrar system's header, from the shipped mapping (samples)."""
    text = Path(__file__).parents[1] / "registrar" / "mappings" / f"{mapping_name}.toml"
    data = tomllib.loads(text.read_text(encoding="utf-8"))
    headers: dict[str, str] = {}
    for header, field in data["columns"].items():  # the first a field is named by: the
        headers.setdefault(field, header)  # system's own, before other languages' names
    return headers


COURSES = (("INF1101", "Бағдарламалау негіздері", "Основы программирования",
            "Programming basics", 5), ("MAT1102", "Математикалық талдау", "Математический анализ",
                                       "Calculus", 6),
           ("HIS1103", "Қазақстанның қазіргі тарихы", "Современная история Казахстана",
            "Modern history of Kazakhstan", 5), ("INF2104", "Деректер қоры", "Базы данных",
                                                  "Databases", 6))


def _transcripts(people: list[tuple[str, tuple[str, str]]]
                 ) -> Iterator[tuple[list[str], list[list[str]]]]:
    """Each student's columns (name, IIN, student id, programme, GPA, total credits) and
    course lines (code, titles kk/ru/en, term, credits, grade, numeric, points)."""
    grades = (("A", 96), ("B+", 86), ("A-", 91), ("C+", 72), ("B", 81))
    for number, (name, (iin, _)) in enumerate(people, start=1):
        courses: list[list[str]] = []
        weighted, total = Decimal(0), 0
        for index, (code, kk, ru, en, credits) in enumerate(COURSES):
            letter, numeric = grades[(number + index) % len(grades)]
            points = GRADE_SCALE[letter][0]
            weighted += points * credits
            total += credits
            courses.append([code, kk, ru, en, str(index // 2 + 1), str(credits), letter,
                            str(numeric), str(points)])
        yield ([name, iin, f"S{number:05d}", "Информационные системы", f"{weighted / total:.2f}",
                str(total)], courses)


def write_samples(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    platonus = _headers_for("platonus")
    people = list(zip(RUSSIAN_NAMES, iins(), strict=False))
    header = tuple(platonus[f] for f in ("full_name", "iin", "birth_date", "student_id",
                                         "programme", "qualification", "graduation_date",
                                         "gpa", "honours"))
    with (directory / "platonus_diplomas.csv").open("w", encoding="cp1251", newline="") as out:
        writer = csv.writer(out, delimiter=";")  # Russian-locale Excel's "CSV"
        writer.writerow(header)
        for number, (name, (iin, born)) in enumerate(people, start=1):
            day, month, year = born[8:], born[5:7], born[:4]
            writer.writerow([name, iin, f"{day}.{month}.{year}", f"S{number:05d}",
                             "Информационные системы", "Бакалавр техники и технологий",
                             "30.06.2026", f"3,{40 + number}", "с отличием" if number == 1
                             else ""])
    course_parts = ("код", "название (каз)", "название (рус)", "название (англ)", "семестр",
                    "кредиты ECTS", "оценка", "баллы", "цифровой эквивалент")
    header = tuple(platonus[f] for f in ("full_name", "iin", "student_id", "programme", "gpa",
                                         "total_credits"))
    header += tuple(f"Дисциплина {n}: {part}" for n in range(1, len(COURSES) + 1)
                    for part in course_parts)
    transcripts = list(_transcripts(people[:3]))
    with (directory / "platonus_transcripts.csv").open("w", encoding="utf-8-sig",
                                                       newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(header)
        for student, courses in transcripts:
            writer.writerow([*student, *(cell for course in courses for cell in course)])
    # The same transcripts as a transcript report writes them: one row per course.
    by_course = _headers_for("platonus-course-rows")
    header = ("№ п/п", *(by_course[f] for f in (
        "full_name", "iin", "student_id", "programme", "gpa", "total_credits", "course_code",
        "course_title_kk", "course_title_ru", "course_title_en", "course_term",
        "course_credits", "course_grade", "course_numeric", "course_points")))
    with (directory / "platonus_transcript_courses.csv").open("w", encoding="utf-8-sig",
                                                              newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(header)
        rows = [[*student, *course] for student, courses in transcripts for course in courses]
        writer.writerows([str(number), *row] for number, row in enumerate(rows, start=1))
    kundelik = _headers_for("kundelik")
    fields = ("full_name", "iin", "birth_date", "school", "graduation_date", "honours",
              "subject_algebra", "subject_kazakh_language", "subject_russian_language",
              "subject_history_of_kazakhstan", "subject_physics", "subject_english")
    with (directory / "kundelik_attestats.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([kundelik[f] for f in fields])
        for number, (name, (iin, born)) in enumerate(zip(KAZAKH_NAMES, iins(), strict=False)):
            marks = [str(5 - (number + k) % 3) for k in range(6)]
            writer.writerow([name, iin, born, "Алматы қаласының № 12 мектеп-гимназиясы",
                             "2026-05-25", "Алтын белгі" if number == 0 else "", *marks])
    # An employer's staff list as 1C:ZUP saves it (cp1251, as Russian-locale Excel does):
    # employees at work have no end; one left in the spring.
    zup = _headers_for("1c-zup")
    zup_fields = ("employee_id", "full_name", "iin", "organisation", "department", "position",
                  "start_date", "end_date")
    with (directory / "1c_zup_employees.csv").open("w", encoding="cp1251", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["№ п/п", *(zup[f] for f in zup_fields)])
        for number, (name, (iin, _)) in enumerate(zip(RUSSIAN_NAMES, iins(), strict=False),
                                                 start=1):
            writer.writerow([str(number), f"{number:08d}", name, iin, "ТОО «Kaspi Finance»",
                             "Отдел разработки", "Инженер-программист",
                             f"{number:02d}.09.2021", "31.03.2026" if number == 2 else ""])


class _OfflineNode:
    """What signing a batch asks of a node: the chain id and the height."""

    def status(self) -> dict[str, object]:
        return {"chain_id": "senim-bench", "height": 1}


def _issue_offline(path: Path, job_dir: Path) -> tuple[int, int]:
    """`senim issue`'s preparation (cli/issuing.py) without a node: (records, problems)."""
    keys = KeyPair.generate()
    key_path = job_dir.parent / "issuer.key"
    save_key(key_path, keys)
    with PooledBatchBuilder("diploma", "senim-bench", keys.member_id,
                            "Bench University") as builder:
        result = check_export(path, "diploma", ReaderOptions(),
                              IssuedCheck(None, "diploma", "senim-bench", False,
                                          unique=("iin", "student_id")),
                              lambda _row, record: builder.add(record))
        if result.problems:
            return 0, len(result.problems)
        batch = builder.finish()
    tx, tx_id, expires_at = sign_batch(_OfflineNode(), keys, "diploma", batch.root,
                                       len(batch.target_hashes))
    manifest = start_job(job_dir, credential_type="diploma", chain_id="senim-bench",
                         issuer_name="Bench University", keys=keys, key_path=key_path,
                         input_path=path)
    write_credentials(job_dir, manifest, batch, tx, tx_id, expires_at)
    return len(batch.target_hashes), 0


def _measure_one(path: Path) -> None:
    before_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # interpreter+imports
    with tempfile.TemporaryDirectory(prefix="senim-bench-job-") as scratch:
        started = time.perf_counter()
        records, problems = _issue_offline(path, Path(scratch) / "job")
        elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"file": path.name, "records": records, "problems": problems,
                      "rows_per_s": round(records / elapsed), "seconds": round(elapsed, 1),
                      "peak_rss_mib": round(peak_mib, 1),
                      "rss_before_mib": round(before_mib, 1)}, ensure_ascii=False))


def _write_export(path: Path, rows: int) -> None:
    if path.name == "cp1251.csv":  # cp1251 has no Kazakh letters: Russian names
        write_csv(path, DIPLOMA_HEADER, diploma_rows(rows, kazakh=False), "cp1251", ";")
    elif path.suffix == ".txt":  # Excel's "Unicode text"
        write_csv(path, DIPLOMA_HEADER, diploma_rows(rows), "utf-16", "\t")
    elif path.suffix == ".xlsx":
        write_xlsx(path, DIPLOMA_HEADER, diploma_rows(rows))
    elif path.suffix == ".json":
        write_json(path, diploma_rows(rows))
    else:
        write_csv(path, DIPLOMA_HEADER, diploma_rows(rows))


FORMATS = (("utf8.csv", "CSV, UTF-8, ','"), ("cp1251.csv", "CSV, cp1251, ';'"),
           ("export.xlsx", "Excel .xlsx"), ("export.json", "JSON"))


def measure(rows: int) -> list[dict[str, object]]:
    """Each format in a process of its own, so each peak RSS is that format's alone."""
    results = []
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as scratch:
        for name, label in FORMATS:
            path = Path(scratch) / name
            _write_export(path, rows)
            run = subprocess.run([sys.executable, "-m", "bench.registrar_exports", "--one",
                                  str(path)], check=True, timeout=1800, capture_output=True,
                                 text=True)
            path.unlink()
            figures = json.loads(run.stdout.strip().splitlines()[-1])
            figures["format"] = label
            print(figures, flush=True)
            results.append(figures)
    return results


def render_section(rows: int, results: list[dict[str, object]], command: str,
                   started: datetime.datetime) -> str:
    lines = [REGISTRAR_EXPORTS.start,
             "## Issuing from registrar exports (`scripts/bench --only registrar`)",
             "", f"- command: `{command}`",
             f"- date: {started:%Y-%m-%d %H:%M UTC}; "
             f"machine: {machine()}",
             f"- {rows:,} diplomas per file; each file in its own process: read, check and hash "
             "every record, sign the batch, write every credential file (0600) and the "
             "manifest, as `senim issue` does before it sends; no node. Peak RSS includes "
             "the interpreter and imports (the column before it).", "",
             "| input | records | rows/s | seconds | peak RSS | RSS before reading |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['format']} | {r['records']:,} | {r['rows_per_s']:,} | "
                     f"{r['seconds']} | {r['peak_rss_mib']} MiB | {r['rss_before_mib']} MiB |")
    lines.append(REGISTRAR_EXPORTS.end)
    return "\n".join(lines)


def record(rows: int, out: Path, command: str) -> None:
    """Measure and put this section into `out`, in place of the one there (or at the end)."""
    kept_in(out)  # its markers checked before minutes of measuring
    started = datetime.datetime.now(datetime.UTC)
    section = render_section(rows, measure(rows), command, started)
    print(section, flush=True)
    REGISTRAR_EXPORTS.put_into(out, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, help="write the section into this file")
    parser.add_argument("--samples", type=Path)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.samples:
        write_samples(args.samples)
        for name, mapping, kind in (("platonus_diplomas.csv", "platonus", "diploma"),
                                    ("platonus_transcripts.csv", "platonus", "transcript"),
                                    ("platonus_transcript_courses.csv", "platonus-course-rows",
                                     "transcript"),
                                    ("kundelik_attestats.csv", "kundelik", "attestat"),
                                    ("1c_zup_employees.csv", "1c-zup", "employment")):
            result = read_export(args.samples / name, kind, mapping=load_mapping(mapping))
            print(name, "ok" if result.ok else [str(p) for p in result.problems])
    elif args.one:
        _measure_one(args.one)
    elif args.out:
        try:
            record(args.rows, args.out, f"python -m bench.registrar_exports --rows {args.rows} "
                   f"--out {args.out}")
        except BrokenMarkers as exc:
            sys.exit(f"bench.registrar_exports: {args.out}: {exc}; nothing written")
    else:
        measure(args.rows)


if __name__ == "__main__":
    main()
