"""Session participation over HTTP: passes cover every session, session tickets one; capacity, overlap,
invitations, privacy, tenancy, and check-in at a session's scan point."""

from __future__ import annotations

import threading

import audits
import requests
from test_purchase_support import iso

from core import db as database
from core.models import CheckIn, Event, Org, Participation, Ticket
from core.services import qr

REGISTER = "/client/events/tickets/register"
MINE = "/client/events/participation/mine"


def make_festival(tenant, *, capacities=(None, None, None), overlap_third=False):
    """A parent event with three sessions (A, B, C); C overlaps B when `overlap_third`. Returns ids."""
    import datetime as dt

    day = dt.timedelta(days=20)
    hours = [(17, 19), (19, 21), (20, 22) if overlap_third else (21, 23)]
    sessions = [{"name": f"Session {'ABC'[i]}", "starts_at": iso(day + dt.timedelta(hours=start)),
                 "ends_at": iso(day + dt.timedelta(hours=end)), "capacity": capacities[i],
                 "published_at": iso(-dt.timedelta(minutes=5))} for i, (start, end) in enumerate(hours)]
    response = tenant.staff.post("/events", json={"event": {"type": "parent", "name": "Fest", "tz": "UTC",
                                                            "sessions": sessions}})
    assert response.status_code == 201, response.get_json()
    parent = response.get_json()["data"]["id"]
    full = tenant.staff.get(f"/events/{parent}?include=sessions").get_json()["data"]
    return parent, [s["id"] for s in full["sessions"]]


