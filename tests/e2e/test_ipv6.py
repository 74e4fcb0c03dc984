"""A consortium whose nodes listen on the IPv6 loopback ([::1]:port) only.

Real `senim node` processes: their API and P2P on ::1, peers given as [::1]:port.
Two validators, both needed for a commit, so a committed transaction shows the P2P
links carry consensus over IPv6. Traffic stays on the loopback.
"""

from __future__ import annotations

import socket
from functools import partial
from pathlib import Path

import pytest

from tests.e2e.harness import Consortium, Member, NodeProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def has_authenticated_peer(node: NodeProcess) -> bool:
    return any(p["authenticated"] for p in node.status()["peers"])


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback (::1) here")
def test_nodes_on_ipv6_loopback_connect_commit_and_write_addresses_in_brackets(
        tmp_path: Path) -> None:
    members = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
               Member("mon", "Ministry of Enlightenment", "ministry", validator=True,
                      runs_node=True),
               Member("enu", "ENU", "university")]
    with Consortium(tmp_path, members, host="::1") as net:
        mshe, mon = net.start_all()
        assert mshe.url.startswith("http://[::1]:")
        for node in (mshe, mon):
            wait_until(partial(has_authenticated_peer, node), 30,
                       f"{node.slug} to be connected to its peer")
        done = net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                       net.member_id("enu"), "--types", "diploma", node=mshe)
        assert "committed" in done.stdout, done.stdout
        assert mon.height() >= 1
        peers = mshe.status()["peers"]
        assert [p["address"].startswith("[::1]:") for p in peers] == [True], peers
        shown = net.cli("status", node=mshe).stdout
        assert "[::1]:" in shown, shown
        log = mshe.log_text()
        assert f"p2p listening on [::1]:{mshe.p2p_port}" in log, mshe.log_tail()
        assert f"serving API on http://[::1]:{mshe.api_port}, P2P on [::1]:{mshe.p2p_port} " \
               f"with 1 peer configured ([::1]:{mon.p2p_port})" in log, mshe.log_tail()
        assert "Traceback" not in log + mon.log_text()
        assert net.stop_all() == {"mshe": 0, "mon": 0}
