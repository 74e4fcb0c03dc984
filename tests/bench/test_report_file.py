"""A full `scripts/bench` run rewrites BENCHMARKS.md's generated header and tables and keeps
what it did not measure: the sessions' measurements written by hand, and the sections
`scripts/attack --record` and `scripts/bench --only registrar` write. It used to keep only
the last two, so running it would have dropped the file's whole history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.kept_sections import ATTACK_LAB, MEASURED_BY_HAND, REGISTRAR_EXPORTS, BrokenMarkers
from bench.machine import cpu_name
from bench.run import write_report

BY_HAND = "\n".join([MEASURED_BY_HAND.start, "## Measured on 2026-12-05 (session 47)", "",
                     "Saturation 3,997 tx/s, measured by hand.", MEASURED_BY_HAND.end])
ATTACK = "\n".join([ATTACK_LAB.start, "## Under attack", "| slow-loris | pass |",
                    ATTACK_LAB.end])
REGISTRAR = "\n".join([REGISTRAR_EXPORTS.start, "## Issuing from registrar exports",
                       "| CSV | 100,000 |", REGISTRAR_EXPORTS.end])


def test_a_full_run_keeps_the_measurements_by_hand_and_the_other_commands_sections(
        tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("\n\n".join(["# Senim benchmarks\n\n- date: 2026-11-30 10:30 UTC", BY_HAND,
                                "## Ceiling\n\n| libsodium | 13,335 |", ATTACK, REGISTRAR,
                                ""]))
    write_report(out, "# Senim benchmarks\n\n- date: 2026-12-05 13:30 UTC",
                 "## Ceiling\n\n| libsodium | 18,858 |")
    text = out.read_text()
    assert "2026-11-30" not in text and "13,335" not in text  # the old run's own lines
    for kept in (BY_HAND, ATTACK, REGISTRAR):
        assert text.count(kept) == 1
    # The run's tables right under its header, then the history, then the others' sections
    order = [text.index(part) for part in ("2026-12-05 13:30", "18,858", BY_HAND, REGISTRAR,
                                           ATTACK)]
    assert order == sorted(order)


def test_a_file_without_kept_sections_gets_only_this_run(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# an old run\n\n## Ceiling\n\n| libsodium | 13,335 |\n")
    write_report(out, "# Senim benchmarks", "## Ceiling\n\n| libsodium | 18,858 |")
    assert out.read_text() == "# Senim benchmarks\n\n## Ceiling\n\n| libsodium | 18,858 |\n"


def test_a_section_is_put_in_place_of_its_last_version_or_at_the_end(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(f"# head\n\n{ATTACK}\n\n## after it\n")
    newer = ATTACK.replace("pass", "FAIL (wide)")
    ATTACK_LAB.put_into(out, newer)
    assert out.read_text() == f"# head\n\n{newer}\n\n## after it\n"
    REGISTRAR_EXPORTS.put_into(out, REGISTRAR)
    assert out.read_text() == f"# head\n\n{newer}\n\n## after it\n\n{REGISTRAR}\n"
    assert REGISTRAR_EXPORTS.read_from(out) == REGISTRAR
    assert MEASURED_BY_HAND.read_from(out) == ""


def test_a_marker_quoted_in_prose_is_no_marker(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    quoting = BY_HAND.replace("measured by hand.", f"measured by hand (see `{ATTACK_LAB.start}`).")
    out.write_text(f"# old\n\n{quoting}\n\n{ATTACK}\n")
    write_report(out, "# new", "## tables")
    assert out.read_text() == f"# new\n\n## tables\n\n{quoting}\n\n{ATTACK}\n"


@pytest.mark.parametrize("broken", [
    # the history's end marker lost: writing would drop everything after its start
    BY_HAND.replace(MEASURED_BY_HAND.end, "") + "\n\n" + ATTACK,
    # another section's start on a line of its own inside the history: they overlap
    BY_HAND.replace("measured by hand.", f"measured by hand.\n{ATTACK_LAB.start}") + "\n\n"
    + ATTACK,
])
def test_broken_markers_are_refused_and_nothing_is_written(tmp_path: Path, broken: str) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(broken)
    with pytest.raises(BrokenMarkers):
        write_report(out, "# new", "## tables")
    with pytest.raises(BrokenMarkers):
        ATTACK_LAB.put_into(out, ATTACK.replace("pass", "FAIL (wide)"))
    assert out.read_text() == broken


def test_an_end_marker_before_its_start_does_not_end_it(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    text = f"# head\n{ATTACK_LAB.end}\n\n{ATTACK}\n"
    out.write_text(text)
    newer = ATTACK.replace("pass", "FAIL (wide)")
    ATTACK_LAB.put_into(out, newer)
    assert out.read_text() == text.replace(ATTACK, newer)


def test_a_first_run_writes_a_file_that_was_not_there(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    write_report(out, "# Senim benchmarks", "## Ceiling")
    assert out.read_text() == "# Senim benchmarks\n\n## Ceiling\n"


def test_scripts_bench_refuses_a_file_with_broken_markers_before_measuring(
        tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    broken = BY_HAND.replace(MEASURED_BY_HAND.end, "")
    out.write_text(broken)
    run = subprocess.run([sys.executable, "-m", "bench.run", "--out", str(out)],
                         cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode != 0
    assert "has no <!-- measured-by-hand:end -->" in run.stderr
    assert "measuring" not in run.stdout
    assert out.read_text() == broken


CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 49
model name\t: AMD EPYC 7B12
"""


def test_the_cpu_is_named_by_its_first_processor_with_family_and_model() -> None:
    assert cpu_name(CPUINFO) == "AMD EPYC, family 25, model 17"
    assert cpu_name("\n" + CPUINFO) == "AMD EPYC, family 25, model 17"
    assert cpu_name("processor\t: 0\nmodel name\t: Some CPU\n") == "Some CPU"
    assert cpu_name("processor\t: 0\nfeatures\t: fp asimd\n") == "unknown CPU"
    assert cpu_name("") == "unknown CPU"
