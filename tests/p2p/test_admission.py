"""The pure inbound-handshake admission policy: per-source and shared limits, eviction."""

from __future__ import annotations

import pytest

from p2p import Limits
from p2p.admission import HandshakeRates, PendingHandshakes, UnlistedConnections
from p2p.connection import resolve_hosts
from tests.p2p.helpers import make_node

PEER_HOST = "10.0.0.1"


def pending(per_source: int = 2, unknown_total: int = 3) -> PendingHandshakes:
    return PendingHandshakes(
        per_source_max=per_source, unknown_total_max=unknown_total, reserved_sources={PEER_HOST}
    )


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PendingHandshakes(per_source_max=0, unknown_total_max=1, reserved_sources=())
    with pytest.raises(ValueError):
        PendingHandshakes(per_source_max=1, unknown_total_max=0, reserved_sources=())


def test_a_source_at_its_limit_evicts_its_own_oldest() -> None:
    table = pending(per_source=2, unknown_total=10)
    first, second = table.admit("6.6.6.6"), table.admit("6.6.6.6")
    assert first.evicted == second.evicted == ()
    third = table.admit("6.6.6.6")
    assert third.evicted == (first.ticket,)
    assert len(table) == 2
    # Another source is untouched by the flood.
    assert table.admit("7.7.7.7").evicted == ()


def test_unknown_sources_share_slots_and_the_busiest_loses() -> None:
    table = pending(per_source=5, unknown_total=3)
    flood = [table.admit("6.6.6.6") for _ in range(2)]
    other = table.admit("7.7.7.7")
    newcomer = table.admit("8.8.8.8")
    assert newcomer.evicted == (flood[0].ticket,)
    # Now 6.6.6.6 and 7.7.7.7 hold one each: the tie goes to the older one.
    assert table.admit("9.9.9.9").evicted == (flood[1].ticket,)
    assert table.admit("9.9.9.9").evicted == (other.ticket,)


def test_a_silent_handshake_is_evicted_before_one_whose_hello_arrived() -> None:
    """Silent sockets from fresh addresses, one each, evicted the oldest pending handshake
    whatever it was: a listed follower a network's round trips away never got in (0 of 19
    at 680 a second)."""
    table = pending(per_source=5, unknown_total=3)
    follower = table.admit("5.5.5.5")
    table.heard(follower.ticket)
    silent = [table.admit(f"6.6.6.{n}") for n in range(2)]
    assert table.admit("6.6.6.9").evicted == (silent[0].ticket,)  # not the older follower
    assert table.admit("6.6.6.8").evicted == (silent[1].ticket,)
    table.heard(12345)  # a ticket never admitted (or released): nothing to mark
    for ticket in [t.ticket for t in (follower, *silent)]:
        table.release(ticket)
    everyone_heard = pending(per_source=5, unknown_total=2)
    a, b = everyone_heard.admit("1.1.1.1"), everyone_heard.admit("2.2.2.2")
    everyone_heard.heard(a.ticket)
    everyone_heard.heard(b.ticket)
    assert everyone_heard.admit("3.3.3.3").evicted == (a.ticket,)  # the oldest, as before


def test_a_configured_peer_host_is_outside_the_shared_slots() -> None:
    table = pending(per_source=2, unknown_total=2)
    peer = table.admit(PEER_HOST)
    for _ in range(10):  # unknown sources churn through their own slots only
        assert peer.ticket not in table.admit("6.6.6.6").evicted
        assert peer.ticket not in table.admit("7.7.7.7").evicted
    assert table.admit(PEER_HOST).evicted == ()  # and it never waits for theirs
    assert len(table) == 4


def test_release_frees_the_slot_and_is_idempotent() -> None:
    table = pending(per_source=1, unknown_total=1)
    first = table.admit("6.6.6.6")
    table.release(first.ticket)
    table.release(first.ticket)
    assert len(table) == 0
    assert table.admit("7.7.7.7").evicted == ()


def test_reserving_a_busy_source_moves_it_out_of_the_shared_slots() -> None:
    table = pending(per_source=5, unknown_total=2)
    table.admit("6.6.6.6")
    table.admit("7.7.7.7")
    table.reserve({"6.6.6.6"})
    assert table.admit("8.8.8.8").evicted == ()  # 6.6.6.6 no longer takes a shared slot
    assert len(table.admit("9.9.9.9").evicted) == 1


