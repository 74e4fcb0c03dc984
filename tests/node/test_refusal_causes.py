"""Every refusal names its exact cause; the CLI refuses bad input in one line.

The ledger refusals (issuer_suspended, accreditation_not_started, accreditation_ended,
type_not_accredited) each have a store-unchanged test in test_ledger_refusals.py;
these tests cover how the causes combine and what the CLI says before it asks a node.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.payloads import IssueBatchPayload, SuspendPayload
from ledger.records import day
from ledger.verification import verify_credential
from node.files import save_key
from tests.node.conftest import (
    CHAIN_ID,
    DAY_MS,
    GENESIS_TIME_MS,
    YEAR_MS,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_tx,
)
from tests.node.forged_state import unaccredited_batch
from tests.node.test_ledger_refusals import assert_refused


def test_suspension_is_named_even_when_another_grant_is_still_to_come(
        chain: Chain, net: Consortium) -> None:
    later = GENESIS_TIME_MS + YEAR_MS
    commit(chain, [accredit(net, net.university, ["diploma"]),
                   accredit(net, net.university, ["diploma"], later, later + YEAR_MS)])
    commit(chain, [make_tx(net.ministry, SuspendPayload(net.university.member_id,
                                                        "licence_revoked"))])
    refusal = assert_refused(chain, make_tx(net.university, IssueBatchPayload(
        "diploma", os.urandom(32), 5)), "issuer_suspended")
    # effective from the block after the suspension's
    assert f"suspended since height {chain.height + 1} (licence revoked)" in refusal.message
    assert refusal.message.startswith("KazNU may not issue diploma now: ")


def test_a_new_grant_after_a_suspension_lets_the_issuer_issue_again(
        chain: Chain, net: Consortium) -> None:
    commit(chain, [accredit(net, net.university, ["diploma"])])
    commit(chain, [make_tx(net.ministry, SuspendPayload(net.university.member_id,
                                                        "reorganisation"))])
    commit(chain, [accredit(net, net.university, ["diploma"])])
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 5))])


def test_ended_for_one_type_while_accredited_for_another(chain: Chain,
                                                         net: Consortium) -> None:
    end = GENESIS_TIME_MS + 10 * DAY_MS
    commit(chain, [accredit(net, net.university, ["diploma"], GENESIS_TIME_MS, end),
                   accredit(net, net.university, ["transcript"])])
    refusal = assert_refused(chain, make_tx(net.university, IssueBatchPayload(
        "diploma", os.urandom(32), 5)), "accreditation_ended", time_ms=end + DAY_MS)
    assert refusal.message.endswith(f"accreditation ended on {day(end)}")
    refusal = assert_refused(chain, make_tx(net.university, IssueBatchPayload(
        "attestat", os.urandom(32), 5)), "type_not_accredited")
    assert refusal.message.endswith("(accredited for: diploma, transcript)")
    refusal = assert_refused(chain, make_tx(net.university, IssueBatchPayload(
        "attestat", os.urandom(32), 5)), "type_not_accredited", time_ms=end + DAY_MS)
    assert refusal.message.endswith("(accredited for: transcript; ended: diploma)")


def test_a_type_refused_names_the_grants_that_no_longer_cover_apart(
        chain: Chain, net: Consortium) -> None:
    """'accredited for: certificate' of a suspended certificate grant read as leave to issue
    certificates, and sent the registrar to the wrong ministry question."""
    end = GENESIS_TIME_MS + 10 * DAY_MS
    commit(chain, [accredit(net, net.university, ["certificate"]),
                   accredit(net, net.university, ["diploma"], GENESIS_TIME_MS, end)])
    commit(chain, [make_tx(net.ministry, SuspendPayload(net.university.member_id,
                                                        "investigation"))])
    commit(chain, [accredit(net, net.university, ["transcript"])])
    refusal = assert_refused(chain, make_tx(net.university, IssueBatchPayload(
        "attestat", os.urandom(32), 5)), "type_not_accredited", time_ms=end + DAY_MS)
    assert refusal.message.endswith(
        "(accredited for: transcript; suspended: certificate, diploma)"), refusal.message


def test_verification_of_an_unaccredited_batch_names_the_cause(net: Consortium) -> None:
    # The ledger never accepts such a batch; a forged state shows the verifier's words.
    batch, facts = unaccredited_batch(net.employer, "Kaspi", "employer",
                                      [{"name": "Aigerim"}], "attestat")
    verdict = verify_credential(documents_of(batch)[0], facts, CHAIN_ID)
    assert verdict.status == "unaccredited"
    assert verdict.reason.endswith("not accredited by any ministry"), verdict.reason


# ---- the CLI: one line, exit 2, nothing sent ---------------------------------------------

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens: a command that got this far would say so


@pytest.fixture
def ministry_key(tmp_path: Path, net: Consortium) -> Path:
    path = tmp_path / "ministry.key"
    save_key(path, net.ministry)
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--node", UNREACHABLE])
    return result.exit_code, result.output


def _one_line_error(code: int, output: str, expected: str) -> None:
    assert code == 2, output
    assert "Traceback" not in output and "cannot reach" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], output


def test_accredit_refuses_an_inverted_period(ministry_key: Path, net: Consortium) -> None:
    code, output = _run("accredit", "--key", str(ministry_key), "--issuer",
                        net.university.member_id.hex(), "--from", "2027-09-01",
                        "--until", "2027-06-30")
    _one_line_error(code, output, "ends (2027-06-30) before it starts (2027-09-01)")
    code, output = _run("accredit", "--key", str(ministry_key), "--issuer",
                        net.university.member_id.hex(), "--from", "2027-09-01",
                        "--until", "2027-09-01")
    _one_line_error(code, output, "--until must be after --from")


def test_a_past_until_with_todays_from_is_inverted_and_said_so_alone(
        ministry_key: Path, net: Consortium) -> None:
    # With --force it said "recording it anyway", then refused it as inverted.
    code, output = _run("accredit", "--key", str(ministry_key), "--issuer",
                        net.university.member_id.hex(), "--until", "2020-01-01", "--force")
    _one_line_error(code, output, "ends (2020-01-01) before it starts (")


def test_accredit_refuses_a_period_already_over_without_force(ministry_key: Path,
                                                              net: Consortium) -> None:
    code, output = _run("accredit", "--key", str(ministry_key), "--issuer",
                        net.university.member_id.hex(), "--from", "2019-09-01",
                        "--until", "2020-06-30")
    _one_line_error(code, output, "ended on 2020-06-30, before today")
    assert "--force" in output
    forced = CliRunner().invoke(main, [
        "accredit", "--key", str(ministry_key), "--issuer", net.university.member_id.hex(),
        "--from", "2019-09-01", "--until", "2020-06-30", "--force", "--node", UNREACHABLE])
    # with --force it warns and goes on to ask the node (unreachable here)
    assert "warning: the period ended on 2020-06-30" in forced.output
    assert "cannot reach" in forced.output and forced.exit_code == 3


@pytest.mark.parametrize("args,expected", [
    (["--types", "diploma,phd"], "unknown credential type 'phd'"),
    (["--types", " , "], "--types must name at least one"),
    (["--from", "1 Sept"], "--from must be a date YYYY-MM-DD"),
])
def test_accredit_bad_options(ministry_key: Path, net: Consortium, args: list[str],
                              expected: str) -> None:
    code, output = _run("accredit", "--key", str(ministry_key), "--issuer",
                        net.university.member_id.hex(), *args)
    _one_line_error(code, output, expected)


HELD_KEY = KeyPair.from_seed(b"\x07" * 32).public_key.hex()  # held: the name is judged


@pytest.mark.parametrize("public_key,name,expected", [
    ("22" * 31, "AITU", "--public-key must be 32 bytes"),
    ("22" * 33, "AITU", "--public-key must be 32 bytes"),
    ("not hex", "AITU", "--public-key must be 32 bytes"),
    (HELD_KEY, "", "member name must be non-empty"),
    (HELD_KEY, "   ", "member name must be non-empty"),
    (HELD_KEY, "x" * 201, "member name must be non-empty text of at most 200"),
    ("22" * 32, "AITU", "is no key anyone can sign with"),
])
def test_add_member_bad_input(ministry_key: Path, public_key: str, name: str,
                              expected: str) -> None:
    code, output = _run("add-member", "--key", str(ministry_key), "--name", name, "--role",
                        "university", "--public-key", public_key)
    _one_line_error(code, output, expected)
