"""A node whose verification pool is full still tells a changed document so
(node.checked_while_busy): its own checks need no chain. A document that passes them is
answered busy, never valid unchecked, and so is any document once the budget for those
checks is spent."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ledger import verification
from ledger.credentials import make_batch
from ledger.errors import MalformedInput
from node import checked_while_busy, public_work
from node.api_public import ALONE_BUDGET, CORE, VERIFY_BODY_MAX, VERIFY_WORK
from node.checked_while_busy import (
    ALONE_SEPARATORS_MAX,
    ALONE_SMALL_BODY_MAX,
    AloneBudget,
    verdict_while_busy,
)
from node.public_work import JSON_SEPARATORS_MAX
from storage.kv import MemoryStore
from tests.node.api_server import Client, api_core, serving
from tests.node.conftest import CHAIN_ID, Consortium, documents_of

GRADUATES = [{"full_name": "Әлия Сәрсенбаева", "gpa": "3.05"},
             {"full_name": "Nurlan Seitkali", "gpa": "3.40"},
             {"full_name": "Dana Omarova", "gpa": "2.90"}]


@pytest.fixture
async def busy_node(net: Consortium) -> AsyncIterator[Client]:
    core = api_core(net.ministry, net.genesis, MemoryStore())
    async with serving(core) as client:
        verify = client.app[VERIFY_WORK]
        verify._jobs = verify.jobs_max  # as if that many documents were being checked
        try:
            yield client
        finally:
            verify._jobs = 0


def diplomas(net: Consortium) -> list[dict[str, Any]]:
    return documents_of(make_batch(GRADUATES, "diploma", CHAIN_ID,
                                   net.university.member_id, "KazNU"))


async def answer_of(client: Client, body: bytes) -> tuple[int, Any]:
    response = await client.post("/v1/verify", data=body,
                                 headers={"Content-Type": "application/json"})
    return response.status, await response.json()


async def test_a_diploma_with_one_byte_changed_is_tampered_on_a_busy_node(
        busy_node: Client, net: Consortium) -> None:
    genuine = json.dumps(diplomas(net)[0], ensure_ascii=False).encode()
    changed = genuine.replace(b'"3.05"', b'"3.95"')
    assert len(changed) == len(genuine) and changed != genuine
    status, verdict = await answer_of(busy_node, changed)
    assert status == 200, verdict
    assert (verdict["valid"], verdict["status"]) == (False, "tampered"), verdict
    assert [c["check"] for c in verdict["checks"]] == ["fields"]
    assert "busy" in verdict["source"] and "no chain fact" in verdict["source"]
    status, answer = await answer_of(busy_node, genuine)
    assert status == 503 and answer["error"]["code"] == "busy", answer


async def test_a_credential_not_in_the_batch_it_names_is_tampered_on_a_busy_node(
        busy_node: Client, net: Consortium) -> None:
    first, second, _ = diplomas(net)
    first["batch"]["path"] = second["batch"]["path"]  # a path of another leaf
    first["batch"]["index"] = second["batch"]["index"]
    status, verdict = await answer_of(busy_node, json.dumps(first).encode())
    assert (status, verdict["status"]) == (200, "tampered"), verdict
    assert verdict["checks"][-1]["check"] == "batch"


async def test_a_document_of_another_shape_is_told_so_on_a_busy_node(
        busy_node: Client) -> None:
    status, verdict = await answer_of(busy_node, b'{"format": "x"}')
    assert (status, verdict["status"]) == (200, "malformed"), verdict
    status, answer = await answer_of(busy_node, b'{"format": ')
    assert (status, answer["error"]["code"]) == (400, "malformed"), answer


def changed_diploma(net: Consortium) -> bytes:
    return json.dumps(diplomas(net)[0]).encode().replace(b'"3.05"', b'"3.95"')


def refusals(client: Client, reason: str) -> float:
    value = client.app[CORE].metrics.registry.get_sample_value(
        "senim_public_refusals_total", {"reason": reason})
    return value or 0.0


async def test_past_its_budget_a_busy_node_checks_nothing_and_counts_it_so(
        busy_node: Client, net: Consortium) -> None:
    busy_node.app[ALONE_BUDGET] = AloneBudget(share=0.0, burst_s=0.0, small_share=0.0,
                                              address_share=1.0)
    status, answer = await answer_of(busy_node, changed_diploma(net))
    assert (status, answer["error"]["code"]) == (503, "busy"), answer
    assert refusals(busy_node, "busy_unchecked") == 1.0
    assert refusals(busy_node, "busy") == 0.0


async def test_a_body_with_more_separators_than_any_credential_is_not_parsed(
        busy_node: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[bytes] = []

    def parse_json(body: bytes) -> Any:
        parsed.append(body)
        return public_work.parse_json(body)

    monkeypatch.setattr(checked_while_busy, "parse_json", parse_json)
    within = b'{"format": [' + b"0," * (ALONE_SEPARATORS_MAX - 2) + b"0]}"
    beyond = within.replace(b"[", b"[0,", 1)
    status, verdict = await answer_of(busy_node, within)
    assert (status, verdict["status"]) == (200, "malformed"), verdict
    status, answer = await answer_of(busy_node, beyond)  # the pool would parse it
    assert (status, answer["error"]["code"]) == (503, "busy"), answer
    assert parsed == [within]
    assert refusals(busy_node, "busy_unchecked") == 1.0


def test_the_budget_refills_at_its_share_of_wall_time() -> None:
    now = [100.0]
    budget = AloneBudget(share=0.05, burst_s=0.01, small_share=0.0, address_share=0.05,
                         address_burst_s=0.01, clock=lambda: now[0])
    bucket = budget.take("a", 100)
    assert bucket is not None
    budget.spend("a", bucket, 0.011)
    assert budget.take("a", 100) is None
    now[0] += 0.01  # 0.5 ms back: still 0.5 ms short
    assert budget.take("a", 100) is None
    now[0] += 0.02
    assert budget.take("a", 100) is bucket
    now[0] += 1000.0
    assert budget.take("a", 100) is bucket
    budget.spend("a", bucket, 0.0101)  # refilled only up to the burst
    assert budget.take("a", 100) is None


def spend(budget: AloneBudget, address: str, seconds: float,
          body_size: int = 1_500) -> bool:
    """Whether a check of `seconds` from `address` was let in (and charged)."""
    bucket = budget.take(address, body_size)
    if bucket is not None:
        budget.spend(address, bucket, seconds)
    return bucket is not None


def test_one_address_spends_its_own_share_and_the_whole_stays_bounded() -> None:
    now = [100.0]
    budget = AloneBudget(share=0.05, burst_s=0.05, small_share=0.0, address_share=0.01,
                         address_burst_s=0.01, clock=lambda: now[0])
    assert spend(budget, "flood", 0.02)  # its own burst and more (a check costs what it costs)
    assert budget.take("flood", 100) is None
    assert spend(budget, "officer", 0.005)  # the whole has 30 ms left
    assert budget.take("officer", 100) is not None
    let_in = sum(spend(budget, f"10.0.0.{address}", 0.01)  # a flood from many: the
                 for address in range(5))                  # whole's 25 ms go to three
    assert let_in == 3
    assert budget.take("officer", 100) is None and budget.take("other", 100) is None
    now[0] += 1.0  # 50 ms back in all, 10 ms each
    assert budget.take("officer", 100) is not None and budget.take("flood", 100) is None


def test_a_flood_of_large_bodies_from_many_addresses_leaves_small_ones_a_slice() -> None:
    now = [100.0]
    budget = AloneBudget(share=0.05, burst_s=0.05, small_share=0.02, address_share=0.01,
                         address_burst_s=0.01, clock=lambda: now[0])
    large = ALONE_SMALL_BODY_MAX + 1
    let_in = sum(spend(budget, f"10.0.0.{address}", 0.011, large) for address in range(10))
    assert let_in == 3  # the 30 ms any document may spend
    assert budget.take("10.0.0.99", large) is None
    assert spend(budget, "192.0.2.7", 0.0002, ALONE_SMALL_BODY_MAX)  # the officer's
    let_in = sum(spend(budget, f"10.0.1.{address}", 0.011) for address in range(10))
    assert let_in == 2  # small ones from many spend the slice too
    assert budget.take("192.0.2.7", 1_500) is None
    now[0] += 0.5  # 10 ms back to the slice (2% of wall), 15 to the rest
    assert budget.take("10.0.0.99", large) is not None


def officer_checks_among(flooders: int) -> int:
    """Of 30 altered diplomas (0.2 ms each) an officer sends a second apart, how many are
    checked while `flooders` addresses each send 17 bodies of 60 KB (2 ms each) a second:
    under the small-body bound, as many as 1 MiB/s lets in. On a simulated clock."""
    now = [0.0]
    budget = AloneBudget(clock=lambda: now[0])
    events = [(k / 17 + flooder * 0.0031, f"10.0.{flooder}.1", 60_000, 0.002)
              for flooder in range(flooders) for k in range(17 * 30)]
    events += [(second + 0.5, "192.0.2.7", 1_500, 0.0002) for second in range(30)]
    checked = 0
    for at, address, size, seconds in sorted(events):
        now[0] = at
        if spend(budget, address, seconds, size) and address == "192.0.2.7":
            checked += 1
    return checked


def test_a_flood_of_small_bodies_needs_twenty_addresses_to_spend_the_slice() -> None:
    """Each address may spend only a twentieth of the small slice: eight flooding
    addresses (before, five) no longer spend it, nor thirteen; twenty still do."""
    assert officer_checks_among(8) == 30
    assert officer_checks_among(13) == 30
    assert officer_checks_among(20) == 0  # what the module's doc says a flood still does


def test_addresses_in_one_ipv6_64_share_one_share() -> None:
    now = [100.0]
    budget = AloneBudget(clock=lambda: now[0])
    assert spend(budget, "2001:db8:0:1::1", 0.01)
    assert budget.take("2001:db8:0:1::2", 1_500) is None  # the same /64: one client
    assert budget.take("2001:db8:0:2::1", 1_500) is not None
    assert budget.take("::ffff:192.0.2.7", 1_500) is not None
    assert spend(budget, "192.0.2.7", 0.01)
    assert budget.take("::ffff:192.0.2.7", 1_500) is None  # that IPv4 address, mapped


def test_a_check_is_charged_the_wall_time_it_holds_the_loop(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:

    def waiting_on_the_interpreter(*args: Any) -> Any:
        time.sleep(0.02)  # as a check waiting behind the pool's threads for the GIL
        return verification.checked_alone(*args)

    monkeypatch.setattr(checked_while_busy, "checked_alone", waiting_on_the_interpreter)
    now = [100.0]
    budget = AloneBudget(clock=lambda: now[0])
    verdict = verdict_while_busy(budget, "192.0.2.7", changed_diploma(net), "a test")
    assert not isinstance(verdict, str) and verdict.status == "tampered"
    assert budget.take("192.0.2.7", 1_500) is None  # 20 ms held: past its 10 ms


def test_the_addresses_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checked_while_busy, "ALONE_ADDRESSES_MAX", 3)
    now = [100.0]
    budget = AloneBudget(share=0.05, burst_s=1.0, clock=lambda: now[0])
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert spend(budget, address, 0.02)
    assert budget.take("10.0.0.1", 100) is None  # seen again: the latest now
    assert budget.take("10.0.0.4", 100) is not None  # .2, the longest unseen, is forgotten
    assert budget.take("10.0.0.2", 100) is not None  # afresh; .3 goes
    assert budget.take("10.0.0.1", 100) is None
    assert len(budget._addresses) == 3


async def test_a_flood_from_one_address_leaves_another_its_checks(
        busy_node: Client, net: Consortium) -> None:
    budget = busy_node.app[ALONE_BUDGET]
    changed = changed_diploma(net)
    assert spend(budget, "127.0.0.2", 0.02)  # a flood from elsewhere spent its own share
    assert budget.take("127.0.0.2", 100) is None
    status, verdict = await answer_of(busy_node, changed)
    assert (status, verdict["status"]) == (200, "tampered"), verdict
    assert spend(budget, "127.0.0.1", 0.02)  # this client's own is spent
    status, answer = await answer_of(busy_node, changed)
    assert (status, answer["error"]["code"]) == (503, "busy"), answer


def largest_document(net: Consortium) -> bytes:
    """A diploma as large as the route takes, one field changed: 200 fields of long text."""
    value = "Қ" * 600  # two bytes a letter in UTF-8
    record = {f"field_{i:03}": value for i in range(200)}
    document = documents_of(make_batch([record], "diploma", CHAIN_ID,
                                       net.university.member_id, "KazNU"))[0]
    document["fields"]["field_000"]["value"] = "Ә" + value[1:]
    body = json.dumps(document, ensure_ascii=False).encode()
    assert VERIFY_BODY_MAX * 0.9 < len(body) <= VERIFY_BODY_MAX, len(body)
    return body


async def test_large_documents_from_many_addresses_leave_an_officer_her_check(
        busy_node: Client, net: Consortium) -> None:
    """As live: addresses sending costly bodies (here the largest altered diploma) spent
    the whole budget, and the officer's altered diploma was busy."""
    busy_node.app[ALONE_BUDGET] = AloneBudget(clock=lambda: 100.0)  # no refill meanwhile
    largest, url = largest_document(net), busy_node.make_url("/v1/verify")
    headers = {"Content-Type": "application/json"}
    for host in range(2, 10):
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.0.{host}", 0))
        async with aiohttp.ClientSession(connector=connector) as flooder:
            for _ in range(20):  # until its share, or the whole, is spent
                async with flooder.post(url, data=largest, headers=headers) as response:
                    await response.read()
                    if response.status == 503:
                        break
                    assert response.status == 200, response.status
    status, answer = await answer_of(busy_node, largest)
    assert (status, answer["error"]["code"]) == (503, "busy"), answer
    status, verdict = await answer_of(busy_node, changed_diploma(net))
    assert (status, verdict["status"]) == (200, "tampered"), verdict


