"""The webhook address judgement as a unit: the IANA special-purpose tables, unwrapping of IPv4-mapped, NAT64,
6to4 and Teredo addresses, the operator switch, and URL checks with a stubbed resolver (no traffic at all)."""

from __future__ import annotations

import ipaddress

import pytest

from plugins.automation import addresses, urls
from plugins.automation.addresses import parse, refusal

# Teredo (RFC 4380): server 65.54.227.120, client = the inverted low 32 bits; 0x80fffffe inverted is 127.0.0.1.
TEREDO_LOOPBACK = "2001:0:4136:e378:8000:63bf:80ff:fffe"

REFUSED_ALWAYS = ["192.88.99.1", "2002:a9fe:a9fe::", "169.254.169.254", "0.0.0.0", "255.255.255.255",
                  "224.0.0.1", "240.0.0.1", "192.0.0.9", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9",
                  "192.31.196.1", "192.52.193.1", "192.175.48.1", "::", "::7f00:1", "100::1", "2001:db8::1",
                  "3fff::1", "5f00::1", "fe80::1%eth0", "ff02::1", "fec0::1", "2001:2::1", "2001:20::1",
                  "64:ff9b::a9fe:a9fe", "::ffff:169.254.169.254", "fd00:ec2::254", "2002:c058:6301::"]
REFUSED_UNLESS_PRIVATE = ["100.64.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.10", "127.0.0.1", "::1",
                          "::ffff:127.0.0.1", "64:ff9b::7f00:1", TEREDO_LOOPBACK, "fd12:3456::1",
                          "64:ff9b:1::808:808", "2002:7f00:1::"]
PUBLIC = ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
          "2002:808:808::1", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"]


@pytest.mark.parametrize("address", REFUSED_ALWAYS)
def test_special_purpose_addresses_are_refused_even_with_the_operator_switch(address):
    assert refusal(parse(address)) is not None
    assert refusal(parse(address), allow_private=True) is not None


@pytest.mark.parametrize("address", REFUSED_UNLESS_PRIVATE)
def test_private_networks_open_only_with_the_operator_switch(address):
    assert refusal(parse(address)) is not None
    assert refusal(parse(address), allow_private=True) is None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert refusal(parse(address)) is None


def test_the_reason_names_the_range_and_the_address_carried_inside():
    assert refusal(parse("100.64.0.1")) == "100.64.0.1 (Shared Address Space, carrier-grade NAT (RFC 6598), " \
                                           "100.64.0.0/10)"
    assert "carries 169.254.169.254 (Link Local" in refusal(parse("2002:a9fe:a9fe::"))
    assert "carries 127.0.0.1 (Loopback" in refusal(parse(TEREDO_LOOPBACK))
    assert "carries 127.0.0.1 (Loopback" in refusal(parse("64:ff9b::7f00:1"))


def test_python_is_global_would_let_these_through():
    """Why the table exists: the standard library calls these global."""
    for address in ("192.88.99.1", "2002:a9fe:a9fe::", "64:ff9b::7f00:1"):
        assert ipaddress.ip_address(address).is_global and refusal(parse(address)) is not None


def test_every_row_is_a_named_network_and_the_most_specific_decides():
    for row in addresses.IPV4_SPECIAL + addresses.IPV6_SPECIAL:
        assert row.name and row.reach in ("never", "private", "inside")
    assert addresses.special_range(parse("2001::1")).name.startswith("TEREDO")
    assert addresses.special_range(parse("2001:1::5")).name.startswith("IETF Protocol Assignments")
    assert addresses.special_range(parse("8.8.8.8")) is None


@pytest.fixture
def resolver(monkeypatch):
    """A stub DNS: host name -> addresses; literals resolve to themselves. Records each lookup."""
    names: dict[str, list[str]] = {}
    lookups: list[str] = []

    def resolve(host, port):
        lookups.append(host)
        try:
            return [str(parse(host))]
        except ValueError:
            return names[host]

    monkeypatch.setattr(urls, "resolve", resolve)
    resolve.names, resolve.lookups = names, lookups
    return resolve


def test_check_url_resolves_once_and_keeps_the_checked_addresses(resolver):
    resolver.names["hooks.example.test"] = ["93.184.215.14", "2606:4700:4700::1111"]
    checked = urls.check_url(" https://hooks.example.test/in/box?x=1#frag ")
    assert (checked.scheme, checked.host, checked.port, checked.target) == ("https", "hooks.example.test", 443,
                                                                            "/in/box?x=1")
    assert checked.addresses == ("93.184.215.14", "2606:4700:4700::1111") and resolver.lookups == [
        "hooks.example.test"]


def test_one_refused_address_among_several_refuses_the_name(resolver):
    resolver.names["mixed.example.test"] = ["93.184.215.14", "127.0.0.1"]
    with pytest.raises(urls.UrlNotAllowed) as refused:
        urls.check_url("http://mixed.example.test/")
    assert "127.0.0.1 (Loopback" in refused.value.message and refused.value.extra == {"address": "127.0.0.1"}


def test_the_request_target_is_sent_percent_encoded(resolver):
    checked = urls.check_url("http://93.184.215.14/hooks/café inbox?q=ü&x=%41")
    assert checked.target == "/hooks/caf%C3%A9%20inbox?q=%C3%BC&x=%41" and checked.host == "93.184.215.14"
