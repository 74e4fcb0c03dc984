"""A closed university found to have sold a cohort's diplomas, on real processes: the
officer revokes 300 of them in two proposals.

A ministry validator and an employer's follower node; a second ministry and the
university run no node. The chain runs rules version 3, as a chain made before this
release does. The university issues 302 diplomas with `senim issue`; the ministries
retire it. The officer gives the job's folder to `senim governance revoke`: refused, more
than one proposal holds; half of it: refused under version 3, saying to propose version
4, which the ministries do (voted by the proposal id's first digits). Then two proposals
of 150, each voted by its id's start; on the employer's node `senim verify --genesis`
names a diploma revoked by the consortium with its proposal, the batch's status list
marks all 300, and the two left are genuine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.vc.status import bit_is_set, decode_list
from registrar.iin import make_iin
from tests.e2e.harness import wait_until
from tests.e2e.test_consortium_revocation import (
    LEAD,
    height_after,
    proposal_id,
    retired_university,
)

pytestmark = pytest.mark.slow

COHORT = 302
HEADER = ("student_id,full_name,iin,birth_date,programme_code,programme,qualification,"
          "graduation_date,gpa,honours\n")


def _graduates() -> str:
    iins = (make_iin("000101", 5, serial) for serial in range(1, 10 * COHORT))
    rows = [f"TAU-{n},Graduate {n},{iin},2000-01-01,6B02301,Philology,"
            f"Bachelor of Humanities,2021-06-30,3.50,\n"
            for n, iin in enumerate((i for i in iins if i is not None), 1) if n <= COHORT]
    assert len(rows) == COHORT
    return HEADER + "".join(rows)


def test_the_officer_revokes_a_sold_cohort_in_two_proposals(tmp_path: Path) -> None:
    with retired_university(tmp_path, _graduates(), vote_with=10) as (net, ministry, kaspi,
                                                                       key):
        files = sorted((tmp_path / "issued" / "credentials").rglob("diploma-*.json"))
        assert len(files) == COHORT

        whole = net.cli("governance", "revoke", "--key", key["mshe"], "issued", "--reason",
                        "fraud", node=ministry, check=False)
        assert whole.returncode == 2, whole.stderr
        assert "302 credential files given: one proposal revokes at most 256" in whole.stderr
        first, rest = [str(f) for f in files[:150]], [str(f) for f in files[150:300]]
        too_old = net.cli("governance", "revoke", "--key", key["mshe"], *first, "--reason",
                          "fraud", node=ministry, check=False)
        assert too_old.returncode == 1, too_old.stderr
        assert "--action set-rules-version --rules-version 4" in too_old.stderr

        upgrade = ministry.height() + LEAD
        scheduled = net.cli("governance", "propose", "--key", key["mshe"], "--action",
                            "set-rules-version", "--rules-version", "4", "--effective-height",
                            str(upgrade), node=ministry)
        net.cli("governance", "vote", "--key", key["moe"], proposal_id(scheduled.stdout)[:10],
                node=ministry)
        height_after(net, ministry, upgrade, tmp_path)

        dry = net.cli("governance", "revoke", "--key", key["mshe"], *first, "--reason",
                      "fraud", "--dry-run", node=ministry)
        assert "Would revoke 150 credential(s) of Turan-Astana University" in dry.stdout
        proposals = [proposal_id(net.cli("governance", "revoke", "--key", key["mshe"], *part,
                                       "--reason", "fraud", node=ministry).stdout)
                     for part in (first, rest)]
        for proposal in proposals:
            voted = net.cli("governance", "vote", "--key", key["moe"], proposal[:8],
                            node=ministry)
            assert "Revoked at height" in voted.stdout, voted.stdout
        head = ministry.height()
        wait_until(lambda: kaspi.height() >= head, 30, "the follower to catch up")

        checked = net.cli("verify", rest[7], "--genesis", str(net.genesis_path), "--json",
                          node=kaspi, check=False)
        assert checked.returncode == 1, checked.stderr
        verdict = json.loads(checked.stdout)
        assert verdict["status"] == "revoked" and verdict["facts"]["revoked_by"] == "consortium"
        assert verdict["facts"]["revoked_by_proposal"] == proposals[1]
        net.verified_through(kaspi, files[301])

        document = json.loads(files[0].read_text())
        issuer, root = document["issuer"]["member_id"], document["batch"]["root"]
        listed = kaspi.get_json(f"/credentials/status/{issuer}{root}")
        bits = decode_list(listed["credentialSubject"]["encodedList"])
        marked = [json.loads(f.read_text())["batch"]["index"] for f in files]
        assert all(bit_is_set(bits, i) for i in marked[:300])
        assert not any(bit_is_set(bits, i) for i in marked[300:])
