"""Test helpers for the attendee pages (`plugins/pages`): a tenant with the plugin and a published event with
ticket types (free, paid with a fee, sold out, not yet on sale), made through the staff API.

Builds data only through the API; never writes rows directly.
"""

from __future__ import annotations

import datetime as dt

from conftest import Tenant, make_tenant
from test_events import iso

from core.models.base import utcnow

PAST = "2020-01-01T00:00:00Z"


def pages_tenant(app, name: str = "Jazz Club", plugins: tuple[str, ...] = ("pages", "offline")) -> Tenant:
    """A new tenant with the pages plugin enabled (and `plugins`)."""
    return make_tenant(app, name, plugins=plugins)


def created(response, status: int = 201) -> dict:
    """The `data` of a successful answer."""
    assert response.status_code == status, response.get_json()
    return response.get_json()["data"]


def concert(tenant: Tenant, *, name: str = "Concert de Jazz", days: int = 30, tz: str = "Europe/Paris",
            description: str = "<p>An evening of <strong>jazz</strong>.</p><script>alert(1)</script>",
            types: list[dict] | None = None, **extra) -> dict:
    """A published event at a Paris venue, 20:00 local time `days` from now, with ticket types `types`
    (default: a free one, a paid one with a fee, a sold-out one and one whose sale starts later)."""
    venue = created(tenant.staff.post("/venues", json={"name": "Salle Pleyel", "city": "Paris", "country": "FR",
                                                        "tz": tz}))
    start = (utcnow() + dt.timedelta(days=days)).replace(hour=18, minute=0, second=0, microsecond=0)
    if types is None:
        types = [{"name": "Free entry", "price": 0, "inventory": 50, "currency": "EUR"},
                 {"name": "Seated", "price": 25, "inventory": 100, "currency": "EUR", "service_fee_amount": 1.5},
                 {"name": "Front row", "price": 60, "inventory": 0, "currency": "EUR"},
                 {"name": "Late release", "price": 30, "inventory": 10, "currency": "EUR",
                  "sale_start": iso(utcnow() + dt.timedelta(days=5))}]
    body = {"name": name, "venue_id": venue["id"], "tz": tz, "description": description,
            "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=3)), "published_at": PAST,
            "registration_types": types, **extra}
    return created(tenant.staff.post("/events", json={"event": body}))


def concert_club(app) -> Tenant:
    """A tenant with pages and offline payments, its concert (`tenant.event`) and the concert's ticket type ids
    by name (`tenant.types`)."""
    tenant = pages_tenant(app)
    tenant.event = concert(tenant)
    tenant.types = {t["name"]: t["id"]
                    for t in tenant.staff.get(f"/events/{tenant.event['id']}/ticket-types").get_json()["data"]}
    return tenant


def event_bookings(event_id: str) -> list:
    """The event's bookings as stored now (oldest first), with their lines and tickets."""
    from core import db as database
    from core.models import Booking, BookingLine, Ticket

    with database.db.connection_context():
        found = list(Booking.select().where(Booking.event == event_id).order_by(Booking.created_at))
        for booking in found:
            booking.line_rows = list(BookingLine.select().where(BookingLine.booking == booking.id)
                                     .order_by(BookingLine.created_at))
            booking.ticket_rows = list(Ticket.select().where(Ticket.booking == booking.id))
    return found


def use_stripe_fake(tenant: Tenant, fake) -> dict:
    """Enable Stripe for `tenant` against the loopback fake, Stripe.js from the fake's stand-in."""
    import secrets

    settings = {"secret_key": "sk_test_" + secrets.token_hex(12), "publishable_key": "pk_test_" + secrets.token_hex(8),
                "webhook_secret": "whsec_" + secrets.token_hex(16), "api_base": fake.url, "timeout": "2",
                "js_url": fake.url + "/v3/"}
    tenant.enable("stripe")
    tenant.configure("stripe", **settings)
    return settings


def use_paypal_fake(tenant: Tenant, fake) -> dict:
    """Enable PayPal for `tenant` against the loopback fake, its JS SDK from the fake's stand-in."""
    import secrets

    settings = {"client_id": "AX" + secrets.token_hex(10), "client_secret": "EL" + secrets.token_hex(16),
                "webhook_id": "WH-" + secrets.token_hex(6).upper(), "api_base": fake.url, "timeout": "2",
                "js_url": fake.url + "/sdk/js"}
    tenant.enable("paypal")
    tenant.configure("paypal", **settings)
    return settings
