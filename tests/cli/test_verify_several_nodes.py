"""`senim verify --node A --node B`: a diploma revoked at block 3, asked of a node that has
it (block 3), one that lags at block 2 (where it is still valid) and one that is down. The
verdict is the newest certified state's, REVOKED, whatever order the nodes are given in;
the lagging node's other verdict and the dead node are said beside it, in every language,
and --json lists each node's answer. One node, as before, says VALID and exit 0: that is
what a node serving an old state makes an HR officer believe."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.language import Words
from cli.main import main
from cli.several_nodes import VERIFY_NODES_MAX
from tests.cli.lagging_nodes import first_revoked_on_one_node
from tests.cli.test_verify_across_set_changes import senim, verdict_of
from tests.e2e.processes import free_port
from tests.node.conftest import documents_of


@dataclass(frozen=True)
class Nodes:
    fresh: str  # holds the revocation, block 3
    lagging: str  # stopped at block 2: the diploma still valid there
    down: str  # nothing listens
    diploma: Path
    genesis: Path


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[Nodes]:
    async with first_revoked_on_one_node([{"full_name": "Aigerim", "gpa": "3.9"}]) as chain:
        diploma, genesis = tmp_path / "diploma.json", tmp_path / "genesis.json"
        diploma.write_text(json.dumps(documents_of(chain.batch)[0]))
        genesis.write_text(json.dumps(chain.net.genesis.to_json()))
        yield Nodes(chain.fresh, chain.lagging, chain.down, diploma, genesis)


async def test_one_lagging_node_alone_says_valid(nodes: Nodes) -> None:
    """What the several nodes are for: the lagging node alone hides the revocation."""
    alone = await senim("verify", str(nodes.diploma), "--node", nodes.lagging,
                        "--genesis", str(nodes.genesis), "--json")
    assert alone.exit_code == 0 and verdict_of(alone)["status"] == "valid", alone.output


async def test_the_newest_certified_answer_is_the_verdict(nodes: Nodes) -> None:
    genesis = str(nodes.genesis)
    for order in ([nodes.lagging, nodes.down, nodes.fresh],
                  [nodes.fresh, nodes.lagging, nodes.down]):
        given = [arg for node in order for arg in ("--node", node)]
        checked = await senim("verify", str(nodes.diploma), *given, "--genesis", genesis,
                              "--json")
        assert checked.exit_code == 1, checked.output
        verdict = verdict_of(checked)
        assert verdict["status"] == "revoked" and verdict["facts"]["as_of_height"] == 3
        listed = {each["node"]: each for each in verdict["nodes"]}
        assert [each["node"] for each in verdict["nodes"]] == order
        assert listed[nodes.fresh] | {"source": ""} == {
            "node": nodes.fresh, "answered": True, "used": True, "status": "revoked",
            "valid": False, "height": 3, "certified": True, "source": "", "facts_differ": []}
        assert (listed[nodes.lagging]["status"], listed[nodes.lagging]["height"],
                listed[nodes.lagging]["used"]) == ("valid", 2, False)
        assert not listed[nodes.down]["answered"] and "cannot reach" in \
            listed[nodes.down]["problem"]


async def test_the_differences_are_said_in_every_language(nodes: Nodes) -> None:
    genesis = str(nodes.genesis)
    for language in ("en", "kk", "ru"):
        words = Words(language)
        said = await senim("verify", str(nodes.diploma), "--node", nodes.lagging, "--node",
                           nodes.down, "--node", nodes.fresh, "--genesis", genesis,
                           "--lang", language)
        assert said.exit_code == 1, said.output
        differs = words.t("cli.nodes.differs", node=nodes.lagging, height=2, behind=1,
                          shownHeight=3, shown=nodes.fresh)
        assert differs in said.output, said.output
        down = words.t("cli.nodes.no_answer", node=nodes.down, why="\x00").split("\x00")[0]
        assert down in said.output, said.output


async def test_a_node_down_fails_nothing_when_another_answers(
        nodes: Nodes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lagging node and a dead one, listed in $SENIM_NODE with a comma and a space:
    the lagging node's answer is the verdict (it is all there is), and the dead one is
    said; with only dead nodes, exit 3 naming each."""
    monkeypatch.setenv("SENIM_NODE", f"{nodes.down}, {nodes.lagging}")
    checked = await senim("verify", str(nodes.diploma), "--genesis", str(nodes.genesis))
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("VALID as of block 2"), checked.output
    assert f"{nodes.down} gave no answer and was left out" in checked.output
    other = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("SENIM_NODE", f"{nodes.down} {other}")
    none = await senim("verify", str(nodes.diploma), "--genesis", str(nodes.genesis))
    assert none.exit_code == 3, none.output
    assert "none of the 2 nodes asked answered" in none.output
    assert nodes.down in none.output and other in none.output


