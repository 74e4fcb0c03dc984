"""Text exports whose lines would be read whole however long (registrar.textfile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from registrar import read_export
from registrar.textfile import MAX_LINE_CHARS
from tests.registrar.helpers import DIPLOMA_HEADER


@pytest.mark.parametrize("header", [True, False])
def test_a_line_past_the_limit_is_refused_at_its_row(tmp_path: Path, header: bool) -> None:
    # before: a line was read whole before csv split it: a 600 MB file of one line
    # took 1.3 GB (csv then refused its field as larger than 131,072 characters)
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8") as handle:
        if header:
            handle.write(",".join(DIPLOMA_HEADER) + "\n")
        handle.write("a" * (MAX_LINE_CHARS + 1) + "\n")
    result = read_export(path, "diploma")
    assert [(p.row, p.code) for p in result.problems] == [(2 if header else 1, "too-large")]
    assert result.problems[0].said is not None
    assert result.problems[0].said.key == "reg.file.line_too_long"
