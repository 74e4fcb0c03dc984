"""README has users `source scripts/_venv.sh` in their own shell to put `senim` on PATH.
It used to `set -euo pipefail` there, which stayed on: the first command that failed
afterwards (`senim verify` of a revoked diploma, exit 1) closed the user's terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _checkout(tmp_path: Path, with_venv: bool) -> Path:
    """A copy of the script in a tree whose .venv is installed already (nothing to pip)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "_venv.sh", tmp_path / "scripts" / "_venv.sh")
    (tmp_path / "pyproject.toml").write_text("")
    if with_venv:
        (tmp_path / ".venv" / "bin").mkdir(parents=True)
        python = tmp_path / ".venv" / "bin" / "python"
        python.write_text("#!/bin/sh\nexit 0\n")
        python.chmod(0o755)
        stamp = tmp_path / ".venv" / ".senim-installed"
        stamp.write_text("")
        os.utime(tmp_path / "pyproject.toml", (1, 1))  # older than the stamp
    return tmp_path


def _bash(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})}, check=False)


def test_sourcing_it_leaves_the_users_shell_options_alone(tmp_path: Path) -> None:
    root = _checkout(tmp_path, with_venv=True)
    done = _bash(f'source "{root}/scripts/_venv.sh"; echo "sourced $?"; false; '
                 'echo "after a failing command"; echo "$UNSET_BY_ANYONE"; '
                 'set -o | grep -E "^(errexit|nounset|pipefail)" ; command -v python')
    assert "sourced 0" in done.stdout, done.stderr
    assert "after a failing command" in done.stdout, done.stdout
    options = dict(line.split() for line in done.stdout.splitlines()
                   if line.startswith(("errexit", "nounset", "pipefail")))
    assert options == {"errexit": "off", "nounset": "off", "pipefail": "off"}, done.stdout
    assert done.stdout.strip().endswith(f"{root}/.venv/bin/python")


def test_a_venv_it_cannot_make_is_a_failure_the_shell_survives(tmp_path: Path) -> None:
    root = _checkout(tmp_path, with_venv=False)
    env = {"SENIM_PYTHON": str(tmp_path / "no-such-python")}
    done = _bash(f'source "{root}/scripts/_venv.sh"; echo "sourced $?"', env)
    assert "sourced 1" in done.stdout, (done.stdout, done.stderr)
    # A script (which sets -e itself, as scripts/testnet does) stops there.
    script = _bash(f'set -euo pipefail; source "{root}/scripts/_venv.sh"; echo "went on"', env)
    assert script.returncode != 0 and "went on" not in script.stdout
