"""Usernames, transfers by username and the officer role (issue 17, items 3), through the HTTP API: usernames
unique per tenant with case ignored, a ticket moved at once into the account a username names (old QR refused,
new one admitted, both sides e-mailed over real SMTP), officer keys and officer customers allowed exactly their
routes, an undone check-in logged with who did it, and a revoked officer refused on the next request."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from test_notifications import mailer, smtp  # noqa: F401 - fixtures: a tenant e-mailing through loopback SMTP
from ticket_factory import issue, make_event, reload

from core import db as database
from core.models import CheckIn, Customer, Transfer

REGISTER = "/client/auth/register"
PROFILE = "/client/auth/profile"


def register(tenant, username, email=None, name="Member"):
    email = email or f"{username.lower()}@example.com"
    return tenant.guest.post(REGISTER, json={"email": email, "password": "correct-horse-9", "name": name,
                                             "username": username})


def member(tenant, username, name="Member"):
    response = register(tenant, username, name=name)
    assert response.status_code == 201, response.get_json()
    client = tenant.guest.as_token(response.get_json()["token"])
    client.customer_id = response.get_json()["customer"]["id"]
    client.email = response.get_json()["customer"]["email"]
    return client


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found in the PNG"
    return results[0].text


def officer_key(tenant, operator, scopes=None) -> str:
    body = {"name": "door officer", "role": "officer", **({"scopes": scopes} if scopes else {})}
    response = operator.post(f"/operator/tenants/{tenant.orgid}/api-keys", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["role"] == "officer"
    return response.get_json()["apiKey"]


def token_client(tenant, key: str):
    return tenant.guest.as_token(key)  # sent as `Bearer <key>`: a key has no dots, so it is no JWT


# --- usernames ------------------------------------------------------------------------------------------

def test_usernames_are_unique_per_tenant_with_case_ignored(tenant, other_tenant):
    first = register(tenant, "Alice.Smith")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["customer"]["username"] == "Alice.Smith"
    assert first.get_json()["customer"]["officer"] is False

    taken = register(tenant, "alice.SMITH", email="other@example.com")
    assert taken.status_code == 422 and taken.get_json()["type"] == "username_taken"
    with database.db.connection_context():
        assert Customer.select().where(Customer.email == "other@example.com").count() == 0  # nothing created
    assert register(other_tenant, "ALICE.smith").status_code == 201  # another club: free

    for bad in ("ab", "has space", "x" * 151, "semi;colon", "   "):
        refused = register(tenant, bad, email="bad@example.com")
        assert refused.status_code == 422 and refused.get_json()["type"] == "invalid_username", bad
    # Django's [\w.@+-]: letters and digits of any script
    assert register(tenant, "élodie_+-@.9", email="elodie@example.com").status_code == 201
    longest = register(tenant, "ΐ" * 150, email="folded@example.com")  # case-folds to 450 characters
    assert longest.status_code == 201, longest.get_json()
    assert register(tenant, "Straße", email="s1@example.com").status_code == 201
    assert register(tenant, "STRASSE", email="s2@example.com").get_json()["type"] == "username_taken"  # folded


def test_profile_sets_changes_and_clears_the_username(tenant):
    alice = member(tenant, "alice")
    bob = tenant.customer()
    assert bob.get(PROFILE).get_json()["username"] is None

    taken = bob.patch(PROFILE, json={"username": "ALICE"})
    assert taken.status_code == 422 and taken.get_json()["type"] == "username_taken"
    assert bob.get(PROFILE).get_json()["username"] is None

    changed = bob.patch(PROFILE, json={"username": "  Bobby  ", "name": "Bob B"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["username"], changed.get_json()["name"]) == ("Bobby", "Bob B")
    assert alice.patch(PROFILE, json={"username": "ALICE"}).get_json()["username"] == "ALICE"  # own name, new case
    assert bob.patch(PROFILE, json={"username": "bad name"}).get_json()["type"] == "invalid_username"
    assert bob.patch(PROFILE, json={"email": "x@example.com"}).status_code == 422  # not changeable here

    cleared = bob.patch(PROFILE, json={"username": None})
    assert cleared.status_code == 200 and cleared.get_json()["username"] is None
    assert member(tenant, "bobby").get(PROFILE).get_json()["username"] == "bobby"  # freed
    assert tenant.guest.get(PROFILE).status_code == 401


# --- transfer by username -------------------------------------------------------------------------------

def test_transfer_by_username_moves_the_ticket_at_once_and_tells_both(mailer, smtp):  # noqa: F811 - fixtures
    tenant = mailer  # notifications on, sending through the loopback SMTP server
    giver = member(tenant, "giver", name="Gina Giver")
    taker = member(tenant, "Taker", name="Tom Taker")
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type, email=giver.email, name="Gina Giver", customer_id=giver.customer_id)
    old_payload = decode_qr(giver.get(f"/client/events/tickets/{ticket.id}/qr").get_data())

    both = giver.post(f"/client/events/tickets/{ticket.id}/transfer",
                      json={"toEmail": "x@example.com", "username": "taker"})
    assert both.status_code == 422 and both.get_json()["type"] == "validation_error"
    assert giver.post(f"/client/events/tickets/{ticket.id}/transfer", json={}).status_code == 422
    unknown = giver.post(f"/client/events/tickets/{ticket.id}/transfer", json={"username": "nobody"})
    assert unknown.status_code == 404 and unknown.get_json()["type"] == "customer_not_found"
    to_self = giver.post(f"/client/events/tickets/{ticket.id}/transfer", json={"username": "GIVER"})
    assert to_self.status_code == 422 and to_self.get_json()["type"] == "transfer_to_self"
    assert reload(ticket.id).status == "valid" and not smtp.event_messages

    moved = giver.post(f"/client/events/tickets/{ticket.id}/transfer", json={"username": "TAKER"})
    assert moved.status_code == 201, moved.get_json()
    body = moved.get_json()
    assert body["transfer"]["claimed"] is True and body["transfer"]["toUsername"] == "TAKER"
    assert body["transfer"]["toEmail"] == "taker@example.com" and "claimToken" not in body
    new_id = body["newTicket"]["id"]

    # at once: the taker owns it, the giver does not; no claim step
    assert [t["id"] for t in taker.get("/client/events/tickets/mine").get_json()["tickets"]] == [new_id]
    assert giver.get("/client/events/tickets/mine").get_json()["tickets"] == []
    new_ticket = reload(new_id)
    assert (new_ticket.customer_id, new_ticket.holder_name, new_ticket.status) == (
        taker.customer_id, "Tom Taker", "valid")
    assert reload(ticket.id).status == "transferred" and reload(ticket.id).secret_version == 2
    with database.db.connection_context():
        transfer = Transfer.get(Transfer.new_ticket == new_id)
    assert transfer.claimed_by_id == taker.customer_id and transfer.claimed_at is not None

    # the old QR is refused at the door, the new one (decoded from the taker's PNG) admitted
    old_scan = tenant.staff.post("/events/check-in", json={"qrPayload": old_payload})
    assert old_scan.status_code == 409 and old_scan.get_json()["type"] == "ticket_revoked"
    new_payload = decode_qr(taker.get(f"/client/events/tickets/{new_id}/qr").get_data())
    assert new_payload != old_payload
    assert tenant.staff.post("/events/check-in", json={"qrPayload": new_payload}).status_code == 200

    # both sides told, through the outbox, over real SMTP
    by_recipient = {mail["To"]: mail for mail in smtp.event_messages}
    assert set(by_recipient) == {giver.email, taker.email}
    assert "Your ticket" in by_recipient[taker.email]["Subject"]
    assert any(p.get_content_type() == "application/pdf" for p in by_recipient[taker.email].iter_attachments())
    sent_text = by_recipient[giver.email].get_body(("plain",)).get_content()
    assert "Tom Taker (Taker)" in sent_text and "no longer admits entry" in sent_text  # as the account spells it

    again = giver.post(f"/client/events/tickets/{ticket.id}/transfer", json={"username": "taker"})
    assert again.status_code == 409 and again.get_json()["type"] == "not_transferable"  # already moved


def test_transfer_by_username_respects_the_type_and_the_tenant(tenant, other_tenant):
    giver = member(tenant, "giver")
    member(other_tenant, "stranger")
    event, locked = make_event(tenant, transferable=False)
    (ticket,) = issue(tenant, locked, email=giver.email, customer_id=giver.customer_id)
    member(tenant, "taker")
    refused = giver.post(f"/client/events/tickets/{ticket.id}/transfer", json={"username": "taker"})
    assert refused.status_code == 409 and refused.get_json()["type"] == "not_transferable"

    _, open_type = make_event(tenant)
    (movable,) = issue(tenant, open_type, email=giver.email, customer_id=giver.customer_id)
    foreign = giver.post(f"/client/events/tickets/{movable.id}/transfer", json={"username": "stranger"})
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "customer_not_found"

    staff = tenant.staff.post(f"/events/tickets/{movable.id}/transfer", json={"username": "taker"})
    assert staff.status_code == 201 and staff.get_json()["newTicket"]["holderEmail"] == "taker@example.com"
    assert "claimToken" not in staff.get_json()


# --- officers ---------------------------------------------------------------------------------------------

def _door_world(tenant):
    event, ticket_type = make_event(tenant)
    tickets = issue(tenant, ticket_type, 2, email="holder@example.com")
    return event, tickets


def _refused_elsewhere(client, event_id, ticket_id):
    """Routes an officer may not call: each a 403 `forbidden_role`."""
    for method, path, body in (
        ("GET", "/events", None),
        ("GET", "/org/settings", None),
        ("GET", f"/events/{event_id}/participants", None),
        ("GET", f"/events/tickets/{ticket_id}/qr", None),
        ("POST", f"/events/tickets/{ticket_id}/cancel", None),
        ("POST", f"/events/tickets/{ticket_id}/transfer", {"toEmail": "x@example.com"}),
        ("POST", f"/events/tickets/{ticket_id}/refund", {}),
        ("GET", "/org/officers", None),
        ("PATCH", f"/events/{event_id}", {"name": "Hijacked"}),
    ):
        answer = client.request(method, path, json=body)
        assert answer.status_code == 403 and answer.get_json()["type"] == "forbidden_role", (method, path, answer)


def _allowed(client, tenant, event_id, ticket):
    """What an officer may do: view tickets, check in, set attendance back (undo)."""
    assert client.get(f"/events/{event_id}/tickets").status_code == 200
    assert client.get(f"/events/tickets/{ticket.id}").get_json()["id"] == ticket.id
    from core.services import qr

    payload = qr.payload_for(tenant.org, ticket)
    assert client.post("/events/tickets/validate", json={"qrPayload": payload}).get_json()["valid"] is True
    admitted = client.post("/events/check-in", json={"qrPayload": payload})
    assert admitted.status_code == 200 and admitted.get_json()["ticket"]["attended"] is True
    return admitted.get_json()


def test_an_officer_key_may_view_tickets_check_in_and_undo_and_nothing_else(tenant, operator):
    event, (first, second) = _door_world(tenant)
    officer = token_client(tenant, officer_key(tenant, operator))
    assert officer.get("/auth/me").get_json()["officer"] is True

    admitted = _allowed(officer, tenant, event.id, first)
    by_id = officer.post(f"/events/check-in/{second.id}", json={})
    assert by_id.status_code == 200 and by_id.get_json()["ticket"]["attended"] is True

    undone = officer.post(f"/events/check-in/{first.id}/undo", json={"reason": "scanned the wrong phone"})
    assert undone.status_code == 200, undone.get_json()
    block = undone.get_json()
    assert block["admitted"] is False and block["ticket"]["attended"] is False
    assert block["ticket"]["status"] == "valid" and block["checkIn"]["result"] == "undone"
    assert block["checkIn"]["note"] == "scanned the wrong phone"
    with database.db.connection_context():
        scanned_by = CheckIn.get_by_id(admitted["checkIn"]["id"]).staff
    assert scanned_by.startswith("key:") and block["checkIn"]["by"] == scanned_by
    twice = officer.post(f"/events/check-in/{first.id}/undo", json={})
    assert twice.status_code == 409 and twice.get_json()["type"] == "not_checked_in"
    with database.db.connection_context():
        log = [(row.result, row.note) for row in CheckIn.select().where(CheckIn.ticket == first.id)
               .order_by(CheckIn.created_at, CheckIn.result)]
    assert log == [("admitted", None), ("undone", "scanned the wrong phone")]
    # the attendance is really back: the same QR is admitted again
    from core.services import qr

    assert officer.post("/events/check-in", json={"qrPayload": qr.payload_for(tenant.org, first)}).status_code == 200

    _refused_elsewhere(officer, event.id, first.id)
    exchanged = tenant.guest.post("/auth/token", json={"apiKey": officer_key(tenant, operator)}).get_json()
    assert exchanged["role"] == "officer"
    as_jwt = tenant.guest.as_token(exchanged["token"])
    assert as_jwt.get(f"/events/tickets/{first.id}").status_code == 200
    _refused_elsewhere(as_jwt, event.id, first.id)


def test_an_admin_makes_a_customer_an_officer_and_revokes_it_on_the_next_request(tenant, other_tenant):
    event, (first, second) = _door_world(tenant)
    fan = member(tenant, "steward")
    plain = tenant.customer()
    assert fan.get(f"/events/tickets/{first.id}").get_json()["type"] == "forbidden_role"

    assert fan.put(f"/org/officers/{plain.customer_id}").get_json()["type"] == "forbidden_role"  # not an admin
    assert tenant.staff.put("/org/officers/no-such-customer").get_json()["type"] == "customer_not_found"
    foreign = other_tenant.customer()
    assert tenant.staff.put(f"/org/officers/{foreign.customer_id}").status_code == 404

    granted = tenant.staff.put(f"/org/officers/{fan.customer_id}")
    assert granted.status_code == 200 and granted.get_json()["officer"] is True
    assert [o["customerId"] for o in tenant.staff.get("/org/officers").get_json()["officers"]] == [fan.customer_id]
    assert other_tenant.staff.get("/org/officers").get_json()["officers"] == []

    # the same token, signed in before the grant, acts as an officer now; a fresh login says so
    assert fan.get(PROFILE).get_json()["officer"] is True
    assert fan.get("/auth/me").get_json()["officer"] is True
    _allowed(fan, tenant, event.id, first)
    undone = fan.post(f"/events/check-in/{first.id}/undo", json={"reason": "mistake"})
    assert undone.status_code == 200 and undone.get_json()["checkIn"]["by"] == fan.customer_id
    _refused_elsewhere(fan, event.id, first.id)
    assert fan.get("/client/events/tickets/mine").status_code == 200  # still a member
    assert plain.get(f"/events/tickets/{first.id}").get_json()["type"] == "forbidden_role"

    revoked = tenant.staff.delete(f"/org/officers/{fan.customer_id}")
    assert revoked.status_code == 200 and revoked.get_json()["officer"] is False
    after = fan.post(f"/events/check-in/{second.id}", json={})
    assert after.status_code == 403 and after.get_json()["type"] == "forbidden_role"
    assert fan.get(f"/events/tickets/{first.id}").status_code == 403
    assert reload(second.id).status == "valid"
    assert tenant.staff.get("/org/officers").get_json()["officers"] == []
    assert fan.get(PROFILE).get_json()["officer"] is False


def test_undo_check_in_refuses_unknown_and_foreign_tickets(tenant, other_tenant):
    _, (ticket,) = make_event(tenant)[0], issue(tenant, make_event(tenant)[1])
    missing = tenant.staff.post("/events/check-in/no-such-ticket/undo", json={})
    assert missing.status_code == 404 and missing.get_json()["type"] == "ticket_not_found"
    assert other_tenant.staff.post(f"/events/check-in/{ticket.id}/undo", json={}).status_code == 404
    long_reason = tenant.staff.post(f"/events/check-in/{ticket.id}/undo", json={"reason": "x" * 501})
    assert long_reason.status_code == 422
    assert tenant.staff.post(f"/events/check-in/{ticket.id}/undo", json={}).get_json()["type"] == "not_checked_in"
    customer = tenant.customer()
    assert customer.post(f"/events/check-in/{ticket.id}/undo", json={}).get_json()["type"] == "forbidden_role"


# --- migration --------------------------------------------------------------------------------------------

def test_migration_adds_what_an_older_database_lacks_and_is_idempotent(tenant):
    from core.db import db as database
    from core.migrations import m0023_usernames_officers_domains as m0023
    from core.models import TenantDomain

    before = member(tenant, "kept")
    with database.connection_context():
        database.execute_sql(f"DROP INDEX {m0023.USERNAME_INDEX}")
        for column in ("username", "username_key", "officer"):
            database.execute_sql(f'ALTER TABLE "customer" DROP COLUMN "{column}"')
        database.execute_sql('ALTER TABLE "check_in" DROP COLUMN "note"')
        database.drop_tables([TenantDomain])
        m0023.upgrade()
        m0023.upgrade()  # idempotent
        assert TenantDomain.table_exists()
        assert {"username", "username_key", "officer"} <= {c.name for c in database.get_columns("customer")}
        assert "note" in {c.name for c in database.get_columns("check_in")}
        unique = {i.name: i.unique for i in database.get_indexes("customer")}
        assert unique[m0023.USERNAME_INDEX] is True
        kept = Customer.get_by_id(before.customer_id)
        assert (kept.username, kept.officer) == (None, False)  # older accounts: no username, not officers
    assert before.get(PROFILE).get_json()["username"] is None
    assert member(tenant, "after").get(PROFILE).get_json()["username"] == "after"
    assert register(tenant, "AFTER", email="twin@example.com").get_json()["type"] == "username_taken"


# --- races over real HTTP ---------------------------------------------------------------------------------

def test_racing_registrations_and_transfers_have_one_winner(live_server, tenant):
    import requests
    from test_races_tickets import poster, storm

    headers = {"orgid": tenant.orgid}
    responses = storm([lambda i=i: requests.post(live_server.url + REGISTER, headers=headers, timeout=60, json={
        "email": f"racer{i}@example.com", "password": "correct-horse-9", "username": "Racer" if i % 2 else "RACER"})
        for i in range(8)])
    assert sorted(r.status_code for r in responses) == [201] + [422] * 7
    assert {r.json()["type"] for r in responses if r.status_code == 422} == {"username_taken"}
    with database.db.connection_context():
        assert Customer.select().where((Customer.org == tenant.orgid) & (Customer.email.startswith("racer"))
                                       ).count() == 1

    for name in ("left", "right", "middle"):
        member(tenant, name)
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    path = f"/events/tickets/{ticket.id}/transfer"
    moved = storm([poster(live_server, tenant, path, {"username": name}) for name in ("left", "right", "middle") * 4])
    assert sorted(r.status_code for r in moved) == [201] + [409] * 11
    with database.db.connection_context():
        assert Transfer.select().where(Transfer.ticket == ticket.id).count() == 1

    (admitted,) = issue(tenant, ticket_type)
    assert tenant.staff.post(f"/events/check-in/{admitted.id}", json={}).status_code == 200
    undone = storm([poster(live_server, tenant, f"/events/check-in/{admitted.id}/undo", {}) for _ in range(8)])
    assert sorted(r.status_code for r in undone) == [200] + [409] * 7
    with database.db.connection_context():
        assert CheckIn.select().where((CheckIn.ticket == admitted.id) & (CheckIn.result == "undone")).count() == 1
