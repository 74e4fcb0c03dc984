"""`senim verify` given no --node (nor $SENIM_NODE) asks http://127.0.0.1:8101, a node on
the reader's own computer. An HR officer runs none: the check refused with "cannot reach
the node at http://127.0.0.1:8101: check the address and the connection", an address the
officer never gave. It now says that is the address asked when none is named, and to give
--node the node to ask. One who names that same address (--node or $SENIM_NODE) gave it,
and is told what is wrong there, not that senim asks it unasked.

Nothing is asked of port 8101 on this machine (a test network may hold it): every request
is refused as a node with nothing listening refuses it, whatever listens there."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import NoReturn

import pytest
from click.testing import CliRunner

import cli.client
import cli.node_answers
from cli.client import DEFAULT_NODE
from cli.language import Words
from cli.main import main
from ledger.credentials import make_batch
from tests.node.conftest import CHAIN_ID, documents_of


class _NothingListens(urllib.request.OpenerDirector):
    """An opener that connects nowhere: each request refused as urllib says a closed port
    refuses it."""

    def open(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))


@pytest.fixture
def diploma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A diploma file, with no $SENIM_NODE and every node's port closed."""
    monkeypatch.delenv("SENIM_NODE", raising=False)
    monkeypatch.setattr(cli.node_answers, "deadline_opener",
                        lambda *_args: _NothingListens())
    # cli.client's opener comes with the redirect handler that says where a redirect led.
    monkeypatch.setattr(cli.client, "_opener", lambda *_args: (
        _NothingListens(), cli.client._PostsNotRedirected()))
    batch = make_batch([{"full_name": "Әлия Сәрсенбаева", "gpa": "3.71"}], "diploma",
                       CHAIN_ID, b"\x11" * 20, "KazNU")
    path = tmp_path / "diploma.json"
    path.write_text(json.dumps(documents_of(batch)[0]), encoding="utf-8")
    return path


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_no_node_given_and_none_here_says_to_give_one(diploma: Path, lang: str) -> None:
    result = CliRunner().invoke(main, ["verify", str(diploma), "--lang", lang])
    assert result.exit_code == 3, result.output
    said = Words(lang).t("cli.node.unreachable_default", node=DEFAULT_NODE)
    assert result.output.strip() == f"{Words(lang).t('cli.error')}: {said}", result.output
    assert "--node" in said


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
@pytest.mark.parametrize("named_by", ["--node", "SENIM_NODE"])
def test_the_same_address_named_is_said_as_any_node_not_reached(
        diploma: Path, monkeypatch: pytest.MonkeyPatch, lang: str, named_by: str) -> None:
    """Chosen by the address, the sentence told one who gave --node http://127.0.0.1:8101
    that senim asks it when no --node names one."""
    command = ["verify", str(diploma), "--lang", lang]
    if named_by == "--node":
        command += ["--node", DEFAULT_NODE]
    else:
        monkeypatch.setenv("SENIM_NODE", DEFAULT_NODE)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 3, result.output
    words = Words(lang)
    unasked = words.t("cli.node.unreachable_default", node=DEFAULT_NODE)
    assert unasked not in result.output, result.output
    assert DEFAULT_NODE in result.output, result.output


@pytest.mark.parametrize("named", [False, True])
def test_a_command_asking_one_node_says_it_alike(diploma: Path, named: bool) -> None:
    """senim status asks through cli.client, as most commands do."""
    result = CliRunner().invoke(main, ["status", "--lang", "en",
                                       *(["--node", DEFAULT_NODE] if named else [])])
    assert result.exit_code == 3, result.output
    unasked = Words("en").t("cli.node.unreachable_default", node=DEFAULT_NODE)
    assert (unasked in result.output) is not named, result.output
    assert DEFAULT_NODE in result.output, result.output
