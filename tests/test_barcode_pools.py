"""Barcode pools: staff upload a configuration's codes, its tickets take them once each, the door accepts them.

Through the HTTP API: upload with duplicates and invalid lines, counts and the paginated list,
deleting a code, tenant isolation, purchases taking codes (and racing for them), exhaustion refused before
anything is held or charged, ticket views, QR PNGs and PDFs showing the code, and the door admitting it once.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import requests
import zxingcpp
from PIL import Image
from test_purchase_support import counters, guest_purchase, make_event, make_type

from core import db as database
from core.models import BarcodePoolCode, Booking, Payment, Ticket

PURCHASE = "/client/events/tickets/purchase"


def make_pool(tenant, *, enforce: bool = True) -> str:
    """A ticket configuration of `tenant` that enforces its barcode pool; returns its id."""
    made = tenant.staff.post("/ticket-configurations", json={"name": "Wristbands", "enforce_barcode_pool": enforce})
    assert made.status_code == 201, made.get_json()
    return made.get_json()["data"]["id"]


def pool_type(tenant, event: str, configuration: str, **fields) -> str:
    """A ticket type of `event` whose tickets take `configuration`'s codes."""
    return make_type(tenant, event, ticketConfigurationId=configuration, **fields)


def upload(client, configuration: str, text: str, *, as_form: bool = True):
    """POST a CSV to the pool, as a multipart file (default) or as a text/csv body."""
    path = f"/ticket-configurations/{configuration}/barcodes"
    if as_form:
        return client.post(path, data={"file": (io.BytesIO(text.encode()), "codes.csv")},
                           content_type="multipart/form-data")
    return client.post(path, data=text.encode(), content_type="text/csv")


def add_codes(tenant, configuration: str, codes: list[str]) -> None:
    answer = upload(tenant.staff, configuration, "\n".join(codes))
    assert answer.status_code == 200 and answer.get_json()["added"] == len(codes), answer.get_json()


def pool(client, configuration: str, **query) -> dict:
    answer = client.get(f"/ticket-configurations/{configuration}/barcodes", query_string=query)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def decode_png(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


# --- upload, counts, list, delete ----------------------------------------------------------------------------

def test_upload_reports_duplicates_and_invalid_lines_and_adds_each_code_once(tenant):
    configuration = make_pool(tenant)
    csv_text = ("barcode\n"
                "  CODE-0001  \n"            # trimmed
                "CODE-0002,extra column\n"   # first column only
                "CODE-0001\n"                # repeated in the file
                "\n"                         # blank: skipped
                "abc\n"                      # too short
                + "x" * 129 + "\n"           # too long
                "BO1:LOOKSSIGNED\n"          # the signed QR prefix
                "\"bad\tcode\"\n"            # a tab is not printable
                ",second\n"                  # empty first column
                "CODE-0003\n")
    first = upload(tenant.staff, configuration, csv_text)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"added": 3, "duplicates": 1, "invalid": [
        {"line": 6, "reason": "too_short"}, {"line": 7, "reason": "too_long"},
        {"line": 8, "reason": "reserved_prefix"}, {"line": 9, "reason": "not_printable"},
        {"line": 10, "reason": "empty"}]}

    again = upload(tenant.staff, configuration, "CODE-0003\nCODE-0004\n", as_form=False)  # a text/csv body
    assert again.status_code == 200 and again.get_json() == {"added": 1, "duplicates": 1, "invalid": []}

    body = pool(tenant.staff, configuration)
    assert body["counts"] == {"total": 4, "used": 0, "reserved": 0, "available": 4}
    assert [row["code"] for row in body["data"]] == ["CODE-0001", "CODE-0002", "CODE-0003", "CODE-0004"]
    assert all(row["used"] is False and row["ticket_id"] is None for row in body["data"])

    first_page = pool(tenant.staff, configuration, **{"page[size]": 3})
    assert len(first_page["data"]) == 3 and first_page["meta"]["page"]["last"] is False
    rest = pool(tenant.staff, configuration, **{"page[size]": 3,
                                                "page[cursor]": first_page["meta"]["page"]["next_cursor"]})
    assert [row["code"] for row in rest["data"]] == ["CODE-0004"] and rest["meta"]["page"]["last"] is True


