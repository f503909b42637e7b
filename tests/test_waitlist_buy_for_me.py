""""Buy for me" against the loopback Stripe fake (the real `stripe` SDK) and a real SMTP server: a customer who
saved a card when joining is charged off-session when seats are offered, the booking confirmed through the core
and the tickets issued, and is e-mailed; a decline or a bank asking to authenticate turns it into a normal offer
e-mailed with its checkout link."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from smtp_server import SmtpServer
from test_stripe import use_stripe
from ticket_factory import issue, make_event

from core import db as database
from core.models import Booking, Ticket
from plugins.resale.waitlist_models import WaitlistOffer

fake_server, fake = fake_fixtures(FakeStripe)


@pytest.fixture
def shop(tenant, fake):
    """Stripe (the fake) as the tenant's only paying gateway, the waiting list, and e-mails to a loopback SMTP
    server (`shop.smtp`)."""
    use_stripe(tenant, fake)
    for plugin in ("resale", "notifications", "pages"):
        tenant.enable(plugin)
    tenant.smtp = SmtpServer().start()
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(tenant.smtp.port))
    yield tenant
    tenant.smtp.stop()


def join_saving(tenant, fake, event, ticket_type, behaviour: str | None):
    """A customer joins with `buyForMe` and (unless `behaviour` is None) saves a card that behaves so."""
    fan = tenant.customer()
    response = fan.post(f"/client/events/{event.id}/waitlist",
                        json={"ticketTypeId": ticket_type.id, "seats": 1, "buyForMe": True})
    assert response.status_code == 201, response.get_json()
    setup = response.get_json()["setup"]
    assert setup["gateway"] == "stripe" and setup["clientSecret"].startswith(setup["setupIntent"])
    assert response.get_json()["entry"]["buyForMe"] is True
    if behaviour is not None:
        fake.save_card(setup["setupIntent"], behaviour)
    return fan


def offer_of(tenant, customer_id: str) -> WaitlistOffer:
    with database.db.connection_context():
        return WaitlistOffer.get((WaitlistOffer.org == tenant.orgid) & (WaitlistOffer.customer == customer_id))


def mails_to(smtp, address: str) -> list:
    return [m for m in smtp.messages if m["To"] == address and m["X-Boxoffice-Kind"] == "waitlist"]


def test_seats_are_bought_with_the_saved_card_and_a_decline_becomes_an_emailed_offer(shop, fake):
    smtp = shop.smtp
    event, ticket_type = make_event(shop, capacity=4, price=2500)
    tickets = issue(shop, ticket_type, 4)
    paying = join_saving(shop, fake, event, ticket_type, "ok")
    declined = join_saving(shop, fake, event, ticket_type, "card_declined")
    must_authenticate = join_saving(shop, fake, event, ticket_type, "authentication_required")
    never_saved = join_saving(shop, fake, event, ticket_type, None)
    for ticket in tickets:
        assert shop.staff.post(f"/events/tickets/{ticket.id}/cancel", json={}).status_code == 200

    bought = offer_of(shop, paying.customer_id)
    assert (bought.status, bought.bought_for_customer, bought.charge_failure) == ("accepted", True, None)
    with database.db.connection_context():
        booking = Booking.get_by_id(bought.booking_id)
        issued = list(Ticket.select().where(Ticket.booking == booking.id))
    assert booking.status == "confirmed" and [t.customer_id for t in issued] == [paying.customer_id]
    charged = fake.intents[booking.payment_ref]
    assert (charged["status"], charged["amount"], charged["metadata"]["bookingId"]) == ("succeeded", 2500,
                                                                                        booking.id)
    others = [i for i in fake.intents.values() if i["metadata"].get("bookingId") == booking.id and i is not charged]
    assert [i["status"] for i in others] == ["canceled"]   # the booking's own unused intent can no longer be paid
    subjects = [m["Subject"] for m in mails_to(smtp, paying.email)]
    assert subjects[-1] == f"We bought your waiting-list seats for {event.name}"
    assert "Seats are waiting for you" not in " ".join(subjects)

    for fan, code in ((declined, "card_declined"), (must_authenticate, "authentication_required"),
                      (never_saved, "no_saved_method")):
        offer = offer_of(shop, fan.customer_id)
        assert (offer.status, offer.bought_for_customer, offer.charge_failure) == ("offered", False, code)
        with database.db.connection_context():
            assert Booking.get_by_id(offer.booking_id).status == "pending"
        mail = mails_to(smtp, fan.email)[-1]
        assert mail["Subject"] == f"Seats are waiting for you: {event.name}"
        text = mail.get_body(("plain",)).get_content()
        assert "could not pay with your saved card" in text
        link = next(word for word in text.split() if word.startswith("http"))
        page = shop.guest.flask.get(urlparse(link).path)   # the booking's checkout page, ready to pay
        assert page.status_code == 200 and "General" in page.get_data(as_text=True)
        mine = fan.get(f"/client/events/{event.id}/waitlist").get_json()["entries"][0]
        assert mine["offer"]["chargeFailure"] == code
        assert mine["offer"]["checkoutUrl"].rsplit("/", 1)[0] == link.rsplit("/", 1)[0]   # same page, fresh token


def test_buy_for_me_needs_a_gateway_that_saves_cards(tenant):
    tenant.enable("resale")
    event, ticket_type = make_event(tenant, capacity=1, price=2500)
    issue(tenant, ticket_type, 1)
    fan = tenant.customer()
    refused = fan.post(f"/client/events/{event.id}/waitlist",
                       json={"ticketTypeId": ticket_type.id, "buyForMe": True})
    assert refused.status_code == 422 and refused.get_json()["type"] == "buy_for_me_unavailable"
    assert fan.get(f"/client/events/{event.id}/waitlist").get_json()["entries"] == []