def held_seconds(body: bytes) -> tuple[float, float]:
    """The wall and CPU seconds one check of `body` holds the loop."""
    wall, cpu = time.perf_counter(), time.thread_time()
    with contextlib.suppress(MalformedInput):  # the arrays: refused once parsed
        verdict_while_busy(AloneBudget(burst_s=1.0, address_burst_s=1.0), "127.0.0.1",
                           body, "a test")
    return time.perf_counter() - wall, time.thread_time() - cpu


def test_the_worst_documents_cost_milliseconds(net: Consortium,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    largest = largest_document(net)
    verdict = verdict_while_busy(AloneBudget(), "127.0.0.1", largest, "a test")
    assert not isinstance(verdict, str) and verdict.status == "tampered"
    arrays = b"[" + b"[]," * (JSON_SEPARATORS_MAX // 2 - 1) + b"[]]"  # not parsed here
    assert len(arrays) <= VERIFY_BODY_MAX
    costs = {name: [min(tries) for tries in zip(*(held_seconds(body) for _ in range(5)),
                                                strict=True)]
             for name, body in (("largest diploma", largest), ("empty arrays", arrays))}
    with capsys.disabled():
        print("\n" + ", ".join(f"{name}: {wall * 1000:.2f} ms wall, {cpu * 1000:.2f} ms CPU"
                               for name, (wall, cpu) in costs.items()))
    # The least of five tries, measured at 3 to 9 ms wall for the largest diploma and
    # 0.1 ms for the arrays (the module's doc says so); the budget charges wall time, but
    # on a loaded machine that is the machine's load as much as the check's, so what is
    # bounded here is the CPU: 20 ms would mean a check holding the event loop, and the
    # consensus frames it reads, far longer.
    assert max(cpu for _, cpu in costs.values()) < 0.02, costs
