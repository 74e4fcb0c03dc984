# Sourced by the scripts: make sure .venv exists and holds this project, then activate it.
# Re-installs only when pyproject.toml changed since the last install.
# No `set -e` here: README has users source this in their own shell, where it would stay
# on and close the terminal at the first command that fails (a REVOKED verdict, exit 1).
# The scripts set their own options; each step here returns on failure instead.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
VENV="$ROOT/.venv"
PY="${SENIM_PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
  done
fi
if [ ! -x "$VENV/bin/python" ]; then
  if [ -z "$PY" ]; then echo "senim: no python3 found; install Python 3.11 or later" >&2; return 1; fi
  echo "senim: creating virtual environment in $VENV (with $PY)" >&2
  "$PY" -m venv "$VENV" || return 1
fi
STAMP="$VENV/.senim-installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "senim: installing the project and its dependencies into .venv" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 \
    || return 1
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]" >&2 \
    || return 1
  touch "$STAMP" || return 1
fi
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
# A script run with PYTHONDONTWRITEBYTECODE set would compile every project module afresh
# in each node and `senim` process: a quarter of the CPU of a multi-process test, and
# about 0.9 s of each node start. The scripts cache it under .venv instead, so the tree
# stays free of caches; a user's own (interactive) shell keeps what they set.
if [ -n "${PYTHONDONTWRITEBYTECODE:-}" ] && [[ $- != *i* ]]; then
  unset PYTHONDONTWRITEBYTECODE
  export PYTHONPYCACHEPREFIX="$VENV/pycache"
fi