async def test_host_names_resolve_to_the_addresses_inbound_connections_come_from() -> None:
    # Only names /etc/hosts answers: tests send nothing beyond 127.0.0.0/8.
    assert await resolve_hosts(["127.0.0.2"]) == {"127.0.0.2"}
    assert "127.0.0.1" in await resolve_hosts(["localhost"])


def test_a_peer_manager_counts_handshakes_by_address_key() -> None:
    """An IPv6 source is its /64 (p2p.address_keys), configured peers' too: the peer
    manager hands its admission keys, not addresses."""
    node = make_node(1, dial=[("2001:db8:5:7::1", 9000)], allowed=set())
    assert node.manager._admission._reserved == {"2001:db8:5:7::/64"}


def test_each_source_starts_handshakes_at_its_rate_with_a_burst() -> None:
    rates = HandshakeRates(per_s=2.0, burst=4, sources_max=2)
    assert [rates.allow("a", 0.0) for _ in range(5)] == [True] * 4 + [False]
    assert rates.allow("b", 0.0)  # another source has its own burst
    assert rates.allow("a", 0.5) and not rates.allow("a", 0.5)  # refilled at 2 a second
    assert rates.allow("c", 0.5)  # forgets the least recently seen, "b"
    # never more than the burst, however long it was quiet
    assert [rates.allow("a", 100.0) for _ in range(5)] == [True] * 4 + [False]
    assert rates.allow("a", -50.0) is False  # a clock set back refills nothing


def test_handshake_rates_need_positive_bounds() -> None:
    for kwargs in ({"per_s": 0.0, "burst": 4}, {"per_s": 1.0, "burst": 0},
                   {"per_s": 1.0, "burst": 4, "sources_max": 0}):
        with pytest.raises(ValueError):
            HandshakeRates(**kwargs)  # type: ignore[arg-type]


def test_a_shared_rate_counts_every_source_together() -> None:
    """Each new address had a bucket of its own: 484 connections a second from fresh
    loopback addresses all went on to a handshake."""
    unlisted = UnlistedConnections(per_s=2.0, burst=3)
    fresh = (f"127.0.{n // 256}.{n % 256}" for n in range(1, 1_000))

    def admitted(now: float, times: int = 1) -> list[bool]:
        return [unlisted.admit(next(fresh), now, ()) for _ in range(times)]
    assert admitted(100.0, 4) == [True, True, True, False]
    assert admitted(100.25) == [False]  # half a token
    assert admitted(100.5) == [True]
    assert admitted(1_000.0, 4) == [True, True, True, False]  # the burst caps the refill
    assert admitted(999.0) == [False]  # a clock going back gives nothing
    assert unlisted.refused == 4
    with pytest.raises(ValueError):
        UnlistedConnections(per_s=0, burst=1)
    with pytest.raises(ValueError):
        UnlistedConnections(per_s=1, burst=0.5)


def test_unlisted_connections_share_the_rate_but_a_proven_source_does_not_wait() -> None:
    follower, stranger = b"f" * 32, b"s" * 32
    gate = UnlistedConnections(per_s=1.0, burst=2, proven_max=2)
    assert [gate.admit(f"127.1.0.{n}", 10.0, {follower}) for n in range(5)] == [
        True, True, False, False, False]
    assert gate.refused == 3
    assert gate.admit("10.9.9.9", 10.0, {follower}) is False  # the follower waits, too
    gate.proven("10.9.9.9", follower)
    assert all(gate.admit("10.9.9.9", 10.0, {follower}) for _ in range(10))
    assert gate.refused == 4
    # Only while its key is listed; and only so many sources are remembered.
    assert gate.admit("10.9.9.9", 10.0, {stranger}) is False
    gate.proven("10.0.0.1", follower)
    gate.proven("10.0.0.2", follower)
    assert gate.admit("10.9.9.9", 10.0, {follower}) is False
    assert gate.admit("10.0.0.2", 10.0, {follower}) is True
    with pytest.raises(ValueError):
        UnlistedConnections(per_s=1.0, burst=1, proven_max=0)


def test_the_unlisted_budget_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Limits(unlisted_connections_s=0)
    with pytest.raises(ValueError):
        Limits(unlisted_connections_burst=0)