def test_bad_uploads_are_4xx_and_add_nothing(tenant, app):
    configuration = make_pool(tenant)
    path = f"/ticket-configurations/{configuration}/barcodes"
    not_utf8 = tenant.staff.post(path, data="CODE-é-0001\n".encode("latin-1"), content_type="text/csv")
    assert not_utf8.status_code == 422 and not_utf8.get_json()["type"] == "invalid_csv"
    empty = upload(tenant.staff, configuration, "\n\n")
    assert empty.status_code == 422 and empty.get_json()["type"] == "invalid_csv"
    huge_field = upload(tenant.staff, configuration, "\"" + "x" * 200_000 + "\"\n")
    assert huge_field.status_code == 422 and huge_field.get_json()["type"] == "invalid_csv"
    no_file = tenant.staff.post(path, data={}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and no_file.get_json()["type"] == "file_required"
    extra = tenant.staff.post(path, data={"file": (io.BytesIO(b"CODE-0001"), "c.csv"), "mode": "replace"},
                              content_type="multipart/form-data")
    assert extra.status_code == 422 and "mode" in extra.get_json()["message"]
    json_body = tenant.staff.post(path, json={"codes": ["CODE-0001"]})
    assert json_body.status_code == 422
    too_large = tenant.staff.post(path, data=b"CODE-0001\n" * 900_000, content_type="text/csv")
    assert too_large.status_code == 413 and too_large.get_json()["type"] == "body_too_large"
    assert pool(tenant.staff, configuration)["counts"]["total"] == 0
    assert tenant.staff.post("/ticket-configurations/nope/barcodes", data=b"CODE-0001",
                             content_type="text/csv").status_code == 404


def test_a_large_file_is_added_in_batches(tenant):
    configuration = make_pool(tenant)
    codes = [f"BULK-{n:06d}" for n in range(2_600)]
    answer = upload(tenant.staff, configuration, "code\n" + "\n".join(codes + codes[:10]))
    assert answer.get_json() == {"added": 2_600, "duplicates": 10, "invalid": []}
    assert pool(tenant.staff, configuration)["counts"]["available"] == 2_600


def test_delete_an_unused_code_but_not_a_used_one(tenant):
    configuration = make_pool(tenant)
    event = make_event(tenant)
    ticket_type = pool_type(tenant, event, configuration)
    add_codes(tenant, configuration, ["GATE-0001", "GATE-0002"])
    sold = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(ticket_type, 1)]))
    assert sold.status_code == 201, sold.get_json()
    rows = {row["code"]: row for row in pool(tenant.staff, configuration)["data"]}
    used = next(row for row in rows.values() if row["used"])
    unused = next(row for row in rows.values() if not row["used"])
    assert used["ticket_id"] == sold.get_json()["tickets"][0]["id"] and used["used_at"]

    refused = tenant.staff.delete(f"/ticket-configurations/{configuration}/barcodes/{used['id']}")
    assert refused.status_code == 409 and refused.get_json()["type"] == "barcode_used"
    assert tenant.staff.delete(f"/ticket-configurations/{configuration}/barcodes/{unused['id']}").status_code == 204
    gone = tenant.staff.delete(f"/ticket-configurations/{configuration}/barcodes/{unused['id']}")
    assert gone.status_code == 404 and gone.get_json()["type"] == "barcode_not_found"
    assert pool(tenant.staff, configuration)["counts"] == {"total": 1, "used": 1, "reserved": 0, "available": 0}


def test_another_tenants_pool_is_invisible_and_codes_are_per_tenant(tenant, other_tenant):
    mine, theirs = make_pool(tenant), make_pool(other_tenant)
    add_codes(tenant, mine, ["SHARED-0001"])
    add_codes(other_tenant, theirs, ["SHARED-0001"])  # the same text is another tenant's own code
    code_id = pool(tenant.staff, mine)["data"][0]["id"]
    for answer in (other_tenant.staff.get(f"/ticket-configurations/{mine}/barcodes"),
                   upload(other_tenant.staff, mine, "NEW-0001"),
                   other_tenant.staff.delete(f"/ticket-configurations/{mine}/barcodes/{code_id}"),
                   tenant.staff.delete(f"/ticket-configurations/{theirs}/barcodes/{code_id}")):
        assert answer.status_code == 404, answer.get_json()
        assert answer.get_json()["type"] == "ticket_configuration_not_found"
    assert other_tenant.staff.delete(f"/ticket-configurations/{theirs}/barcodes/{code_id}").status_code == 404
    assert pool(tenant.staff, mine)["counts"]["total"] == 1
    customer = tenant.customer()
    assert customer.get(f"/ticket-configurations/{mine}/barcodes").status_code == 403


