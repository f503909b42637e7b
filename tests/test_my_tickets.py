"""Customer views: my tickets across events, one ticket, perks, my bookings; other people's are 404."""

from __future__ import annotations

from ticket_factory import issue, make_event


def test_mine_lists_my_tickets_across_events_and_nobody_elses(tenant):
    fan = tenant.customer()
    soon, soon_type = make_event(tenant, name="Soon", starts_in_days=2)
    later, later_type = make_event(tenant, name="Later", starts_in_days=30, perks=["lounge", "drink"])
    issue(tenant, later_type, 1, email=fan.email, customer_id=fan.customer_id)
    issue(tenant, soon_type, 2, email=fan.email, customer_id=fan.customer_id)
    issue(tenant, soon_type, 1, email="someone@example.com")
    # A guest purchase with my email is NOT mine: emails are not verified at registration.
    issue(tenant, soon_type, 1, email=fan.email)

    response = fan.get("/client/events/tickets/mine")
    assert response.status_code == 200
    tickets = response.get_json()["tickets"]
    assert [t["event"]["name"] for t in tickets] == ["Soon", "Soon", "Later"]
    first = tickets[0]
    assert set(first) >= {"id", "eventId", "ticketTypeId", "ticketTypeName", "status", "holderEmail", "holderName",
                          "seats", "attended", "scanCount", "qrUrl", "createdAt", "transferredFrom"}
    assert first["qrUrl"] == f"/client/events/tickets/{first['id']}/qr"
    assert first["attended"] is False and first["status"] == "valid"
    assert "bookingId" not in first


def test_one_ticket_and_perks_owner_only(tenant, other_tenant):
    fan = tenant.customer()
    _, ticket_type = make_event(tenant, perks=["lounge", "free drink"])
    (ticket,) = issue(tenant, ticket_type, email=fan.email, customer_id=fan.customer_id)
    shown = fan.get(f"/client/events/tickets/{ticket.id}")
    assert shown.status_code == 200 and shown.get_json()["id"] == ticket.id
    perks = fan.get(f"/client/events/tickets/{ticket.id}/perks").get_json()
    assert perks["perks"] == ["lounge", "free drink"] and perks["ticketTypeName"] == "General"

    stranger = tenant.customer()
    for path in ("", "/perks", "/qr"):
        response = stranger.get(f"/client/events/tickets/{ticket.id}{path}")
        assert response.status_code == 404 and response.get_json()["type"] == "ticket_not_found"
    foreign = other_tenant.customer()
    assert foreign.get(f"/client/events/tickets/{ticket.id}").status_code == 404
    assert fan.get("/client/events/tickets/" + "x" * 300).status_code == 404
    assert tenant.guest.get("/client/events/tickets/mine").status_code == 401
    assert tenant.staff.get("/client/events/tickets/mine").status_code == 403


def test_my_bookings_upcoming_first_with_counts(tenant):
    fan = tenant.customer()
    _, past_type = make_event(tenant, name="Past", starts_in_days=-5)
    _, far_type = make_event(tenant, name="Far", starts_in_days=60)
    _, near_type = make_event(tenant, name="Near", starts_in_days=3)
    for ticket_type, count in ((past_type, 1), (far_type, 3), (near_type, 2)):
        issue(tenant, ticket_type, count, email=fan.email, customer_id=fan.customer_id)
    bookings = fan.get("/client/events/booking").get_json()["bookings"]
    assert [(b["event"]["name"], b["ticketCount"], b["upcoming"]) for b in bookings] == [
        ("Near", 2, True), ("Far", 3, True), ("Past", 1, False)]
    assert bookings[0]["event"]["startsAt"].endswith("Z") and bookings[0]["amount"] == 5000
    assert tenant.customer().get("/client/events/booking").get_json() == {"bookings": []}


def test_mine_shows_void_tickets_only_with_all_true(tenant):
    fan = tenant.customer()
    _, ticket_type = make_event(tenant)
    live, moved, refunded = issue(tenant, ticket_type, 3, email=fan.email, customer_id=fan.customer_id)
    assert fan.post(f"/client/events/tickets/{moved.id}/transfer", json={"toEmail": "pal@example.com"}
                    ).status_code == 201
    assert tenant.staff.post(f"/events/tickets/{refunded.id}/refund", json={}).status_code == 200

    def mine(query: str = "") -> dict:
        response = fan.get(f"/client/events/tickets/mine{query}")
        assert response.status_code == 200
        return {t["id"]: (t["status"], t["qrUrl"] is not None) for t in response.get_json()["tickets"]}

    assert mine() == mine("?all=false") == {live.id: ("valid", True)}
    assert mine("?all=true") == {live.id: ("valid", True), moved.id: ("transferred", False),
                                 refunded.id: ("refunded", False)}
