"""Per-address limits count an IPv6 client by its /64 and an IPv4-mapped or NAT64 one
as its IPv4 address (p2p.address_keys): one host given a /64 holds 2^64 addresses, each of
which was a fresh client to every limit counted per address."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from node.api_public import LIMITS
from node.client_limits import RATES, ClientLimits
from node.fair_share import MAX_VC_IN_FLIGHT_PER_SOURCE
from node.http_server import LimitedServer
from node.vc_common import VC, VcSettings, in_vc_pool, verifying_for
from p2p.address_keys import address_key

ONE_HOST = [f"2001:db8:5:7::{n:x}" for n in range(1, 9)]  # one /64
ANOTHER_HOST = "2001:db8:5:8::1"


def test_an_address_key_is_the_ipv4_address_or_the_ipv6_slash_64() -> None:
    assert {address_key(a) for a in ONE_HOST} == {"2001:db8:5:7::/64"}
    assert address_key(ANOTHER_HOST) == "2001:db8:5:8::/64"
    assert address_key("::ffff:192.0.2.7") == address_key("192.0.2.7") == "192.0.2.7"
    assert address_key("::1") == "::1"
    assert address_key("fe80::1%eth0") != address_key("fe80::2%eth0")  # one link, two hosts
    assert address_key("") == "" and address_key("unknown") == "unknown"


def test_a_nat64_address_is_the_ipv4_address_it_embeds() -> None:
    """Behind a NAT64 or SIIT translator (RFC 6052's well-known prefix 64:ff9b::/96) each
    IPv4 client has its own key, the one it has when it connects without the translator;
    as a /64 all of them shared one."""
    assert address_key("64:ff9b::192.0.2.7") == address_key("64:ff9b::c000:207") == "192.0.2.7"
    assert address_key("64:ff9b::198.51.100.9") == "198.51.100.9"
    assert address_key("64:ff9b::1:c000:207") == "64:ff9b::/64"  # outside the /96
    limits = ClientLimits(clock=lambda: 100.0, exempt=frozenset())
    _, burst = RATES["verify"]
    for _ in range(int(burst)):
        assert limits.admit("64:ff9b::192.0.2.7", "verify").retry_after_s is None
    assert limits.admit("192.0.2.7", "verify").retry_after_s is not None
    assert limits.admit("64:ff9b::192.0.2.8", "verify").retry_after_s is None


class _Handler:
    def __init__(self) -> None:
        self.closed = False
        self._request_in_progress = False

    def force_close(self) -> None:
        self.closed = True


async def test_connections_from_one_slash_64_share_one_addresss_cap() -> None:
    server = LimitedServer(mock.Mock(), connections_max=100, per_source_max=3)
    handlers = []
    for address in [*ONE_HOST[:5], ANOTHER_HOST, "192.0.2.7", "::ffff:192.0.2.7",
                    "::ffff:192.0.2.7", "::ffff:192.0.2.7"]:
        handler = _Handler()
        transport = mock.Mock()
        transport.get_extra_info.return_value = (address, 4000, 0, 0)
        server.connection_made(handler, transport)  # type: ignore[arg-type]
        handlers.append(handler)
    await asyncio.sleep(0)  # refused ones are closed on the loop's next turn
    assert [h.closed for h in handlers] == [False] * 3 + [True] * 2 + [False] * 4 + [True]


def test_a_rate_is_shared_by_one_slash_64() -> None:
    limits = ClientLimits(clock=lambda: 100.0, exempt=frozenset())  # no refill meanwhile
    _, burst = RATES["verify"]
    for n in range(int(burst)):
        assert limits.admit(ONE_HOST[n % len(ONE_HOST)], "verify").retry_after_s is None
    assert limits.admit(ONE_HOST[-1], "verify").retry_after_s is not None
    assert limits.admit(ANOTHER_HOST, "verify").retry_after_s is None


def _request(app: web.Application, address: str) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = (
        lambda name, default=None: (address, 4000, 0, 0) if name == "peername" else default)
    return make_mocked_request("POST", "/credentials/verify", app=app, transport=transport)


async def test_vc_places_are_shared_by_one_slash_64() -> None:
    app = web.Application()
    app[LIMITS] = ClientLimits(exempt=frozenset())
    app[VC] = VcSettings(pool=ThreadPoolExecutor(1))
    try:
        async with verifying_for(_request(app, ONE_HOST[0])), \
                verifying_for(_request(app, ONE_HOST[1])):
            assert MAX_VC_IN_FLIGHT_PER_SOURCE == 2
            with pytest.raises(web.HTTPTooManyRequests):
                async with verifying_for(_request(app, ONE_HOST[2])):
                    pass
            async with verifying_for(_request(app, ANOTHER_HOST)):
                pass
        held: dict[str, int] = {}
        await in_vc_pool(_request(app, ONE_HOST[3]),
                         lambda: held.update(app[VC].in_flight.held))
        assert held == {"2001:db8:5:7::/64": 1}
    finally:
        app[VC].pool.shutdown()

