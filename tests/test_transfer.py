"""Ticket transfer: old QR dies at once, recipient gets a new ticket and a claim token by hook, claim once."""

from __future__ import annotations

from ticket_factory import issue, make_event, recorded_hooks, reload, reload_model, set_status

from core import db as database
from core.models import Booking, TicketType, Transfer
from core.services import qr


def test_owner_transfers_recipient_claims(tenant):
    owner = tenant.customer()
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type, email=owner.email, customer_id=owner.customer_id)
    old_payload = qr.payload_for(tenant.org, ticket)
    booking_before = reload_model(Booking, ticket.booking_id)

    with recorded_hooks(tenant, "ticket_transferred") as calls:
        response = owner.post(f"/client/events/tickets/{ticket.id}/transfer",
                              json={"toEmail": "friend@example.com", "toName": "Friend Person"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert "claimToken" not in body and "claim" not in str(body).lower().replace("claimed", "")
    assert body["oldTicket"]["status"] == "transferred" and body["oldTicket"]["qrUrl"] is None
    new_id = body["newTicket"]["id"]
    assert new_id != ticket.id

    (name, hook_args), = calls
    token = hook_args["claim_token"]
    assert hook_args["new_ticket"].id == new_id and hook_args["old_ticket"].status == "transferred"
    assert hook_args["transfer"].to_email == "friend@example.com"
    stored = reload_model(Transfer, hook_args["transfer"].id)
    assert stored.claim_token_hash != token and len(stored.claim_token_hash) == 64

    check = tenant.staff.post("/events/tickets/validate", json={"qrPayload": old_payload}).get_json()
    assert check["valid"] is False and check["reason"] == "revoked"
    assert owner.get(f"/client/events/tickets/{ticket.id}/qr").status_code == 409
    assert owner.get("/client/events/tickets/mine").get_json()["tickets"] == []

    new_ticket = reload(new_id)
    assert (new_ticket.holder_email, new_ticket.customer_id, new_ticket.secret_version) == (
        "friend@example.com", None, 1)
    assert new_ticket.transferred_from_id == ticket.id and new_ticket.booking_id == ticket.booking_id
    assert new_ticket.price_paid == ticket.price_paid

    friend = tenant.customer(email="friend@example.com")
    claimed = friend.post("/client/events/tickets/claim", json={"token": token})
    assert claimed.status_code == 200 and claimed.get_json()["ticket"]["id"] == new_id
    assert claimed.get_json()["ticket"]["transferredFrom"] == ticket.id
    mine = friend.get("/client/events/tickets/mine").get_json()["tickets"]
    assert [t["id"] for t in mine] == [new_id]
    scan = tenant.staff.post("/events/check-in", json={"qrPayload": qr.payload_for(tenant.org, new_ticket)})
    assert scan.status_code == 200

    again = tenant.customer().post("/client/events/tickets/claim", json={"token": token})
    assert again.status_code == 409 and again.get_json()["type"] == "already_claimed"
    bad = friend.post("/client/events/tickets/claim", json={"token": "not-a-real-token-at-all"})
    assert bad.status_code == 404 and bad.get_json()["type"] == "invalid_claim_token"

    booking_after = reload_model(Booking, ticket.booking_id)
    assert (booking_after.status, booking_after.amount, booking_after.refunded_amount) == (
        booking_before.status, booking_before.amount, booking_before.refunded_amount)
    tt = reload_model(TicketType, ticket_type.id)
    assert tt.sold == 1


def test_staff_transfer_returns_claim_link(tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    response = tenant.staff.post(f"/events/tickets/{ticket.id}/transfer", json={"toEmail": "new@example.com"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["claimToken"] and body["claimUrl"].endswith(body["claimToken"])
    assert body["newTicket"]["holderEmail"] == "new@example.com"
    assert body["newTicket"]["transferredFrom"] == ticket.id


def test_claim_links_expire_and_staff_can_send_a_new_one(tenant):
    import datetime as dt

    from core.models import utcnow

    _, ticket_type = make_event(tenant, starts_in_days=60)
    (ticket,) = issue(tenant, ticket_type)
    sent = tenant.staff.post(f"/events/tickets/{ticket.id}/transfer", json={"toEmail": "late@example.com"}).get_json()
    expires = dt.datetime.fromisoformat(sent["claimExpiresAt"].rstrip("Z"))
    assert dt.timedelta(days=29) < expires - utcnow() <= dt.timedelta(days=30)  # 30 days: the event is later
    new_id, old_token = sent["newTicket"]["id"], sent["claimToken"]
    transfer_id = sent["transfer"]["id"]

    with database.db.connection_context():  # the link ran out
        Transfer.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(Transfer.id == transfer_id).execute()
    late = tenant.customer(email="late@example.com")
    expired = late.post("/client/events/tickets/claim", json={"token": old_token})
    assert expired.status_code == 410 and expired.get_json()["type"] == "claim_expired"
    assert expired.get_json()["expiredAt"].endswith("Z") and reload(new_id).customer_id is None

    assert late.post(f"/events/tickets/{new_id}/claim-link").status_code == 403  # staff only
    with recorded_hooks(tenant, "ticket_transferred") as calls:
        renewed = tenant.staff.post(f"/events/tickets/{new_id}/claim-link")
    assert renewed.status_code == 201, renewed.get_json()
    fresh = renewed.get_json()["claimToken"]
    assert fresh != old_token and calls[0][1]["claim_token"] == fresh  # the recipient is told again
    assert late.post("/client/events/tickets/claim", json={"token": old_token}).status_code == 404
    assert late.post("/client/events/tickets/claim", json={"token": fresh}).status_code == 200
    assert reload(new_id).customer_id == late.customer_id

    again = tenant.staff.post(f"/events/tickets/{new_id}/claim-link")
    assert again.status_code == 409 and again.get_json()["type"] == "already_claimed"
    (plain,) = issue(tenant, ticket_type)
    missing = tenant.staff.post(f"/events/tickets/{plain.id}/claim-link")
    assert missing.status_code == 404 and missing.get_json()["type"] == "transfer_not_found"


def test_a_claim_link_ends_with_the_event(tenant):
    import datetime as dt


    event, ticket_type = make_event(tenant, starts_in_days=3)
    (ticket,) = issue(tenant, ticket_type)
    sent = tenant.staff.post(f"/events/tickets/{ticket.id}/transfer", json={"toEmail": "soon@example.com"}).get_json()
    expires = dt.datetime.fromisoformat(sent["claimExpiresAt"].rstrip("Z"))
    assert abs(expires - event.ends_at) < dt.timedelta(seconds=1)


def test_refusals_are_409_not_transferable(tenant):
    owner = tenant.customer()
    event, locked_type = make_event(tenant, transferable=False)
    (locked,) = issue(tenant, locked_type, customer_id=owner.customer_id)
    refused = owner.post(f"/client/events/tickets/{locked.id}/transfer", json={"toEmail": "x@example.com"})
    assert refused.status_code == 409 and refused.get_json()["type"] == "not_transferable"

    _, ticket_type = make_event(tenant)
    used, cancelled, refunded, pending, moved = issue(tenant, ticket_type, 5, customer_id=owner.customer_id)
    tenant.staff.post(f"/events/check-in/{used.id}", json={})
    tenant.staff.post(f"/events/tickets/{cancelled.id}/cancel")
    assert tenant.staff.post(f"/events/tickets/{refunded.id}/refund", json={}).status_code == 200
    set_status(pending.id, "pending_activation")
    first = owner.post(f"/client/events/tickets/{moved.id}/transfer", json={"toEmail": "a@example.com"})
    assert first.status_code == 201
    for ticket in (used, cancelled, refunded, pending, moved):
        for client, path in ((owner, f"/client/events/tickets/{ticket.id}/transfer"),
                             (tenant.staff, f"/events/tickets/{ticket.id}/transfer")):
            response = client.post(path, json={"toEmail": "b@example.com"})
            assert response.status_code == 409, (ticket, path)
            assert response.get_json()["type"] == "not_transferable"
    assert tenant.staff.get(f"/events/tickets/{refunded.id}").get_json()["status"] == "refunded"


def test_the_old_ticket_id_no_longer_checks_in_after_a_transfer(tenant):
    owner = tenant.customer()
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type, customer_id=owner.customer_id)
    moved = owner.post(f"/client/events/tickets/{ticket.id}/transfer", json={"toEmail": "friend@example.com"})
    new_id = moved.get_json()["newTicket"]["id"]
    refused = tenant.staff.post(f"/events/check-in/{ticket.id}", json={})
    assert refused.status_code == 409 and refused.get_json()["type"] == "ticket_revoked"
    old = tenant.staff.get(f"/events/tickets/{ticket.id}").get_json()
    assert (old["status"], old["scanCount"], old["attended"]) == ("transferred", 0, False)
    admitted = tenant.staff.post(f"/events/check-in/{new_id}", json={})
    assert admitted.status_code == 200 and admitted.get_json()["admitted"] is True


def test_only_the_owner_transfers_and_bad_input_is_422(tenant, other_tenant):
    owner = tenant.customer()
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type, customer_id=owner.customer_id)
    thief = tenant.customer()
    stolen = thief.post(f"/client/events/tickets/{ticket.id}/transfer", json={"toEmail": "t@example.com"})
    assert stolen.status_code == 404
    assert other_tenant.staff.post(f"/events/tickets/{ticket.id}/transfer",
                                   json={"toEmail": "t@example.com"}).status_code == 404
    bad = owner.post(f"/client/events/tickets/{ticket.id}/transfer", json={"toEmail": "not-an-email"})
    assert bad.status_code == 422 and bad.get_json()["type"] == "validation_error"
    assert reload(ticket.id).status == "valid"
    assert tenant.guest.post("/client/events/tickets/claim", json={"token": "whatever-token"}).status_code == 401
