"""Checkout of a club member's cart (004): every line held in one core booking, free tickets issued at once,
paid ones sent to the hosted payment page; and the cart's side of a booking that was paid or given up.

Never holds, prices or issues anything itself: the booking comes from the core's purchase path (the same rules
as every purchase), and a double click is one booking because the checkout runs under the core's idempotency
(`run_once`) keyed by the cart's version.
"""

from __future__ import annotations

from core.db import write_transaction
from core.errors import ApiError, BadRequest, NotFound
from core.identity import Identity
from core.models import Booking, BookingLine, Org, utcnow
from core.plugins import get_host
from core.services import booking as bookings
from core.services import capacity, holds
from core.services.idempotency import StoredResponse, request_fingerprint, run_once
from core.services.purchase_requests import purchase_request
from core.tenancy import scoped, tenant_for_host
from plugins.club_cart import payment
from plugins.club_cart.cart import cart_lines, cart_of, drop_stale, stale_items, stale_view, take_out
from plugins.club_cart.models import Cart

CHECKOUT_ENDPOINT = "POST /tickets/initiate_checkout/"
PLUGIN = SOURCE = "club_cart"
"""The `source` of the bookings and tickets a cart checkout makes."""


class CartEmpty(ApiError):
    """400 `cart_empty`: there is nothing in the cart to check out."""

    status, type = 400, "cart_empty"


class CartStale(ApiError):
    """403 `cart_stale` (004's stale cart): some of the cart can no longer be bought; `stale` lists it, it has
    left the cart, and nothing was held."""

    status, type = 403, "cart_stale"


def _stale_error(views: list[dict]) -> CartStale:
    return CartStale("Some tickets in your cart were sold or became unavailable; they were removed. Refresh the "
                     "cart with GET /api/tickets/cart/ and check out again.", success=False, stale=views)


def _retire_dead_checkout(org: Org, cart: Cart) -> Cart:
    """A cart whose last checkout's booking is no longer pending (expired, cancelled, paid) gets a new version,
    so the next checkout is a new one rather than a replay of that one."""
    if not cart.checkout_booking_id:
        return cart
    booking = scoped(Booking, org).where(Booking.id == cart.checkout_booking_id).first()
    if booking is not None and holds.expire_if_overdue(booking).status == "pending":
        return cart
    release_checkout(org, cart.customer_id, cart.checkout_booking_id)
    return cart_of(org, cart.customer_id)


def release_checkout(org: Org, customer_id: str, booking_id: str) -> None:
    """Forget the cart's checkout of `booking_id` (declined, expired, cancelled): a new version, so the member
    can check the same lines out again. Conditional on that checkout still being the cart's."""
    with write_transaction():
        Cart.update(version=Cart.version + 1, checkout_booking_id=None, updated_at=utcnow()).where(
            (Cart.org == org.id) & (Cart.customer_id == customer_id)
            & (Cart.checkout_booking_id == booking_id)).execute()


def initiate_checkout(org: Org, identity: Identity) -> dict:
    """Hold the whole cart in one booking: `{success, sold_free_tickets}` for free tickets (issued now), or
    with `cybersource_url` and `payment_params` for the hosted payment page. 403 `cart_stale` (with `stale`)
    when some of it can no longer be bought, 400 `cart_empty`. A repeat while nothing changed (a double
    click) answers the first one's answer: one booking."""
    cart = cart_of(org, identity.sub)
    if cart is None:
        raise CartEmpty("Your cart is empty.", success=False)
    cart = _retire_dead_checkout(org, cart)
    fingerprint = request_fingerprint("POST", CHECKOUT_ENDPOINT, {}, identity.sub)
    stored = run_once(org.id, CHECKOUT_ENDPOINT, f"club-cart:{cart.id}:{cart.version}", fingerprint,
                      lambda: StoredResponse(200, _checkout(org, identity, cart)))
    if stored.status >= 400:
        body = dict(stored.body)
        extra = {k: v for k, v in body.items() if k not in ("code", "status", "type", "message", "errors")}
        raise ApiError(body.get("message", ""), status=stored.status, type=body.get("type"),
                       errors=body.get("errors"), **extra)
    return stored.body


