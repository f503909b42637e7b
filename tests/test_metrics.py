"""`/metrics` in process: who may scrape it (the operator token, or only the metrics port), the counts a sale
and a check-in move, the scrape-time gauges, the latency histogram's labels (route and status, never a tenant
or a raw path), and a plugin's counter (webhook delivery failures).
"""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_purchase_support import guest_purchase, make_event, make_type

from core import db as database
from core.models import OutboxEntry, new_id, utcnow

PURCHASE = "/client/events/tickets/purchase"
LATENCY = "boxoffice_http_request_duration_seconds"


def scrape(app, **kwargs) -> dict[tuple[str, frozenset], float]:
    """Every sample of one scrape with the operator token: {(sample name, labels): value}."""
    token = app.config["BOXOFFICE"].operator_token
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"}, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    return parsed(response.get_data(as_text=True))


def parsed(text: str) -> dict[tuple[str, frozenset], float]:
    """The samples of a Prometheus text exposition."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_scrape_needs_the_operator_token(app, tenant):
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {tenant.staff.token}"},
                    {"Authorization": f"Basic {app.config['BOXOFFICE'].operator_token}"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.get_json()["type"] == "invalid_operator_token"
    assert "boxoffice_holds_active" in {name for name, _ in scrape(app)}


def test_with_a_metrics_address_it_answers_on_that_port_only(app, config, monkeypatch):
    monkeypatch.setattr(config, "metrics_address", "127.0.0.1:9464")
    client = app.test_client()
    served = client.get("/metrics", base_url="http://127.0.0.1:9464")
    assert served.status_code == 200 and b"boxoffice_check_ins_total" in served.data
    token = {"Authorization": f"Bearer {config.operator_token}"}
    elsewhere = client.get("/metrics", headers=token)  # port 80: the API's, even with the operator token
    assert elsewhere.status_code == 404 and elsewhere.get_json()["type"] == "not_found"
    assert client.get("/metrics", headers={**token, "Host": "127.0.0.1:9464"}).status_code == 404


def test_a_sale_and_a_check_in_move_their_tenant_counters(app, tenant, other_tenant):
    event = make_event(tenant)
    free = make_type(tenant, event, price=0, capacity=10)
    paid = make_type(tenant, event, price=5, capacity=10)
    before = scrape(app)

    bought = tenant.customer().post(PURCHASE, json={"eventId": event,
                                                    "tickets": [{"ticketTypeId": free, "quantity": 2}]})
    assert bought.status_code == 201, bought.get_json()
    held = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(paid, 3)]))
    assert held.status_code == 201 and held.get_json()["status"] == "pending"
    after_sale = scrape(app)
    assert value(after_sale, "boxoffice_sales_total", org=tenant.orgid) == value(
        before, "boxoffice_sales_total", org=tenant.orgid) + 1  # the pending hold is not a sale yet
    assert value(after_sale, "boxoffice_tickets_sold_total", org=tenant.orgid) == value(
        before, "boxoffice_tickets_sold_total", org=tenant.orgid) + 2

    marked = tenant.staff.post(f"/events/bookings/{held.get_json()['bookingId']}/mark-paid", json={"reference": "c"})
    assert marked.status_code == 200, marked.get_json()
    ticket_id = bought.get_json()["tickets"][0]["id"]
    assert tenant.staff.post(f"/events/check-in/{ticket_id}", json={}).status_code == 200
    assert tenant.staff.post(f"/events/check-in/{ticket_id}", json={}).status_code == 409  # refused: not counted
    after = scrape(app)
    for name, delta in (("boxoffice_sales_total", 2), ("boxoffice_tickets_sold_total", 5),
                        ("boxoffice_check_ins_total", 1)):
        assert value(after, name, org=tenant.orgid) == value(before, name, org=tenant.orgid) + delta, name
        assert value(after, name, org=other_tenant.orgid) == 0, name


def test_gauges_are_computed_at_scrape_time(app, tenant, monkeypatch):
    from core import metrics_gauges

    now = utcnow()
    monkeypatch.setattr(metrics_gauges, "utcnow", lambda: now)  # holds of other tests cannot run out meanwhile
    event = make_event(tenant)
    paid = make_type(tenant, event, price=5, capacity=10)
    before = scrape(app)
    held = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(paid, 3)]))
    assert held.status_code == 201, held.get_json()
    stuck = new_id()
    with database.db.connection_context():
        OutboxEntry.insert(id=stuck, org_id=tenant.orgid, kind="job", name="nothing.runs.this", payload={},
                           created_at=now - dt.timedelta(seconds=300), due_at=now).execute()
    try:
        after = scrape(app)
    finally:
        with database.db.connection_context():
            OutboxEntry.delete().where(OutboxEntry.id == stuck).execute()
    assert value(after, "boxoffice_holds_active") == value(before, "boxoffice_holds_active") + 1
    assert value(after, "boxoffice_seats_held") == value(before, "boxoffice_seats_held") + 3
    assert value(after, "boxoffice_outbox_pending") == value(before, "boxoffice_outbox_pending") + 1
    assert value(after, "boxoffice_outbox_lag_seconds") >= 300
    assert value(after, "boxoffice_job_queue_depth") == 0  # BOXOFFICE_JOBS_IMMEDIATE: nothing ever waits
    assert value(after, "boxoffice_scrape_source_up", source="database") == 1
    assert value(after, "boxoffice_scrape_source_up", source="queue") == 1
    assert value(scrape(app), "boxoffice_outbox_pending") == value(before, "boxoffice_outbox_pending")


def test_a_source_that_fails_is_reported_down_and_the_scrape_still_answers(app, monkeypatch):
    from core import metrics_gauges

    def queue_down():
        raise ConnectionError("queue unreachable")

    monkeypatch.setitem(metrics_gauges.SOURCES, "queue", queue_down)
    samples = scrape(app)
    assert value(samples, "boxoffice_scrape_source_up", source="queue") == 0
    assert value(samples, "boxoffice_scrape_source_up", source="database") == 1
    assert ("boxoffice_job_queue_depth", frozenset()) not in samples


def test_latency_is_per_route_and_status_with_no_tenant_label(app, tenant):
    event = make_event(tenant)
    assert tenant.staff.get(f"/events/{event}").status_code == 200
    assert tenant.staff.get(f"/api/events/{event}").status_code == 200  # the /api prefix is the same route
    assert tenant.guest.get(f"/no/such/{event}").status_code == 404
    samples = scrape(app)
    counts = {dict(labels)["route"]: v for (name, labels), v in samples.items()
              if name == f"{LATENCY}_count" and dict(labels)["method"] == "GET" and dict(labels)["status"] in
              ("200", "404") and dict(labels)["route"] in ("/events/<event_id>", "unmatched")}
    assert counts["/events/<event_id>"] >= 2 and counts["unmatched"] >= 1
    latency = [(name, dict(labels)) for name, labels in samples if name.startswith(LATENCY)]
    assert latency and all(set(labels) <= {"route", "method", "status", "le"} for _, labels in latency)
    assert not [labels for _, labels in latency if event in str(labels.values()) or tenant.orgid in
                str(labels.values())]


def test_an_invented_method_does_not_make_a_series_of_its_own(app):
    client = app.test_client()
    for method in ("BREW", "PROPFIND", "X" * 50):
        assert client.open("/health", method=method).status_code == 405
    methods = {dict(labels)["method"] for name, labels in scrape(app) if name == f"{LATENCY}_count"}
    assert "OTHER" in methods and methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}


def test_openmetrics_when_the_scraper_asks_for_it(app):
    token = app.config["BOXOFFICE"].operator_token
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}",
                                                          "Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


@pytest.fixture
def failing_endpoint(tenant, config, monkeypatch):
    """The tenant with automation enabled and one webhook endpoint on a loopback port nobody listens on."""
    import socket

    monkeypatch.setattr(config, "webhooks_allow_private", True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tenant.enable("automation")
    created = tenant.staff.post("/automation/endpoints", json={"url": f"http://127.0.0.1:{port}/hook",
                                                               "eventTypes": ["tickets.issued"]})
    assert created.status_code == 201, created.get_json()
    return tenant


def test_failed_webhook_deliveries_are_counted_per_tenant(app, failing_endpoint):
    tenant = failing_endpoint
    name = "boxoffice_webhook_delivery_failures_total"
    before = scrape(app)
    event = make_event(tenant)
    free = make_type(tenant, event, price=0, capacity=10)
    bought = tenant.customer().post(PURCHASE, json={"eventId": event,
                                                    "tickets": [{"ticketTypeId": free, "quantity": 1}]})
    assert bought.status_code == 201
    [delivery] = tenant.staff.get("/automation/deliveries?page[size]=10").get_json()["data"]
    assert (delivery["status"], delivery["attempts"]) == ("retrying", 1)
    after = scrape(app)
    assert value(after, name, org=tenant.orgid, final="false") == value(
        before, name, org=tenant.orgid, final="false") + 1
    assert value(after, name, org=tenant.orgid, final="true") == value(before, name, org=tenant.orgid, final="true")
