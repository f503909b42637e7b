"""Ticket types through the staff endpoints: 001/003 fields, every validation rule, update, delete/archive,
zero-decimal currencies, tenant isolation, roles, the ticket_type_saved hook and the OpenAPI description."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from core import db as database
from core.hookspecs import hookimpl
from core.models import Event, TicketType, new_id, utcnow

GA_001 = {
    "name": "General Admission",
    "price": 199,
    "currency": "USD",
    "capacity": 800,
    "saleStart": "2026-04-01T00:00:00Z",
    "saleEnd": "2026-09-12T00:00:00Z",
    "perks": ["lunch", "tote"],
    "allowReentry": True,
    "reentryLimit": 3,
    "acceptedScanPoints": ["main-door"],
    "visibility": "public",
    "transferable": True,
    "refundPolicy": "until-7-days",
}


def make_event(tenant, **fields) -> Event:
    """An event row made through the model (the events API is someone else's)."""
    start = utcnow() + dt.timedelta(days=30)
    values = {"name": "Gig", "slug": f"gig-{new_id()[:8]}", "starts_at": start,
              "ends_at": start + dt.timedelta(hours=4), "tz": "UTC", **fields}
    with database.db.connection_context():
        return Event.create(org=tenant.orgid, **values)


def count_ticket_types(event: Event) -> int:
    with database.db.connection_context():
        return TicketType.select().where(TicketType.event == event.id).count()


DROP = object()  # an override that removes the field from GA_001


def body_with(**overrides) -> dict:
    return {k: v for k, v in {**GA_001, **overrides}.items() if v is not DROP}


def create(tenant, event, **overrides):
    return tenant.staff.post(f"/events/{event.id}/ticket-types", json=body_with(**overrides))


def created(tenant, event, **overrides) -> dict:
    response = create(tenant, event, **overrides)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


class Recorder:
    """A test plugin that remembers ticket-type hooks."""

    def __init__(self):
        self.calls: list[tuple] = []

    @hookimpl
    def ticket_type_saved(self, org, ticket_type, created):
        self.calls.append(("saved", org.id, ticket_type.id, created))

    @hookimpl
    def ticket_type_deleted(self, org, ticket_type):
        self.calls.append(("deleted", org.id, ticket_type.id))


@pytest.fixture
def recorder(app):
    from core.plugins import get_host

    host = get_host()
    name = f"tt-recorder-{secrets.token_hex(3)}"
    plugin = Recorder()
    host.register(plugin, name)
    plugin.name = name
    yield plugin
    host.pm.unregister(name=name)
    host.forget()


# --- creation ---------------------------------------------------------------------------------

def test_create_with_every_001_field(tenant):
    event = make_event(tenant)
    tt = created(tenant, event)
    assert tt["eventId"] == event.id
    assert tt["price"] == "199.00" and tt["priceMinor"] == 19900 and tt["currency"] == "USD"
    assert tt["prices"] == [{"decimal": "199.00", "amount": 19900, "currency": "USD",
                             "formatted": "199.00 USD", "default": True}]
    assert tt["capacity"] == 800 and tt["available"] == 800 and tt["sold"] == 0 and tt["held"] == 0
    assert tt["saleStart"] == "2026-04-01T00:00:00Z" and tt["saleEnd"] == "2026-09-12T00:00:00Z"
    assert tt["perks"] == ["lunch", "tote"] and tt["acceptedScanPoints"] == ["main-door"]
    assert tt["allowReentry"] is True and tt["reentryLimit"] == 3
    assert tt["visibility"] == "public" and tt["transferable"] is True and tt["refundPolicy"] == "until-7-days"
    assert tt["quantity"] == 1 and tt["grouped"] is False and tt["isPass"] is False
    assert tt["createdAt"].endswith("Z") and isinstance(tt["onSale"], bool)
    with database.db.connection_context():
        row = TicketType.get_by_id(tt["id"])
    assert row.price == 19900 and row.org_id == tenant.orgid and row.sale_end == dt.datetime(2026, 9, 12)


def test_create_with_003_registration_fields_and_aliases(tenant):
    event = make_event(tenant, capacity=30)
    tt = created(tenant, event, name="Table of 10", inventory=50, quantity=10, grouped=True, order_min=1,
                 order_max=4, service_fee_amount=2.5, service_fee_percentage=5, capacity=DROP)
    assert tt["capacity"] == 50 and tt["available"] == 30  # bounded by the event's capacity
    assert tt["quantity"] == 10 and tt["grouped"] is True and tt["orderMin"] == 1 and tt["orderMax"] == 4
    assert tt["serviceFeeAmount"] == "2.50" and tt["serviceFeeAmountMinor"] == 250
    assert tt["serviceFeePercentage"] == 5


def test_camel_case_003_fields(tenant):
    event = make_event(tenant, type="parent")
    tt = created(tenant, event, orderMin=2, orderMax=2, serviceFeeAmount="1.25", serviceFeePercentage=12.5,
                 isPass=True)
    assert (tt["orderMin"], tt["orderMax"], tt["serviceFeeAmountMinor"], tt["isPass"]) == (2, 2, 125, True)
    assert created(tenant, event, **{"pass": True})["isPass"] is True


def test_minimal_create_uses_defaults(tenant):
    event = make_event(tenant)
    response = tenant.staff.post(f"/events/{event.id}/ticket-types", json={"name": "Free RSVP"})
    assert response.status_code == 201
    tt = response.get_json()["data"]
    assert tt["priceMinor"] == 0 and tt["currency"] == "USD" and tt["capacity"] is None and tt["available"] is None
    assert tt["onSale"] is True


def test_jpy_is_zero_decimal(tenant):
    event = make_event(tenant)
    tt = created(tenant, event, price=1500, currency="JPY")
    assert tt["price"] == "1500" and tt["priceMinor"] == 1500 and tt["prices"][0]["decimal"] == "1500"
    bad = create(tenant, event, price=1500.5, currency="JPY")
    assert bad.status_code == 422 and "price" in bad.get_json()["errors"]["json"]


def test_lower_case_currency_is_normalised(tenant):
    tt = created(tenant, make_event(tenant), currency="eur", price="19.99")
    assert tt["currency"] == "EUR" and tt["priceMinor"] == 1999


def test_naive_sale_times_are_local_to_tz_or_the_event(tenant):
    event = make_event(tenant, tz="America/New_York")
    paris = created(tenant, event, saleStart="2026-06-01T10:00:00", saleEnd="2026-06-02T10:00:00",
                    tz="Europe/Paris")
    assert paris["saleStart"] == "2026-06-01T08:00:00Z"
    local = created(tenant, event, saleStart="2026-06-01T10:00:00", saleEnd="2026-06-02T10:00:00")
    assert local["saleStart"] == "2026-06-01T14:00:00Z"


INVALID = [
    ("non-numeric price", {"price": "abc"}, "price"),
    ("negative price", {"price": -1}, "price"),
    ("too many decimals", {"price": "1.999"}, "price"),
    ("huge price", {"price": 1e30}, "price"),
    ("negative capacity", {"capacity": -1}, "capacity"),
    ("negative inventory", {"inventory": -5, "capacity": DROP}, "capacity"),
    ("unknown currency", {"currency": "ZZZ"}, "currency"),
    ("currency not a code", {"currency": "dollars"}, "currency"),
    ("sale ends before it starts", {"saleStart": "2026-05-01T00:00:00Z", "saleEnd": "2026-04-01T00:00:00Z"},
     "saleEnd"),
    ("sale ends when it starts", {"saleStart": "2026-05-01T00:00:00Z", "saleEnd": "2026-05-01T00:00:00Z"},
     "saleEnd"),
    ("bad datetime", {"saleStart": "next tuesday"}, "saleStart"),
    ("datetime overflowing UTC", {"saleStart": "0001-01-01T00:00:00+14:00"}, "saleStart"),
    ("local datetime overflowing UTC", {"saleEnd": "9999-12-31T23:00:00", "tz": "America/Anchorage"}, "saleEnd"),
    ("reentry limit zero", {"reentryLimit": 0}, "reentryLimit"),
    ("order min above max", {"orderMin": 5, "orderMax": 2}, "orderMax"),
    ("order min zero", {"order_min": 0}, "orderMin"),
    ("quantity zero", {"quantity": 0}, "quantity"),
    ("fee percentage above 100", {"serviceFeePercentage": 101}, "serviceFeePercentage"),
    ("fee percentage too small for the column", {"serviceFeePercentage": 3.9772502842529657e-140},
     "serviceFeePercentage"),
    ("negative flat fee", {"serviceFeeAmount": -1}, "serviceFeeAmount"),
    ("invite-only without code", {"visibility": "invite-only"}, "inviteCode"),
    ("unknown visibility", {"visibility": "secret"}, "visibility"),
    ("bad timezone", {"tz": "Mars/Olympus"}, "tz"),
    ("pass on a date event", {"isPass": True}, "isPass"),
    ("blank name", {"name": "   "}, "name"),
    ("missing name", {"name": DROP}, "name"),
    ("name too long", {"name": "x" * 201}, "name"),
    ("both capacity and inventory", {"inventory": 10}, "inventory"),
    ("unknown field", {"evil": 1}, "evil"),
    ("perks not a list", {"perks": "lunch"}, "perks"),
    ("blank perk", {"perks": [""]}, "perks"),
    ("boolean as capacity", {"capacity": "many"}, "capacity"),
    ("capacity beyond integer range", {"capacity": 2**40}, "capacity"),
]


@pytest.mark.parametrize("case, overrides, field", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_input_is_422_and_writes_nothing(tenant, case, overrides, field):
    event = make_event(tenant)
    response = create(tenant, event, **overrides)
    payload = response.get_json()
    assert response.status_code == 422, payload
    assert payload["type"] == "validation_error" and payload["code"] == 422
    assert field in payload["errors"]["json"], payload
    assert count_ticket_types(event) == 0


def test_nul_characters_are_refused_before_anything_is_written(tenant):
    event = make_event(tenant)
    response = create(tenant, event, name="GA\x00")
    assert response.status_code == 400 and response.get_json()["type"] == "invalid_characters"
    assert count_ticket_types(event) == 0


def test_invite_only_with_code_and_pass_on_parent(tenant):
    tt = created(tenant, make_event(tenant), visibility="invite-only", inviteCode="VIP-2026")
    assert tt["visibility"] == "invite-only" and tt["inviteCode"] == "VIP-2026"
    assert created(tenant, make_event(tenant, type="parent"), isPass=True)["isPass"] is True


def test_bad_json_and_wrong_method_are_json_errors(tenant):
    event = make_event(tenant)
    bad = tenant.staff.post(f"/events/{event.id}/ticket-types", data="{nope",
                            headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["type"] == "invalid_json"
    tt = created(tenant, event)
    put = tenant.staff.put(f"/events/ticket-types/{tt['id']}", json={})
    assert put.status_code == 405 and put.get_json()["type"] == "method_not_allowed"
    weird = tenant.staff.get("/events/ticket-types/%00")
    assert weird.status_code == 400 and weird.get_json()["type"] == "invalid_characters"
    ghost = tenant.staff.get("/events/ticket-types/no-such-id")
    assert ghost.status_code == 404 and ghost.get_json()["type"] == "ticket_type_not_found"


# --- reading, updating, deleting --------------------------------------------------------------

def test_list_is_ordered_by_position(tenant):
    event = make_event(tenant)
    second = created(tenant, event, name="B", position=2)
    first = created(tenant, event, name="A", position=1)
    listed = tenant.staff.get(f"/events/{event.id}/ticket-types").get_json()["data"]
    assert [tt["id"] for tt in listed] == [first["id"], second["id"]]


def test_update_changes_fields_and_revalidates_the_merged_result(tenant):
    event = make_event(tenant)
    tt = created(tenant, event)
    url = f"/events/ticket-types/{tt['id']}"
    ok = tenant.staff.patch(url, json={"price": 249.5, "name": "GA (late)", "capacity": 900})
    assert ok.status_code == 200, ok.get_json()
    data = ok.get_json()["data"]
    assert (data["priceMinor"], data["name"], data["capacity"]) == (24950, "GA (late)", 900)
    assert data["perks"] == ["lunch", "tote"]  # untouched
    bad = tenant.staff.patch(url, json={"saleEnd": "2026-03-01T00:00:00Z"})  # before the stored saleStart
    assert bad.status_code == 422 and "saleEnd" in bad.get_json()["errors"]["json"]
    bad = tenant.staff.patch(url, json={"orderMin": 3, "orderMax": 2})
    assert bad.status_code == 422
    assert tenant.staff.get(url).get_json()["data"]["saleEnd"] == "2026-09-12T00:00:00Z"


def test_changing_currency_needs_the_amount_again(tenant):
    tt = created(tenant, make_event(tenant))
    url = f"/events/ticket-types/{tt['id']}"
    bad = tenant.staff.patch(url, json={"currency": "JPY"})
    assert bad.status_code == 422 and "price" in bad.get_json()["errors"]["json"]
    ok = tenant.staff.patch(url, json={"currency": "JPY", "price": 30000})
    assert ok.status_code == 200 and ok.get_json()["data"]["price"] == "30000"


def test_capacity_cannot_drop_below_sold_and_held(tenant):
    tt = created(tenant, make_event(tenant), capacity=10)
    with database.db.connection_context():
        TicketType.update(sold=4, held=3).where(TicketType.id == tt["id"]).execute()
    url = f"/events/ticket-types/{tt['id']}"
    refused = tenant.staff.patch(url, json={"capacity": 6})
    assert refused.status_code == 409 and refused.get_json()["type"] == "capacity_below_sold"
    assert tenant.staff.patch(url, json={"capacity": 7}).get_json()["data"]["available"] == 0
    after = tenant.staff.patch(url, json={"name": "Still sold"}).get_json()["data"]
    assert (after["sold"], after["held"]) == (4, 3)  # updates never write the counters


def test_delete_unused_removes_it(tenant):
    tt = created(tenant, make_event(tenant))
    url = f"/events/ticket-types/{tt['id']}"
    response = tenant.staff.delete(url)
    assert response.status_code == 200
    assert response.get_json()["data"] == {"id": tt["id"], "deleted": True, "archived": False}
    assert tenant.staff.get(url).status_code == 404


def test_delete_with_sales_archives_it(tenant):
    event = make_event(tenant)
    tt = created(tenant, event)
    with database.db.connection_context():
        TicketType.update(sold=1).where(TicketType.id == tt["id"]).execute()
    url = f"/events/ticket-types/{tt['id']}"
    assert tenant.staff.delete(url).get_json()["data"] == {"id": tt["id"], "deleted": False, "archived": True}
    shown = tenant.staff.get(url).get_json()["data"]
    assert shown["archivedAt"] and shown["onSale"] is False
    assert tenant.staff.get(f"/events/{event.id}/ticket-types").get_json()["data"] == []
    archived = tenant.staff.get(f"/events/{event.id}/ticket-types?includeArchived=true").get_json()["data"]
    assert [t["id"] for t in archived] == [tt["id"]]
    frozen = tenant.staff.patch(url, json={"name": "x"})
    assert frozen.status_code == 409 and frozen.get_json()["type"] == "ticket_type_archived"


# --- tenancy and roles ------------------------------------------------------------------------

def test_other_tenant_sees_nothing(tenant, other_tenant):
    event = make_event(tenant)
    tt = created(tenant, event)
    url = f"/events/ticket-types/{tt['id']}"
    for response in (other_tenant.staff.get(url), other_tenant.staff.patch(url, json={"name": "mine"}),
                     other_tenant.staff.delete(url)):
        assert response.status_code == 404 and response.get_json()["type"] == "ticket_type_not_found"
    for response in (other_tenant.staff.get(f"/events/{event.id}/ticket-types"),
                     other_tenant.staff.post(f"/events/{event.id}/ticket-types", json=GA_001)):
        assert response.status_code == 404 and response.get_json()["type"] == "event_not_found"
    assert tenant.staff.get(url).get_json()["data"]["name"] == "General Admission"
    assert count_ticket_types(event) == 1


def test_guests_and_customers_cannot_manage_ticket_types(tenant):
    event = make_event(tenant)
    path = f"/events/{event.id}/ticket-types"
    guest = tenant.guest.post(path, json=GA_001)
    assert guest.status_code == 401 and guest.get_json()["type"] == "authentication_required"
    customer = tenant.customer().post(path, json=GA_001)
    assert customer.status_code == 403 and customer.get_json()["type"] == "forbidden_role"
    assert tenant.customer().get(path).status_code == 403
    assert count_ticket_types(event) == 0


# --- hooks ------------------------------------------------------------------------------------

def test_hooks_fire_only_for_tenants_that_enabled_the_plugin(tenant, other_tenant, recorder):
    tenant.enable(recorder.name)
    tt = created(tenant, make_event(tenant))
    tenant.staff.patch(f"/events/ticket-types/{tt['id']}", json={"name": "Renamed"})
    tenant.staff.delete(f"/events/ticket-types/{tt['id']}")
    assert recorder.calls == [("saved", tenant.orgid, tt["id"], True), ("saved", tenant.orgid, tt["id"], False),
                              ("deleted", tenant.orgid, tt["id"])]
    created(other_tenant, make_event(other_tenant))
    assert len(recorder.calls) == 3  # other_tenant never enabled it


def test_failed_validation_fires_no_hook(tenant, recorder):
    tenant.enable(recorder.name)
    assert create(tenant, make_event(tenant), price=-5).status_code == 422
    assert recorder.calls == []


# --- OpenAPI ----------------------------------------------------------------------------------

def test_endpoints_are_documented_with_schemas(app, tenant):
    from core.api.ticket_type_schema import TicketTypeSchema

    spec = app.test_client().get("/openapi.json").get_json()
    post = spec["paths"]["/events/{event_id}/ticket-types"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("TicketTypeFields")
    assert "201" in post["responses"] and "422" in post["responses"]
    for method in ("get", "patch", "delete"):
        assert method in spec["paths"]["/events/ticket-types/{ticket_type_id}"]
    props = spec["components"]["schemas"]["TicketTypeFields"]["properties"]
    assert {"saleStart", "inventory", "order_min", "pass", "serviceFeeAmount"} <= set(props)
    tt = created(tenant, make_event(tenant))
    assert set(tt) == set(TicketTypeSchema().fields)  # the documented schema matches what is served
