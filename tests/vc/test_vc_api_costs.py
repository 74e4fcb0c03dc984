"""What an outsider's VC-API request may cost a node: its body is parsed off the event
loop, it is under the client's verification rates, its status entries cost a bounded
number of ledger jobs, and its canonicalisation runs below the node's own priority."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from node import client_limits
from node.api_public import LIMITS
from node.fair_share import VC_WORKER_NICENESS
from node.vc_common import VcSettings
from tests.vc.conftest import JSON_BODY, VcNode
from tests.vc.test_vc_api import exported


async def test_a_verify_body_is_parsed_in_a_vc_worker_not_the_nodes_process(
        node: VcNode, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 512 KiB body of 170,000 empty arrays took ~0.3 s of the event loop to parse and
    measure; moved to the API's verification thread, 60,000 `{}` (180 KB) still took
    ~0.25 s of the node's process, holding the GIL against consensus (honest commit p50
    78 -> 263 ms with six addresses posting them). A verify route's body is parsed in a
    VC worker process now (`node.vc_work.verify_body`): the node's own process parses
    none of it, a hostile body nor an honest one, and the answers are as before."""
    from ledger import json_objects

    parsed_here: list[int] = []
    loads = json_objects.loads

    def recorded(text: str | bytes) -> Any:
        parsed_here.append(len(text))
        return loads(text)

    monkeypatch.setattr(json_objects, "loads", recorded)
    empty_objects = ",".join(["{}"] * 60_000)
    hostile = {"/credentials/verify":
               '{"verifiableCredential": {"x": [' + empty_objects + "]}}",
               "/presentations/verify":
               '{"verifiablePresentation": {"verifiableCredential": [' + empty_objects + "]}}"}
    vc = exported(node, 0)
    honest = {"/credentials/verify": json.dumps({"verifiableCredential": vc}),
              "/presentations/verify": json.dumps({"verifiablePresentation": {
                  "@context": vc["@context"][:1], "type": ["VerifiablePresentation"],
                  "verifiableCredential": [vc]}})}
    answers: dict[str, tuple[int, Any]] = {}
    for path in hostile:
        response = await node.client.post(path, data=hostile[path], headers=JSON_BODY)
        answer = await response.json()
        assert response.status == 400 and answer["errors"][0]["code"] == "malformed"
        response = await node.client.post(path, data=honest[path], headers=JSON_BODY)
        answers[path] = (response.status, await response.json())
    assert answers["/credentials/verify"][0] == 200, answers
    assert answers["/credentials/verify"][1]["verified"] is True, answers
    # a presentation with no proof of its own is malformed, as from the node's process
    status, answer = answers["/presentations/verify"]
    assert status == 400 and answer["errors"][0]["code"] == "malformed", answer
    assert parsed_here == []


@pytest.mark.parametrize("path", ["/credentials/verify", "/presentations/verify"])
@pytest.mark.parametrize("sent_chunked", [False, True])
async def test_the_vc_routes_are_under_the_clients_verification_rates(
        node: VcNode, monkeypatch: pytest.MonkeyPatch, path: str, sent_chunked: bool) -> None:
    """They were under none: one address could post 512 KiB bodies as fast as the node
    read them, where /v1/verify takes 1 MiB a second from it. Sent chunked, a body is
    charged as it arrives."""
    body = json.dumps({"verifiableCredential": exported(node, 0),
                       "padding": "x" * 300_000}).encode()

    def sent() -> bytes | AsyncIterator[bytes]:
        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 16_384):
                yield body[start:start + 16_384]
        return pieces() if sent_chunked else body

    monkeypatch.setitem(client_limits.RATES, "verify_bytes", (1.0, 400_000.0))
    node.app[LIMITS].exempt = frozenset()  # the test client's 127.0.0.1 is exempt by default
    assert (await node.client.post(path, data=sent(), headers=JSON_BODY)).status in (200, 400)
    refused = await node.client.post(path, data=sent(), headers=JSON_BODY)
    assert refused.status == 429, await refused.text()
    assert (await refused.json())["error"]["code"] == "rate_limited"


async def test_status_entries_naming_no_list_cost_a_bounded_number_of_lookups(
        node: VcNode, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only lists found were counted: a document of 2,700 status entries naming lists
    that do not exist queued 5,400 ledger jobs on the engine thread, one after another.
    A node reads a Senim VC against its own batch's list alone, once, whichever hosts
    and however many entries name it: lists of other ids cost no lookup at all."""
    from node.vc_common import VC

    snapshots: list[bytes] = []
    in_worker = node.core.in_worker

    async def counted(func: Any, *args: Any) -> Any:
        if func == node.app[VC].index.snapshot:
            snapshots.append(args[1])
        return await in_worker(func, *args)

    monkeypatch.setattr(node.core, "in_worker", counted)
    credential = exported(node, 0)
    credential["credentialStatus"] = [
        {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
         "statusListIndex": "0",
         "statusListCredential": "https://node.senim.test/credentials/status/"
         + os.urandom(52).hex()} for _ in range(50)]
    response = await node.client.post("/credentials/verify",
                                      json={"verifiableCredential": credential})
    assert response.status == 400, await response.text()  # tampered: its entries changed
    assert snapshots == []
    own = exported(node, 0)["credentialStatus"]["statusListCredential"].rsplit("/", 1)[1]
    credential["credentialStatus"] = [
        {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
         "statusListIndex": "0",
         "statusListCredential": f"https://host{n}.test/credentials/status/{own}"}
        for n in range(50)]
    response = await node.client.post("/credentials/verify",
                                      json={"verifiableCredential": credential})
    assert response.status == 400, await response.text()
    assert snapshots == [bytes.fromhex(own)]


def test_vc_workers_run_below_the_node_s_own_threads() -> None:
    """The VC workers' work is public: they run at a lower priority than the node."""
    settings = VcSettings()
    try:
        worker_niceness = settings.pool.submit(os.nice, 0).result(timeout=60)
    finally:
        settings.pool.shutdown(wait=True)
    assert worker_niceness == min(19, os.nice(0) + VC_WORKER_NICENESS)


@pytest.mark.parametrize("path", ["/credentials/verify", "/presentations/verify"])
async def test_a_verify_body_giving_a_key_twice_is_refused_in_the_worker(node: VcNode,
                                                                        path: str) -> None:
    """Parsed in a VC worker, a body is still read as its reader sees it
    (`ledger.json_objects`): a key given twice in one object is refused, named."""
    vc = json.dumps(exported(node, 0))
    key = "verifiablePresentation" if path.startswith("/presentations") else "verifiableCredential"
    body = '{"%s": %s, "%s": %s}' % (key, vc, key, vc)  # noqa: UP031 (braces of JSON)
    response = await node.client.post(path, data=body, headers=JSON_BODY)
    answer = await response.json()
    assert response.status == 400 and answer["code"] == "malformed", answer
    assert f"the key {key!r} is given twice" in answer["detail"]
