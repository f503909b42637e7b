"""Test helper: an event, ticket types and issued tickets made straight through models and services.

Does what a staff comp does (issue_tickets + sell_seats in one write transaction); never used by the app.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

from core import db as database
from core.models import Booking, Customer, Event, Ticket, TicketType, new_id, utcnow
from core.services import capacity, issuing


def make_event(tenant, *, capacity_total: int | None = 100, starts_in_days: int = 10, name: str = "Gig",
               **ticket_type_fields) -> tuple[Event, TicketType]:
    """An event with one ticket type (fields override the defaults: price 2500 USD, capacity 50)."""
    with database.db.connection_context():
        start = utcnow() + dt.timedelta(days=starts_in_days)
        event = Event.create(org=tenant.orgid, name=name, slug=f"gig-{new_id()[:8]}", starts_at=start,
                             ends_at=start + dt.timedelta(hours=3), capacity=capacity_total,
                             published_at=utcnow())
        fields = {"name": "General", "price": 2500, "currency": "USD", "capacity": 50, **ticket_type_fields}
        ticket_type = TicketType.create(org=tenant.orgid, event=event, **fields)
    return event, ticket_type


def add_ticket_type(tenant, event: Event, **fields) -> TicketType:
    """Another ticket type on `event`."""
    with database.db.connection_context():
        values = {"name": "Extra", "price": 1000, "currency": "USD", "capacity": 50, **fields}
        return TicketType.create(org=tenant.orgid, event=event, **values)


def issue(tenant, ticket_type: TicketType, count: int = 1, *, email: str = "holder@example.com",
          name: str = "Holder Person", customer_id: str | None = None, paid: bool = True,
          gateway: str = "offline", status: str = "valid") -> list[Ticket]:
    """Issue `count` tickets to one holder inside a confirmed booking (amount = price x count)."""
    with database.db.connection_context(), database.write_transaction():
        customer = Customer.get_by_id(customer_id) if customer_id else None
        amount = ticket_type.price * count if paid else 0
        booking = Booking.create(org=tenant.orgid, event=ticket_type.event_id, customer=customer, email=email,
                                 name=name, status="confirmed", gateway=gateway if paid else "free",
                                 payment_ref=f"ref-{new_id()[:8]}", currency=ticket_type.currency,
                                 subtotal=amount, amount=amount, seats=count, confirmed_at=utcnow())
        capacity.sell_seats(ticket_type.org_id, [capacity.SeatRequest(ticket_type.id, count)], ticket_type.event_id)
        holder = issuing.Holder(email=email, name=name, customer=customer)
        return issuing.issue_tickets(tenant.orgid, ticket_type, count, holder=holder, booking=booking,
                                     unit_price=ticket_type.price if paid else 0, status=status)


def reload(ticket_id: str) -> Ticket:
    """A fresh copy of a ticket row."""
    with database.db.connection_context():
        return Ticket.get_by_id(ticket_id)


def set_status(ticket_id: str, status: str) -> None:
    """Force a ticket's status (to set up states no endpoint of this test reaches)."""
    with database.db.connection_context():
        Ticket.update(status=status).where(Ticket.id == ticket_id).execute()


def reload_model(model, record_id: str):
    """A fresh copy of any row."""
    with database.db.connection_context():
        return model.get_by_id(record_id)


@contextlib.contextmanager
def recorded_hooks(tenant, *hook_names: str):
    """Enable a recording plugin for `tenant`; yields a list of (hook name, kwargs) calls."""
    from core.hookspecs import hookimpl

    calls: list[tuple[str, dict]] = []

    def recorder(name):
        def record(**kwargs):
            calls.append((name, kwargs))
        return record

    def make(name, params):
        namespace: dict = {}
        source = f"def {name}(self, {', '.join(params)}):\n    _rec['{name}']({', '.join(f'{p}={p}' for p in params)})"
        exec(source, {"_rec": records}, namespace)  # a hookimpl must name the spec's arguments
        return hookimpl(namespace[name])

    import inspect

    from core import hookspecs

    records = {name: recorder(name) for name in hook_names}
    attrs = {name: make(name, [p for p in inspect.signature(getattr(hookspecs, name)).parameters])
             for name in hook_names}
    with enabled_plugin(tenant, type("Recorder", (), attrs)(), f"recorder-{new_id()[:8]}"):
        yield calls


@contextlib.contextmanager
def enabled_plugin(tenant, plugin, name: str):
    """Register `plugin` under `name` and enable it for `tenant` for the duration of the block."""
    from core.models import TenantPlugin
    from core.plugins import get_host

    host = get_host()
    host.register(plugin, name)
    with database.db.connection_context():
        TenantPlugin.create(org=tenant.orgid, plugin=name, enabled=True)
    host.forget(tenant.orgid)
    try:
        yield
    finally:
        host.pm.unregister(name=name)
        host._subset_cache.clear()
        host.forget()


def hold(tenant, ticket_type: TicketType, count: int = 1) -> Booking:
    """A pending booking holding `count` seats (what a purchase leaves before payment)."""
    from core.models import BookingLine

    with database.db.connection_context(), database.write_transaction():
        amount = ticket_type.price * count
        booking = Booking.create(org=tenant.orgid, event=ticket_type.event_id, email="buyer@example.com",
                                 status="pending", gateway="offline", currency=ticket_type.currency,
                                 subtotal=amount, amount=amount, seats=count,
                                 expires_at=utcnow() + dt.timedelta(minutes=10))
        BookingLine.create(org=tenant.orgid, booking=booking, ticket_type=ticket_type, quantity=count, seats=count,
                           unit_price=ticket_type.price, total=amount)
        capacity.hold_seats(ticket_type.org_id, [capacity.SeatRequest(ticket_type.id, count)], ticket_type.event_id)
    return booking


@contextlib.contextmanager
def fake_gateway(tenant, name: str, refund: Callable | None = None):
    """Enable a plugin providing gateway `name`: every payment it starts counts as paid in full, and its refunds
    answer `refund(amount)` (or raise; by default they succeed)."""
    from core.hookspecs import hookimpl
    from core.payments import PaymentCheck, PaymentProvider, RefundResult, Step

    refund = refund or (lambda amount: RefundResult(True, f"re_{new_id()[:8]}", amount))

    class Provider(PaymentProvider):
        identifier = name
        capabilities = frozenset({Step.CREATE, Step.VERIFY, Step.REFUND, Step.PARTIAL_REFUND})

        def create_payment(self, org, booking, settings):
            return {"reference": f"{name}_{booking.id}", "client_secret": f"{name}_{booking.id}_secret"}

        def verify_payment(self, org, booking, payment_ref, settings):
            return PaymentCheck(paid=True, reference=f"{name}_{booking.id}", amount=booking.amount,
                                currency=booking.currency)

        def refund(self, org, booking, payment_ref, amount, settings):
            return refund(amount)

    class Gateway:
        @hookimpl
        def payment_gateways(self):
            return [Provider()]

    with enabled_plugin(tenant, Gateway(), name):
        yield
