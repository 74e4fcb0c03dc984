"""`scripts/testnet grow` (and shrink) run in a checkout and a testnet folder whose paths
hold a space ("/home/me/My testnet"), with stand-ins for `python` and `senim` in the
tree's .venv, so no network is needed. It failed twice: the anchors' command was a string
split on spaces (testnet_anchors.py took a word of the path for its count: a ValueError
traceback), and it ended with exit 1 after the switch had gone through, its last step
grepping `senim governance list` for 'validators from', which the command says with a
capital V. The stand-in `senim governance list` prints the real command's lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 60.0
MINISTRY = {"name": "Ministry", "member_id": "aa" * 20}
GOVERNANCE = {"policy": {"threshold": 1, "min_validators": 1}, "voters": [MINISTRY],
              "height": 9, "proposals": [],
              "validator_sets": [{"from_height": 1, "validators": [MINISTRY]},
                                 {"from_height": 8, "validators": [MINISTRY]}]}


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _tree(root: Path, anchors_log: Path) -> Path:
    """A checkout holding scripts/testnet, whose .venv is installed already and holds the
    stand-ins."""
    (root / "scripts").mkdir(parents=True)
    for name in ("testnet", "_venv.sh"):
        shutil.copy(ROOT / "scripts" / name, root / "scripts" / name)
    (root / "pyproject.toml").write_text("")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    real = sys.executable
    _executable(bin_dir / "python", textwrap.dedent(f"""\
        #!/bin/sh
        case "$1" in
          *testnet_init.py) printf 'mshe 127.0.0.1:1\\nemployer 127.0.0.1:2\\n' ;;
          *testnet_anchors.py) shift; printf '%s|' "$@" >> '{anchors_log}'
                               echo >> '{anchors_log}'; echo "median 1 ms" ;;
          *) case "$*" in
               *v1/status*) echo 5 ;;
               *) exec '{real}' "$@" ;;
             esac ;;
        esac
        """))
    lines = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
             "from cli.governance_vote import _lines; from cli.spoken import say; "
             f"print(chr(10).join(say(line) for line in _lines({GOVERNANCE!r})))")
    _executable(bin_dir / "senim", textwrap.dedent(f"""\
        #!/bin/sh
        case "$1 $2" in
          "governance propose") echo "proposal id: ab12 (effective at height 13)" ;;
          "governance vote") echo "vote: committed at height 6" ;;
          "governance list") exec '{real}' -c "{lines}" ;;
          "status "*) printf 'height    9\\nconsensus follower\\n' ;;
          *) echo "unexpected: senim $*" >&2; exit 9 ;;
        esac
        """))
    (root / ".venv" / ".senim-installed").write_text("")
    os.utime(root / "pyproject.toml", (1, 1))  # older than the stamp: nothing to install
    return root


@pytest.mark.parametrize("action", ["grow", "shrink"])
def test_grow_and_shrink_in_folders_named_with_spaces(tmp_path: Path, action: str) -> None:
    anchors_log = tmp_path / "anchors.log"
    tree = _tree(tmp_path / "my checkout", anchors_log)
    net = tmp_path / "my testnet"
    (net / "keys").mkdir(parents=True)
    for slug in ("mshe", "moe", "employer"):
        (net / "keys" / f"{slug}.key").write_text(json.dumps({"member_id": f"{slug}-id"}))
    done = subprocess.run([str(tree / "scripts" / "testnet"), action], capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, SENIM_TESTNET_DIR=str(net)))
    assert done.returncode == 0, (done.stdout, done.stderr)
    key = f"{net}/keys/mshe.key"
    assert anchors_log.read_text().splitlines() == [
        f"{key}|http://127.0.0.1:1|before|10|",
        f"{key}|http://127.0.0.1:1|across the switch|50|13|",
        f"{key}|http://127.0.0.1:1|after|10|"]
    assert "Validators from height 8: Ministry." in done.stdout, done.stdout
