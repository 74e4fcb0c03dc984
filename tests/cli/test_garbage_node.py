"""`senim` commands against something at the node URL that is not a working Senim node:
JSON of the wrong shape (a proxy's error page in JSON, another service, a broken node).
Each must end with one error line and a non-zero exit, never a Python traceback, and a
credential file written for a transaction that may have been sent is kept."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.errors import EXIT_PENDING
from cli.issue_job import IssueJob, JobPending
from cli.main import main
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli.scripted_node import Answers, ScriptedNode
from tests.cli.test_issue_job import CHAIN, FakeNode, prepare
from tests.node.conftest import documents_of

# A node answer per request, whatever was asked: every one of them JSON a Senim node never
# gives. `status_ok` answers /v1/status like a node and everything else with an empty
# object, so a transaction is signed and sent before the garbage.
ANSWERS: dict[str, Callable[[str], object]] = {
    "a list": lambda path: [],
    "an empty object": lambda path: {},
    "fields of the wrong type": lambda path: {
        "chain_id": 5, "height": "x", "members": None, "policy": [], "entries": 7,
        "node": None, "mempool": 1},
    "status_ok": lambda path: (
        {"chain_id": "t", "height": 3} if path.startswith("/v1/status") else {}),
}


def always_200(answer: Callable[[str], object]) -> Answers:
    """Every request answered 200 with `answer` of its path, as JSON."""
    return lambda _method, path: (200, answer(path))


def credential(root: Path, keys: KeyPair) -> Path:
    batch = make_batch([{"full_name": "A B", "iin": "000000000001"}], "diploma", "t",
                       keys.member_id, "U")
    path = root / "diploma.json"
    path.write_text(json.dumps(documents_of(batch)[0]))
    return path


Case = Callable[[dict[str, str]], list[str]]
CASES: list[tuple[str, Case]] = [
    ("status", lambda f: ["status"]),
    ("members", lambda f: ["members"]),
    ("governance list", lambda f: ["governance", "list"]),
    ("evidence list", lambda f: ["evidence", "list"]),
    ("accredit", lambda f: ["accredit", "--key", f["key"], "--issuer", "ab" * 20]),
    ("governance propose", lambda f: [
        "governance", "propose", "--key", f["key"], "--action", "retire-member",
        "--member", "ab" * 20]),
    ("prove", lambda f: ["prove", f["credential"], "--out", f["root"] + "/proved.json"]),
    ("verify", lambda f: ["verify", f["credential"]]),
    ("export-vc", lambda f: ["export-vc", f["credential"], "--key", f["key"], "--out",
                             f["root"] + "/vc.json"]),
    ("issue", lambda f: ["issue", "--key", f["key"], "--type", "diploma", "--input",
                         f["export"], "--out", f["root"] + "/job"]),
    ("employment start", lambda f: [
        "employment", "start", "--key", f["key"], "--full-name", "A B", "--position", "P",
        "--organisation", "O", "--start", "2026-09-01", "--out", f["root"] + "/job.json"]),
]


@pytest.mark.parametrize("answer", sorted(ANSWERS))
@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_a_garbled_answer_is_one_error_line(tmp_path: Path, node_stub: ScriptedNode,
                                            answer: str, name: str, case: Case) -> None:
    node_stub.answers = always_200(ANSWERS[answer])
    keys = KeyPair.generate()
    save_key(tmp_path / "me.key", keys)
    (tmp_path / "export.csv").write_text("full_name,iin\nA B,000000000001\n")
    files = {"key": str(tmp_path / "me.key"), "credential": str(credential(tmp_path, keys)),
             "export": str(tmp_path / "export.csv"), "root": str(tmp_path)}
    url = node_stub.url
    result = CliRunner().invoke(main, [*case(files), "--node", url])
    trace = ("".join(traceback.format_exception(result.exception))
             if result.exception and not isinstance(result.exception, SystemExit) else "")
    assert not trace, f"{name}: {trace}"
    assert result.exit_code not in (0, None), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert not any((tmp_path / name).exists() for name in ("proved.json", "vc.json", "job"))


def test_a_credential_sent_then_answered_with_garbage_is_kept(
        tmp_path: Path, node_stub: ScriptedNode) -> None:
    """The node took the transaction (maybe) and answered nonsense: it may still commit,
    so the credential written for it stays, and the exit says 'not confirmed'."""
    node_stub.answers = always_200(lambda path: (
        {"chain_id": "t", "height": 3} if path.startswith("/v1/status")
        else {"members": []} if path.startswith("/v1/members") else {"tx_id": 7}))
    save_key(tmp_path / "me.key", KeyPair.generate())
    url = node_stub.url
    result = CliRunner().invoke(main, [
        "employment", "start", "--key", str(tmp_path / "me.key"), "--full-name", "A B",
        "--position", "P", "--organisation", "O", "--start", "2026-09-01", "--out",
        str(tmp_path / "job.json"), "--node", url])
    assert result.exit_code == 3, result.output
    assert "not confirmed" in result.output
    assert (tmp_path / "job.json").exists()


@pytest.mark.parametrize("answer", [
    {},  # nothing of what was asked
    {"status": "committed", "height": "9", "tx_id": "ab", "time": None},
    {"height": "x", "tx_id": 5, "time": 1, "hash": None},
], ids=["empty", "committed at a height that is text", "fields of the wrong type"])
def test_resuming_a_sent_batch_against_garbage_stays_pending(
        tmp_path: Path, node_stub: ScriptedNode, answer: dict[str, object]) -> None:
    """A job whose batch was sent asks where it is: an answer that says nothing usable
    leaves the job as it was, resumable (exit 75), in one line."""
    node = FakeNode(quorum=False)
    job_dir, _ = prepare(tmp_path, node)
    with pytest.raises(JobPending):
        IssueJob(job_dir, node, print, clock=node.clock).run(1.0)
    before = (job_dir / "manifest.json").read_bytes()
    node_stub.answers = always_200(lambda path: (
        {"chain_id": CHAIN, "height": 3} if path.startswith("/v1/status") else answer))
    url = node_stub.url
    result = CliRunner().invoke(main, ["issue", "--resume", str(job_dir), "--timeout", "1",
                                       "--node", url])
    trace = ("".join(traceback.format_exception(result.exception))
             if result.exception and not isinstance(result.exception, SystemExit) else "")
    assert not trace, trace
    assert result.exit_code == EXIT_PENDING, result.output
    assert "pending:" in result.output and "senim issue --resume" in result.output
    assert (job_dir / "manifest.json").read_bytes() == before


@pytest.mark.parametrize("url", ["127.0.0.1:8101", "localhost:8101", "ftp://127.0.0.1:8101"])
def test_a_node_address_without_http_is_named_as_such(url: str) -> None:
    """Node configs write addresses as host:port; --node wants a URL."""
    result = CliRunner().invoke(main, ["status", "--node", url])
    assert result.exit_code == 2, result.output  # the command line is wrong
    assert result.output.strip() == (f"error: {url!r} is not a node URL: it needs http:// or "
                                     "https:// (e.g. http://127.0.0.1:8101)")
