"""HTTP hygiene of the real node process: bad input gets a clear JSON error, never a 500."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.client import HTTPConnection

import pytest

from node.client_limits import RATES
from node.fair_share import CONNECTIONS_PER_SOURCE_MAX
from tests.e2e.harness import HOST, Consortium, Member, NodeProcess, http

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

MEMBERS = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
           Member("enu", "ENU", "university")]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with Consortium(tmp_path_factory.mktemp("http"), MEMBERS, genesis_via_cli=False) as net:
        yield net.start("mshe")
        assert net.node("mshe").stop() == 0


def assert_json_error(status: int, body: bytes, expected_status: int, code: str) -> str:
    assert status == expected_status, body[:300]
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return str(error["message"])


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"", b'{"txs": "nope"}',
                                  b'{"tx": "zz"}', b"[1, 2, 3]"])
def test_malformed_transaction_body_is_400_json(node: NodeProcess, body: bytes) -> None:
    status, _headers, answer = http("POST", node.url + "/v1/transactions", body)
    assert_json_error(status, answer, 400, "missing_body" if not body else "malformed")


def test_malformed_verify_body_is_400_json(node: NodeProcess) -> None:
    status, _headers, answer = http("POST", node.url + "/v1/verify", b"{oops")
    message = assert_json_error(status, answer, 400, "malformed")
    assert "JSON" in message


def test_bad_parameters_are_400_json(node: NodeProcess) -> None:
    for path in ("/v1/transactions/not-hex", "/v1/blocks/abc", "/v1/state/zz",
                 "/v1/transactions/" + "00" * 32 + "?wait=soon"):
        status, _headers, answer = http("GET", node.url + path)
        assert status == 400, (path, answer)
        assert "error" in json.loads(answer)


def _post_oversized(port: int, size: int, timeout_s: float = 30.0) -> bytes:
    """POST `size` bytes with a raw socket; return whatever the server answers.

    The server may answer 413 and close before the body is all sent, so a broken
    pipe while sending is expected: what matters is the response it wrote.
    """
    deadline = time.monotonic() + timeout_s
    chunk = b"x" * (1 << 20)
    with socket.create_connection((HOST, port), timeout=timeout_s) as sock:
        sock.sendall(f"POST /v1/transactions HTTP/1.1\r\nHost: {HOST}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {size}\r\n"
                     "Connection: close\r\n\r\n".encode())
        sent = 0
        try:
            while sent < size and time.monotonic() < deadline:
                piece = chunk[:min(len(chunk), size - sent)]
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while time.monotonic() < deadline:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def test_70_mb_body_is_413(node: NodeProcess) -> None:
    answer = _post_oversized(node.api_port, 70 * 1024 * 1024)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert json.loads(body)["error"]["code"] == "body_too_large"
    assert node.running()
    assert node.status()["height"] >= 0  # and it still serves


def test_unknown_route_is_404_json(node: NodeProcess) -> None:
    for method, path in (("GET", "/no/such/route"), ("POST", "/v1/nothing"),
                         ("GET", "/v1/blocks/999999")):
        status, headers, answer = http(method, node.url + path, b"{}" if method == "POST"
                                       else None)
        assert status == 404, (path, answer)
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(answer)["error"]["code"] in ("not_found", "no_such_block")


def test_wrong_method_is_405_json(node: NodeProcess) -> None:
    status, _headers, answer = http("DELETE", node.url + "/v1/status")
    assert_json_error(status, answer, 405, "method_not_allowed")


def test_openapi_is_valid_json_with_paths(node: NodeProcess) -> None:
    document = node.get_json("/openapi.json")
    assert document["openapi"].startswith("3.")
    assert "/v1/transactions" in document["paths"]
    assert "/v1/status" in document["paths"]


def test_metrics_expose_height(node: NodeProcess) -> None:
    status, headers, body = http("GET", node.url + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    lines = body.decode().splitlines()
    height_lines = [x for x in lines if x.startswith("senim_height ")]
    assert height_lines, body[:500]
    assert float(height_lines[0].split()[1]) == node.height()


def test_metrics_count_api_connections_refused_at_the_cap(node: NodeProcess) -> None:
    """An address past its connection cap shows in /metrics, within the refresh."""
    opened: list[socket.socket] = []
    try:
        for _ in range(CONNECTIONS_PER_SOURCE_MAX + 3):
            client = socket.socket()
            client.bind(("127.0.0.23", 0))  # not the exempt 127.0.0.1
            client.connect((node.host, node.api_port))
            opened.append(client)
        deadline = time.monotonic() + 15
        refused = 0.0
        while refused < 3 and time.monotonic() < deadline:
            _, _, body = http("GET", node.url + "/metrics")
            lines = [x for x in body.decode().splitlines()
                     if x.startswith("senim_http_connections_refused ")]
            refused = float(lines[0].split()[1]) if lines else 0.0
            time.sleep(0.2)
        assert refused >= 3
    finally:
        for client in opened:
            client.close()


GOVERNANCE_ASKERS = 8  # connections from one address, well under CONNECTIONS_PER_SOURCE_MAX
GOVERNANCE_DEADLINE_S = 30.0
VERIFY_RATE, VERIFY_BURST = RATES["verify"]  # which GET /v1/governance shares


def _ask_governance_until_refused(host: str, port: int, deadline: float, refused: threading.Event,
                                  answered: list[int], errors: list[str]) -> None:
    client = HTTPConnection(host, port, timeout=10, source_address=("127.0.0.24", 0))
    try:
        while not refused.is_set() and time.monotonic() < deadline:
            client.request("GET", "/v1/governance")
            answer = client.getresponse()
            body = answer.read()
            if answer.status == 429:
                if json.loads(body)["error"]["code"] != "rate_limited":
                    errors.append(body[:300].decode("utf-8", "replace"))
                refused.set()
            elif answer.status == 200:
                answered.append(200)
            else:
                errors.append(f"{answer.status}: {body[:300]!r}")
                refused.set()
    except Exception as exc:  # said by the test, not lost in this thread
        errors.append(repr(exc))
        refused.set()
    finally:
        client.close()


def test_governance_is_rated_per_address(node: NodeProcess) -> None:
    """GET /v1/governance runs in the verification pool, but was unrated: one address
    asking over 48 connections took the pool's job slots (3,000 answers a second), and
    another's POST /v1/verify was answered 503 busy.

    Several connections ask at once, as that address did: one connection asking in turn
    was answered at most ~200 times a second on a slow CI machine (400 asks never emptied
    the bucket), too near the rate itself (100 a second past a burst of 200) to be sure of
    meeting a refusal."""
    refused = threading.Event()
    answered: list[int] = []
    errors: list[str] = []
    started = time.monotonic()
    askers = [threading.Thread(target=_ask_governance_until_refused,
                               args=(node.host, node.api_port, started + GOVERNANCE_DEADLINE_S,
                                     refused, answered, errors))
              for _ in range(GOVERNANCE_ASKERS)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    elapsed = time.monotonic() - started
    assert not errors, errors
    assert refused.is_set(), f"{len(answered)} answered in {elapsed:.1f} s, none 429"
    # the bucket lets the burst through, then the rate: never many more than that
    assert len(answered) <= VERIFY_BURST + VERIFY_RATE * elapsed + GOVERNANCE_ASKERS


def test_portal_is_html(node: NodeProcess) -> None:
    status, headers, body = http("GET", node.url + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"<html" in body.lower()


def test_no_500_in_log_after_bad_input(node: NodeProcess) -> None:
    assert "unexpected error serving" not in node.log_text()
    assert "Traceback" not in node.log_text()
