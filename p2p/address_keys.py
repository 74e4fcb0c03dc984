"""What counts as one client wherever a limit or a fair share is counted per address.

An IPv4 address is one client. An IPv6 host is commonly given a whole /64 (2^64
addresses, so counting by address would let one host take every place a crowd of
addresses could), so a global or unique-local IPv6 address counts as its /64. The
cost: clients sharing a /64 (a LAN under SLAAC, a provider handing out single
addresses from one /64) share its places, as clients behind one IPv4 NAT share an
address. An IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4 client)
is that IPv4 address, and so is one in the well-known NAT64 prefix 64:ff9b::/96 (RFC
6052: how a NAT64 or SIIT translator in front of an IPv6-only node shows an IPv4
client, its address in the last 32 bits); as a /64, every IPv4 client reaching the node
through the translator would share one key. Loopback and link-local addresses count as
themselves: a link-local /64 is every host on that link. Limits name the key;
exemptions that an operator configures still name exact addresses.
"""

from __future__ import annotations

import ipaddress

IPV6_CLIENT_PREFIX = 64
NAT64_WELL_KNOWN_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


def address_key(address: str) -> str:
    """The client `address` (as a socket gives it) counts as, for per-address limits.
    Anything that is no IP address (empty, a Unix socket's path) is its own key."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip in NAT64_WELL_KNOWN_PREFIX:
        return str(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip.is_loopback or ip.is_link_local:
        return str(ip)
    return str(ipaddress.IPv6Network((int(ip), IPV6_CLIENT_PREFIX), strict=False))