# --- issuing ----------------------------------------------------------------------------------------------------

def test_a_purchase_takes_one_code_per_ticket_shown_in_views_qr_and_pdf(tenant):
    configuration = make_pool(tenant)
    event = make_event(tenant)
    ticket_type = pool_type(tenant, event, configuration)
    add_codes(tenant, configuration, ["WRIST-0001", "WRIST-0002", "WRIST-0003"])
    fan = tenant.customer()
    sold = fan.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": ticket_type, "quantity": 2}]})
    assert sold.status_code == 201, sold.get_json()
    tickets = sold.get_json()["tickets"]
    codes = {ticket["barcode"] for ticket in tickets}
    assert len(codes) == 2 and codes <= {"WRIST-0001", "WRIST-0002", "WRIST-0003"}

    ticket = tickets[0]
    assert fan.get(f"/client/events/tickets/{ticket['id']}").get_json()["barcode"] == ticket["barcode"]
    assert tenant.staff.get(f"/events/tickets/{ticket['id']}").get_json()["barcode"] == ticket["barcode"]
    assert {t["barcode"] for t in fan.get("/client/events/tickets/mine").get_json()["tickets"]} == codes
    assert decode_png(fan.get(f"/client/events/tickets/{ticket['id']}/qr").data) == ticket["barcode"]
    assert decode_png(tenant.staff.get(f"/events/tickets/{ticket['id']}/qr").data) == ticket["barcode"]
    pdf = fan.get(f"/client/events/tickets/{ticket['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    from core.services.ticket_pdf import ticket_card
    with database.db.connection_context():
        row = Ticket.get_by_id(ticket["id"])
        assert ticket_card(tenant.org, row)["barcode"] == ticket["barcode"]

    assert pool(tenant.staff, configuration)["counts"] == {"total": 3, "used": 2, "reserved": 0, "available": 1}
    plain = make_type(tenant, event, name="Plain")
    other = fan.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": plain, "quantity": 1}]})
    assert other.get_json()["tickets"][0]["barcode"] is None  # no configuration: a signed QR as before


def test_a_paid_booking_reserves_its_codes_while_held_and_uses_them_when_paid(tenant):
    configuration = make_pool(tenant)
    event = make_event(tenant)
    ticket_type = pool_type(tenant, event, configuration, price="25.00")
    add_codes(tenant, configuration, ["HOLD-0001", "HOLD-0002", "HOLD-0003"])
    held = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(ticket_type, 2)],
                                                           paymentGateway="offline"))
    assert held.status_code == 201 and held.get_json()["status"] == "pending", held.get_json()
    assert pool(tenant.staff, configuration)["counts"] == {"total": 3, "used": 0, "reserved": 2, "available": 1}

    refused = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(ticket_type, 2)],
                                                              paymentGateway="offline"))
    assert refused.status_code == 409 and refused.get_json()["type"] == "barcode_pool_exhausted"

    cancelled = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(ticket_type, 1)],
                                                                paymentGateway="offline")).get_json()["bookingId"]
    assert pool(tenant.staff, configuration)["counts"]["available"] == 0
    assert tenant.staff.post(f"/events/bookings/{cancelled}/cancel").status_code == 200
    assert pool(tenant.staff, configuration)["counts"] == {"total": 3, "used": 0, "reserved": 2, "available": 1}

    booking = held.get_json()["bookingId"]
    paid = tenant.staff.post(f"/events/bookings/{booking}/mark-paid", json={"reference": "cash-1"})
    assert paid.status_code == 200, paid.get_json()
    assert len({t["barcode"] for t in paid.get_json()["tickets"]}) == 2
    assert pool(tenant.staff, configuration)["counts"] == {"total": 3, "used": 2, "reserved": 0, "available": 1}