def _checkout(org: Org, identity: Identity, cart: Cart) -> dict:
    """The checkout itself, run once per cart version (see `initiate_checkout`)."""
    loaded = cart_lines(org, identity.sub)
    if not loaded:
        raise CartEmpty("Your cart is empty.", success=False)
    stale = stale_items(org, cart, loaded)
    if stale:
        drop_stale(org, identity.sub, stale)
        raise _stale_error([stale_view(item) for item in stale])
    body = {"eventId": loaded[0].line.showing_id, "paymentGateway": payment.GATEWAY,
            "items": [{"ticketTypeId": item.line.ticket_type_id, "quantity": item.line.count} for item in loaded]}
    request = purchase_request(org, identity, body, staff=False, source=SOURCE)
    try:
        result = bookings.purchase(org, request)
    except capacity.SoldOut:
        stale = stale_items(org, cart, cart_lines(org, identity.sub))  # what the others' holds left
        if not stale:   # the seats came back meanwhile: name the line the booking service refused
            raise
        drop_stale(org, identity.sub, stale)
        raise _stale_error([stale_view(item) for item in stale]) from None
    booking = result.booking
    if booking.status == "confirmed":
        return {"success": True, "sold_free_tickets": True}
    url, params = payment.hosted_form(org, booking)
    with write_transaction():
        Cart.update(checkout_booking_id=booking.id, updated_at=utcnow()).where(Cart.id == cart.id).execute()
    return {"success": True, "sold_free_tickets": False, "cybersource_url": url, "payment_params": params}


def settle_confirmed(org: Org, booking: Booking) -> None:
    """A cart checkout's booking was confirmed (free at once, or paid): what it bought leaves the member's cart
    and the cart gets a new version. Run once per confirmation (the `booking_confirmed` hook's own write)."""
    if booking.source != SOURCE or not booking.customer_id:
        return
    bought: dict[str, int] = {}
    for line in BookingLine.select(BookingLine.ticket_type, BookingLine.quantity).where(
            (BookingLine.booking == booking.id) & (BookingLine.kind == "ticket")):
        bought[line.ticket_type_id] = bought.get(line.ticket_type_id, 0) + line.quantity
    now = utcnow()
    with write_transaction():
        for ticket_type_id, units in bought.items():
            take_out(org, booking.customer_id, ticket_type_id, units)
        cart = (Cart.org == org.id) & (Cart.customer_id == booking.customer_id)
        if not Cart.update(version=Cart.version + 1, checkout_booking_id=None, updated_at=now).where(
                cart & (Cart.checkout_booking_id == booking.id)).execute():
            Cart.update(version=Cart.version + 1, updated_at=now).where(cart).execute()


def _callback_tenant(host: str | None, form: dict) -> Org:
    """The club a payment callback is for: the tenant the request's hostname names, else the tenant of the
    booking its `req_reference_number` names (400 `invalid_callback` when neither), which must have the cart
    enabled (404 `plugin_not_enabled`). Nothing is believed until the gateway checked the signature under that
    club's key, so naming another club's booking or host gets nowhere."""
    org = tenant_for_host(host) or payment.callback_org(form)
    if org is None:
        raise BadRequest("This payment callback names no booking.", type="invalid_callback")
    if not get_host().is_enabled(org.id, PLUGIN):
        raise NotFound(f"The {PLUGIN!r} plugin is not enabled for this organisation.", type="plugin_not_enabled")
    return org


def payment_complete(host: str | None, form: dict) -> dict:
    """The hosted payment page's callback (004's `payment_complete`): verified by the gateway under the club's
    secret key (400 `invalid_signature`), then an accepted payment's tickets are issued through the core's
    confirmation (the QR e-mail follows from its outbox) and leave the cart; a decline, cancel or error gives
    the held seats back at once and lets the member check out again. A replay changes nothing; a payment
    after the seats were sold is refunded (409 `hold_expired`, `refunded`)."""
    org = _callback_tenant(host, form)
    check = payment.verify(org, form)
    if check.paid:
        return {"success": True, "detail": "Payment received: your tickets are in your account and their QR "
                                           "codes are on their way by e-mail."}
    booking = bookings.get_booking(org, check.data["bookingId"])
    if booking.status != "pending" and booking.customer_id:
        release_checkout(org, booking.customer_id, booking.id)
    return {"success": False, "detail": check.reason}
