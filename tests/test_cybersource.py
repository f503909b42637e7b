"""CyberSource Secure Acceptance end to end: the signed form posted to a loopback hosted page, its signed
callback (Merchant POST over real HTTP, and the browser's copy through `verify_callback`), declines, forgeries,
replays, amount mismatches, late payments and refunds over the REST fake or owed; both databases.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets

import pytest
import requests
from fakes.checks import booking_row, enable_gateway, fake_fixtures, ticket_ids
from fakes.cybersource_server import FakeCyberSource, sign
from smtp_server import SmtpServer
from test_purchase_support import age_booking, counters, guest_purchase, make_event, make_type

from core import db as database
from core.errors import ApiError
from core.models import Org, Payment, Refund, Ticket
from plugins.cybersource import callback_org, hosted_checkout, verify_callback

fake_server, fake = fake_fixtures(FakeCyberSource)

PURCHASE = "/client/events/tickets/purchase"


def use_cybersource(tenant, fake, live_server, *, rest=True, **overrides) -> dict:
    """Enable cybersource for `tenant` with a profile at the fake whose Merchant POST URL is the tenant's
    webhook on the live server (and REST credentials unless `rest=False`); returns the settings."""
    settings = {"profile_id": "P" + secrets.token_hex(8).upper(), "access_key": secrets.token_hex(16),
                "secret_key": secrets.token_hex(64), "environment": "test", "hosted_url": fake.url + "/pay"}
    fake.add_profile(settings["profile_id"], settings["access_key"], settings["secret_key"],
                     f"{live_server.url}/webhooks/cybersource/{tenant.orgid}")
    if rest:
        settings.update(merchant_id="club_" + secrets.token_hex(4), rest_key_id=secrets.token_hex(16),
                        rest_shared_secret=base64.b64encode(secrets.token_bytes(32)).decode(),
                        api_base=fake.url, timeout="2")
        fake.add_rest_key(settings["merchant_id"], settings["rest_key_id"], settings["rest_shared_secret"])
    return enable_gateway(tenant, "cybersource", settings, overrides)


def buy(tenant, *, price="19.99", currency="USD", quantity=2, capacity=10) -> tuple[dict, str, str]:
    """A guest purchase paid with cybersource: (response JSON, event id, ticket type id)."""
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=price, currency=currency, capacity=capacity)
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event_id, [(tt, quantity)],
                                                               paymentGateway="cybersource"))
    assert response.status_code == 201, response.get_json()
    return response.get_json(), event_id, tt


def pay(data: dict, decision: str = "ACCEPT", fake=None, **changes) -> dict:
    """The buyer's browser posts the signed form to the hosted page; answers the fake's result (decision, the
    signed callback the browser is sent back with, the Merchant POST's delivery)."""
    if fake is not None:
        fake.decision, fake.callback_changes = decision, changes
    form = data["paymentData"]
    response = requests.post(form["cybersourceUrl"], data=form["paymentParams"], timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def callback(tenant, form: dict):
    """The customer-response copy of a callback, as a club cart hands it over: the tenant's verify_callback."""
    with database.db.connection_context():
        return verify_callback(Org.get_by_id(tenant.orgid), form)


def refused(tenant, form: dict) -> ApiError:
    with pytest.raises(ApiError) as caught:
        callback(tenant, form)
    return caught.value


def test_the_form_is_signed_as_secure_acceptance_defines_it(tenant, fake, live_server):
    settings = use_cybersource(tenant, fake, live_server)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    data, event_id, tt = buy(tenant)
    params = data["paymentData"]["paymentParams"]
    assert data["paymentData"]["cybersourceUrl"] == data["approvalUrl"] == settings["hosted_url"]
    assert params["signed_field_names"] == ("access_key,profile_id,transaction_uuid,signed_field_names,"
                                            "unsigned_field_names,signed_date_time,locale,transaction_type,"
                                            "reference_number,amount,currency")
    assert {k: params[k] for k in ("access_key", "profile_id", "transaction_type", "reference_number", "amount",
                                   "currency", "locale", "unsigned_field_names", "transaction_uuid")} == {
        "access_key": settings["access_key"], "profile_id": settings["profile_id"], "transaction_type": "sale",
        "reference_number": data["bookingId"], "amount": "39.98", "currency": "USD", "locale": "en-us",
        "unsigned_field_names": "", "transaction_uuid": data["bookingId"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", params["signed_date_time"])
    signed_at = dt.datetime.strptime(params["signed_date_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert before <= signed_at <= dt.datetime.now(dt.UTC)
    message = ",".join(f"{name}={params[name]}" for name in params["signed_field_names"].split(","))
    expected = base64.b64encode(hmac.new(settings["secret_key"].encode(), message.encode(),
                                         hashlib.sha256).digest()).decode()
    assert params["signature"] == expected
    assert counters(event_id, tt)["held"] == 2 and booking_row(data["bookingId"]).status == "pending"
    # hosted_checkout (what a club cart calls) signs the same booking again, same uuid: paid at most once
    with database.db.connection_context():
        org = Org.get_by_id(tenant.orgid)
        url, again = hosted_checkout(org, booking_row(data["bookingId"]))
    assert url == settings["hosted_url"] and again["transaction_uuid"] == params["transaction_uuid"]


def test_a_known_vector():
    """Computed independently: printf '%s' '<data>' | openssl dgst -sha256 -hmac s3cret -binary | base64."""
    from plugins.cybersource.signing import sign_fields

    fields = {"access_key": "a1b2", "profile_id": "PROF", "amount": "10.00",
              "signed_field_names": "access_key,profile_id,amount,signed_field_names"}
    assert sign_fields("s3cret", fields) == "4/pestXceVMipC1VqllqMM5YdTAeXyJyiPADucw8jtg="


def webhook(live_server, tenant) -> str:
    return f"{live_server.url}/webhooks/cybersource/{tenant.orgid}"


def test_an_accepted_payment_confirms_once_sends_the_tickets_and_replays_change_nothing(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    smtp = SmtpServer().start()
    try:
        tenant.enable("notifications")
        tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port),
                         sender="Club <tickets@club.test>")
        data, event_id, tt = buy(tenant)
        result = pay(data, "ACCEPT", fake)
        assert result["delivered"]["status"] == 200, result["delivered"]
        booking = booking_row(data["bookingId"])
        assert booking.status == "confirmed" and booking.payment_ref == result["callback"]["transaction_id"]
        tickets = ticket_ids(data["bookingId"])
        assert len(tickets) == 2
        assert {k: counters(event_id, tt)[k] for k in ("sold", "held")} == {"sold": 2, "held": 0}
        assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "alex@example.com"
        assert len([p for p in smtp.messages[0].walk() if p.get_content_type() == "image/png"]) == 2
        # the browser's copy of the same callback, then a replayed Merchant POST: nothing more happens
        check = callback(tenant, result["callback"])
        assert check.paid and check.reference == result["callback"]["transaction_id"]
        assert check.amount == 3998 and check.currency == "USD" and check.data["status"] == "confirmed"
        replay = requests.post(webhook(live_server, tenant), data=result["callback"], timeout=30)
        assert replay.status_code == 200 and replay.json()["status"] == "confirmed", replay.text
        assert ticket_ids(data["bookingId"]) == tickets and len(smtp.messages) == 1
        with database.db.connection_context():
            assert Payment.select().where(Payment.booking == data["bookingId"]).count() == 1
        events = booking_row(data["bookingId"]).payment_data["cybersource_events"]
        assert [e["decision"] for e in events] == ["ACCEPT"]
        confirm = tenant.guest.post("/client/events/tickets/confirm-order", json={"bookingId": data["bookingId"]})
        assert confirm.status_code == 200 and sorted(t["id"] for t in confirm.get_json()["tickets"]) == tickets
        # the same form posted again: CyberSource refuses the reused transaction_uuid, nothing is charged twice
        again = pay(data, "ACCEPT", fake)
        assert again["decision"] == "ERROR" and booking_row(data["bookingId"]).status == "confirmed"
    finally:
        smtp.stop()


@pytest.mark.parametrize("decision", ["DECLINE", "CANCEL", "ERROR"])
def test_a_failed_payment_releases_the_hold_at_once(tenant, fake, live_server, decision):
    use_cybersource(tenant, fake, live_server)
    data, event_id, tt = buy(tenant, quantity=2, capacity=2)
    assert counters(event_id, tt)["held"] == 2
    fake.deliver = False    # only the browser comes back: the club cart hands the form to verify_callback
    result = pay(data, decision, fake)
    check = callback(tenant, result["callback"])
    assert not check.paid and check.data == {**check.data, "decision": decision, "released": True,
                                             "status": "expired"}
    assert counters(event_id, tt)["held"] == 0 and booking_row(data["bookingId"]).status == "expired"
    replay = callback(tenant, result["callback"])
    assert not replay.paid and replay.data["released"] is False
    assert counters(event_id, tt) == {**counters(event_id, tt), "held": 0, "sold": 0, "tickets": 0}
    # the seats are free again at once: someone else can take both
    other = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event_id, [(tt, 2)], paymentGateway="offline"))
    assert other.status_code == 201, other.get_json()


def test_review_keeps_the_hold(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, event_id, tt = buy(tenant)
    result = pay(data, "REVIEW", fake)
    assert result["delivered"]["status"] == 200
    assert booking_row(data["bookingId"]).status == "pending" and counters(event_id, tt)["held"] == 2
    assert ticket_ids(data["bookingId"]) == []


def test_forged_callbacks_are_refused_and_change_nothing(tenant, other_tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    use_cybersource(other_tenant, fake, live_server)
    data, event_id, tt = buy(tenant)
    fake.deliver = False
    genuine = pay(data, "ACCEPT", fake)["callback"]
    forgeries = [
        {**genuine, "req_amount": "0.01"},                                  # a signed field changed
        {**genuine, "signature": base64.b64encode(b"x" * 32).decode()},     # another signature
        {k: v for k, v in genuine.items() if k != "signature"},             # none
        {**genuine, "signed_field_names": "decision,req_reference_number"},  # fewer fields signed than needed
    ]
    resigned = {**genuine, "signed_field_names": genuine["signed_field_names"]}
    resigned["signature"] = base64.b64encode(hmac.new(b"guessed-secret", b"x", hashlib.sha256).digest()).decode()
    forgeries.append(resigned)
    for forged in forgeries:
        error = refused(tenant, forged)
        assert error.status == 400 and error.type == "invalid_signature", forged
        answer = requests.post(webhook(live_server, tenant), data=forged, timeout=30)
        assert answer.status_code == 400 and answer.json()["type"] == "invalid_signature"
    # the genuine callback of one tenant is not believed by another tenant (its own secret key)
    assert refused(other_tenant, genuine).type == "invalid_signature"
    answer = requests.post(webhook(live_server, other_tenant), data=genuine, timeout=30)
    assert answer.status_code == 400 and answer.json()["type"] == "invalid_signature"
    booking = booking_row(data["bookingId"])
    assert booking.status == "pending" and "cybersource_events" not in booking.payment_data
    assert counters(event_id, tt)["held"] == 2 and ticket_ids(data["bookingId"]) == []
    # the genuine one still works
    assert callback(tenant, genuine).paid and booking_row(data["bookingId"]).status == "confirmed"


def test_the_callback_names_its_tenant_through_the_booking(tenant, other_tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    theirs = use_cybersource(other_tenant, fake, live_server)
    data, _, _ = buy(tenant)
    fake.deliver = False
    genuine = pay(data, "ACCEPT", fake)["callback"]
    # another tenant signs (with its own key) a callback naming this tenant's booking: not found there
    crossed = {k: v for k, v in genuine.items() if k != "signature"}
    crossed["signature"] = sign(theirs["secret_key"], crossed)
    error = refused(other_tenant, crossed)
    assert error.status == 404 and booking_row(data["bookingId"]).status == "pending"
    answer = requests.post(webhook(live_server, other_tenant), data=crossed, timeout=30)
    assert answer.status_code == 404 and booking_row(data["bookingId"]).status == "pending"
    with database.db.connection_context():
        assert callback_org(genuine).id == tenant.orgid
        assert callback_org({**genuine, "req_reference_number": "nope"}) is None
        assert callback_org({}) is None
        other = Org.get_by_id(other_tenant.orgid)
        with pytest.raises(ApiError) as caught:
            hosted_checkout(other, booking_row(data["bookingId"]))
    assert caught.value.status == 404 and caught.value.type == "booking_not_found"   # another tenant's booking


def test_an_amount_the_booking_does_not_owe_is_refused(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, event_id, tt = buy(tenant)
    result = pay(data, "ACCEPT", fake, req_amount="1.00")      # signed by CyberSource, but not what we asked
    assert result["delivered"]["status"] == 200 and '"refused":"payment_mismatch"' in \
        result["delivered"]["body"].replace(" ", "")
    error = refused(tenant, result["callback"])
    assert error.status == 402 and error.type == "payment_mismatch"
    assert booking_row(data["bookingId"]).status == "pending" and ticket_ids(data["bookingId"]) == []
    assert counters(event_id, tt)["held"] == 2
    events = booking_row(data["bookingId"]).payment_data["cybersource_events"]
    assert [(e["decision"], e["amount"]) for e in events] == [("ACCEPT", "1.00")]   # kept for staff to see


def _expire_and_resell(tenant, data, event_id, tt) -> None:
    from core.services import holds

    age_booking(data["bookingId"])
    with database.db.connection_context():
        assert holds.expire_holds_job() >= 1
    taker = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event_id, [(tt, 2)], paymentGateway="offline"))
    assert taker.status_code == 201, taker.get_json()


def refunds_of(booking_id: str) -> list[Refund]:
    with database.db.connection_context():
        return list(Refund.select().where(Refund.booking == booking_id))


def test_a_late_payment_whose_seats_are_gone_is_refunded_through_the_rest_api(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, event_id, tt = buy(tenant, quantity=2, capacity=2)
    _expire_and_resell(tenant, data, event_id, tt)
    fake.deliver = False
    result = pay(data, "ACCEPT", fake)
    for _ in range(2):
        error = refused(tenant, result["callback"])
        assert error.status == 409 and error.type == "hold_expired" and error.extra["refunded"] is True
    [call] = fake.calls("POST", "/pts/v2/payments/")
    assert call.path == f"/pts/v2/payments/{result['callback']['transaction_id']}/refunds"
    assert call.json["orderInformation"]["amountDetails"] == {"totalAmount": "39.98", "currency": "USD"}
    assert call.json["clientReferenceInformation"] == {"code": data["bookingId"]}
    assert booking_row(data["bookingId"]).status == "refunded" and ticket_ids(data["bookingId"]) == []
    [refund] = refunds_of(data["bookingId"])
    assert refund.status == "succeeded" and refund.amount == 3998 and refund.reference


def test_a_late_payment_whose_seats_are_still_free_is_confirmed(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, event_id, tt = buy(tenant, quantity=2, capacity=2)
    age_booking(data["bookingId"])
    result = pay(data, "ACCEPT", fake)
    assert result["delivered"]["status"] == 200
    assert booking_row(data["bookingId"]).status == "confirmed" and len(ticket_ids(data["bookingId"])) == 2
    assert fake.calls("POST", "/pts/") == []


def test_staff_refunds_go_through_the_rest_api_and_a_refusal_changes_nothing(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, _, _ = buy(tenant)
    result = pay(data, "ACCEPT", fake)
    tickets = ticket_ids(data["bookingId"])
    response = tenant.staff.post(f"/events/tickets/{tickets[0]}/refund", json={})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["refund"]["status"] == "succeeded"
    [call] = fake.calls("POST", "/pts/v2/payments/")
    assert call.path == f"/pts/v2/payments/{result['callback']['transaction_id']}/refunds"
    assert call.json["orderInformation"]["amountDetails"] == {"totalAmount": "19.99", "currency": "USD"}
    assert call.headers["v-c-merchant-id"] and call.headers["digest"].startswith("SHA-256=")
    assert 'algorithm="HmacSHA256"' in call.headers["signature"]
    # CyberSource refuses (more than is left): 409, the ticket stays valid
    fake.transactions[result["callback"]["transaction_id"]]["refunded"] += 20
    response = tenant.staff.post(f"/events/tickets/{tickets[1]}/refund", json={})
    assert response.status_code == 409 and response.get_json()["type"] == "refund_rejected"
    assert "exceeds" in response.get_json()["message"]
    with database.db.connection_context():
        assert Ticket.get_by_id(tickets[1]).status == "valid" and Ticket.get_by_id(tickets[0]).status == "refunded"


def test_a_refund_with_a_wrong_rest_secret_is_refused_by_cybersource(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, _, _ = buy(tenant)
    pay(data, "ACCEPT", fake)
    tenant.configure("cybersource", rest_shared_secret=base64.b64encode(secrets.token_bytes(32)).decode())
    response = tenant.staff.post(f"/events/bookings/{data['bookingId']}/refund", json={})
    assert response.status_code == 409 and response.get_json()["type"] == "refund_rejected"
    assert booking_row(data["bookingId"]).status == "confirmed"
    assert len(fake.calls("POST", "/pts/v2/payments/")) == 1   # the call was made and refused (401)


def test_without_rest_credentials_a_refund_is_owed_and_shown_to_staff(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server, rest=False)
    data, _, _ = buy(tenant)
    pay(data, "ACCEPT", fake)
    response = tenant.staff.post(f"/events/bookings/{data['bookingId']}/refund", json={})
    assert response.status_code == 200, response.get_json()
    assert fake.calls("POST", "/pts/") == []
    owed = tenant.staff.get("/events/refunds?status=owed").get_json()["data"]
    assert [(r["gateway"], r["amount"]) for r in owed] == [("cybersource", 3998)]
    paid = tenant.staff.post(f"/events/refunds/{owed[0]['id']}/paid-out", json={"reference": "bank-1"})
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid_out"


def test_settings_are_validated_and_secrets_never_shown(tenant, fake, live_server, operator):
    use_cybersource(tenant, fake, live_server)
    path = f"/operator/tenants/{tenant.orgid}/plugins/cybersource/settings"
    for bad in ({"environment": "production"}, {"rest_shared_secret": "not base64!"},
                {"hosted_url": "javascript:alert(1)"}, {"locale": "English"}, {"timeout": "-1"},
                {"profile_id": "x" * 65}):
        response = operator.patch(path, json=bad)
        assert response.status_code == 422 and response.get_json()["type"] == "invalid_setting", bad
    shown = operator.get(path)
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    with database.db.connection_context():
        from core.plugins import plugin_settings

        stored = plugin_settings(tenant.orgid, "cybersource")
    assert stored["environment"] == "test"
    assert stored["secret_key"] not in text and stored["rest_shared_secret"] not in text
    assert stored["profile_id"] in text and stored["access_key"] not in text


def test_an_unconfigured_tenant_gets_409_and_nothing_is_held(tenant, fake, live_server):
    tenant.enable("cybersource")
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price="5", capacity=3)
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event_id, [(tt, 1)],
                                                               paymentGateway="cybersource"))
    assert response.status_code == 409 and response.get_json()["type"] == "gateway_not_configured"
    assert "secret_key" in response.get_json()["message"]
    assert counters(event_id, tt)["held"] == 0


def test_the_same_form_posted_twice_keeps_the_hold_until_the_first_payment_reports(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, event_id, tt = buy(tenant)
    fake.deliver = False
    first = pay(data, "ACCEPT", fake)["callback"]
    second = pay(data, "ACCEPT", fake)          # CyberSource: ERROR 104, the uuid was used
    assert second["decision"] == "ERROR" and second["callback"]["reason_code"] == "104"
    check = callback(tenant, second["callback"])
    assert not check.paid and check.data["status"] == "pending" and "released" not in check.data
    assert counters(event_id, tt)["held"] == 2
    assert callback(tenant, first).paid and booking_row(data["bookingId"]).status == "confirmed"


def test_a_second_transaction_for_a_paid_booking_is_not_applied(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, event_id, tt = buy(tenant)
    fake.deliver = False
    first = pay(data, "ACCEPT", fake)["callback"]
    assert callback(tenant, first).paid
    fake.used_uuids.clear()                        # suppose CyberSource let the same form pay again
    second = pay(data, "ACCEPT", fake)["callback"]
    check = callback(tenant, second)
    assert not check.paid and check.data["unmatched"] is True and "already paid" in check.reason
    assert booking_row(data["bookingId"]).payment_ref == first["transaction_id"]
    assert len(ticket_ids(data["bookingId"])) == 2 and counters(event_id, tt)["sold"] == 2
    noted = booking_row(data["bookingId"]).payment_data["cybersource_events"]
    assert [e["transactionId"] for e in noted] == [first["transaction_id"], second["transaction_id"]]


def test_a_zero_decimal_currency_is_paid_in_whole_units(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, _, _ = buy(tenant, price=1500, currency="JPY", quantity=1)
    assert data["paymentData"]["paymentParams"]["amount"] == "1500"
    assert data["paymentData"]["paymentParams"]["currency"] == "JPY"
    result = pay(data, "ACCEPT", fake)
    assert result["delivered"]["status"] == 200
    assert booking_row(data["bookingId"]).status == "confirmed" and len(ticket_ids(data["bookingId"])) == 1


def test_two_callbacks_at_once_confirm_once(tenant, fake, live_server):
    from concurrent.futures import ThreadPoolExecutor

    use_cybersource(tenant, fake, live_server)
    data, event_id, tt = buy(tenant)
    fake.deliver = False
    form = pay(data, "ACCEPT", fake)["callback"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: requests.post(webhook(live_server, tenant), data=form, timeout=30),
                                range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert {a.json()["status"] for a in answers} == {"confirmed"}
    assert len(ticket_ids(data["bookingId"])) == 2 and counters(event_id, tt)["sold"] == 2
    with database.db.connection_context():
        assert Payment.select().where(Payment.booking == data["bookingId"]).count() == 1


def test_garbage_callbacks_are_400_never_500(tenant, fake, live_server):
    use_cybersource(tenant, fake, live_server)
    data, _, _ = buy(tenant)
    url = webhook(live_server, tenant)
    bodies = [b"", b"\xff\xfe\x00garbage", b'{"decision": "ACCEPT"}', b"decision=ACCEPT&req_reference_number=x",
              b"signed_field_names=a,,b&signature=x&a=1&b=2", b"signed_field_names=&signature=",
              b"signed_field_names=decision&decision=" + b"A" * 10000 + b"&signature=x",
              f"decision=ACCEPT&req_reference_number={data['bookingId']}&signed_field_names=decision,"
              f"req_reference_number&signature=%00".encode()]
    for body in bodies:
        answer = requests.post(url, data=body, timeout=30,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 400 and answer.json()["type"] == "invalid_signature", (body, answer.text)
    assert refused(tenant, {"decision": ["ACCEPT"], "signature": None}).type == "invalid_signature"
    assert booking_row(data["bookingId"]).status == "pending"
    # another org's id, or a gateway the tenant did not enable
    assert requests.post(f"{live_server.url}/webhooks/cybersource/nope", data=b"", timeout=30).status_code == 404


def test_the_core_redirect_flow_brings_the_buyer_back_confirmed_or_failed(tenant, fake, live_server):
    from urllib.parse import urlsplit

    use_cybersource(tenant, fake, live_server)
    fake.deliver = False                     # only the browser comes back, through the core's return URL
    outcomes = {}
    for decision in ("ACCEPT", "DECLINE"):
        data, event_id, tt = buy(tenant)
        started = tenant.guest.post("/client/events/payments/redirect",
                                    json={"bookingId": data["bookingId"], "returnUrl": "https://club.example/done"})
        assert started.status_code == 200, started.get_json()
        form = started.get_json()["form"]
        assert form["fields"]["signed_field_names"].endswith(",override_custom_receipt_page")
        fake.decision = decision
        result = requests.post(form["action"], data=form["fields"], timeout=30)
        assert result.status_code == 200, result.text
        fake_answer = result.json()
        back_path = urlsplit(fake_answer["receipt_page"]).path
        back = tenant.guest.flask.post(back_path, data=fake_answer["callback"])
        again = tenant.guest.flask.post(back_path, data=fake_answer["callback"])
        assert back.status_code == again.status_code == 303
        outcomes[decision] = (back.headers["Location"], again.headers["Location"], data["bookingId"], event_id, tt)
        forged = tenant.guest.flask.post(back_path, data={**fake_answer["callback"], "req_amount": "0.01"})
        assert forged.status_code == 303 and "status=failed" in forged.headers["Location"]
        assert "reason=invalid_signature" in forged.headers["Location"]
    location, again, booking_id, event_id, tt = outcomes["ACCEPT"]
    assert location.startswith("https://club.example/done?") and "status=confirmed" in location
    assert "status=confirmed" in again and len(ticket_ids(booking_id)) == 2
    location, again, booking_id, event_id, tt = outcomes["DECLINE"]
    assert "status=failed" in location and "reason=payment_failed" in location and "status=failed" in again
    assert booking_row(booking_id).status == "expired" and counters(event_id, tt)["held"] == 0
