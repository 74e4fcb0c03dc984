"""Every decoder answers any bytes with a value or its documented error, never a crash.

Three checks per decoder: the seeds (valid encodings) decode, every kept crash input
(tests/fuzz/regressions/<target>/) now gets a documented answer, and a short
coverage-guided atheris run finds no new crash. SENIM_FUZZ_SECONDS sets the length
of each run (default FUZZ_SECONDS); scripts/fuzz runs longer ones and keeps crashes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.run import INSTRUMENTED, REGRESSIONS
from tests.fuzz.targets import TARGETS

FUZZ_SECONDS = 3
RUN_DEADLINE_S = 120  # start-up, seeds and the run itself, under load
ROOT = Path(__file__).resolve().parents[2]


def kept_inputs() -> list[tuple[str, Path]]:
    return [(name, path) for name in TARGETS
            for path in sorted((REGRESSIONS / name).glob("*"))]


def test_every_target_is_instrumented_and_run() -> None:
    assert set(INSTRUMENTED) == set(TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_valid_encodings_decode(name: str) -> None:
    seeds = TARGETS[name].seeds()
    assert seeds
    accepted = [TARGETS[name].check(seed) for seed in seeds]
    assert sum(accepted) >= max(1, len(seeds) - 1), accepted  # the fuzzer starts deep


@pytest.mark.parametrize(("name", "path"), kept_inputs(),
                         ids=[f"{n}/{p.name[:20]}" for n, p in kept_inputs()])
def test_kept_crash_input_gets_a_documented_answer(name: str, path: Path) -> None:
    TARGETS[name].check(path.read_bytes())


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzzing_finds_no_crash(name: str, tmp_path: Path) -> None:
    seconds = int(os.environ.get("SENIM_FUZZ_SECONDS", FUZZ_SECONDS))
    command = [sys.executable, "-m", "tests.fuzz.run", name, "--seconds", str(seconds),
               "--corpus", str(tmp_path / "corpus"), "--artifacts", str(tmp_path / "crashes")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            timeout=RUN_DEADLINE_S + seconds, check=False)
    crashes = sorted((tmp_path / "crashes").glob("*"))
    report = "\n".join(f"{path.name}: {path.read_bytes()[:400]!r}" for path in crashes)
    assert result.returncode == 0 and not crashes, (
        f"{name}: exit {result.returncode}; keep the input under "
        f"tests/fuzz/regressions/{name}/ and fix the decoder\n{report}\n"
        f"{result.stderr[-3000:]}")
    assert "Done" in result.stderr, result.stderr[-2000:]  # libFuzzer really ran
