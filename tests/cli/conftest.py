"""Fixtures of the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import cli.issuing
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli.scripted_node import ScriptedNode, scripted_node
from tests.cli.test_issue_job import AccreditedNode


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, AccreditedNode]:
    """A folder holding an accredited issuer's key (enu.key), made the working folder, and
    the in-memory node `senim issue` talks to there."""
    node = AccreditedNode()
    node.issuer = KeyPair.generate()
    save_key(tmp_path / "enu.key", node.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: node)
    monkeypatch.chdir(tmp_path)
    return tmp_path, node


@pytest.fixture
def node_stub() -> Iterator[ScriptedNode]:
    """A stand-in node on a loopback port answering as the test scripts it
    (tests/cli/scripted_node.py)."""
    with scripted_node() as server:
        yield server
