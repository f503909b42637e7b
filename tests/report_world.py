"""A constructed event for the organiser's report (issue 20 part 3): sales at known local times through two
gateways (offline, paid at the box office; Stripe, against the loopback fake), a refund, a live hold and an
overdue one, and admissions at two scan points at known times, all made through the API with the in-process
clock moved to each moment. The expected figures are written out in `ReportWorld`.

Builds data only through the API; the clock file is this module's own (restored afterwards).
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from fakes.checks import enable_gateway

from core import clock

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
STRIPE = {"publishable_key": "pk_test_report", "timeout": "2"}


@dataclass
class ReportWorld:
    """The event, its types, tickets by name, and the day the sales start on (local)."""

    tenant: object
    event_id: str
    types: dict[str, str]
    tickets: dict[str, list[str]] = field(default_factory=dict)
    first_day: dt.date | None = None
    check_in_day: dt.date | None = None


class MovedClock:
    """The in-process clock (`core.clock`) set to chosen moments through its own clock file."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="report-clock-")) / "offset"
        self.path.write_text("0")
        clock.use_clock_file(str(self.path))

    def at(self, when: dt.datetime) -> None:
        """Make now `when` (an aware time), give or take the few milliseconds the next request takes."""
        real = dt.datetime.now(dt.UTC)
        self.path.write_text(repr((when - real).total_seconds()))

    def close(self) -> None:
        clock.use_clock_file(None)


def local(day: dt.date, hour: int, minute: int) -> dt.datetime:
    """A local wall-clock time of the event's zone."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def _ok(response, status=(200, 201)) -> dict:
    assert response.status_code in status, response.get_json()
    return response.get_json()


def build(tenant, fake, moved: MovedClock) -> ReportWorld:
    """The constructed event (see the module's docstring); `fake` is a started Stripe fake."""
    enable_gateway(tenant, "stripe", {"secret_key": "sk_test_" + secrets.token_hex(8), "api_base": fake.url,
                                      "webhook_secret": "whsec_" + secrets.token_hex(8), **STRIPE}, {})
    today = dt.datetime.now(ZONE).date()
    start = local(today + dt.timedelta(days=30), 20, 0)
    event = _ok(tenant.staff.post("/events", json={"event": {
        "name": "Report Night", "tz": TZ, "starts_at": start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ends_at": (start + dt.timedelta(hours=3)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published_at": "2020-01-01T00:00:00Z"}}))["data"]
    types = {}
    for name, price, capacity in (("Standard", 20, 10), ("VIP", 50, 5)):
        types[name] = _ok(tenant.staff.post(f"/events/{event['id']}/ticket-types", json={
            "name": name, "price": price, "currency": "USD", "capacity": capacity}))["data"]["id"]
    world = ReportWorld(tenant, event["id"], types, first_day=today - dt.timedelta(days=6),
                        check_in_day=today - dt.timedelta(days=1))
    day = world.first_day

    # Day 1, 10:30: two Standard at the box office, paid cash (offline).
    moved.at(local(day, 10, 30))
    world.tickets["cash"] = _box_office(world, "Standard", 2, "cash@example.com", "Casey Cash")
    # Day 1, 23:30 local (already the next day in UTC): one VIP paid with Stripe.
    moved.at(local(day, 23, 30))
    world.tickets["vip"] = _stripe(world, fake, "VIP", 1, "vip@example.com", "Vera Important")
    # Day 4, 09:00: three Standard with Stripe, one of them refunded the same morning.
    moved.at(local(day + dt.timedelta(days=3), 9, 0))
    world.tickets["group"] = _stripe(world, fake, "Standard", 3, "group@example.com", "Gus Group")
    moved.at(local(day + dt.timedelta(days=3), 9, 40))
    _ok(tenant.staff.post(f"/events/tickets/{world.tickets['group'][0]}/refund", json={}))
    # A hold that ran out (two days ago, never paid) and a live one (now), each of one VIP seat.
    moved.at(dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    _pending(world, "VIP", "late@example.com")
    # The check-ins, the day before today: two at the main door, one at the side door, one refused.
    moved.at(local(world.check_in_day, 19, 5))
    _ok(_scan(world, world.tickets["cash"][0], "Main door"))
    moved.at(local(world.check_in_day, 19, 20))
    _ok(_scan(world, world.tickets["cash"][1], "Main door"))
    moved.at(local(world.check_in_day, 20, 10))
    _ok(_scan(world, world.tickets["vip"][0], "Side door"))
    moved.at(local(world.check_in_day, 20, 15))
    assert _scan(world, world.tickets["cash"][0], "Side door").status_code == 409   # used already: not counted
    moved.at(dt.datetime.now(dt.UTC))
    _pending(world, "VIP", "hold@example.com")
    return world


def _scan(world: ReportWorld, ticket_id: str, point: str):
    return world.tenant.staff.post(f"/events/check-in/{ticket_id}", json={"eventId": world.event_id,
                                                                          "scanPoint": point})


def _purchase(world: ReportWorld, type_name: str, quantity: int, email: str, name: str, **extra) -> dict:
    body = {"eventId": world.event_id, "email": email, "name": name,
            "items": [{"ticketTypeId": world.types[type_name], "quantity": quantity}], **extra}
    return _ok(world.tenant.staff.post("/events/tickets/purchase", json=body))


def _pending(world: ReportWorld, type_name: str, email: str) -> dict:
    booking = _purchase(world, type_name, 1, email, "Held Person", paymentGateway="offline")
    assert booking["status"] == "pending"
    return booking


def _box_office(world: ReportWorld, type_name: str, quantity: int, email: str, name: str) -> list[str]:
    booking = _pending(world, type_name, email) if quantity == 1 else \
        _purchase(world, type_name, quantity, email, name, paymentGateway="offline")
    paid = _ok(world.tenant.staff.post(f"/events/bookings/{booking['bookingId']}/mark-paid",
                                       json={"reference": "till-1"}))
    return [ticket["id"] for ticket in paid["tickets"]]


def _stripe(world: ReportWorld, fake, type_name: str, quantity: int, email: str, name: str) -> list[str]:
    body = {"eventId": world.event_id, "email": email, "name": name, "paymentGateway": "stripe",
            "items": [{"ticketTypeId": world.types[type_name], "quantity": quantity}]}
    booking = _ok(world.tenant.guest.post("/client/events/tickets/purchase", json=body))
    fake.pay(booking["paymentRef"])
    confirmed = _ok(world.tenant.guest.post("/client/events/tickets/confirm-order", json={
        "bookingId": booking["bookingId"], "paymentGateway": "stripe"}))
    return [ticket["id"] for ticket in confirmed["tickets"]]
