"""A time a ministry signed past the calendar's end (any 64-bit count of milliseconds is
a payload's time) is worded as the calendar's last day: an accreditation from year
146,140,482 made the rules raise ValueError while they worded an issue's refusal, which
stopped every validator that built or checked the block, and made GET /v1/members 500."""

from __future__ import annotations

import pytest

from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.payloads import AccreditPayload, IssueBatchPayload
from ledger.records import CALENDAR_LAST_MS, day
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving
from tests.node.conftest import CHAIN_ID, Consortium, commit, keys_from, make_tx
from tests.node.test_ledger_refusals import assert_refused

PAST_THE_CALENDAR = (2**62, 2**63 - 1)


def test_an_issue_under_a_grant_from_past_the_calendar_is_refused_in_words(
        chain: Chain, net: Consortium) -> None:
    commit(chain, [make_tx(net.ministry, AccreditPayload(net.university.member_id,
                                                          ("diploma",), *PAST_THE_CALENDAR))])
    batch = make_batch([{"full_name": "A. Graduate"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    refused = assert_refused(chain, make_tx(net.university, IssueBatchPayload(
        "diploma", batch.root, 1)), "accreditation_not_started")
    assert refused.message.endswith("accreditation starts on 9999-12-31")


def test_the_calendars_ends_hold_any_64_bit_time() -> None:
    assert day(2**63 - 1) == day(CALENDAR_LAST_MS) == "9999-12-31"
    assert day(-(2**63)) == "0001-01-01"
    assert day(0) == "1970-01-01"


async def test_members_still_answers_with_such_a_grant(net: Consortium) -> None:
    core = api_core(keys_from("ministry"), net.genesis, MemoryStore())
    commit(core.chain, [make_tx(net.ministry, AccreditPayload(
        net.university.member_id, ("diploma",), *PAST_THE_CALENDAR))])
    async with serving(core) as client:
        response = await client.get("/v1/members")
        assert response.status == 200, await response.text()
        members = (await response.json())["members"]
    [grant] = [g for m in members for g in m["accreditations"]]
    assert (grant["from"], grant["until"]) == ("9999-12-31 23:59:59 UTC",) * 2


@pytest.fixture
def chain(net: Consortium) -> Chain:
    return Chain(MemoryStore(), net.genesis)