def test_an_exhausted_pool_refuses_the_purchase_before_anything_is_held_or_charged(tenant):
    configuration = make_pool(tenant)
    event = make_event(tenant)
    free = pool_type(tenant, event, configuration, name="Free")
    paid = pool_type(tenant, event, configuration, name="Paid", price="10.00")
    add_codes(tenant, configuration, ["LAST-0001"])
    for ticket_type, gateway in ((free, {}), (paid, {"paymentGateway": "offline"})):
        answer = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(ticket_type, 2)], **gateway))
        assert answer.status_code == 409, answer.get_json()
        error = answer.get_json()
        assert error["type"] == "barcode_pool_exhausted"
        assert error["available"] == 1 and error["requested"] == 2 and error["ticketConfigurationId"] == configuration
        assert "upload more codes" in error["message"]
        assert counters(event, ticket_type) == {"event_sold": 0, "event_held": 0, "tickets": 0, "sold": 0, "held": 0}
    comp = tenant.staff.post("/events/tickets/comp", json={"eventId": event, "ticketTypeId": free,
                                                           "holders": [{"email": "a@example.com"},
                                                                       {"email": "b@example.com"}]})
    assert comp.status_code == 409 and comp.get_json()["type"] == "barcode_pool_exhausted"
    with database.db.connection_context():
        assert Booking.select().where(Booking.event == event).count() == 0
        assert Payment.select().where(Payment.org == tenant.orgid).count() == 0
    assert pool(tenant.staff, configuration)["counts"] == {"total": 1, "used": 0, "reserved": 0, "available": 1}


def test_concurrent_purchases_never_share_a_code(live_server, tenant):
    configuration = make_pool(tenant)
    event = make_event(tenant)
    ticket_type = pool_type(tenant, event, configuration, capacity=500)
    add_codes(tenant, configuration, [f"RACE-{n:04d}" for n in range(30)])

    def buy(i):
        body = guest_purchase(tenant, event, [(ticket_type, 1 + i % 2)])
        body["email"] = f"racer{i}@example.com"
        return requests.post(live_server.url + PURCHASE, json=body, headers={"orgid": tenant.orgid}, timeout=60)

    with ThreadPoolExecutor(max_workers=16) as workers:
        answers = list(workers.map(buy, range(40)))
    assert {a.status_code for a in answers} <= {201, 409}
    assert all(a.json()["type"] == "barcode_pool_exhausted" for a in answers if a.status_code == 409)
    issued = [t for a in answers if a.status_code == 201 for t in a.json()["tickets"]]
    codes = [t["barcode"] for t in issued]
    assert 29 <= len(codes) <= 30 and len(set(codes)) == len(codes)
    with database.db.connection_context():
        used = {row.code: row.ticket_id for row in BarcodePoolCode.select().where(
            (BarcodePoolCode.configuration == configuration) & BarcodePoolCode.ticket.is_null(False))}
    assert used == {t["barcode"]: t["id"] for t in issued}
    assert counters(event, ticket_type)["tickets"] == len(issued)


def test_concurrent_holds_never_reserve_more_codes_than_the_pool_has(live_server, tenant):
    configuration = make_pool(tenant)
    event = make_event(tenant)
    ticket_type = pool_type(tenant, event, configuration, price="5.00", capacity=500)
    add_codes(tenant, configuration, [f"HELD-{n:04d}" for n in range(30)])
    headers = {"orgid": tenant.orgid}

    def hold(i):
        body = guest_purchase(tenant, event, [(ticket_type, 1 + i % 2)], paymentGateway="offline")
        return requests.post(live_server.url + PURCHASE, json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=16) as workers:
        answers = list(workers.map(hold, range(40)))
    assert {a.status_code for a in answers} <= {201, 409}
    held = [a.json()["bookingId"] for a in answers if a.status_code == 201]
    with database.db.connection_context():
        seats = sum(Booking.get_by_id(booking).seats for booking in held)
    assert 29 <= seats <= 30
    assert pool(tenant.staff, configuration)["counts"] == {"total": 30, "used": 0, "reserved": seats,
                                                           "available": 30 - seats}

    staff = {**headers, "Authorization": f"Bearer {tenant.staff_token}"}

    def pay(booking):
        return requests.post(f"{live_server.url}/events/bookings/{booking}/mark-paid", json={"reference": booking},
                             headers=staff, timeout=60)

    with ThreadPoolExecutor(max_workers=16) as workers:
        paid = list(workers.map(pay, held))
    assert {p.status_code for p in paid} == {200}
    codes = [t["barcode"] for p in paid for t in p.json()["tickets"]]
    assert len(codes) == seats and len(set(codes)) == seats


