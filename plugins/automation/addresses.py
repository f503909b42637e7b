"""Which IP addresses a webhook may reach: the IANA special-purpose ranges as data, and the one judgement on them.

Pure functions over `ipaddress` values; never resolves a name or opens a socket (see `urls` and `transport`).

The tables follow the IANA IPv4 and IPv6 Special-Purpose Address Registries, plus the multicast blocks and
the IPv6 space IANA has not allocated for global unicast. The longest matching prefix decides, as in routing:
- `never`: refused, whatever the operator says (link-local holds cloud metadata at 169.254.169.254);
- `private`: a private network (RFC 1918, shared/CGN space, loopback, unique-local); refused unless the
  operator sets BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE=1 for receivers on their own network;
- `inside`: a translation or tunnel prefix (IPv4-mapped, NAT64, 6to4, Teredo); the IPv4 address it carries is
  what the packets reach, so that address is judged instead.
A range with `wraps` always has its embedded IPv4 address judged too (local-use NAT64 is both private and
translated). An address no row matches is public.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Reach = Literal["never", "private", "inside"]
Unwrap = Callable[[ipaddress.IPv6Address], tuple[ipaddress.IPv4Address, ...]]


def _mapped(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return (ip.ipv4_mapped,)


def _last_32_bits(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """RFC 6052 with a /96 prefix: the IPv4 address is the low 32 bits."""
    return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)


def _sixtofour(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return (ip.sixtofour,)


def _teredo(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """Teredo (RFC 4380): the server (bits 32-63) and the client, the inverted low 32 bits; both are judged."""
    return ip.teredo


@dataclass(frozen=True)
class SpecialRange:
    """One row of the refusal table: a prefix, its registry name, how it is judged and what it may carry."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    name: str
    reach: Reach = "never"
    wraps: Unwrap | None = None


def _rows(rows: list[tuple]) -> tuple[SpecialRange, ...]:
    return tuple(SpecialRange(ipaddress.ip_network(prefix), name, *rest) for prefix, name, *rest in rows)


