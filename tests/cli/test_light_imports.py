"""PyLD (with requests and lxml, 0.3 s of every `senim` call on a slow machine) is loaded
when a document is canonicalised, not when a command is merely loaded: each of these
commands' help loaded it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]

LOADED_AFTER = """
import sys
from cli.entry import run
sys.argv = ["senim", *sys.argv[1:]]
try:
    run()
except SystemExit:
    pass
print(" ".join(sorted(name for name in ("pyld", "requests", "lxml") if name in sys.modules)),
      file=sys.stderr)
"""


def _loaded(*args: str) -> str:
    done = subprocess.run([sys.executable, "-c", LOADED_AFTER, *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, check=False)
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


@pytest.mark.parametrize("command", ["keygen", "status", "revoke", "verify", "members"])
def test_a_commands_help_leaves_pyld_unloaded(command: str) -> None:
    assert _loaded(command, "--help") == ""


def test_canonicalising_loads_pyld_when_asked() -> None:
    done = subprocess.run([sys.executable, "-c",
                           "import sys\nfrom ledger.vc.canon import canonize\n"
                           "assert 'pyld' not in sys.modules\n"
                           "print(canonize({'@context': {'@vocab': 'https://example.org/'},"
                           " 'name': 'x'}), end='')\n"
                           "assert 'pyld' in sys.modules"],
                          capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == '_:c14n0 <https://example.org/name> "x" .\n'


@pytest.mark.parametrize("module", ["cli", "cli.entry"])
def test_python_dash_m_runs_the_command(module: str, tmp_path: Path) -> None:
    """`python -m cli.entry verify FORGED` printed nothing and exited 0: the module had no
    main guard, so a script calling it so took every document for valid."""
    missing = tmp_path / "no-such-diploma.json"
    done = subprocess.run([sys.executable, "-m", module, "verify", str(missing), "--lang",
                           "en"], capture_output=True, text=True, timeout=120, cwd=REPO,
                          check=False)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert str(missing) in done.stderr
