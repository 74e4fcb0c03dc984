"""`GET /v1/members` says which ministry admitted a member by its own add_member (rules
version 9), and from when that ministry's key is distrusted when it was at the admission:
a relying party reading the registry saw a thief's member as any other."""

from __future__ import annotations

import time
from typing import Any

from cli.issue_checks import accreditation_problem
from cli.node_info import member_lines
from ledger.rules_version import ADMITTED_BY_RECORDED_FROM
from ledger.verification import when
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving
from tests.node.test_governance import make_council
from tests.node.test_stolen_key_admission import admitted
from tests.node.test_stolen_key_records import rotate_and_report

DAY_MS = 86_400_000


async def test_the_registry_says_who_admitted_a_member_and_whether_in_doubt() -> None:
    council = make_council(rules_version=ADMITTED_BY_RECORDED_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    stolen_at = core.chain.height + 1
    mill = admitted(core.chain, council.ministry3, "Diploma Mill")
    rotate_and_report(core.chain, council.ministry3, stolen_at)

    async with serving(core) as client:
        answer = await client.get("/v1/members")
        members: dict[str, Any] = {m["name"]: m for m in (await answer.json())["members"]}
    assert answer.status == 200
    entry = members["Diploma Mill"]
    assert entry["member_id"] == mill.member_id.hex()
    assert entry["added_by"] == council.ministry3.member_id.hex()
    assert entry["admission_doubted_from"] == stolen_at
    genesis_member = members["Ministry of Science"]
    assert (genesis_member["added_by"], genesis_member["admission_doubted_from"]) == (None, None)



async def test_an_accreditation_made_with_a_stolen_key_is_said_so_before_anything_is_issued(
        ) -> None:
    """A university accredited only by a ministry key declared stolen from before the grant:
    everything it issued verified as doubted, while `senim members` called the grant
    active and `senim issue` sent a whole class under it without a word."""
    council = make_council(rules_version=ADMITTED_BY_RECORDED_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    stolen_at = core.chain.height + 1
    university = admitted(core.chain, council.ministry, "Astana IT University",
                          council.ministry3)
    honest = admitted(core.chain, council.ministry, "Narxoz", council.ministry)
    rotate_and_report(core.chain, council.ministry3, stolen_at)

    async with serving(core) as client:
        answer = await client.get("/v1/members")
        body = await answer.json()
    assert answer.status == 200
    members: dict[str, Any] = {m["name"]: m for m in body["members"]}
    assert [g["key_distrusted_from"] for g in
            members["Astana IT University"]["accreditations"]] == [stolen_at]
    assert [g["key_distrusted_from"] for g in members["Narxoz"]["accreditations"]] == [None]

    for member in body["members"]:  # a period that covers now, as when a class is issued
        for grant in member["accreditations"]:
            grant.update({"from": when(time.time_ns() // 1_000_000 - DAY_MS),
                          "until": when(time.time_ns() // 1_000_000 + DAY_MS)})
    lines = [str(line) for line in member_lines(body)]
    warned = f"    granted with a ministry's key declared stolen from height {stolen_at}: "
    assert sum(line.startswith(warned) for line in lines) == 1, lines
    refusal = accreditation_problem(body["members"], university, "diploma")
    assert refusal is not None
    assert str(refusal) == (
        "Astana IT University may not issue diploma credentials now: accredited with a "
        f"ministry's key declared stolen from height {stolen_at}: nothing issued under that "
        "accreditation alone is relied on; ask a ministry to accredit it again")
    assert accreditation_problem(body["members"], honest, "diploma") is None


async def test_a_member_admitted_with_a_stolen_key_is_told_before_it_issues() -> None:
    council = make_council(rules_version=ADMITTED_BY_RECORDED_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    stolen_at = core.chain.height + 1
    mill = admitted(core.chain, council.ministry3, "Diploma Mill", council.ministry)
    rotate_and_report(core.chain, council.ministry3, stolen_at)

    async with serving(core) as client:
        body = await (await client.get("/v1/members")).json()
    refusal = accreditation_problem(body["members"], mill, "diploma")
    assert refusal is not None
    assert str(refusal).startswith(
        "Diploma Mill was admitted to the consortium with a ministry's key declared stolen "
        f"from height {stolen_at}: nothing it issues is recognised until the ministries "
        "confirm its admission"), refusal
