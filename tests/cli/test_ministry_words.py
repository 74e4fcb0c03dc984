"""The ministry's commands' words without a node: every key they make up is in every
catalogue (test_issue_languages checks it with ministry_keys), --help in kk and ru, and
no line of theirs written as an English literal."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.admin import accredit, add_member, suspend
from cli.evidence import WHAT_THEY_DID, evidence_group
from cli.governance import governance_group
from cli.governance_words import MEMBER_ACTIONS
from cli.main import main
from cli.node_info import members
from cli.proposal_ids import STATUSES
from cli.worded_command import WordedHelp
from ledger.payload_fields import ROLES
from tests.cli.test_verifier_lines_translated import english_in, english_literals

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("kk", "ru")


def ministry_keys() -> set[str]:
    """The catalogue keys the ministry's commands make up rather than name (a role, a
    status, a node's refusal code, an option's help), for
    test_issue_languages.test_every_key_the_translated_commands_say_is_in_every_catalogue:
    one missing in a language is a KeyError where its line should be."""
    keys = {f"gov.do.{action}" for action in MEMBER_ACTIONS}
    keys |= {f"gov.role.{role}" for role in ROLES} | {f"gov.status.{s}" for s in STATUSES}
    keys |= {f"gov.rules_old.{n}{due}" for n in ("one", "many") for due in ("", "_due")}
    keys |= {"gov.heights.too_soon", "gov.revoke.done_many", "gov.revoke.proposed_many",
             "gov.revoke.dry_rest", "cli.interrupted.reading"}
    keys |= {f"min.members.{kind}{when}" for kind in ("validator", "member")
             for when in ("", "_retires")}
    keys |= {f"min.evidence.{kind}" for kind in (*WHAT_THEY_DID, "malformed", "bad_cursor")}
    keys |= {f"min.answer.{what}" for what in ("governance", "members", "status", "evidence")}
    keys |= {f"tx.what.{what}" for what in ("proposal", "vote", "accreditation", "suspension",
                                            "new_member")}
    ledger = "\n".join(path.read_text("utf-8") for path in sorted((ROOT / "ledger").glob("*.py")))
    codes = set(re.findall(r'Rejected\(\s*"([a-z_]+)"', ledger)) | {"bad_signature"}
    # the codes a rule passes on to the check that raises them (the replacement's own)
    for pair in re.findall(r'_own_batch_holding\([^)]*?"([a-z_]+)", "([a-z_]+)"', ledger):
        codes |= set(pair)
    assert {"unknown_replacement", "replacement_not_in_batch"} <= codes
    assert len(codes) > 50
    keys |= {f"refusal.{code}" for code in codes | route_refusal_codes()}
    commands: list[click.Command] = [accredit, suspend, add_member, members,
                                     *governance_group.commands.values(),
                                     *evidence_group.commands.values()]
    return keys | help_keys(commands)


# The API's error helpers (node.http_limits; node.api's middleware calls json_error `error`).
NODE_ERROR_MAKERS = {"json_error", "http_error", "error"}
# Codes of the node's own that are no refusal of a request: failures (5xx), said as such
# (cli.node.failed, cli.node_answers.STORE_FAULTS); an answer to a client that has already
# closed its connection, which no command reads; and a GET's 404 saying what was asked for
# is not there, read by the command that asked (cli.client.batch, block).
NOT_REFUSALS = {"internal", "store_damaged", "connection_lost", "no_such_batch",
                "no_such_block", "block_not_held"}


def route_refusal_codes() -> set[str]:
    """The codes the node's routes refuse a request with (a body that came too slowly, of
    a type the route does not read, a bad head or parameter), read from every call making
    the API's JSON error in node/ and every {"code": ...} written there by hand; the VC
    routes (node/vc_*.py), to which no command sends a transaction, aside. Each needs a
    `refusal.<code>` sentence: a code without one is no node's refusal to the client
    (cli.client_answers.a_nodes_refusal_code), and a command said body_timeout,
    unsupported_media_type or missing_body came from something between."""
    codes: set[str] = set()
    for path in sorted((ROOT / "node").glob("*.py")):
        if path.name.startswith("vc_"):
            continue
        for found in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(found, ast.Call) and len(found.args) >= 2
                    and getattr(found.func, "id", getattr(found.func, "attr", None))
                    in NODE_ERROR_MAKERS):
                codes |= _text(found.args[1])
            elif isinstance(found, ast.Dict):
                for key, value in zip(found.keys, found.values, strict=True):
                    if key is not None and _text(key) == {"code"}:
                        codes |= _text(value)
    assert {"body_timeout", "unsupported_media_type", "missing_body", "bad_request",
            "expectation_failed", "bad_parameter"} <= codes, codes
    return codes - NOT_REFUSALS


def _text(expression: ast.expr) -> set[str]:
    """A string written as it is, as a set of it; empty for any other expression."""
    value = expression.value if isinstance(expression, ast.Constant) else None
    return {value} if isinstance(value, str) else set()


def help_keys(commands: list[click.Command]) -> set[str]:
    """The catalogue keys of these commands' --help: each command's, and each option's
    but --node's and --lang's."""
    keys: set[str] = set()
    for command in commands:
        assert isinstance(command, WordedHelp), command.name
        name = command.help_key or str(command.name)
        keys.add(f"cli.help.{name}")
        keys |= {f"cli.help.{name}.{param.name}" for param in command.params
                 if isinstance(param, click.Option)
                 and param.name not in ("node_url", "language")}
    return keys


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("command", [
    ("governance", "propose"), ("governance", "vote"), ("governance", "list"),
    ("governance", "revoke"), ("accredit",), ("suspend",), ("add-member",), ("members",),
    ("evidence", "list"), ("governance",), ("evidence",)])
def test_help_is_said_in_the_officials_language(command: tuple[str, ...], lang: str) -> None:
    result = CliRunner().invoke(main, [*command, "--help", "--lang", lang], prog_name="senim")
    assert result.exit_code == 0, result.output
    assert {"kk": "Қолданылуы: ", "ru": "Использование: "}[lang] in result.output
    assert not english_in(result.output), result.output


# The ministry's commands, function by function (None: all of a module's): a line printed
# from a literal there is English in every language.
MINISTRY_FUNCTIONS: dict[str, set[str] | None] = {
    "cli.governance": None, "cli.governance_vote": None, "cli.governance_revoke": None,
    "cli.proposal_ids": None, "cli.member_names": None, "cli.evidence": None,
    "cli.admin": {"accredit", "suspend", "add_member", "_date_ms", "_years_later"},
    "cli.node_info": {"members", "member_lines", "_standing", "_grant_state"},
    "cli.commands": {"load_key_or_fail", "hex_bytes", "echo_answer", "submit_and_report"},
}


def literals_in(functions_of: dict[str, set[str] | None]) -> list[str]:
    """Where a function of `functions_of` (module: names, None: all) prints a literal."""
    return [f"{name}.{place}" for name, functions in functions_of.items()
            for place in english_literals(ROOT / (name.replace(".", "/") + ".py"), functions)]


def test_no_line_of_the_ministrys_commands_is_an_english_literal() -> None:
    assert not literals_in(MINISTRY_FUNCTIONS)