# --- the door ---------------------------------------------------------------------------------------------------

def test_the_door_admits_a_pool_code_once_like_a_signed_qr(tenant):
    configuration = make_pool(tenant)
    event = make_event(tenant)
    once = pool_type(tenant, event, configuration, name="Once")
    twice = pool_type(tenant, event, configuration, name="Twice", allowReentry=True, reentryLimit=2)
    add_codes(tenant, configuration, ["DOOR-0001", "DOOR-0002"])
    bought = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(once, 1), (twice, 1)])).get_json()
    codes = {t["ticketTypeId"]: t["barcode"] for t in bought["tickets"]}

    valid = tenant.staff.post("/events/tickets/validate", json={"qrPayload": codes[once], "eventId": event})
    assert valid.get_json()["valid"] is True and valid.get_json()["ticket"]["ticketType"]["id"] == once
    admitted = tenant.staff.post("/events/check-in", json={"qrPayload": codes[once], "scanPoint": "gate"})
    assert admitted.status_code == 200 and admitted.get_json()["admitted"] is True, admitted.get_json()
    again = tenant.staff.post("/events/check-in", json={"qrPayload": codes[once], "scanPoint": "gate"})
    assert again.status_code == 409 and again.get_json()["type"] == "already_checked_in"
    assert again.get_json()["lastScanPoint"] == "gate"

    for _ in range(2):
        assert tenant.staff.post("/events/check-in", json={"qrPayload": codes[twice]}).status_code == 200
    third = tenant.staff.post("/events/check-in", json={"qrPayload": codes[twice]})
    assert third.status_code == 409 and third.get_json()["type"] == "already_checked_in"

    wrong = tenant.staff.post("/events/check-in", json={"qrPayload": codes[twice], "eventId": make_event(tenant)})
    assert wrong.status_code == 409 and wrong.get_json()["type"] == "wrong_event"


def test_an_unknown_or_unused_code_is_refused_like_an_unknown_ticket(tenant, other_tenant):
    configuration = make_pool(tenant)
    add_codes(tenant, configuration, ["SPARE-0001"])
    theirs = make_pool(other_tenant)
    event = make_event(other_tenant)
    their_type = pool_type(other_tenant, event, theirs)
    add_codes(other_tenant, theirs, ["FOREIGN-0001"])
    assert other_tenant.guest.post(PURCHASE, json=guest_purchase(other_tenant, event, [(their_type, 1)])
                                   ).status_code == 201
    made_up = tenant.staff.post("/events/check-in", json={"qrPayload": "NO-SUCH-CODE"}).get_json()
    assert made_up["type"] == "invalid_qr" and made_up["reason"] == "unknown"
    for code in ("SPARE-0001", "FOREIGN-0001"):  # not used by a ticket; another tenant's ticket
        answer = tenant.staff.post("/events/check-in", json={"qrPayload": code})
        assert answer.status_code == 422 and answer.get_json() == made_up
        checked = tenant.staff.post("/events/tickets/validate", json={"qrPayload": code}).get_json()
        assert checked == {"valid": False, "reason": "unknown", "ticket": None, "acceptedScanPoints": None}