# IANA IPv4 Special-Purpose Address Registry (RFC 6890 and later), and 224.0.0.0/4 multicast (RFC 5771).
IPV4_SPECIAL = _rows([
    ("0.0.0.0/8", "This network (RFC 791)"),
    ("0.0.0.0/32", "This host on this network (RFC 1122)"),
    ("10.0.0.0/8", "Private-Use (RFC 1918)", "private"),
    ("100.64.0.0/10", "Shared Address Space, carrier-grade NAT (RFC 6598)", "private"),
    ("127.0.0.0/8", "Loopback (RFC 1122)", "private"),
    ("169.254.0.0/16", "Link Local, cloud metadata (RFC 3927)"),
    ("172.16.0.0/12", "Private-Use (RFC 1918)", "private"),
    ("192.0.0.0/24", "IETF Protocol Assignments (RFC 6890)"),
    ("192.0.0.0/29", "IPv4 Service Continuity Prefix (RFC 7335)"),
    ("192.0.0.8/32", "IPv4 dummy address (RFC 7600)"),
    ("192.0.0.9/32", "Port Control Protocol Anycast (RFC 7723)"),
    ("192.0.0.10/32", "Traversal Using Relays around NAT Anycast (RFC 8155)"),
    ("192.0.0.170/31", "NAT64/DNS64 Discovery (RFC 7050)"),
    ("192.0.2.0/24", "Documentation, TEST-NET-1 (RFC 5737)"),
    ("192.31.196.0/24", "AS112-v4 (RFC 7535)"),
    ("192.52.193.0/24", "AMT (RFC 7450)"),
    ("192.88.99.0/24", "Deprecated 6to4 Relay Anycast (RFC 7526)"),
    ("192.88.99.2/32", "6a44-relay anycast address (RFC 6751)"),
    ("192.168.0.0/16", "Private-Use (RFC 1918)", "private"),
    ("192.175.48.0/24", "Direct Delegation AS112 Service (RFC 7534)"),
    ("198.18.0.0/15", "Benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "Documentation, TEST-NET-2 (RFC 5737)"),
    ("203.0.113.0/24", "Documentation, TEST-NET-3 (RFC 5737)"),
    ("224.0.0.0/4", "Multicast (RFC 5771)"),
    ("240.0.0.0/4", "Reserved (RFC 1112)"),
    ("255.255.255.255/32", "Limited Broadcast (RFC 919)"),
])

# IANA IPv6 Special-Purpose Address Registry (RFC 6890 and later), ff00::/8 multicast (RFC 4291), and the parts
# of the IPv6 Address Space registry outside global unicast 2000::/3 ("Reserved by IETF"), which cover the
# deprecated IPv4-compatible ::a.b.c.d and site-local fec0::/10.
IPV6_SPECIAL = _rows([
    ("::/3", "Reserved by IETF, outside global unicast (RFC 4291)"),
    ("4000::/2", "Reserved by IETF, outside global unicast (RFC 4291)"),
    ("8000::/1", "Reserved by IETF, outside global unicast (RFC 4291)"),
    ("::/128", "Unspecified Address (RFC 4291)"),
    ("::1/128", "Loopback Address (RFC 4291)", "private"),
    ("::ffff:0:0/96", "IPv4-mapped Address (RFC 4291)", "inside", _mapped),
    ("64:ff9b::/96", "IPv4-IPv6 Translation, well-known NAT64 prefix (RFC 6052)", "inside", _last_32_bits),
    ("64:ff9b:1::/48", "IPv4-IPv6 Translation, local-use NAT64 prefix (RFC 8215)", "private", _last_32_bits),
    ("100::/64", "Discard-Only Address Block (RFC 6666)"),
    ("100:0:0:1::/64", "Dummy IPv6 Prefix (RFC 9780)"),
    ("2001::/23", "IETF Protocol Assignments (RFC 2928)"),
    ("2001::/32", "TEREDO (RFC 4380)", "inside", _teredo),
    ("2001:1::1/128", "Port Control Protocol Anycast (RFC 7723)"),
    ("2001:1::2/128", "Traversal Using Relays around NAT Anycast (RFC 8155)"),
    ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast (RFC 9665)"),
    ("2001:2::/48", "Benchmarking (RFC 5180)"),
    ("2001:3::/32", "AMT (RFC 7450)"),
    ("2001:4:112::/48", "AS112-v6 (RFC 7535)"),
    ("2001:10::/28", "Deprecated, previously ORCHID (RFC 4843)"),
    ("2001:20::/28", "ORCHIDv2 (RFC 7343)"),
    ("2001:30::/28", "Drone Remote ID Protocol Entity Tags (RFC 9374)"),
    ("2001:db8::/32", "Documentation (RFC 3849)"),
    ("2002::/16", "6to4 (RFC 3056)", "inside", _sixtofour),
    ("2620:4f:8000::/48", "Direct Delegation AS112 Service (RFC 7534)"),
    ("3fff::/20", "Documentation (RFC 9637)"),
    ("5f00::/16", "Segment Routing (SRv6) SIDs (RFC 9602)"),
    ("fc00::/7", "Unique-Local (RFC 4193)", "private"),
    ("fd00:ec2::254/128", "Cloud instance metadata, AWS IPv6 (not an IANA row; never opened)"),
    ("fe80::/10", "Link-Local Unicast (RFC 4291)"),
    ("ff00::/8", "Multicast (RFC 4291)"),
])


def special_range(ip: IPAddress) -> SpecialRange | None:
    """The most specific special-purpose range holding `ip`, or None for a public address."""
    table = IPV4_SPECIAL if ip.version == 4 else IPV6_SPECIAL
    matches = [row for row in table if ip in row.network]
    return max(matches, key=lambda row: row.network.prefixlen) if matches else None


def refusal(ip: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why a webhook may not reach `ip` (a sentence naming the range), or None if it may.

    `allow_private` opens the `private` rows only; `never` rows and whatever a translated address carries
    inside are judged the same either way.
    """
    row = special_range(ip)
    if row is None:
        return None
    for inner in row.wraps(ip) if row.wraps else ():
        reason = refusal(inner, allow_private=allow_private)
        if reason:
            return f"{ip} carries {reason}"
    if row.reach == "inside" or (row.reach == "private" and allow_private):
        return None
    return f"{ip} ({row.name}, {row.network})"


def parse(address: str) -> IPAddress:
    """An address as `getaddrinfo` or a URL gives it, without an IPv6 zone (`fe80::1%eth0`); ValueError if not one."""
    return ipaddress.ip_address(address.split("%", 1)[0])
