"""Ticket configurations (003's reusable "ticket types"): CRUD, validation, tenant isolation, attaching to events,
registration types pointing at one, and each setting's effect as a buyer, holder or staff member sees it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from smtp_server import SmtpServer
from test_events import iso, make_event
from test_purchase_support import make_event as make_purchase_event
from test_purchase_support import make_type

from core import db as database

BASE = "/ticket-configurations"
PURCHASE = "/client/events/tickets/purchase"


def make_configuration(client, **fields) -> dict:
    response = client.post(BASE, json={"name": "Standard", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


# --- CRUD -------------------------------------------------------------------------------------------------


def test_create_shows_003_fields_with_defaults(tenant):
    data = make_configuration(tenant.staff, name="Festival wristband")
    assert set(data) == {"id", "public_id", "name", "display_name", "pdf_template_id", "wallet_template_id",
                         "attachable", "transferable", "include_name", "require_name", "include_email",
                         "require_email", "enforce_barcode_pool", "created_at", "updated_at"}
    assert data["name"] == "Festival wristband" and len(data["id"]) == 36 and data["public_id"] > 0
    assert data["attachable"] is True and data["transferable"] is True
    assert not any(data[k] for k in ("include_name", "require_name", "include_email", "require_email",
                                     "enforce_barcode_pool"))
    assert data["display_name"] is None and data["pdf_template_id"] is None and data["wallet_template_id"] is None
    assert tenant.staff.get(f"{BASE}/{data['id']}").get_json()["data"] == data


def test_require_implies_include_and_a_contradiction_is_refused(tenant):
    data = make_configuration(tenant.staff, require_name=True, require_email=True)
    assert data["include_name"] is True and data["include_email"] is True
    refused = tenant.staff.patch(f"{BASE}/{data['id']}", json={"include_email": False})
    assert refused.status_code == 422 and "include_email" in refused.get_json()["errors"]
    both = tenant.staff.post(BASE, json={"name": "X", "require_name": True, "include_name": False})
    assert both.status_code == 422 and both.get_json()["type"] == "invalid_ticket_configuration"
    relaxed = tenant.staff.patch(f"{BASE}/{data['id']}", json={"require_email": False, "include_email": False})
    assert relaxed.status_code == 200
    assert relaxed.get_json()["data"]["include_email"] is False and relaxed.get_json()["data"]["require_name"]


def test_patch_changes_only_what_is_sent(tenant):
    data = make_configuration(tenant.staff, display_name="VIP pass")
    changed = tenant.staff.patch(f"{BASE}/{data['id']}", json={"transferable": False, "enforce_barcode_pool": True})
    assert changed.status_code == 200
    after = changed.get_json()["data"]
    assert after["transferable"] is False and after["enforce_barcode_pool"] is True
    assert after["display_name"] == "VIP pass" and after["name"] == "Standard" and after["id"] == data["id"]
    cleared = tenant.staff.patch(f"{BASE}/{data['id']}", json={"display_name": None}).get_json()["data"]
    assert cleared["display_name"] is None


def test_list_is_paged_by_name(tenant):
    for name in ("Charlie", "Alpha", "Bravo"):
        make_configuration(tenant.staff, name=name)
    first = tenant.staff.get(f"{BASE}?page[size]=2").get_json()
    assert [c["name"] for c in first["data"]] == ["Alpha", "Bravo"]
    cursor = first["meta"]["page"]["next_cursor"]
    second = tenant.staff.get(f"{BASE}?page[size]=2&page[cursor]={cursor}").get_json()
    assert [c["name"] for c in second["data"]] == ["Charlie"] and second["meta"]["page"]["last"] is True


def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(tenant):
    cases = [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "X", "pdf_template_id": 7}, "pdf_template_id"),
        ({"name": "X", "wallet_template_id": 9}, "wallet_template_id"),
        ({"name": "X", "attachable": "maybe"}, "attachable"),
        ({"name": "X", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = tenant.staff.post(BASE, json=body)
        assert response.status_code == 422, (body, response.get_json())
        errors = response.get_json()["errors"]
        assert field in errors or field in errors.get("json", {}), (body, errors)
    assert tenant.staff.get(BASE).get_json()["data"] == []
    template = tenant.staff.post(BASE, json={"name": "X", "pdf_template_id": 7}).get_json()
    assert template["type"] == "template_not_found"
    assert "No PDF ticket design" in template["errors"]["pdf_template_id"][0]
    wallet = tenant.staff.post(BASE, json={"name": "X", "wallet_template_id": 9}).get_json()
    assert wallet["type"] == "wallet_template_not_found"
    assert wallet["errors"]["wallet_template_id"] == ["No such wallet template."]
    assert tenant.staff.post(BASE, json={"name": "X", "pdf_template_id": None}).status_code == 201
    design = tenant.staff.post("/pdf-templates", json={"name": "Design"}).get_json()["data"]
    chosen = tenant.staff.post(BASE, json={"name": "Y", "pdf_template_id": design["public_id"]})
    assert chosen.status_code == 201 and chosen.get_json()["data"]["pdf_template_id"] == design["public_id"]


def test_delete_is_refused_while_a_tier_uses_it(tenant):
    data = make_configuration(tenant.staff)
    event = make_event(tenant.staff).get_json()["data"]
    tier = tenant.staff.post(f"/events/{event['id']}/ticket-types",
                             json={"name": "GA", "price": 10, "ticketConfigurationId": data["id"]})
    assert tier.status_code == 201, tier.get_json()
    refused = tenant.staff.delete(f"{BASE}/{data['id']}")
    assert refused.status_code == 409 and refused.get_json()["type"] == "ticket_configuration_in_use"
    cleared = tenant.staff.patch(f"/events/ticket-types/{tier.get_json()['data']['id']}",
                                 json={"ticketConfigurationId": None})
    assert cleared.status_code == 200 and cleared.get_json()["data"]["ticketConfigurationId"] is None
    assert tenant.staff.delete(f"{BASE}/{data['id']}").status_code == 204
    gone = tenant.staff.get(f"{BASE}/{data['id']}")
    assert gone.status_code == 404 and gone.get_json()["type"] == "ticket_configuration_not_found"
    assert tenant.staff.get(f"/events/{event['id']}/ticket_types").get_json()["data"] == []


def test_another_tenants_configuration_is_invisible(tenant, other_tenant):
    theirs = make_configuration(other_tenant.staff, name="Theirs")
    event = make_event(tenant.staff).get_json()["data"]
    for response in (tenant.staff.get(f"{BASE}/{theirs['id']}"),
                     tenant.staff.patch(f"{BASE}/{theirs['id']}", json={"name": "Mine"}),
                     tenant.staff.delete(f"{BASE}/{theirs['id']}"),
                     tenant.staff.post(f"/events/{event['id']}/ticket_types/add",
                                       json={"ticket_type_id": theirs["id"]})):
        assert response.status_code == 404, response.get_json()
        assert response.get_json()["type"] == "ticket_configuration_not_found"
    assert tenant.staff.get(BASE).get_json()["data"] == []
    assert other_tenant.staff.get(f"{BASE}/{theirs['id']}").get_json()["data"]["name"] == "Theirs"
    for body in ({"name": "GA", "ticketConfigurationId": theirs["id"]},):
        refused = tenant.staff.post(f"/events/{event['id']}/ticket-types", json=body)
        assert refused.status_code == 422 and "ticketConfigurationId" in refused.get_json()["errors"]["json"]


def test_customers_and_read_only_keys_cannot_write(app, tenant, operator):
    fan = tenant.customer()
    assert fan.post(BASE, json={"name": "X"}).status_code == 403
    assert fan.get(BASE).status_code == 403
    assert tenant.guest.get(BASE).status_code == 401
    key = operator.post(f"/operator/tenants/{tenant.orgid}/api-keys",
                        json={"name": "reader", "role": "staff", "scopes": ["read"]}).get_json()["apiKey"]
    reader = app.test_client()
    headers = {"Authorization": f"Token {key}"}
    assert reader.get(BASE, headers=headers).status_code == 200
    refused = reader.post(BASE, json={"name": "X"}, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["type"] == "insufficient_scope"


# --- events ------------------------------------------------------------------------------------------------


def test_attach_is_idempotent_and_listed(tenant):
    data = make_configuration(tenant.staff)
    event = make_event(tenant.staff).get_json()["data"]
    path = f"/events/{event['id']}/ticket_types"
    for _ in range(2):
        added = tenant.staff.post(f"{path}/add", json={"ticket_type_id": data["id"]})
        assert added.status_code == 200 and added.get_json()["data"] == data
    assert tenant.staff.get(path).get_json()["data"] == [data]
    missing = tenant.staff.post(f"{path}/add", json={"ticket_type_id": "00000000-0000-4000-8000-000000000000"})
    assert missing.status_code == 404
    no_event = tenant.staff.post("/events/00000000-0000-4000-8000-000000000000/ticket_types/add",
                                 json={"ticket_type_id": data["id"]})
    assert no_event.status_code == 404 and no_event.get_json()["type"] == "event_not_found"


def test_create_and_attach_in_one_call(tenant):
    event = make_event(tenant.staff).get_json()["data"]
    path = f"/events/{event['id']}/ticket_types"
    created = tenant.staff.post(path, json={"ticket_type": {"name": "Named", "require_name": True}})
    assert created.status_code == 201, created.get_json()
    data = created.get_json()["data"]
    assert data["require_name"] is True and data["include_name"] is True
    assert tenant.staff.get(path).get_json()["data"] == [data]
    assert tenant.staff.get(f"{BASE}/{data['id']}").status_code == 200
    refused = tenant.staff.post(path, json={"ticket_type": {"name": "T", "wallet_template_id": 3}})
    assert refused.status_code == 422 and "ticket_type.wallet_template_id" in refused.get_json()["errors"]
    assert len(tenant.staff.get(BASE).get_json()["data"]) == 1


def _registration_types(client, event_id: str) -> list[dict]:
    response = client.get(f"/events/{event_id}?include=registration_types,sessions")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_registration_type_ticket_type_id_links_and_attaches(tenant):
    config = make_configuration(tenant.staff, require_name=True)
    start = dt.datetime(2031, 9, 1, 17)
    created = tenant.staff.post("/events", json={"event": {
        "type": "parent", "name": "Tasting Tour", "tz": "UTC",
        "sessions": [{"name": "A", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=2)),
                      "registration_types": [{"name": "GA", "price": 50, "inventory": 50,
                                              "ticket_type_id": config["id"]}]}],
        "registration_types": [{"name": "VIP", "price": 125, "ticket_type_id": config["id"]},
                               {"name": "Plain", "price": 5}]}})
    assert created.status_code == 201, created.get_json()
    event = _registration_types(tenant.staff, created.get_json()["data"]["id"])
    vip, plain = event["registration_types"]
    assert vip["ticketConfigurationId"] == config["id"] and plain["ticketConfigurationId"] is None
    assert vip["holderFields"] == {"includeName": True, "requireName": True, "includeEmail": False,
                                   "requireEmail": False}
    assert plain["holderFields"] == {"includeName": False, "requireName": False, "includeEmail": False,
                                     "requireEmail": False}
    session = event["sessions"][0]
    assert session["registration_types"][0]["ticketConfigurationId"] == config["id"]
    for event_id in (event["id"], session["id"]):
        assert [c["id"] for c in tenant.staff.get(f"/events/{event_id}/ticket_types").get_json()["data"]] \
            == [config["id"]]

    other = make_configuration(tenant.staff, name="Other")
    patched = tenant.staff.patch(f"/events/{event['id']}", json={"event": {
        "registration_types": [{"name": "Late", "price": 60, "ticket_type_id": other["id"]}]}})
    assert patched.status_code == 200, patched.get_json()
    names = {c["name"] for c in tenant.staff.get(f"/events/{event['id']}/ticket_types").get_json()["data"]}
    assert names == {"Standard", "Other"}


def test_registration_type_ticket_type_id_of_nobody_or_another_tenant_is_a_422(tenant, other_tenant):
    theirs = make_configuration(other_tenant.staff)
    start = dt.datetime(2031, 9, 1, 17)
    for value in (theirs["id"], "00000000-0000-4000-8000-000000000000"):
        refused = tenant.staff.post("/events", json={"event": {
            "name": "Gig", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=2)),
            "registration_types": [{"name": "GA", "price": 50, "ticket_type_id": value}]}})
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["type"] == "ticket_configuration_not_found"
        assert "registration_types[0].ticket_type_id" in refused.get_json()["errors"]
    assert tenant.staff.get("/events").get_json()["data"] == []


def test_core_ticket_type_routes_set_and_clear_the_configuration(tenant):
    config = make_configuration(tenant.staff, include_email=True)
    event = make_event(tenant.staff).get_json()["data"]
    tier = tenant.staff.post(f"/events/{event['id']}/ticket-types", json={"name": "GA", "price": 10}).get_json()
    assert tier["data"]["ticketConfigurationId"] is None
    path = f"/events/ticket-types/{tier['data']['id']}"
    linked = tenant.staff.patch(path, json={"ticketConfigurationId": config["id"]})
    assert linked.status_code == 200 and linked.get_json()["data"]["ticketConfigurationId"] == config["id"]
    assert tenant.staff.get(f"/events/{event['id']}/ticket_types").get_json()["data"][0]["id"] == config["id"]
    unknown = tenant.staff.patch(path, json={"ticketConfigurationId": "nope"})
    assert unknown.status_code == 422 and "ticketConfigurationId" in unknown.get_json()["errors"]["json"]
    assert tenant.staff.get(path).get_json()["data"]["ticketConfigurationId"] == config["id"]


# --- settings taking effect --------------------------------------------------------------------------------


def _configured_free_type(tenant, event_id: str, **config_fields) -> tuple[str, dict]:
    """A free ticket type of `event_id` pointing at a new configuration with `config_fields`."""
    config = make_configuration(tenant.staff, **config_fields)
    return make_type(tenant, event_id, name="Entry", price=0, capacity=50,
                     ticketConfigurationId=config["id"]), config


def _buy(client, event_id: str, type_id: str, quantity: int = 1, **item) -> dict:
    response = client.post(PURCHASE, json={"eventId": event_id, "items": [
        {"ticketTypeId": type_id, "quantity": quantity, **item}]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_non_transferable_configuration_refuses_transfers_like_its_tier_would(tenant):
    event = make_purchase_event(tenant)
    type_id, config = _configured_free_type(tenant, event, transferable=False)
    fan = tenant.customer()
    ticket = _buy(fan, event, type_id)["tickets"][0]
    for client, path in ((fan, f"/client/events/tickets/{ticket['id']}/transfer"),
                         (tenant.staff, f"/events/tickets/{ticket['id']}/transfer")):
        refused = client.post(path, json={"toEmail": "friend@example.com"})
        assert refused.status_code == 409 and refused.get_json()["type"] == "not_transferable"
    assert fan.get(f"/client/events/tickets/{ticket['id']}").get_json()["status"] == "valid"
    tenant.staff.patch(f"{BASE}/{config['id']}", json={"transferable": True, "require_name": True})
    unnamed = fan.post(f"/client/events/tickets/{ticket['id']}/transfer", json={"toEmail": "friend@example.com"})
    assert unnamed.status_code == 422 and list(unnamed.get_json()["errors"]) == ["toName"]
    moved = fan.post(f"/client/events/tickets/{ticket['id']}/transfer",
                     json={"toEmail": "friend@example.com", "toName": "Fran Friend"})
    assert moved.status_code == 201, moved.get_json()
    new_ticket = tenant.staff.get(f"/events/tickets/{moved.get_json()['newTicket']['id']}").get_json()
    assert new_ticket["holderName"] == "Fran Friend"


def test_display_name_is_shown_on_tickets_and_the_pdf(tenant):
    from core.models import Org, Ticket
    from core.services.ticket_pdf import ticket_card

    event = make_purchase_event(tenant)
    type_id, config = _configured_free_type(tenant, event, display_name="Backstage wristband")
    fan = tenant.customer()
    ticket = _buy(fan, event, type_id)["tickets"][0]
    assert ticket["displayName"] == "Backstage wristband" and ticket["ticketTypeName"] == "Entry"
    assert fan.get("/client/events/tickets/mine").get_json()["tickets"][0]["displayName"] == "Backstage wristband"
    assert fan.get(f"/client/events/tickets/{ticket['id']}/pdf").status_code == 200
    with database.db.connection_context():   # what the PDF lays out
        card = ticket_card(Org.get_by_id(tenant.orgid), Ticket.get_by_id(ticket["id"]))
    assert card["ticketType"] == "Backstage wristband"
    tenant.staff.patch(f"{BASE}/{config['id']}", json={"display_name": None})
    assert fan.get("/client/events/tickets/mine").get_json()["tickets"][0]["displayName"] == "Entry"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def test_a_non_attachable_configuration_emails_a_working_link_instead_of_the_pdf(tenant, smtp):
    from plugins.notifications.models import Message

    tenant.enable("notifications")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port),
                     sender="Tickets <tickets@example.com>")
    event = make_purchase_event(tenant)
    linked_type, _ = _configured_free_type(tenant, event, attachable=False)
    attached_type = make_type(tenant, event, name="Plain", price=0)
    fan = tenant.customer()
    bought = fan.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": linked_type, "quantity": 1},
                                                                   {"ticketTypeId": attached_type, "quantity": 1}]})
    assert bought.status_code == 201, bought.get_json()
    by_type = {t["ticketTypeId"]: t["id"] for t in bought.get_json()["tickets"]}

    [mail] = smtp.event_messages
    pdfs = [p.get_filename() for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdfs == [f"ticket-{by_type[attached_type]}.pdf"]   # the linked ticket's PDF is not attached
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    links = re.findall(r"https?://[^/\s]+(/tickets/pdf/[A-Za-z0-9_.\-]+)", text)
    assert len(links) == 1 and links[0] in html

    browser = tenant.app.test_client()   # no orgid, no login: the link alone opens the PDF
    pdf = browser.get(links[0])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert by_type[linked_type] in pdf.headers["Content-Disposition"]
    forged = browser.get(links[0][:-3] + ("aaa" if not links[0].endswith("aaa") else "bbb"))
    assert forged.status_code == 404 and forged.get_json()["type"] == "ticket_not_found"
    with database.db.connection_context():   # the send log keeps no working link
        stored = Message.get(Message.org == tenant.orgid)
    assert links[0].rsplit("/", 1)[1] not in stored.body_text + stored.body_html


GUEST = {"email": "buyer@example.com", "name": "Bea Buyer"}


def test_required_holder_names_are_checked_per_ticket_and_stored(tenant):
    from test_purchase_support import counters

    event = make_purchase_event(tenant)
    type_id, _ = _configured_free_type(tenant, event, require_name=True)
    shown = tenant.guest.get(f"/client/events/{event}/ticket-types").get_json()["data"][0]
    assert shown["holderFields"] == {"includeName": True, "requireName": True, "includeEmail": False,
                                     "requireEmail": False}

    def buy(**item):
        return tenant.guest.post(PURCHASE, json={"eventId": event, **GUEST, "items": [
            {"ticketTypeId": type_id, "quantity": 2, **item}]})

    bare = buy()
    assert bare.status_code == 422 and bare.get_json()["type"] == "holder_details_required"
    assert list(bare.get_json()["errors"]) == ["items[0].holders"]
    half = buy(holders=[{"name": "Ann"}, {"email": "bo@example.com"}])
    assert half.status_code == 422 and list(half.get_json()["errors"]) == ["items[0].holders[1].name"]
    too_many = buy(holders=[{"name": "A"}, {"name": "B"}, {"name": "C"}])
    assert too_many.status_code == 422 and list(too_many.get_json()["errors"]) == ["items[0].holders"]
    assert counters(event, type_id) == {"event_sold": 0, "event_held": 0, "tickets": 0, "sold": 0, "held": 0}

    bought = buy(holders=[{"name": "Ann Lee"}, {"name": "Bo Kim", "email": "Bo@Example.com"}])
    assert bought.status_code == 201, bought.get_json()
    tickets = bought.get_json()["tickets"]
    assert sorted((t["holderName"], t["holderEmail"]) for t in tickets) == [
        ("Ann Lee", "buyer@example.com"), ("Bo Kim", "bo@example.com")]


def test_required_email_with_the_tickets_alias_and_the_register_shorthand(tenant):
    event = make_purchase_event(tenant)
    type_id, _ = _configured_free_type(tenant, event, require_email=True)
    refused = tenant.guest.post(PURCHASE, json={"eventId": event, **GUEST, "tickets": [
        {"ticketTypeId": type_id, "quantity": 1, "holders": [{"name": "No Mail"}]}]})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["tickets[0].holders[0].email"]
    shorthand = tenant.guest.post("/client/events/tickets/register", json={
        "eventId": event, **GUEST, "ticketTypeId": type_id})
    assert shorthand.status_code == 422 and list(shorthand.get_json()["errors"]) == ["holders"]
    registered = tenant.guest.post("/client/events/tickets/register", json={
        "eventId": event, **GUEST, "ticketTypeId": type_id, "holders": [{"email": "guest@example.com"}]})
    assert registered.status_code == 201, registered.get_json()
    assert registered.get_json()["tickets"][0]["holderEmail"] == "guest@example.com"


def test_holders_of_a_paid_booking_are_kept_until_it_is_paid(tenant):
    event = make_purchase_event(tenant)
    config = make_configuration(tenant.staff, require_name=True)
    paid = make_type(tenant, event, name="Seat", price=20, ticketConfigurationId=config["id"])
    sale = tenant.staff.post("/events/tickets/purchase", json={"eventId": event, "items": [
        {"ticketTypeId": paid, "quantity": 1}]})
    assert sale.status_code == 422 and list(sale.get_json()["errors"]) == ["items[0].holders"]
    sale = tenant.staff.post("/events/tickets/purchase", json={"eventId": event, "items": [
        {"ticketTypeId": paid, "quantity": 1, "holders": [{"name": "Walk Up"}]}]})
    assert sale.status_code == 201 and sale.get_json()["status"] == "pending", sale.get_json()
    paid_now = tenant.staff.post(f"/events/bookings/{sale.get_json()['bookingId']}/mark-paid", json={})
    assert paid_now.status_code == 200, paid_now.get_json()
    assert [t["holderName"] for t in paid_now.get_json()["tickets"]] == ["Walk Up"]


def test_no_configuration_and_the_default_one_require_nothing(tenant):
    event = make_purchase_event(tenant)
    plain = make_type(tenant, event, name="Plain")
    defaulted, _ = _configured_free_type(tenant, event)
    for type_id in (plain, defaulted):
        bought = tenant.guest.post(PURCHASE, json={"eventId": event, **GUEST, "items": [
            {"ticketTypeId": type_id, "quantity": 1}]})
        assert bought.status_code == 201, bought.get_json()
        assert bought.get_json()["tickets"][0]["holderName"] == "Bea Buyer"


def test_comps_and_door_activation_need_the_required_holder_fields(tenant):
    event = make_purchase_event(tenant)
    type_id, _ = _configured_free_type(tenant, event, require_name=True)
    comp = {"eventId": event, "ticketTypeId": type_id, "holders": [{"email": "a@example.com", "name": "Al"},
                                                                  {"email": "b@example.com"}]}
    refused = tenant.staff.post("/events/tickets/comp", json=comp)
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["holders[1].name"]
    comp["holders"][1]["name"] = "Bo"
    assert tenant.staff.post("/events/tickets/comp", json=comp).status_code == 201
    door = tenant.staff.post("/events/tickets/pre-generate", json={"eventId": event, "ticketTypeId": type_id,
                                                                   "quantity": 1})
    assert door.status_code == 201, door.get_json()
    ticket_id = door.get_json()["tickets"][0]["id"]
    unnamed = tenant.staff.post(f"/events/tickets/{ticket_id}/activate", json={"holderEmail": "c@example.com"})
    assert unnamed.status_code == 422 and list(unnamed.get_json()["errors"]) == ["holderName"]
    named = tenant.staff.post(f"/events/tickets/{ticket_id}/activate", json={"holderName": "Cy"})
    assert named.status_code == 200 and named.get_json()["tickets"][0]["holderName"] == "Cy"


def test_registration_types_ticket_type_include_shows_each_tiers_configuration(tenant):
    config = make_configuration(tenant.staff, display_name="Wristband")
    start = dt.datetime(2031, 9, 1, 17)
    created = tenant.staff.post("/events", json={"event": {
        "name": "Gig", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=2)),
        "registration_types": [{"name": "GA", "price": 5, "ticket_type_id": config["id"]}, {"name": "Free"}]}})
    assert created.status_code == 201, created.get_json()
    event_id = created.get_json()["data"]["id"]
    shown = tenant.staff.get(f"/events/{event_id}?include=registration_types.ticket_type").get_json()["data"]
    assert [t["ticket_type"] for t in shown["registration_types"]] == [config, None]
    listed = tenant.staff.get("/events?include=registration_types.ticket_type").get_json()["data"]
    assert listed[0]["registration_types"][0]["ticket_type"]["display_name"] == "Wristband"
    plain = tenant.staff.get(f"/events/{event_id}?include=registration_types").get_json()["data"]
    assert "ticket_type" not in plain["registration_types"][0]


def test_deleting_an_event_detaches_its_configurations_and_keeps_them(tenant):
    config = make_configuration(tenant.staff)
    event = make_event(tenant.staff).get_json()["data"]
    tenant.staff.post(f"/events/{event['id']}/ticket-types", json={"name": "GA", "ticketConfigurationId": config["id"]})
    assert tenant.staff.delete(f"/events/{event['id']}").status_code == 204
    assert tenant.staff.get(f"{BASE}/{config['id']}").status_code == 200
    assert tenant.staff.delete(f"{BASE}/{config['id']}").status_code == 204


def test_a_holder_edit_may_not_blank_a_required_holder_field(tenant):
    event = make_purchase_event(tenant)
    config = make_configuration(tenant.staff, require_name=True)
    type_id = make_type(tenant, event, name="Editable", price=0, editable=True,
                        ticketConfigurationId=config["id"])
    fan = tenant.customer()
    ticket = _buy(fan, event, type_id, holders=[{"name": "First Holder"}])["tickets"][0]
    path = f"/client/events/tickets/{ticket['id']}"
    blanked = fan.patch(path, json={"holderName": " "})
    assert blanked.status_code == 422, blanked.get_json()
    assert blanked.get_json()["type"] == "holder_details_required" and list(blanked.get_json()["errors"]) == [
        "holderName"]
    assert fan.get(path).get_json()["holderName"] == "First Holder"
    renamed = fan.patch(path, json={"holderName": "New Name"})
    assert renamed.status_code == 200 and renamed.get_json()["ticket"]["holderName"] == "New Name"