async def test_without_genesis_the_cautious_verdict_is_shown(nodes: Nodes) -> None:
    """No answer is certified: the revoked one is shown, and the reader told why."""
    checked = await senim("verify", str(nodes.diploma), "--node", nodes.fresh, "--node",
                          nodes.lagging)
    assert checked.exit_code == 1, checked.output
    assert checked.output.startswith("REVOKED"), checked.output
    assert "Without --genesis no answer is certified" in checked.output


async def test_more_nodes_than_the_limit_are_refused(nodes: Nodes) -> None:
    many = [arg for port in range(VERIFY_NODES_MAX + 1)  # none asked: refused before
            for arg in ("--node", f"http://127.0.0.1:{free_port()}")]
    refused = await senim("verify", str(nodes.diploma), *many)
    assert refused.exit_code == 2, refused.output
    assert f"at most {VERIFY_NODES_MAX} nodes" in refused.output


@pytest.mark.parametrize("language, none_answered", [
    ("en", "exit 3 only if none answered"),
    ("kk", "шығу коды 3 ешқайсысы жауап бермегенде ғана"),
    ("ru", "код выхода 3 — только если не ответил ни один")])
async def test_the_timeout_help_says_a_late_node_of_several_fails_nothing(
        language: str, none_answered: str) -> None:
    """--timeout's help said a node unanswered by then meant exit 3, which with several
    nodes is so only when none answered (test_a_node_down_fails_nothing_when_another_answers)."""
    shown = await senim("verify", "--help", "--lang", language)
    assert shown.exit_code == 0, shown.output
    assert none_answered in " ".join(shown.output.split()), shown.output


async def test_without_genesis_a_lower_height_is_not_said_to_lag(tmp_path: Path) -> None:
    """Two nodes agree a diploma is valid, one at a height the other passed. Without
    --genesis each height is only its node's word, and a liar claiming block 1,000,000 had
    the honest node said to lag "and may not show a recent revocation": the reader is now
    told neither height is certified, in every language."""
    async with first_revoked_on_one_node([{"full_name": "Aigerim", "gpa": "3.9"},
                                          {"full_name": "Nurlan", "gpa": "3.5"}]) as chain:
        diploma = tmp_path / "diploma.json"
        diploma.write_text(json.dumps(documents_of(chain.batch)[1]))  # never revoked
        for language in ("en", "kk", "ru"):
            words = Words(language)
            said = await senim("verify", str(diploma), "--node", chain.lagging, "--node",
                               chain.fresh, "--lang", language)
            assert said.exit_code == 0, said.output
            note = words.t("cli.nodes.behind_uncertified", node=chain.lagging, height=2,
                           behind=1, shown=chain.fresh)
            assert note in said.output, said.output
            lags = words.t("cli.nodes.behind", node=chain.lagging, height=2, behind=1)
            assert lags not in said.output, said.output


async def test_a_password_in_senim_node_is_not_printed_among_the_nodes(nodes: Nodes) -> None:
    """$SENIM_NODE naming a node with a login in its URL beside one that answers: the node
    is refused unasked (cli.node_answers.login_in_url) and named as 'http://…@host' in
    --json's `nodes` and in the line saying it gave no answer, not with its password."""
    login_node = "http://hr:s3cretPass@" + nodes.down.removeprefix("http://")
    listed = f"{nodes.fresh}, {login_node}"
    args = ["verify", str(nodes.diploma), "--genesis", str(nodes.genesis), "--lang", "en"]
    for given in (args, [*args, "--json"]):
        checked = await asyncio.get_running_loop().run_in_executor(None, partial(
            CliRunner().invoke, main, given, env={"SENIM_NODE": listed}))
        assert checked.exit_code == 1, checked.output
        assert "s3cretPass" not in checked.output, checked.output
        assert "http://…@" + nodes.down.removeprefix("http://") in checked.output, \
            checked.output
