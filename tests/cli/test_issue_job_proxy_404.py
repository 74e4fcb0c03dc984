"""The issue job's own wait met with a proxy's bare 404 to the batch's status: the node
took the batch (its POST answered), but what stands before it answers the status with a
page of its own. Asked again every second, the same page came until `--timeout`, and the
job then said only "pending". It ends at the first such answer now, saying that the
proxy answered, the job still resumable and every credential file kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli.client import ClientError
from cli.errors import EXIT_PENDING
from cli.issue_job import IssueJob, JobPending
from cli.job_folder import credential_files, load_manifest
from cli.language import Words
from cli.node_answers import between_node_and_here
from tests.cli.test_issue_job import FakeNode, prepare

TIMEOUT_S = 600.0
NODE = "http://127.0.0.1:8101"


class BehindAProxy(FakeNode):
    """Takes the batch, then every question about it meets the proxy's own 404 (the
    client raises it so: NodeClient._proxys_404)."""

    asked: int = 0

    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        self.asked += 1
        self.now += 0.01  # the page comes at once, not after the long-poll
        raise ClientError(between_node_and_here(f"{NODE}/v1/transactions/{tx_id}", 404),
                          "http", 404, bare=True)


def test_the_jobs_wait_ends_at_a_proxys_404_saying_the_proxy_answered(
        tmp_path: Path) -> None:
    node = BehindAProxy(quorum=False)
    job_dir, _ = prepare(tmp_path, node, count=3)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the job's pause between two questions
        slept.append(seconds)
        node.now += seconds

    reports: list[str] = []
    job = IssueJob(job_dir, node, reports.append, clock=node.clock, sleep=sleep)
    with pytest.raises(JobPending) as pending:
        job.run(TIMEOUT_S)
    assert node.asked == 1 and node.now < 1.0, (node.asked, node.now, sum(slept))
    assert reports == []  # no "batch pending: every validator is reachable" meanwhile
    assert pending.value.exit_code == EXIT_PENDING
    for lang, words in (("en", "came from something between this computer and the node"),
                        ("ru", "пришёл не от узла, а от чего-то между"),
                        ("kk", "жауабын түйін емес, осы компьютер мен түйіннің арасындағы")):
        said = pending.value.sentence.said(Words(lang))
        assert words in said and f"{NODE}/v1/transactions/" in said, (lang, said)
    manifest = load_manifest(job_dir)
    assert manifest["state"] == "submitted"  # resumable: the batch may still commit
    assert len(credential_files(job_dir)) == 3
    assert node.sent == [bytes.fromhex(manifest["tx"])]  # sent once, never again
