"""A document path that names no regular file (/dev/zero, a named pipe), or a file too
large for a document: every command that reads one ends with one line and exit 2, at
once, instead of reading for ever; a large file is still anchored and verified, hashed
as it is read.

Each case runs the real `senim` as its own process under a deadline, so a command that
reads for ever fails the test rather than hanging it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.verify_files import DOCUMENT_FILE_BYTES_MAX, file_digest
from ledger.identity import KeyPair
from node.files import save_key

DEAD_NODE = "http://127.0.0.1:9"  # discard port: nothing listens there in tests
DEADLINE_S = 30.0
COMMANDS = {
    "verify": ["verify", "{doc}", "--node", DEAD_NODE],
    "verify --offline": ["verify", "{doc}", "--offline", "--genesis", "{doc}"],
    "disclose": ["disclose", "{doc}", "--hide", "iin", "--out", "{out}"],
    "prove": ["prove", "{doc}", "--out", "{out}", "--node", DEAD_NODE],
    "share": ["share", "{doc}"],
    "export-vc": ["export-vc", "{doc}", "--key", "{key}", "--out", "{out}",
                  "--node", DEAD_NODE],
    "revoke": ["revoke", "--key", "{key}", "{doc}", "--reason", "other", "--node", DEAD_NODE],
    "supersede": ["supersede", "--key", "{key}", "{doc}", "--by", "{doc}", "--node", DEAD_NODE],
    "recognise --original": ["recognise", "--key", "{key}", "--original", "{doc}",
                             "--courses", "{doc}", "--out", "{out}", "--node", DEAD_NODE],
    "employment end": ["employment", "end", "--key", "{key}", "{doc}", "--end", "2026-06-30",
                       "--node", DEAD_NODE],
    "anchor": ["anchor", "--key", "{key}", "{doc}", "--node", DEAD_NODE],
}


def senim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=DEADLINE_S, check=False)


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "issuer.key"
    save_key(path, KeyPair.generate())
    return path


@pytest.mark.parametrize("kind", ["/dev/zero", "named pipe"])
@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
def test_no_regular_file_is_refused_at_once(tmp_path: Path, key: Path, kind: str,
                                            command: str) -> None:
    document = Path("/dev/zero")
    if kind == "named pipe":  # no writer ever comes: opening it to read would wait for one
        document = tmp_path / "pipe.json"
        os.mkfifo(document)
    out = tmp_path / "out.json"
    args = [part.format(doc=document, out=out, key=key) for part in COMMANDS[command]]
    run = senim(*args)
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    errors = [line for line in (run.stdout + run.stderr).splitlines()
              if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1, run.stderr
    assert "not a regular file" in errors[0] or "is a character device" in errors[0], errors
    assert not out.exists()


def test_a_file_larger_than_a_document_is_anchored_whole(tmp_path: Path, key: Path) -> None:
    """A thesis PDF past the document limit is no credential, but it may be anchored:
    hashed as it is read, to the SHA-256 that sha256sum prints."""
    large = tmp_path / "thesis.pdf"
    with large.open("wb") as handle:  # sparse past its first bytes: quick to make
        handle.write(os.urandom(1 << 16))
        handle.truncate(DOCUMENT_FILE_BYTES_MAX + 1)
    with large.open("rb") as handle:
        expected = hashlib.file_digest(handle, "sha256").digest()
    assert file_digest(large) == expected
    run = senim("anchor", "--key", str(key), str(large), "--node", DEAD_NODE)
    assert f"sha256 {expected.hex()}" in run.stdout, (run.stdout, run.stderr)
    assert run.returncode == 3 and "cannot reach the node" in run.stderr  # hashed, then sent
    verified = senim("verify", str(large), "--node", DEAD_NODE)
    assert verified.returncode == 3 and "cannot reach the node" in verified.stderr, \
        verified.stderr  # read as no document, then asked of the node as an anchor
