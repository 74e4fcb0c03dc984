"""Writing small exports for the registrar tests."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl

from registrar import ExportResult, Phrase, Problem, preview_said
from registrar.iin import make_iin


def valid_iins(count: int, birth: str = "050315", century_sex: int = 5) -> list[str]:
    found: list[str] = []
    serial = 1
    while len(found) < count:
        iin = make_iin(birth, century_sex, serial)
        if iin is not None:
            found.append(iin)
        serial += 1
    return found


IINS = valid_iins(20)
DIPLOMA_HEADER = ["full_name", "iin", "programme", "qualification", "graduation_date"]


def diploma_row(index: int, name: str = "Әсел Нұрланова",
                programme: str = "Ақпараттық жүйелер") -> list[str]:
    return [name, IINS[index], programme, "Бакалавр", "2026-06-30"]


def write_csv(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], merges: Sequence[str] = ()) -> Path:
    """A workbook of `rows`, with the cell ranges in `merges` (as "A1:C1") merged."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    for reference in merges:
        sheet.merge_cells(reference)
    workbook.save(path)
    return path


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def codes(result: ExportResult) -> list[str]:
    return [p.code for p in result.problems]


def only(result: ExportResult, code: str) -> Problem:
    found = [p for p in result.problems if p.code == code]
    assert len(found) == 1, result.problems
    return found[0]


def preview(result: ExportResult, limit: int = 3) -> str:
    """The dry run's lines in English, each field by its key (the command line names them
    as the documents label them: cli.issue_words.preview_lines)."""
    lines: list[str] = []
    for line in preview_said(result, limit):
        if isinstance(line, Phrase):
            lines.append(line.english)
            continue
        lines.append(line.heading.english)
        width = max(len(name) for name in line.record)
        lines.extend(f"  {name.ljust(width)}  {value}" for name, value in line.record.items())
    lines.extend(f"  {problem}" for problem in result.problems)
    return "\n".join(lines)
