"""Webhooks end to end: a real loopback HTTP receiver, Stripe-style signatures, retries with backoff up to a
bound, replay, SSRF refusal, tenant isolation, and a broken plugin that must never break a sale."""

from __future__ import annotations

import json
import time

import pytest
from smtp_server import HttpReceiver
from test_purchase_support import make_event, make_type

from core import db as database

PURCHASE = "/client/events/tickets/purchase"


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every socket webhooks open, recorded; anything but loopback fails the test (the workplace's rule, and the
    proof that refusals happen before connecting)."""
    import ipaddress
    import socket

    from plugins.automation import transport

    opened: list[str] = []

    def loopback_only(address, *args, **kwargs):
        opened.append(address[0])
        assert ipaddress.ip_address(address[0]).is_loopback, f"webhook connected to {address[0]}"
        return socket.create_connection(address, *args, **kwargs)

    monkeypatch.setattr(transport, "create_connection", loopback_only)
    return opened


@pytest.fixture
def dns(monkeypatch):
    """A stub resolver for webhook host names (`dns.names[host] = [...]`); literals resolve to themselves."""
    from plugins.automation import urls

    real = urls.resolve
    names: dict[str, list[str]] = {}
    lookups: list[str] = []

    def resolve(host, port):
        lookups.append(host)
        return names[host] if host in names else real(host, port)

    monkeypatch.setattr(urls, "resolve", resolve)
    resolve.names, resolve.lookups = names, lookups
    return resolve


@pytest.fixture
def allow_loopback(config, monkeypatch):
    """The operator switch (BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE=1) the loopback receiver needs."""
    monkeypatch.setattr(config, "webhooks_allow_private", True)


@pytest.fixture
def hooked(tenant, receiver, allow_loopback):
    """A tenant with automation enabled and one endpoint subscribed to every event type."""
    from plugins.automation.service import EVENT_TYPES

    tenant.enable("automation")
    response = tenant.staff.post("/automation/endpoints", json={"url": receiver.url,
                                                                "eventTypes": list(EVENT_TYPES)})
    assert response.status_code == 201, response.get_json()
    tenant.endpoint = response.get_json()
    return tenant


def deliveries(tenant, **params) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = tenant.staff.get(f"/automation/deliveries?page[size]=50&{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def buy_free(tenant, quantity: int = 1) -> dict:
    event = make_event(tenant)
    free = make_type(tenant, event, price=0, capacity=10)
    response = tenant.customer().post(PURCHASE, json={"eventId": event,
                                                      "tickets": [{"ticketTypeId": free, "quantity": quantity}]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_purchase_delivers_signed_events_that_verify(hooked, receiver):
    from plugins.automation import signing

    secret = hooked.endpoint["secret"]
    assert secret.startswith("whsec_")
    body = buy_free(hooked, 2)
    types = [r.json()["type"] for r in receiver.received]
    assert types == ["event.published", "booking.confirmed", "tickets.issued"]  # publishing is over HTTP too
    for request in receiver.received:
        header = request.headers["Boxoffice-Signature"]
        stamp = int(header.split(",")[0].removeprefix("t="))
        assert abs(time.time() - stamp) < 60
        assert signing.verify(secret, request.body, header)
        assert not signing.verify(secret, request.body + b" ", header)
        assert not signing.verify("whsec_other", request.body, header)
        event = request.json()
        assert set(event) == {"id", "type", "created", "org", "data"}
        assert event["id"].startswith("evt_") and event["org"] == hooked.orgid
    issued = receiver.received[2].json()["data"]
    assert issued["bookingId"] == body["bookingId"]
    assert sorted(t["id"] for t in issued["tickets"]) == sorted(t["id"] for t in body["tickets"])
    assert len({r.json()["id"] for r in receiver.received}) == 3

    rows = deliveries(hooked)
    assert [(d["status"], d["attempts"], d["lastStatusCode"]) for d in rows] == [("succeeded", 1, 200)] * 3
    listed = hooked.staff.get("/automation/endpoints").get_json()
    assert [e["id"] for e in listed] == [hooked.endpoint["id"]] and "secret" not in listed[0]


def test_a_holder_edit_delivers_ticket_holder_changed(hooked, receiver):
    event = make_event(hooked)
    editable = make_type(hooked, event, price=0, capacity=10, editable=True)
    fan = hooked.customer()
    bought = fan.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": editable, "quantity": 1}]})
    ticket = bought.get_json()["tickets"][0]
    edited = fan.patch(f"/client/events/tickets/{ticket['id']}", json={"holderEmail": "new@example.com"})
    assert edited.status_code == 200, edited.get_json()
    (delivered,) = [r.json() for r in receiver.received if r.json()["type"] == "ticket.holder_changed"]
    assert delivered["data"]["ticket"]["holderEmail"] == "new@example.com"
    assert delivered["data"]["edit"] == {"id": edited.get_json()["edit"]["id"], "previousHolderName": "Test Fan",
                                         "previousHolderEmail": fan.email, "fee": 0, "currency": "USD"}


def test_failing_receiver_is_retried_with_backoff_and_not_lost(hooked, receiver):
    from plugins.automation import service
    from plugins.automation.models import Delivery

    receiver.statuses = [500, 503]  # the first two attempts fail, the third succeeds
    notify_published(hooked)
    [row] = deliveries(hooked)
    assert (row["status"], row["attempts"], row["lastStatusCode"], row["lastError"]) == ("retrying", 1, 500,
                                                                                         "HTTP 500")
    assert row["nextAttemptAt"] is not None
    with database.db.connection_context():
        with pytest.raises(service.DeliveryFailed):  # what the queue's retry runs, one backoff later
            service.deliver(hooked.orgid, row["id"])
        assert Delivery.get_by_id(row["id"]).last_status_code == 503
        done = service.deliver(hooked.orgid, row["id"])
        assert (done.status, done.attempts, done.last_status_code) == ("succeeded", 3, 200)
        assert service.deliver(hooked.orgid, row["id"]).attempts == 3  # a late duplicate job does nothing
    assert [r.json()["id"] for r in receiver.received] == [row["eventId"]] * 3
    assert [r.json()["type"] for r in receiver.received] == ["event.published"] * 3
    assert service.retry_delay_after(1) == 60 and service.retry_delay_after(2) == 180
    assert service.retry_delay_after(5) == 60 * 81


def notify_published(tenant) -> str:
    """Create and publish an event over HTTP (the events service fires `event_published`)."""
    return make_event(tenant)


def test_gives_up_after_the_bound_then_replay_delivers(hooked, receiver):
    from plugins.automation import service

    receiver.statuses = [500] * (service.MAX_ATTEMPTS + 5)
    body = buy_free(hooked)
    rows = {d["eventType"]: d for d in deliveries(hooked)}
    row = rows["tickets.issued"]
    with database.db.connection_context():
        for _ in range(service.MAX_ATTEMPTS - 2):
            with pytest.raises(service.DeliveryFailed):
                service.deliver(hooked.orgid, row["id"])
        final = service.deliver(hooked.orgid, row["id"])
    assert (final.status, final.attempts, final.next_attempt_at) == ("failed", service.MAX_ATTEMPTS, None)
    receiver.statuses = []  # the receiver is back
    replayed = hooked.staff.post(f"/automation/deliveries/{row['id']}/replay")
    assert replayed.status_code == 202, replayed.get_json()
    assert (replayed.get_json()["status"], replayed.get_json()["attempts"]) == ("succeeded", 1)
    last = receiver.received[-1]
    assert last.json()["id"] == row["eventId"] and last.json()["data"]["bookingId"] == body["bookingId"]
    from plugins.automation.signing import verify

    assert verify(hooked.endpoint["secret"], last.body, last.headers["Boxoffice-Signature"])


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hooks", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                                 "http://localhost/x", "http://[::1]/x", "http://192.168.0.10/", "ftp://example.com/x",
                                 "file:///etc/passwd", "http://user:pw@example.com/", "not a url"])
def test_internal_and_odd_urls_are_refused_without_the_operator_switch(tenant, url):
    tenant.enable("automation")
    response = tenant.staff.post("/automation/endpoints", json={"url": url, "eventTypes": ["tickets.issued"]})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["type"] in ("url_not_allowed", "validation_error")
    if url.startswith("http://") and "@" not in url:
        assert response.get_json()["type"] == "url_not_allowed"
    assert tenant.staff.get("/automation/endpoints").get_json() == []


def test_delivery_rechecks_the_url_when_the_switch_is_off(hooked, receiver, config, monkeypatch):
    monkeypatch.setattr(config, "webhooks_allow_private", False)
    notify_published(hooked)
    [row] = deliveries(hooked)
    assert row["status"] == "retrying" and "loopback" in row["lastError"] and receiver.received == []


TEREDO_LOOPBACK = "2001:0:4136:e378:8000:63bf:80ff:fffe"  # Teredo client = inverted low 32 bits = 127.0.0.1
ALWAYS_REFUSED = ["http://192.88.99.1/", "http://[2002:a9fe:a9fe::]/", "http://169.254.169.254/latest/meta-data",
                  "https://[64:ff9b::a9fe:a9fe]/"]


@pytest.mark.parametrize("url", ["http://100.64.0.1/", "http://[::ffff:127.0.0.1]/x", "http://[64:ff9b::7f00:1]/",
                                 f"http://[{TEREDO_LOOPBACK}]:8080/", *ALWAYS_REFUSED])
def test_special_purpose_literals_are_refused_when_saved(tenant, url, connections):
    tenant.enable("automation")
    response = tenant.staff.post("/automation/endpoints", json={"url": url, "eventTypes": ["tickets.issued"]})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["type"] == "url_not_allowed" and "Webhooks only go to public addresses" in body["message"]
    assert tenant.staff.get("/automation/endpoints").get_json() == [] and connections == []


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_the_private_network_switch_never_opens_metadata_or_relay_ranges(tenant, url, allow_loopback):
    tenant.enable("automation")
    response = tenant.staff.post("/automation/endpoints", json={"url": url, "eventTypes": ["tickets.issued"]})
    assert response.status_code == 422 and response.get_json()["type"] == "url_not_allowed"


def test_a_name_that_resolves_to_loopback_at_delivery_fails_without_connecting(tenant, dns, connections):
    tenant.enable("automation")
    dns.names["hooks.example.test"] = ["93.184.215.14"]  # public when saved (checked only, never contacted)
    saved = tenant.staff.post("/automation/endpoints", json={"url": "http://hooks.example.test/in",
                                                             "eventTypes": ["event.published"]})
    assert saved.status_code == 201, saved.get_json()
    dns.names["hooks.example.test"] = ["127.0.0.1"]  # then rebound to loopback
    notify_published(tenant)
    [row] = deliveries(tenant)
    assert (row["status"], row["attempts"], row["lastStatusCode"]) == ("retrying", 1, None)
    assert "resolves to 127.0.0.1 (Loopback" in row["lastError"] and connections == []


def test_delivery_connects_to_the_address_it_checked(hooked, receiver, dns, connections):
    """One lookup per attempt; the socket goes to that address, the Host header keeps the name."""
    port = receiver.url.split(":")[2].split("/")[0]
    dns.names["receiver.example.test"] = ["127.0.0.1"]
    response = hooked.staff.post("/automation/endpoints", json={"url": f"http://receiver.example.test:{port}/named",
                                                                "eventTypes": ["event.published"]})
    assert response.status_code == 201, response.get_json()
    dns.lookups.clear()
    connections.clear()
    notify_published(hooked)
    named = [r for r in receiver.received if r.path == "/named"]
    assert [r.headers["Host"] for r in named] == [f"receiver.example.test:{port}"]
    assert dns.lookups.count("receiver.example.test") == 1 and connections.count("127.0.0.1") == 2


def test_a_redirect_to_a_refused_address_is_not_followed(hooked, receiver, connections):
    receiver.statuses, receiver.location = [302], "http://169.254.169.254/latest/meta-data/"
    notify_published(hooked)
    [row] = deliveries(hooked)
    assert (row["status"], row["lastStatusCode"]) == ("retrying", 302)
    assert row["lastError"].startswith("HTTP 302: redirects are not followed")
    assert connections == ["127.0.0.1"] and len(receiver.received) == 1


def test_bad_input_isolation_and_plugin_switch(hooked, other_tenant):
    bad_type = hooked.staff.post("/automation/endpoints", json={"url": "https://example.com/h",
                                                                "eventTypes": ["ticket.eaten"]})
    assert bad_type.status_code == 422 and bad_type.get_json()["type"] == "validation_error"
    empty = hooked.staff.post("/automation/endpoints", json={"url": "https://example.com/h", "eventTypes": []})
    assert empty.status_code == 422
    assert hooked.staff.post("/automation/endpoints", data="{", headers={"Content-Type": "application/json"}
                             ).status_code == 400
    endpoint_id = hooked.endpoint["id"]
    other_tenant.enable("automation")
    assert other_tenant.staff.delete(f"/automation/endpoints/{endpoint_id}").status_code == 404
    foreign = other_tenant.staff.get(f"/automation/deliveries?endpointId={endpoint_id}")
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "endpoint_not_found"
    assert other_tenant.staff.post("/automation/deliveries/nope/replay").get_json()["type"] == "delivery_not_found"
    assert hooked.customer().get("/automation/endpoints").status_code == 403
    plain = other_tenant.staff.get("/automation/endpoints")
    assert plain.status_code == 200
    from conftest import make_tenant

    off = make_tenant(hooked.app, "No automation").staff.get("/automation/endpoints")
    assert off.status_code == 404 and off.get_json()["type"] == "plugin_not_enabled"
    assert hooked.staff.delete(f"/automation/endpoints/{endpoint_id}").status_code == 204
    assert hooked.staff.get("/automation/endpoints").get_json() == []


def test_lifecycle_through_http_transfer_cancel_and_payload_has_no_claim_token(hooked, receiver):
    fan_body = buy_free(hooked, 2)
    first, second = (t["id"] for t in fan_body["tickets"])
    moved = hooked.staff.post(f"/events/tickets/{first}/transfer", json={"toEmail": "friend@example.com"})
    assert moved.status_code in (200, 201), moved.get_json()
    assert hooked.staff.post(f"/events/tickets/{second}/cancel").status_code == 200
    events = [r.json() for r in receiver.received]
    assert [e["type"] for e in events] == ["event.published", "booking.confirmed", "tickets.issued",
                                           "ticket.transferred", "ticket.cancelled"]
    transferred = events[3]["data"]
    assert transferred["oldTicket"]["id"] == first and transferred["transfer"]["toEmail"] == "friend@example.com"
    assert "token" not in json.dumps(transferred).lower()
    assert events[4]["data"]["ticket"]["status"] == "cancelled"


class BrokenPlugin:
    """A plugin whose lifecycle hooks always raise."""

    calls = 0

    @staticmethod
    def _boom():
        BrokenPlugin.calls += 1
        raise RuntimeError("boom")


def _broken_module():
    from core.hookspecs import hookimpl

    class Broken:
        @hookimpl
        def tickets_issued(self, org, booking, tickets):
            BrokenPlugin._boom()

        @hookimpl
        def booking_confirmed(self, org, booking):
            BrokenPlugin._boom()

    return Broken()


@pytest.fixture
def broken_plugin(app):
    from core.plugins import get_host

    host = get_host()
    host.register(_broken_module(), "broken-test-plugin")
    host._subset_cache.clear()
    yield "broken-test-plugin"
    host.pm.unregister(name="broken-test-plugin")
    host._subset_cache.clear()
    host.forget()


def test_a_plugin_that_raises_never_breaks_the_sale(hooked, receiver, broken_plugin):
    hooked.enable(broken_plugin)
    BrokenPlugin.calls = 0
    body = buy_free(hooked, 2)
    assert body["status"] == "confirmed" and len(body["tickets"]) == 2
    assert BrokenPlugin.calls == 2
    for ticket in body["tickets"]:
        mine = hooked.staff.get(f"/events/tickets/{ticket['id']}")
        assert mine.status_code == 200 and mine.get_json()["status"] == "valid"


def test_a_plugin_that_raises_does_not_stop_the_other_plugins(hooked, receiver, broken_plugin):
    hooked.enable(broken_plugin)
    buy_free(hooked, 1)
    assert [r.json()["type"] for r in receiver.received] == ["event.published", "booking.confirmed",
                                                             "tickets.issued"]


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """An https receiver on 127.0.0.1 whose certificate names only `hooks.example.test`; webhooks trust it."""
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from plugins.automation import transport

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_file, key_file)
    sni: list[str | None] = []
    server_side.sni_callback = lambda sock, server_name, context: sni.append(server_name)
    monkeypatch.setattr(transport, "_TLS", ssl.create_default_context(cafile=str(cert_file)))
    server = HttpReceiver(tls=server_side).start()
    server.sni = sni
    yield server
    server.stop()


def test_https_goes_to_the_checked_address_with_sni_and_a_verified_certificate(tenant, tls_receiver, dns,
                                                                               allow_loopback, connections):
    tenant.enable("automation")
    port = tls_receiver.url.split(":")[2].split("/")[0]
    dns.names.update({"hooks.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    for host in ("hooks.example.test", "other.example.test"):
        saved = tenant.staff.post("/automation/endpoints", json={"url": f"https://{host}:{port}/in",
                                                                 "eventTypes": ["event.published"]})
        assert saved.status_code == 201, saved.get_json()
    notify_published(tenant)
    outcome = {d["endpointId"]: d for d in deliveries(tenant)}
    endpoints = {e["url"].split("//")[1].split(":")[0]: e["id"] for e in tenant.staff.get(
        "/automation/endpoints").get_json()}
    good, bad = outcome[endpoints["hooks.example.test"]], outcome[endpoints["other.example.test"]]
    assert (good["status"], good["lastStatusCode"]) == ("succeeded", 200)
    assert [r.headers["Host"] for r in tls_receiver.received] == [f"hooks.example.test:{port}"]
    assert bad["status"] == "retrying" and "CERTIFICATE_VERIFY_FAILED" in bad["lastError"]
    assert "other.example.test" in bad["lastError"]  # checked against the name, not the IP it connected to
    assert sorted(tls_receiver.sni) == ["hooks.example.test", "other.example.test"]
    assert set(connections) == {"127.0.0.1"}


def test_a_transfer_by_username_emits_ticket_transferred_naming_the_account(hooked, receiver):
    (ticket,) = buy_free(hooked, 1)["tickets"]
    registered = hooked.guest.post("/client/auth/register", json={
        "email": "member@example.com", "password": "correct-horse-9", "username": "Member.One"})
    assert registered.status_code == 201, registered.get_json()
    moved = hooked.staff.post(f"/events/tickets/{ticket['id']}/transfer", json={"username": "member.one"})
    assert moved.status_code == 201, moved.get_json()
    events = [r.json() for r in receiver.received]
    assert events[-1]["type"] == "ticket.transferred"
    transfer = events[-1]["data"]["transfer"]
    assert transfer["toCustomerId"] == registered.get_json()["customer"]["id"]
    assert transfer["toEmail"] == "member@example.com"
    assert events[-1]["data"]["newTicket"]["id"] == moved.get_json()["newTicket"]["id"]
