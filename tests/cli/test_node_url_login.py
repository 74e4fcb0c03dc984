"""A node URL with a login in it (`--node http://admin:secret@10.0.0.5:8101` or the same
in $SENIM_NODE, for a proxy that asks for one). urllib took 'admin:secret@10.0.0.5' for
the host name: the commands said "the host name is unknown: check its spelling" and
printed the password back, and `senim share` put it in the link (and QR code) a graduate
hands to employers. Each is refused unasked, exit 2 (verify said it as a node not reached,
exit 3), with the URL shown without its login, in the reader's language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main

URL = "http://admin:s3cret@127.0.0.1:1"
SHOWN = "'http://…@127.0.0.1:1' is not a node URL (e.g. http://127.0.0.1:8101): a user name"


@pytest.mark.parametrize("args", [["status"], ["members"], ["governance", "list"]])
def test_a_login_in_the_node_url_is_refused_and_not_shown(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--node", URL])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {SHOWN}"), result.output
    assert "s3cret" not in result.output and "admin" not in result.output


def test_verify_refuses_it_in_the_readers_language(tmp_path: Path) -> None:
    document = tmp_path / "thesis.txt"
    document.write_text("a thesis")
    result = CliRunner().invoke(main, ["verify", str(document), "--lang", "kk"],
                                env={"SENIM_NODE": URL})
    assert result.exit_code == 2, result.output
    assert "'http://…@127.0.0.1:1' — түйін мекенжайы емес" in result.output, result.output
    assert "құпиясөз" in result.output and "s3cret" not in result.output


def test_share_puts_no_login_in_the_link(tmp_path: Path) -> None:
    credential = tmp_path / "diploma.json"
    credential.write_text(json.dumps({"format": "senim-credential/v2"}))
    result = CliRunner().invoke(main, ["share", str(credential), "--node", URL])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {SHOWN}"), result.output
    assert "s3cret" not in result.output


def test_an_offline_check_asks_no_node_and_minds_none_left_in_the_environment(
        tmp_path: Path) -> None:
    """$SENIM_NODE with a login, left set, refused `senim verify --offline` before it ran,
    though it asks no node."""
    document = tmp_path / "diploma.json"
    document.write_text('{"format": "senim-credential/v2"}')
    result = CliRunner().invoke(main, ["verify", str(document), "--offline", "--lang", "en"],
                                env={"SENIM_NODE": URL})
    assert "--offline needs --genesis" in result.output, result.output
    assert "is not a node URL" not in result.output
    typed = CliRunner().invoke(main, ["verify", str(document), "--offline", "--node", URL])
    assert typed.exit_code == 2 and "is not a node URL" in typed.output  # as typed: refused
