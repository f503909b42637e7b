"""Staff ticket lists: filters, cursor and page/limit pagination, one ticket, participants (002 shape)."""

from __future__ import annotations

from ticket_factory import add_ticket_type, issue, make_event


def test_event_tickets_filters_and_cursor_pages(tenant):
    event, general = make_event(tenant)
    vip = add_ticket_type(tenant, event, name="VIP")
    issue(tenant, general, 3, email="ana@example.com", name="Ana Lima")
    issue(tenant, general, 2, email="bob@example.com", name="Bob Stone")
    (vip_ticket,) = issue(tenant, vip, 1, email="cy@example.com", name="Cy Vip")
    tenant.staff.post(f"/events/check-in/{vip_ticket.id}", json={})

    seen, cursor = [], None
    while True:
        query = "?page[size]=2" + (f"&page[cursor]={cursor}" if cursor else "")
        body = tenant.staff.get(f"/events/{event.id}/tickets{query}").get_json()
        seen += [t["id"] for t in body["data"]]
        cursor = body["meta"]["page"]["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 6

    def ids(query):
        response = tenant.staff.get(f"/events/{event.id}/tickets?{query}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["data"]

    assert {t["holderName"] for t in ids("search=BOB")} == {"Bob Stone"}
    assert len(ids("search=example.com")) == 6
    assert [t["id"] for t in ids(f"ticketTypeId={vip.id}")] == [vip_ticket.id]
    checked = ids("status=checked_in")
    assert [t["id"] for t in checked] == [vip_ticket.id] and checked[0]["attended"] is True
    assert checked[0]["bookingId"] and checked[0]["qrUrl"] == f"/events/tickets/{vip_ticket.id}/qr"

    paged = tenant.staff.get(f"/events/{event.id}/tickets?page=2&limit=4").get_json()
    assert len(paged["data"]) == 2 and paged["paginate"] == {"hasNextPage": False, "nextPage": None}
    bad = tenant.staff.get(f"/events/{event.id}/tickets?status=bogus")
    assert bad.status_code == 400 and bad.get_json()["type"] == "invalid_parameter"
    bad_cursor = tenant.staff.get(f"/events/{event.id}/tickets?page[cursor]=zzz")
    assert bad_cursor.status_code == 400 and bad_cursor.get_json()["type"] == "invalid_cursor"


def test_staff_ticket_lists_are_tenant_scoped_and_staff_only(tenant, other_tenant):
    event, general = make_event(tenant)
    (ticket,) = issue(tenant, general)
    assert other_tenant.staff.get(f"/events/{event.id}/tickets").status_code == 404
    assert other_tenant.staff.get(f"/events/tickets/{ticket.id}").status_code == 404
    assert other_tenant.staff.get(f"/events/{event.id}/participants").status_code == 404
    assert tenant.customer().get(f"/events/tickets/{ticket.id}").status_code == 403
    shown = tenant.staff.get(f"/events/tickets/{ticket.id}").get_json()
    assert shown["id"] == ticket.id and shown["status"] == "valid" and shown["price"]["amount"] == 2500


def test_participants_are_distinct_live_holders(tenant):
    fan = tenant.customer(email="dee@example.com", name="Dee Doe")
    event, general = make_event(tenant)
    issue(tenant, general, 2, email="ana@example.com", name="Ana Maria Lima")
    issue(tenant, general, 1, email=fan.email, name="Dee Doe", customer_id=fan.customer_id)
    (gone,) = issue(tenant, general, 1, email="zed@example.com", name="Zed Gone")
    tenant.staff.post(f"/events/tickets/{gone.id}/cancel")

    body = tenant.staff.get(f"/events/{event.id}/participants?page=1&limit=1").get_json()
    assert body["paginate"] == {"hasNextPage": True, "nextPage": 2}
    (ana,) = body["participants"]
    assert ana["first_name"] == "Ana" and ana["last_name"] == "Maria Lima" and ana["email"] == "ana@example.com"
    assert set(ana) == {"id", "first_name", "last_name", "email", "phone", "address", "confirmed", "created",
                        "ticket_count", "ticket_ids"}
    assert ana["confirmed"] is True
    second = tenant.staff.get(f"/events/{event.id}/participants?page=2&limit=1").get_json()
    assert [p["email"] for p in second["participants"]] == ["dee@example.com"]
    assert second["paginate"] == {"hasNextPage": False, "nextPage": None}
    everyone = tenant.staff.get(f"/events/{event.id}/participants").get_json()["participants"]
    assert [p["email"] for p in everyone] == ["ana@example.com", "dee@example.com"]


def test_partner_participants_path_answers_the_same_list(tenant, other_tenant):
    registered = tenant.guest.post("/client/auth/register", json={
        "email": "dee@example.com", "password": "correct-horse-9", "name": "Dee Doe", "phone": "+1234567890"})
    event, general = make_event(tenant)
    issue(tenant, general, 2, email="ana@example.com", name="Ana Lima")
    issue(tenant, general, 1, email="dee@example.com", name="Dee Doe",
          customer_id=registered.get_json()["customer"]["id"])
    for query in ("", "&page=1&limit=1", "&page=2&limit=1"):
        alias = tenant.staff.get(f"/participants?eventId={event.id}{query}")
        assert alias.status_code == 200, alias.get_json()
        assert alias.get_json() == tenant.staff.get(f"/events/{event.id}/participants?{query[1:]}").get_json()
    body = tenant.staff.get(f"/api/participants?eventId={event.id}").get_json()
    assert set(body) == {"participants", "paginate"} and body["paginate"] == {"hasNextPage": False, "nextPage": None}
    assert [(p["email"], p["phone"], p["address"]) for p in body["participants"]] == [
        ("ana@example.com", None, None), ("dee@example.com", "+1234567890", None)]

    def refused(query: str) -> tuple[int, str, list]:
        response = tenant.staff.get(f"/participants?{query}")
        return response.status_code, response.get_json()["type"], list(response.get_json()["errors"]["query"])

    bad = {"": "eventId", "eventId=": "eventId", f"eventId={'x' * 65}": "eventId", "page=2": "eventId",
           "page=0": "page", "page=abc": "page", "limit=0": "limit", "limit=201": "limit", "limit=x": "limit"}
    for query, field in bad.items():
        with_event = query if field == "eventId" else f"eventId={event.id}&{query}"
        assert refused(with_event) == (422, "validation_error", [field]), query
        if field != "eventId":
            assert tenant.staff.get(f"/events/{event.id}/participants?{query}").status_code == 422, query
    theirs, _ = make_event(other_tenant)
    for unknown in ("no-such-event", theirs.id):
        assert refused(f"eventId={unknown}") == (422, "event_not_found", ["eventId"]), unknown
    assert tenant.customer().get(f"/participants?eventId={event.id}").status_code == 403
    assert tenant.guest.get(f"/participants?eventId={event.id}").status_code == 401
