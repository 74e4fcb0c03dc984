"""`senim share` with no --node made a link to http://127.0.0.1:8101 (the default) without a
word: the graduate sent it, and the employer's browser opened nothing. A link to a node only
this computer can reach is still made (a test on one's own machine), with a warning in the
holder's language; a link to a node others reach is made without one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.language import Words
from cli.main import main
from ledger.credentials import make_batch
from tests.node.conftest import CHAIN_ID, documents_of, make_consortium


@pytest.fixture
def diploma(tmp_path: Path) -> Path:
    net = make_consortium()
    batch = make_batch([{"full_name": "Aigerim", "gpa": "3.9"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    path = tmp_path / "diploma.json"
    path.write_text(json.dumps(documents_of(batch)[0]), "utf-8")
    return path


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
@pytest.mark.parametrize("node", [None, "http://localhost:8101", "http://[::1]:8101/"])
def test_a_link_only_this_computer_can_open_is_warned_of(
        diploma: Path, monkeypatch: pytest.MonkeyPatch, node: str | None,
        language: str) -> None:
    monkeypatch.delenv("SENIM_NODE", raising=False)
    result = CliRunner().invoke(main, ["share", str(diploma), "--lang", language,
                                       *(["--node", node] if node else [])])
    assert result.exit_code == 0, result.output
    shown = (node or "http://127.0.0.1:8101").rstrip("/")
    assert result.stdout.startswith(shown + "/#doc="), result.stdout  # made all the same
    warning = Words(language).t("cli.share.local", node=shown)
    assert warning in result.stderr, result.stderr


def test_a_link_to_a_node_others_reach_has_no_warning(diploma: Path) -> None:
    result = CliRunner().invoke(main, ["share", str(diploma), "--node",
                                       "https://senim.example.kz"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("https://senim.example.kz/#doc=")
    assert result.stderr == ""
