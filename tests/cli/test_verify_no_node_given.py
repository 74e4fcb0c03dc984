"""`senim verify` given no --node (nor $SENIM_NODE) asks http://127.0.0.1:8101, a node on
the reader's own computer. An HR officer runs none: the check refused with "cannot reach
the node at http://127.0.0.1:8101: check the address and the connection", an address the
officer never gave. It now says that is the address asked when none is named, and to give
--node the node to ask."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.client import DEFAULT_NODE
from cli.language import Words
from cli.main import main
from ledger.credentials import make_batch
from tests.node.conftest import CHAIN_ID, documents_of


def _default_node_answers() -> bool:
    host, port = DEFAULT_NODE.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, int(port))) == 0


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_no_node_given_and_none_here_says_to_give_one(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      lang: str) -> None:
    if _default_node_answers():
        pytest.skip(f"something listens at {DEFAULT_NODE} on this machine")
    monkeypatch.delenv("SENIM_NODE", raising=False)
    batch = make_batch([{"full_name": "Әлия Сәрсенбаева", "gpa": "3.71"}], "diploma",
                       CHAIN_ID, b"\x11" * 20, "KazNU")
    diploma = tmp_path / "diploma.json"
    diploma.write_text(json.dumps(documents_of(batch)[0]), encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(diploma), "--lang", lang])
    assert result.exit_code == 3, result.output
    said = Words(lang).t("cli.node.unreachable_default", node=DEFAULT_NODE)
    assert result.output.strip() == f"{Words(lang).t('cli.error')}: {said}", result.output
    assert "--node" in said
