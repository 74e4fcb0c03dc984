"""A password in $SENIM_NODE holding '#', '?' or '/' is not printed: the login runs to the
last '@' of the URL (cli.node_answers.shown_node, login_in_url). Cut at the first '/', '?'
or '#' before looking for '@', 'http://hr:s3#cret@host' had no login, was printed whole and
asked of host 'hr'."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from tests.cli.test_verify_document_first import altered, diploma, down, written

PASSWORD_HALVES = ("s3cr", "etPass")


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("character", ["#", "?", "/"])
def test_a_password_holding_a_url_delimiter_is_not_printed(
        tmp_path: Path, character: str, as_json: bool) -> None:
    host = down().removeprefix("http://")
    node = f"http://hr:{character.join(PASSWORD_HALVES)}@{host}"
    for name, document in (("diploma.json", diploma()), ("changed.json", altered(diploma()))):
        path = written(tmp_path, name, document)
        checked = CliRunner().invoke(main, ["verify", str(path), *(["--json"] * as_json)],
                                     env={"SENIM_NODE": node})
        assert checked.exit_code in (1, 2), checked.output
        for half in PASSWORD_HALVES:
            assert half not in checked.output, checked.output
        if name == "diploma.json":  # refused unasked, named without its login
            assert f"'http://…@{host}'" in checked.output, checked.output
