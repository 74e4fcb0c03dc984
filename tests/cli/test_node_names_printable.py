"""What a node names (itself, its members, its peers, the validators a proposal or a piece
of evidence names) reaches the terminal as printable characters only, in every language:
a hostile node stands in front of a real one and puts an escape sequence that clears the
screen, a bidi override and a line break into every name the real one gives. `senim
status`, `members` and `governance list` printed them raw; so did `senim verify` an
issuer's name from the file or the node."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from cli.commands import lay_out_verdict
from cli.main import main
from ledger.payloads_consortium import ACTION_ADD_VALIDATOR
from tests.cli.test_ministry_languages import senim
from tests.cli.test_operator_languages import KazNU, _approve
from tests.cli.test_operator_languages import kaznu as kaznu  # the fixture

HOSTILE = "Kaz\x1b[2J\x1b[1;1H\u202eNU\r\nfake: line\x07"
# The names the real node gives, each replaced by one holding HOSTILE.
NAMES = ("KazNU", "Ministry of Science", "kaznu-1")


def _hostile(value: Any) -> Any:
    if isinstance(value, str):
        return value + HOSTILE if value in NAMES else value
    if isinstance(value, list):
        return [_hostile(item) for item in value]
    if isinstance(value, dict):
        return {key: _hostile(item) for key, item in value.items()}
    return value


@pytest.fixture
async def hostile(kaznu: KazNU) -> AsyncIterator[str]:
    """A node that answers as `kaznu` does, every name made hostile."""
    session = ClientSession()

    async def answer(request: web.Request) -> web.Response:
        async with session.get(kaznu.url + request.path_qs) as real:
            body = await real.json()
            return web.json_response(_hostile(body), status=real.status)

    app = web.Application()
    app.router.add_get("/{path:.*}", answer)
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
        await session.close()


def _printable(output: str) -> None:
    for line in output.splitlines():
        assert line.isprintable(), repr(line)
        assert not line.lstrip().startswith("fake: line"), repr(output)


async def test_names_a_node_gives_print_as_printable_lines(kaznu: KazNU, hostile: str) -> None:
    _approve(kaznu, ACTION_ADD_VALIDATOR, 8)  # a proposal naming KazNU, and its schedule
    for command in (["status"], ["members"], ["governance", "list"]):
        for lang in ("en", "kk", "ru"):
            result = await senim(*command, "--node", hostile, "--lang", lang)
            assert result.exit_code == 0, (command, lang, result.output)
            assert "\N{REPLACEMENT CHARACTER}NU" in result.output, (command, result.output)
            _printable(result.output)
    # --json is the node's answer as JSON writes it, escapes and all
    answer = json.loads((await senim("status", "--node", hostile, "--json")).output)
    assert answer["node"] == "kaznu-1" + HOSTILE


@pytest.mark.parametrize("lang", ["en", "kk"])
def test_a_verdict_prints_as_printable_lines(lang: str) -> None:
    """An issuer's name (a VC's own, or a member's as the node gives it) in a verdict."""
    issuer = f"KazNU{HOSTILE}"

    def verdict() -> None:
        lay_out_verdict(True, f"VALID: issued by {issuer}", f"file: x.json ({issuer})",
                        [(True, f"issuer: {issuer}")], [f"source: {issuer}"])

    @main.command("hostile-verdict")
    def _command() -> None:
        verdict()

    try:
        result = CliRunner().invoke(main, ["hostile-verdict"], env={"LANG": "C"})
    finally:
        main.commands.pop("hostile-verdict")
    assert result.exit_code == 0, result.output
    assert result.output.count("\N{REPLACEMENT CHARACTER}NU") == 4
    _printable(result.output)


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_a_refusal_naming_a_file_prints_one_printable_line(tmp_path: Path, lang: str) -> None:
    """A refusal names what it was given (here a file whose name holds an escape sequence
    and a line break): the line it is printed on stays one printable line."""
    path = tmp_path / f"diploma{HOSTILE}.json"
    path.write_text(json.dumps({"format": "senim-credential/v2"}), "utf-8")
    result = CliRunner().invoke(main, ["share", str(path), "--node", "http://127.0.0.1:1",
                                       "--lang", lang])
    assert result.exit_code == 2, result.output
    assert len(result.output.splitlines()) == 1, result.output
    _printable(result.output)