def ticket_type(tenant, event_id: str, **fields) -> str:
    body = {"name": "Free", "price": 0, "currency": "USD", "capacity": 500, **fields}
    response = tenant.staff.post(f"/events/{event_id}/ticket-types", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


def register(customer, event_id: str, ticket_type_id: str) -> str:
    response = customer.post(REGISTER, json={"eventId": event_id, "ticketTypeId": ticket_type_id})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["tickets"][0]["id"]


def choose(customer, parent: str, sessions: list[str], method: str = "post"):
    return getattr(customer, method)(f"/client/events/{parent}/participation", json={"sessionIds": sessions})


def statuses(response) -> dict[str, str]:
    return {p["sessionId"]: p["status"] for p in response.get_json()["participation"]}


def taken(session_id: str) -> int:
    with database.db.connection_context():
        org = Event.get_by_id(session_id).org_id
        return audits.seats_taken(org, session_id)


def set_visibility(tenant, value: str) -> None:
    """The tenant admin changes who customers see attending, through `PATCH /org/settings`."""
    response = tenant.staff.patch("/org/settings", json={"participantsVisibility": value})
    assert response.status_code == 200 and response.get_json()["participantsVisibility"] == value


def test_pass_covers_every_session_and_session_ticket_covers_one(tenant):
    parent, (a, b, c) = make_festival(tenant)
    pass_type = ticket_type(tenant, parent, name="Weekend pass", isPass=True)
    only_b = ticket_type(tenant, b, name="B only")
    holder = tenant.customer(name="Ada Lovelace")
    register(holder, parent, pass_type)
    response = choose(holder, parent, [a, b, c])
    assert response.status_code == 201, response.get_json()
    assert statuses(response) == {a: "selected", b: "selected", c: "selected"}
    mine = holder.get(MINE).get_json()["participation"]
    assert [p["session"]["name"] for p in mine] == ["Session A", "Session B", "Session C"]
    assert mine[0]["session"]["startsAt"].endswith("Z") and mine[0]["parentEventId"] == parent

    fan = tenant.customer()
    register(fan, b, only_b)
    refused = choose(fan, parent, [a, b])
    assert refused.status_code == 403 and refused.get_json()["type"] == "ticket_required"
    assert refused.get_json()["sessionIds"] == [a]
    assert choose(fan, parent, [b]).status_code == 201
    nothing = tenant.customer()
    assert choose(nothing, parent, [a]).get_json()["type"] == "ticket_required"
    assert (taken(a), taken(b), taken(c)) == (1, 2, 1)


def test_put_replaces_the_selection_and_frees_seats(tenant):
    parent, (a, b, c) = make_festival(tenant)
    holder = tenant.customer()
    register(holder, parent, ticket_type(tenant, parent, isPass=True))
    assert choose(holder, parent, [a, b]).status_code == 201
    again = choose(holder, parent, [a])  # adding what is already chosen changes nothing
    assert statuses(again) == {a: "selected", b: "selected"}
    replaced = choose(holder, parent, [c], method="put")
    assert replaced.status_code == 200 and statuses(replaced) == {c: "selected"}
    assert (taken(a), taken(b), taken(c)) == (0, 0, 1)
    back = choose(holder, parent, [a])
    assert statuses(back) == {a: "selected", c: "selected"} and taken(a) == 1


def test_bad_input_and_wrong_events(tenant, other_tenant):
    parent, (a, b, _c) = make_festival(tenant)
    holder = tenant.customer()
    register(holder, parent, ticket_type(tenant, parent, isPass=True))
    assert choose(holder, parent, []).status_code == 422
    assert holder.post(f"/client/events/{parent}/participation", json={"sessionIds": "x"}).status_code == 422
    assert holder.post(f"/client/events/{parent}/participation", data="{", content_type="application/json"
                       ).status_code == 400
    _their_parent, (theirs, _, _) = make_festival(other_tenant)
    for bad in ("nope", theirs):  # a made-up id and another tenant's session: refused alike, nothing chosen
        missing = choose(holder, parent, [a, bad])
        assert missing.status_code == 422 and missing.get_json()["type"] == "session_not_found"
        assert missing.get_json()["errors"] == {"sessionIds": [bad]}
    assert holder.get(MINE).get_json()["participation"] == []
    not_parent = choose(holder, a, [b])
    assert not_parent.status_code == 422 and not_parent.get_json()["type"] == "not_a_parent_event"
    assert tenant.guest.post(f"/client/events/{parent}/participation", json={"sessionIds": [a]}).status_code == 401
    assert tenant.staff.post(f"/client/events/{parent}/participation", json={"sessionIds": [a]}).status_code == 403
    assert (taken(a), taken(b)) == (0, 0)


def test_overlap_is_refused_unless_the_parent_allows_it(tenant):
    parent, (a, b, c) = make_festival(tenant, overlap_third=True)
    holder = tenant.customer()
    register(holder, parent, ticket_type(tenant, parent, isPass=True))
    clash = choose(holder, parent, [b, c])
    assert clash.status_code == 409 and clash.get_json()["type"] == "sessions_overlap"
    assert set(clash.get_json()["sessionIds"]) == {b, c}
    assert choose(holder, parent, [a, b]).status_code == 201
    later = choose(holder, parent, [c])
    assert later.status_code == 409 and later.get_json()["type"] == "sessions_overlap"
    assert choose(holder, parent, [a, c], method="put").status_code == 200  # b dropped, so c fits
    assert (taken(a), taken(b), taken(c)) == (1, 0, 1)
    assert tenant.staff.get(f"/events/{parent}").get_json()["data"]["allow_overlap"] is False
    allowed = tenant.staff.patch(f"/events/{parent}", json={"event": {"allow_overlap": True}})
    assert allowed.status_code == 200 and allowed.get_json()["data"]["allow_overlap"] is True
    assert statuses(choose(holder, parent, [b])) == {a: "selected", b: "selected", c: "selected"}
    tenant.staff.patch(f"/events/{parent}", json={"allow_overlap": False})
    assert choose(holder, parent, [a, b, c], method="put").get_json()["type"] == "sessions_overlap"


def test_allow_overlap_is_set_on_create_and_only_for_parent_events(tenant):
    import datetime as dt

    day = dt.timedelta(days=20)
    sessions = [{"name": name, "starts_at": iso(day), "ends_at": iso(day + dt.timedelta(hours=2)),
                 "published_at": iso(-dt.timedelta(minutes=5))} for name in ("Stage 1", "Stage 2")]
    created = tenant.staff.post("/events", json={"type": "parent", "name": "Fest", "tz": "UTC",
                                                 "allow_overlap": True, "sessions": sessions})
    assert created.status_code == 201 and created.get_json()["data"]["allow_overlap"] is True
    parent = created.get_json()["data"]["id"]
    one, two = [s["id"] for s in tenant.staff.get(f"/events/{parent}?include=sessions").get_json()["data"]["sessions"]]
    holder = tenant.customer()
    register(holder, parent, ticket_type(tenant, parent, isPass=True))
    assert statuses(choose(holder, parent, [one, two])) == {one: "selected", two: "selected"}
    plain = tenant.staff.post("/events", json={"name": "Gig", "starts_at": iso(day), "allow_overlap": True,
                                               "ends_at": iso(day + dt.timedelta(hours=2))})
    assert plain.status_code == 422 and "allow_overlap" in plain.get_json()["errors"]


def test_session_capacity_and_concurrent_selections(tenant, live_server):
    capacity, customers = 3, 12
    parent, (a, _b, _c) = make_festival(tenant, capacities=(capacity, None, None))
    pass_type = ticket_type(tenant, parent, isPass=True)
    fans = [tenant.customer() for _ in range(customers)]
    for fan in fans:
        register(fan, parent, pass_type)
    results: list[requests.Response] = []
    barrier = threading.Barrier(customers)

    def select(fan):
        barrier.wait()
        results.append(requests.post(f"{live_server.url}/client/events/{parent}/participation",
                                     json={"sessionIds": [a]}, timeout=30,
                                     headers={"orgid": tenant.orgid, "Authorization": f"Bearer {fan.token}"}))

    threads = [threading.Thread(target=select, args=(fan,)) for fan in fans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [201] * capacity + [409] * (customers - capacity), [r.text for r in results]
    assert {r.json()["type"] for r in results if r.status_code == 409} == {"session_full"}
    assert taken(a) == capacity
    listed = tenant.staff.get(f"/events/{a}/participation?limit=50").get_json()["participants"]
    assert len(listed) == capacity and {p["status"] for p in listed} == {"selected"}


def test_invite_accept_decline_and_respond_once(tenant):
    parent, (a, b, _c) = make_festival(tenant, capacities=(1, None, None))
    guest_speaker = tenant.customer(name="Grace Hopper")
    invited = tenant.staff.post(f"/events/{a}/participants/invite", json={"email": guest_speaker.email})
    assert invited.status_code == 201, invited.get_json()
    invitation = invited.get_json()
    assert invitation["status"] == "invited" and invitation["session"]["name"] == "Session A"
    assert taken(a) == 1  # the invitation holds the seat
    holder = tenant.customer()
    register(holder, parent, ticket_type(tenant, parent, isPass=True))
    assert choose(holder, parent, [a]).get_json()["type"] == "session_full"
    again = tenant.staff.post(f"/events/{a}/participants/invite", json={"email": guest_speaker.email})
    assert again.status_code == 409 and again.get_json()["type"] == "already_participating"
    mine = guest_speaker.get(MINE).get_json()["participation"]
    assert [(p["id"], p["status"], p["source"]) for p in mine] == [(invitation["id"], "invited", "invite")]

    respond = f"/client/events/participation/{invitation['id']}/respond"
    assert holder.put(respond, json={"response": "decline"}).status_code == 404  # not theirs
    assert guest_speaker.put(respond, json={"response": "maybe"}).status_code == 422
    declined = guest_speaker.put(respond, json={"response": "decline"})
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    assert taken(a) == 0
    twice = guest_speaker.put(respond, json={"response": "accept"})
    assert twice.status_code == 409 and twice.get_json()["type"] == "already_responded"
    assert choose(holder, parent, [a]).status_code == 201 and taken(a) == 1

    second = tenant.staff.post(f"/events/{b}/participants/invite", json={"email": guest_speaker.email,
                                                                         "name": "Dr Grace Hopper"}).get_json()
    accepted = guest_speaker.put(f"/client/events/participation/{second['id']}/respond", json={"response": "accept"})
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    assert guest_speaker.put(f"/client/events/participation/{second['id']}/respond",
                             json={"response": "decline"}).get_json()["type"] == "already_responded"
    assert taken(b) == 1
    staff_list = tenant.staff.get(f"/events/{b}/participation").get_json()
    assert [(p["first_name"], p["last_name"], p["confirmed"], p["status"]) for p in staff_list["participants"]] == [
        ("Dr", "Grace Hopper", True, "accepted")]
    assert staff_list["paginate"] == {"hasNextPage": False, "nextPage": None}


def test_invite_validation_and_concurrent_responses(tenant):
    parent, (a, _b, _c) = make_festival(tenant)
    assert tenant.staff.post(f"/events/{a}/participants/invite", json={"email": "ghost@example.com"}
                             ).get_json()["type"] == "customer_not_found"
    assert tenant.staff.post(f"/events/{a}/participants/invite", json={"email": "nope"}).status_code == 422
    assert tenant.staff.post(f"/events/{parent}/participants/invite", json={"email": "a@b.co"}
                             ).get_json()["type"] == "not_a_session"
    invitee = tenant.customer()
    assert invitee.post(f"/events/{a}/participants/invite", json={"email": invitee.email}).status_code == 403
    row = tenant.staff.post(f"/events/{a}/participants/invite", json={"email": invitee.email.upper()}).get_json()
    results = []

    def answer():
        results.append(invitee.put(f"/client/events/participation/{row['id']}/respond",
                                   json={"response": "decline"}).status_code)

    threads = [threading.Thread(target=answer) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409, 409, 409, 409] and taken(a) == 0


def test_public_participants_follow_the_privacy_setting(tenant):
    parent, (a, b, _c) = make_festival(tenant)
    pass_type = ticket_type(tenant, parent, isPass=True)
    ada = tenant.customer(name="Ada Lovelace")
    alan = tenant.customer(name="Alan Mathison Turing")
    for fan, sessions in ((ada, [a, b]), (alan, [b])):
        register(fan, parent, pass_type)
        assert choose(fan, parent, sessions).status_code == 201
    hidden = ada.get(f"/client/events/{a}/participants")
    assert hidden.status_code == 403 and hidden.get_json()["type"] == "participants_hidden"
    set_visibility(tenant, "names")
    names = ada.get(f"/client/events/{b}/participants").get_json()
    assert names["visibility"] == "names"
    assert [p["name"] for p in names["participants"]] == ["Ada L.", "Alan M."]
    assert all("email" not in p for p in names["participants"])
    whole = ada.get(f"/client/events/{parent}/participants?limit=1").get_json()  # each person once
    assert [p["name"] for p in whole["participants"]] == ["Ada L."]
    assert whole["paginate"] == {"hasNextPage": True, "nextPage": 2}
    assert ada.get(f"/client/events/{parent}/participants?limit=1&page=2").get_json()["paginate"]["nextPage"] is None
    set_visibility(tenant, "full")
    full = alan.get(f"/client/events/{a}/participants").get_json()["participants"]
    assert full == [{"name": "Ada Lovelace", "firstName": "Ada", "lastName": "Lovelace", "email": ada.email}]
    assert ada.get(f"/client/events/{a}/participants?limit=0").status_code == 422
    assert tenant.guest.get(f"/client/events/{a}/participants").status_code == 401


def test_another_tenant_sees_nothing(tenant, other_tenant):
    parent, (a, _b, _c) = make_festival(tenant)
    holder = tenant.customer()
    register(holder, parent, ticket_type(tenant, parent, isPass=True))
    chosen = choose(holder, parent, [a]).get_json()["participation"][0]
    stranger = other_tenant.customer()
    assert choose(stranger, parent, [a]).get_json()["type"] == "event_not_found"
    assert stranger.get(f"/client/events/{a}/participants").status_code == 404
    assert stranger.put(f"/client/events/participation/{chosen['id']}/respond",
                        json={"response": "decline"}).status_code == 404
    assert other_tenant.staff.post(f"/events/{a}/participants/invite", json={"email": holder.email}
                                   ).status_code == 404
    assert other_tenant.staff.get(f"/events/{a}/participation").status_code == 404
    assert stranger.get(MINE).get_json() == {"participation": []}


def test_check_in_at_a_session_respects_the_selection(tenant):
    parent, (a, b, _c) = make_festival(tenant)
    pass_type = ticket_type(tenant, parent, isPass=True)
    only_b = ticket_type(tenant, b, name="B only")
    holder = tenant.customer()
    pass_ticket = register(holder, parent, pass_type)
    assert choose(holder, parent, [a]).status_code == 201

    at_b = tenant.staff.post(f"/events/check-in/{pass_ticket}", json={"eventId": b})
    assert at_b.status_code == 409 and at_b.get_json()["type"] == "not_registered_for_session"
    at_a = tenant.staff.post(f"/events/check-in/{pass_ticket}", json={"eventId": a, "scanPoint": "Hall 1"})
    assert at_a.status_code == 200, at_a.get_json()
    assert at_a.get_json()["admitted"] is True and at_a.get_json()["ticket"]["status"] == "checked_in"
    twice = tenant.staff.post(f"/events/check-in/{pass_ticket}", json={"eventId": a})
    assert twice.status_code == 409 and twice.get_json()["type"] == "already_checked_in"

    assert choose(holder, parent, [b]).status_code == 201  # one pass, one admission per chosen session
    assert tenant.staff.post(f"/events/check-in/{pass_ticket}", json={"eventId": b}).status_code == 200

    fan = tenant.customer()
    session_ticket = register(fan, b, only_b)  # a session ticket needs no selection for its own session
    assert tenant.staff.post(f"/events/check-in/{session_ticket}", json={"eventId": b}).status_code == 200
    wrong = tenant.staff.post(f"/events/check-in/{session_ticket}", json={"eventId": a})
    assert wrong.status_code == 409 and wrong.get_json()["type"] == "wrong_event"

    guest_pass = tenant.staff.post("/events/tickets/comp", json={"eventId": parent, "ticketTypeId": pass_type,
                                                                  "holders": [{"email": "g@example.com", "name": "G"}]})
    guest_ticket = guest_pass.get_json()["tickets"][0]["id"]
    refused = tenant.staff.post(f"/events/check-in/{guest_ticket}", json={"eventId": a})
    assert refused.get_json()["type"] == "not_registered_for_session"
    assert tenant.staff.post(f"/events/check-in/{guest_ticket}", json={"eventId": parent}).status_code == 200


def test_deleting_a_session_removes_its_scan_log_rows_and_keeps_the_pass(tenant):
    parent, (a, b, _c) = make_festival(tenant)
    holder = tenant.customer()
    pass_ticket = register(holder, parent, ticket_type(tenant, parent, isPass=True))
    assert choose(holder, parent, [a, b]).status_code == 201
    for session in (a, b):
        assert tenant.staff.post(f"/events/check-in/{pass_ticket}", json={"eventId": session}).status_code == 200

    assert tenant.staff.delete(f"/events/{a}").status_code == 204
    with database.db.connection_context():
        logged = [c.event_id for c in CheckIn.select().where(CheckIn.ticket == pass_ticket)]
        assert logged == [b]
        assert Ticket.get_by_id(pass_ticket).scan_count == 2


def test_check_in_by_qr_at_a_session(tenant):
    parent, (a, b, _c) = make_festival(tenant)
    holder = tenant.customer()
    pass_ticket = register(holder, parent, ticket_type(tenant, parent, isPass=True))
    assert choose(holder, parent, [b]).status_code == 201
    with database.db.connection_context():
        payload = qr.payload_for(Org.get_by_id(tenant.orgid), Ticket.get_by_id(pass_ticket))
    refused = tenant.staff.post("/events/check-in", json={"qrPayload": payload, "eventId": a})
    assert refused.get_json()["type"] == "not_registered_for_session"
    admitted = tenant.staff.post("/events/check-in", json={"qrPayload": payload, "eventId": b})
    assert admitted.status_code == 200, admitted.get_json()
    assert admitted.get_json()["checkIn"]["ticketId"] == pass_ticket
    assert tenant.staff.post("/events/check-in", json={"qrPayload": payload, "eventId": b}
                             ).get_json()["type"] == "already_checked_in"


def test_one_customer_choosing_overlapping_sessions_concurrently_gets_one(tenant, live_server):
    parent, (_a, b, c) = make_festival(tenant, overlap_third=True)
    holder = tenant.customer()
    register(holder, parent, ticket_type(tenant, parent, isPass=True))
    barrier = threading.Barrier(6)
    codes: list[int] = []

    def select(session_id):
        barrier.wait()
        codes.append(requests.post(f"{live_server.url}/client/events/{parent}/participation",
                                   json={"sessionIds": [session_id]}, timeout=30,
                                   headers={"orgid": tenant.orgid, "Authorization": f"Bearer {holder.token}"}
                                   ).status_code)

    threads = [threading.Thread(target=select, args=(session,)) for session in (b, c) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 201 in codes and set(codes) <= {201, 409}
    chosen = statuses(holder.get(MINE))
    assert len(chosen) == 1 and taken(b) + taken(c) == 1


def qr_of(tenant, ticket_id: str) -> str:
    with database.db.connection_context():
        return qr.payload_for(Org.get_by_id(tenant.orgid), Ticket.get_by_id(ticket_id))


def test_validate_at_a_session_answers_like_check_in_and_records_nothing(tenant):
    parent, (a, b, _c) = make_festival(tenant)
    holder = tenant.customer()
    pass_ticket = register(holder, parent, ticket_type(tenant, parent, isPass=True))
    assert choose(holder, parent, [a]).status_code == 201
    payload = qr_of(tenant, pass_ticket)

    def validate(event_id):
        response = tenant.staff.post("/events/tickets/validate", json={"qrPayload": payload, "eventId": event_id})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    chosen, not_chosen, at_parent = validate(a), validate(b), validate(parent)
    assert (chosen["valid"], chosen["reason"]) == (True, None)
    assert (not_chosen["valid"], not_chosen["reason"]) == (False, "not_registered_for_session")
    assert at_parent["valid"] is True and chosen["ticket"]["id"] == pass_ticket
    with database.db.connection_context():
        assert CheckIn.select().where(CheckIn.ticket == pass_ticket).count() == 0
        assert Participation.get((Participation.session == a) & (Participation.customer == holder.customer_id)
                                 ).scan_count == 0
    refused = tenant.staff.post("/events/check-in", json={"qrPayload": payload, "eventId": b})
    assert refused.get_json()["type"] == "not_registered_for_session"  # the same rule at the door
    assert tenant.staff.post("/events/check-in", json={"qrPayload": payload, "eventId": a}).status_code == 200
    used = validate(a)
    assert (used["valid"], used["reason"]) == (False, "already_used")


def attending(customer) -> dict[str, str]:
    return {p["sessionId"]: p["status"] for p in customer.get(MINE).get_json()["participation"]}


def test_refund_and_cancel_release_the_sessions_the_ticket_covered_once(tenant):
    parent, (a, b, _c) = make_festival(tenant, capacities=(1, None, None))
    pass_type = ticket_type(tenant, parent, isPass=True)
    holder = tenant.customer()
    pass_ticket = register(holder, parent, pass_type)
    assert choose(holder, parent, [a, b]).status_code == 201
    refunded = tenant.staff.post(f"/events/tickets/{pass_ticket}/refund", json={})
    assert refunded.status_code == 200, refunded.get_json()
    assert attending(holder) == {a: "released", b: "released"} and (taken(a), taken(b)) == (0, 0)
    assert tenant.staff.post(f"/events/tickets/{pass_ticket}/refund", json={}).status_code == 409
    assert (taken(a), taken(b)) == (0, 0)  # exactly once

    other = tenant.customer()
    register(other, parent, pass_type)
    assert choose(other, parent, [a]).status_code == 201 and taken(a) == 1  # the freed seat is sold again
    again = register(holder, parent, pass_type)
    assert choose(holder, parent, [a]).get_json()["type"] == "session_full"
    assert statuses(choose(holder, parent, [b])) == {a: "released", b: "selected"}  # chosen again
    assert tenant.staff.post(f"/events/tickets/{again}/cancel").status_code == 200
    assert attending(holder)[b] == "released" and taken(b) == 0


def test_a_remaining_ticket_keeps_the_participation_it_covers(tenant):
    parent, (a, b, _c) = make_festival(tenant)
    pass_type = ticket_type(tenant, parent, isPass=True, transferable=True)
    only_b = ticket_type(tenant, b, name="B only")
    holder = tenant.customer()
    pass_ticket = register(holder, parent, pass_type)
    register(holder, b, only_b)
    assert choose(holder, parent, [a, b]).status_code == 201
    invitee = tenant.customer()
    register(invitee, parent, pass_type)
    invited = tenant.staff.post(f"/events/{b}/participants/invite", json={"email": invitee.email}).get_json()
    assert invitee.put(f"/client/events/participation/{invited['id']}/respond",
                       json={"response": "accept"}).status_code == 200

    moved = tenant.staff.post(f"/events/tickets/{pass_ticket}/transfer", json={"toEmail": "friend@example.com"})
    assert moved.status_code == 201, moved.get_json()
    assert attending(holder) == {a: "released", b: "selected"}  # b is still covered by the session ticket
    assert (taken(a), taken(b)) == (0, 2)
    with database.db.connection_context():
        invitee_pass = Ticket.get((Ticket.customer == invitee.customer_id) & (Ticket.event == parent)).id
    assert tenant.staff.post(f"/events/tickets/{invitee_pass}/cancel").status_code == 200
    assert attending(invitee) == {b: "accepted"} and taken(b) == 2  # an invitation needs no ticket
