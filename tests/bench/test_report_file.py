"""A full `scripts/bench` run rewrites BENCHMARKS.md's generated header and tables and keeps
what it did not measure: the sessions' measurements written by hand, and the sections
`scripts/attack --record` and `scripts/bench --only registrar` write. It used to keep only
the last two, so running it would have dropped the file's whole history."""

from __future__ import annotations

from pathlib import Path

from bench.kept_sections import ATTACK_LAB, MEASURED_BY_HAND, REGISTRAR_EXPORTS
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
