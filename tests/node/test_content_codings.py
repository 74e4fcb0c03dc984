"""A request body in a content coding the node does not inflate is refused 415, before it is
read (`node.media_types.coding_problem`). aiohttp inflates gzip and deflate (br and zstd with
their packages) and reads a body in any other coding, or in a list of codings, as though it
were in none: /v1/verify answered a verdict on bytes the client said were compressed, and
/v1/verify/anchor hashed them and called the document unknown."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import compression_utils, web
from aiohttp.test_utils import TestClient

from tests.node.api_server import serving_on_disk
from tests.node.conftest import Consortium

Client = TestClient[web.Request, web.Application]
DOCUMENT = b'{"format": "x"}'  # JSON that /v1/verify answers 200 (a malformed verdict)
# What aiohttp inflates here (br and zstd only with their packages installed).
CODINGS_READ = ("gzip", "deflate", *(["br"] if compression_utils.HAS_BROTLI else []),
                *(["zstd"] if compression_utils.HAS_ZSTD else []))
READ = " or ".join(CODINGS_READ)


@pytest.fixture
async def client(tmp_path: Path, net: Consortium) -> AsyncIterator[Client]:
    async with serving_on_disk(net.ministry, net.genesis, tmp_path) as test_client:
        yield test_client


async def _post(client: Client, path: str, body: bytes, content_type: str,
                codings: list[str]) -> tuple[int, Any, dict[str, str]]:
    headers = [("Content-Type", content_type), *(("Content-Encoding", c) for c in codings)]
    response = await client.post(path, data=body, headers=headers)
    return response.status, await response.json(), dict(response.headers)


@pytest.mark.parametrize("codings", [
    ["compress"], ["x-gzip"], ["gzip, gzip"], ["deflate, gzip"], ["identity, gzip"],
    ["gzip", "gzip"], ["exi"], ["gz\u00efp"],
    # Blanks str.strip() takes and aiohttp keeps: it reads a non-ASCII value as no coding.
    ["gzip\u00a0"], ["\u00a0gzip"], ["gzip\u3000"], ["gzip\u0085"], ["deflate\u00a0"],
    ["identity\u00a0"]])
@pytest.mark.parametrize(("path", "content_type"), [
    ("/v1/verify", "application/json"), ("/v1/verify/anchor", "application/octet-stream"),
    ("/v1/transactions", "application/json"), ("/v1/proofs", "application/json"),
    ("/credentials/verify", "application/json")])
async def test_a_coding_the_node_does_not_inflate_is_415(
        client: Client, path: str, content_type: str, codings: list[str]) -> None:
    status, answer, headers = await _post(client, path, DOCUMENT, content_type, codings)
    assert status == 415, answer
    error = answer["error"]  # on a VC-API path, kept as a member of the problem details
    assert error["code"] == "unsupported_media_type", answer
    assert error["params"] == {"codings": READ}, answer
    assert error["message"].startswith("the request's body is in content coding "), answer
    assert error["message"].endswith(f"; this node reads a body in {READ}, or in none"), answer
    assert headers["Accept-Encoding"] == ", ".join(CODINGS_READ)
    assert headers["Connection"] == "close"  # the body is left unread


async def test_only_a_short_coding_is_named_back(client: Client) -> None:
    for coding, said in (("Compress", "compress"), ("x" * 300, "one this node cannot read"),
                         ("gzip, gzip", "gzip, gzip"), ("g\u00fczip", "one this node cannot read")):
        status, answer, _ = await _post(client, "/v1/verify", DOCUMENT, "application/json",
                                        [coding])
        assert status == 415, answer
        assert answer["error"]["message"].startswith(
            f"the request's body is in content coding {said};"), answer


@pytest.mark.parametrize("codings", [[], ["identity"], ["IDENTITY"], [""], [" \tidentity\t "]])
async def test_a_body_in_no_coding_is_read(client: Client, codings: list[str]) -> None:
    status, answer, _ = await _post(client, "/v1/verify", DOCUMENT, "application/json", codings)
    assert status == 200 and answer["status"] == "malformed", answer


@pytest.mark.parametrize("coding", CODINGS_READ)
async def test_a_coding_the_node_inflates_is_read(client: Client, coding: str) -> None:
    if coding not in ("gzip", "deflate"):
        pytest.skip(f"{coding} is read with its package; this test makes gzip and deflate")
    body = gzip.compress(DOCUMENT) if coding == "gzip" else zlib.compress(DOCUMENT)
    status, answer, _ = await _post(client, "/v1/verify", body, "application/json",
                                    [coding.upper()])
    assert status == 200 and answer["status"] == "malformed", answer
