"""`GET /v1/members` says which ministry admitted a member by its own add_member (rules
version 9), and from when that ministry's key is distrusted when it was at the admission:
a relying party reading the registry saw a thief's member as any other."""

from __future__ import annotations

from typing import Any

from ledger.rules_version import ADMITTED_BY_RECORDED_FROM
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving
from tests.node.test_governance import make_council
from tests.node.test_stolen_key_admission import admitted
from tests.node.test_stolen_key_records import rotate_and_report


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

