"""No input yields a 5xx: lone surrogates, every string a JSON decoder accepts, cost limits.

Also `senim verify` / `senim disclose` on such a file: one line, exit 2, no traceback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from ledger.credential_documents import disclose
from ledger.credentials import make_batch
from node.client_limits import RATES
from node.public_work import JSON_DEPTH_MAX, JSON_VALUES_MAX
from storage.kv import MemoryStore
from tests.node.api_server import Client, api_core, serving
from tests.node.conftest import CHAIN_ID, Consortium, documents_of, make_consortium


@pytest.fixture
async def client(net: Consortium, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    # Every request must reach the parsers, not stop at the per-client rate.
    for kind in RATES:
        monkeypatch.setitem(RATES, kind, (1e9, 1e9))
    async with serving(api_core(net.ministry, net.genesis, MemoryStore()), "fuzz") as test_client:
        yield test_client


def a_document(net: Consortium) -> dict[str, Any]:
    batch = make_batch([{"name": "Aigerim", "iin": "010101500123"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    return disclose(documents_of(batch)[0], ["iin"])


def with_lone_surrogate_in_hidden_name(net: Consortium) -> str:
    document = a_document(net)
    document["fields"]["\ud800"] = document["fields"].pop("iin")
    return json.dumps(document)  # ensure_ascii: the surrogate travels as \\ud800


def with_lone_surrogate_in_type(net: Consortium) -> str:
    document = a_document(net)
    document["type"] = "diploma\udfff"
    return json.dumps(document)


@pytest.mark.parametrize("make_body", [with_lone_surrogate_in_hidden_name,
                                       with_lone_surrogate_in_type])
async def test_lone_surrogates_in_verify_are_a_400(client: Client, net: Consortium,
                                                   make_body: Callable[[Consortium], str]) -> None:
    body = make_body(net)
    assert "\\ud" in body or "\\udfff" in body
    response = await client.post("/v1/verify", data=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()
    assert (await response.json())["error"]["code"] == "malformed"


async def test_an_honest_document_still_gets_a_verdict(client: Client,
                                                       net: Consortium) -> None:
    response = await client.post("/v1/verify", json=a_document(net))
    assert response.status == 200
    assert (await response.json())["status"] != "valid"  # its batch is not on this chain


async def test_a_key_given_twice_is_a_400(client: Client, net: Consortium) -> None:
    """The node kept the last of two values of one key, which an editor shows second."""
    body = json.dumps(a_document(net)).replace('"type": "diploma"',
                                               '"type": "attestat", "type": "diploma"', 1)
    assert body.count('"type"') == 2
    response = await client.post("/v1/verify", data=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()
    assert "given twice in one object" in (await response.json())["error"]["message"]


@pytest.mark.parametrize("body", [
    json.dumps({"fields": {str(i): {"hash": "00" * 32} for i in range(JSON_VALUES_MAX)}}),
    "[" * (JSON_DEPTH_MAX + 2) + "]" * (JSON_DEPTH_MAX + 2),
    "[" * 100_000,
])
async def test_costly_documents_are_refused_with_a_400(client: Client, body: str) -> None:
    response = await client.post("/v1/verify", data=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status in (400, 413), await response.text()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


def _near_a_document(value: Any, net: Consortium) -> list[str]:
    """The value itself, and spliced into a real document where a parser looks."""
    document = a_document(net)
    document["type"] = value
    fields = dict(document["fields"])
    fields[value if isinstance(value, str) else "x"] = {"hash": value}
    document["fields"] = fields
    return [json.dumps(value), json.dumps(document)]


_NET = make_consortium()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values, raw=st.text(max_size=40))
async def test_no_json_string_yields_a_5xx(client: Client, value: Any, raw: str) -> None:
    bodies = [*_near_a_document(value, _NET), raw,
              json.dumps({"tx": value}), json.dumps({"txs": [value]}), json.dumps(raw)]
    for body in bodies:
        for path in ("/v1/verify", "/v1/transactions", "/v1/proofs"):
            response = await client.post(path, data=body,
                                         headers={"Content-Type": "application/json"})
            assert response.status < 500, (path, body, await response.text())
            assert response.status != 429
            assert response.content_type == "application/json"


@pytest.mark.parametrize("field", ["hidden", "type"])
def test_cli_verify_and_disclose_print_one_line(tmp_path: Path, net: Consortium,
                                                field: str) -> None:
    file = tmp_path / "doc.json"
    file.write_text(with_lone_surrogate_in_hidden_name(net) if field == "hidden"
                    else with_lone_surrogate_in_type(net))
    runner = CliRunner()
    for args in (["verify", str(file), "--node", "http://127.0.0.1:9"],
                 ["disclose", str(file), "--hide", "name", "--out", str(tmp_path / "o")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "not valid Unicode" in lines[0], result.output
