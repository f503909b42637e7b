"""The checkout in a real Chromium: a free ticket and a paid one (Stripe's Payment Element, from the loopback
fake's stand-in for Stripe.js), double submits and reloads making one booking, a hold that runs out (the server's
clock and the browser's moved, no waiting), and the French checkout; screenshots of each page."""

from __future__ import annotations

import pytest
from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from pages_world import concert, event_bookings, pages_tenant, use_stripe_fake

fake_server, fake = fake_fixtures(FakeStripe)


def choose(page, ticket_type: str, quantity: int) -> None:
    """Pick `quantity` of the ticket type in the checkout form."""
    page.get_by_label(ticket_type).select_option(str(quantity))


def buyer(page, name: str = "Ann Lee", email: str = "ann@example.com") -> None:
    """Fill in the buyer's details."""
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail (your tickets are sent there)").fill(email)


@pytest.fixture
def club(app):
    """A tenant with pages and offline payments, and its concert."""
    tenant = pages_tenant(app)
    tenant.event = concert(tenant)
    return tenant


def test_a_visitor_buys_a_free_ticket(club, page, screenshots):
    page.goto(f"/e/{club.orgid}/{club.event['slug']}")
    page.get_by_role("link", name="Buy tickets").click()
    choose(page, "Free entry", 2)
    buyer(page)
    screenshots(page, "checkout")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you! Your order is confirmed."
    assert "Your tickets are on their way to ann@example.com." in page.content()
    screenshots(page, "confirmation")
    [booking] = event_bookings(club.event["id"])
    assert (booking.status, booking.amount, len(booking.ticket_rows), booking.email) == ("confirmed", 0, 2,
                                                                                         "ann@example.com")


def test_a_visitor_pays_with_stripe(app, page, fake, screenshots):
    tenant = pages_tenant(app, plugins=("pages",))
    use_stripe_fake(tenant, fake)
    event = concert(tenant)
    page.goto(f"/e/{tenant.orgid}/{event['slug']}/checkout")
    choose(page, "Seated", 2)
    buyer(page)
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Pay for your order"
    page.locator("#payment-element[data-mounted=payment]").wait_for()
    screenshots(page, "pay")
    page.get_by_role("button", name="Pay €53.00").click()
    page.get_by_role("heading", name="Thank you! Your order is confirmed.").wait_for()
    screenshots(page, "confirmation")
    [booking] = event_bookings(event["id"])
    assert (booking.status, booking.gateway, booking.amount, len(booking.ticket_rows)) == ("confirmed", "stripe",
                                                                                            5300, 2)
    intent = fake.intents[booking.payment_ref]
    assert (intent["status"], intent["amount"], intent["currency"]) == ("succeeded", 5300, "eur")


def test_double_submits_and_reloads_make_one_booking(club, page):
    page.goto(f"/e/{club.orgid}/{club.event['slug']}/checkout")
    choose(page, "Seated", 1)
    buyer(page)
    page.get_by_role("button", name="Continue").dblclick()
    page.get_by_role("heading", name="Pay for your order").wait_for()
    pay_url = page.url
    page.reload()
    page.reload()
    page.go_back()
    page.go_forward()
    assert page.url == pay_url
    resent = page.request.post(page.url.rsplit("/", 1)[0], form=_last_form(club))  # same key posted again
    assert resent.ok and _booking_part(resent.url) == _booking_part(pay_url)   # the same booking's page
    [booking] = event_bookings(club.event["id"])
    assert (booking.status, booking.gateway, booking.amount) == ("pending", "offline", 2650)
    api = club.staff.get(f"/events/{club.event['id']}/ticket-types").get_json()["data"]
    assert next(t for t in api if t["name"] == "Seated")["available"] == 99


def _booking_part(url: str) -> str:
    """The signed token's payload (the booking id; its timestamp and signature differ per signing)."""
    return url.rsplit("/", 1)[1].split(".")[0]


def _last_form(club) -> dict:
    """The form the visitor sent (its key read back from the stored idempotency record)."""
    from core import db as database
    from core.models import IdempotencyRecord

    with database.db.connection_context():
        record = (IdempotencyRecord.select().where(IdempotencyRecord.org == club.orgid)
                  .order_by(IdempotencyRecord.created_at.desc()).first())
    types = {t["name"]: t["id"] for t in club.staff.get(f"/events/{club.event['id']}/ticket-types").get_json()["data"]}
    return {"key": record.key, f"qty.{types['Seated']}": "1", "name": "Ann Lee", "email": "ann@example.com",
            "gateway": "offline", "promo": "", "invite": ""}


def test_a_hold_that_runs_out_is_announced(club, page, clock, screenshots):
    page.clock.install()
    page.goto(f"/e/{club.orgid}/{club.event['slug']}/checkout")
    choose(page, "Seated", 1)
    buyer(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Pay for your order").wait_for()
    countdown = page.locator("[data-countdown]")
    countdown.filter(has_text="(").wait_for()   # the script fills it in once the page has loaded
    assert countdown.inner_text().startswith("(")
    page.clock.fast_forward("11:00")                         # the browser's countdown reaches zero
    page.get_by_text("Your hold ran out: these tickets are no longer reserved for you.").wait_for()
    assert page.locator("[data-payment]").is_hidden()
    screenshots(page, "countdown-over")
    clock.advance(11 * 60)                                    # and the server's hold is over too
    page.reload()
    assert page.get_by_role("heading", level=1).inner_text() == "Your hold ran out"
    screenshots(page, "hold-expired")
    page.get_by_role("button", name="Start again").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Checkout"
    [booking] = event_bookings(club.event["id"])
    assert booking.status == "expired"


def test_the_french_checkout_is_in_french(club, page, screenshots):
    page.goto(f"/e/{club.orgid}/{club.event['slug']}/checkout?lang=fr")
    assert page.get_by_role("heading", level=1).inner_text() == "Commande"
    choose(page, "Free entry", 1)                             # ticket type names are the tenant's own words
    page.get_by_label("Nom complet").fill("Léa Martin")
    page.get_by_label("E-mail (vos billets y sont envoyés)").fill("lea@example.com")
    screenshots(page, "checkout-fr")
    page.get_by_role("button", name="Continuer").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Merci ! Votre commande est confirmée."
    screenshots(page, "confirmation-fr")