def test_a_transferred_pool_ticket_gets_a_new_code_and_the_old_one_is_void(tenant):
    configuration = make_pool(tenant)
    event = make_event(tenant)
    ticket_type = pool_type(tenant, event, configuration)
    add_codes(tenant, configuration, ["MOVE-0001", "MOVE-0002"])
    ticket = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(ticket_type, 1)])
                               ).get_json()["tickets"][0]
    moved = tenant.staff.post(f"/events/tickets/{ticket['id']}/transfer", json={"toEmail": "new@example.com"})
    assert moved.status_code == 201, moved.get_json()
    new_ticket = tenant.staff.get(f"/events/tickets/{moved.get_json()['newTicket']['id']}").get_json()
    assert new_ticket["barcode"] not in (None, ticket["barcode"])
    old = tenant.staff.post("/events/check-in", json={"qrPayload": ticket["barcode"]})
    assert old.status_code == 409 and old.get_json()["type"] == "ticket_revoked"
    assert tenant.staff.post("/events/check-in", json={"qrPayload": new_ticket["barcode"]}).status_code == 200

    again = tenant.staff.post(f"/events/tickets/{new_ticket['id']}/transfer", json={"toEmail": "x@example.com"})
    assert again.status_code == 409  # checked in: not transferable (and the pool is empty anyway)


def test_a_signed_qr_is_scanned_without_looking_at_the_pools(tenant, monkeypatch):
    from core.services import barcode_pools

    event = make_event(tenant)
    ticket = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(make_type(tenant, event), 1)])
                               ).get_json()["tickets"][0]
    payload = decode_png(tenant.staff.get(f"/events/tickets/{ticket['id']}/qr").data)
    assert payload.startswith("BO1:") and ticket["barcode"] is None

    def no_lookup(*args):
        raise AssertionError("a signed payload must not cost a pool lookup")

    monkeypatch.setattr(barcode_pools, "ticket_for_code", no_lookup)
    assert tenant.staff.post("/events/check-in", json={"qrPayload": payload}).status_code == 200


def test_a_hold_that_ran_out_loses_its_codes_and_its_late_payment_issues_nothing(tenant):
    from test_purchase_support import age_booking

    configuration = make_pool(tenant)
    event = make_event(tenant)
    ticket_type = pool_type(tenant, event, configuration, price="15.00")
    add_codes(tenant, configuration, ["LATE-0001"])
    late = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(ticket_type, 1)],
                                                           paymentGateway="offline")).get_json()["bookingId"]
    code_id = pool(tenant.staff, configuration)["data"][0]["id"]
    reserved = tenant.staff.delete(f"/ticket-configurations/{configuration}/barcodes/{code_id}")
    assert reserved.status_code == 409 and reserved.get_json()["type"] == "barcode_reserved"

    age_booking(late)  # its hold (and so its reservation) ran out: the code is free again
    assert pool(tenant.staff, configuration)["counts"] == {"total": 1, "used": 0, "reserved": 0, "available": 1}
    on_time = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(ticket_type, 1)],
                                                              paymentGateway="offline")).get_json()["bookingId"]
    assert tenant.staff.post(f"/events/bookings/{on_time}/mark-paid", json={"reference": "cash-2"}
                             ).get_json()["tickets"][0]["barcode"] == "LATE-0001"

    paid_late = tenant.staff.post(f"/events/bookings/{late}/mark-paid", json={"reference": "cash-1"})
    assert paid_late.status_code == 409 and paid_late.get_json()["type"] == "hold_expired", paid_late.get_json()
    with database.db.connection_context():
        assert Ticket.select().where(Ticket.booking == late).count() == 0
    assert counters(event, ticket_type) == {"event_sold": 1, "event_held": 0, "tickets": 1, "sold": 1, "held": 0}


def test_migration_creates_the_pool_table_an_older_database_lacks_and_is_idempotent(tenant):
    from core.migrations import m0011_barcode_pools

    with database.db.connection_context():
        database.db.drop_tables([BarcodePoolCode])
        m0011_barcode_pools.upgrade()
        m0011_barcode_pools.upgrade()  # idempotent
        indexes = {tuple(index.columns): index.unique for index in database.db.get_indexes("barcode_pool_code")}
    assert indexes[("org_id", "code")] is True
    configuration = make_pool(tenant)
    add_codes(tenant, configuration, ["AFTER-0001"])
    assert upload(tenant.staff, configuration, "AFTER-0001").get_json() == {"added": 0, "duplicates": 1, "invalid": []}
