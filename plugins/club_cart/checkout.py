"""Checkout of a club member's cart (004): each showing's lines held in one core booking (a booking is one
event's), all or nothing; free tickets issued at once, paid ones sent to the hosted payment page (one payment:
of the booking, or of a checkout group's bookings when several showings cost money); and the cart's side of a
checkout that was paid or given up.

Never holds, prices or issues anything itself: the bookings come from the core's purchase path (the same rules
as every purchase), and a double click is one checkout because it runs under the core's idempotency
(`run_once`) keyed by the cart's version.
"""

from __future__ import annotations

import hashlib

from core.db import write_transaction
from core.errors import ApiError, BadRequest, NotFound
from core.identity import Identity
from core.models import Booking, BookingLine, Org, new_id, utcnow
from core.plugins import get_host
from core.services import booking as bookings
from core.services import cancellation, holds, idempotency
from core.services.idempotency import StoredResponse, request_fingerprint, run_once
from core.services.purchase_requests import purchase_request
from core.tenancy import load_org, scoped, tenant_for_host
from plugins.club_cart import payment
from plugins.club_cart.cart import (
    LoadedLine,
    cart_lines,
    cart_of,
    checkout_bookings,
    checkout_group,
    drop_stale,
    stale_items,
    stale_view,
    take_out,
)
from plugins.club_cart.models import Cart, CheckoutGroup

CHECKOUT_ENDPOINT = "POST /tickets/initiate_checkout/"
CHECKOUT_POINT = "club_cart_checkout"
"""The idempotency recovery point of a several-showing checkout once its group (and each booking) committed."""
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


class CurrencyMismatch(ApiError):
    """422 `currency_mismatch`: the paid showings of the cart are priced in several currencies, and one
    checkout is one payment in one currency."""

    status, type = 422, "currency_mismatch"


def _retire_dead_checkout(org: Org, cart: Cart) -> Cart:
    """A cart whose last checkout's bookings are none of them pending any more (expired, cancelled, paid) gets
    a new version, so the next checkout is a new one rather than a replay of that one."""
    if not (cart.checkout_booking_id or cart.checkout_group_id):
        return cart
    booking_ids = checkout_bookings(org, cart)
    for booking in scoped(Booking, org).where(Booking.id.in_(booking_ids)) if booking_ids else []:
        if holds.expire_if_overdue(booking).status == "pending":
            return cart
    release_checkout(org, cart.customer_id, booking_id=cart.checkout_booking_id, group_id=cart.checkout_group_id)
    return cart_of(org, cart.customer_id)


def release_checkout(org: Org, customer_id: str, *, booking_id: str | None = None,
                     group_id: str | None = None) -> None:
    """Forget the cart's checkout of `booking_id` or of the checkout group `group_id` (declined, expired,
    cancelled): a new version, so the member can check the same lines out again. Conditional on that checkout
    still being the cart's."""
    same = (Cart.checkout_booking_id == booking_id) if booking_id else (Cart.checkout_group_id == group_id)
    with write_transaction():
        Cart.update(version=Cart.version + 1, checkout_booking_id=None, checkout_group_id=None,
                    updated_at=utcnow()).where(
            (Cart.org == org.id) & (Cart.customer_id == customer_id) & same).execute()


def initiate_checkout(org: Org, identity: Identity, queue_pass: str | None = None) -> dict:
    """Hold the whole cart, one booking per showing (all or nothing): `{success, sold_free_tickets}` for free
    tickets (issued now), or with `cybersource_url` and `payment_params` (one payment for every paid showing)
    for the hosted payment page. 403 `cart_stale` (with `stale`) when some of it can no longer be bought (nothing
    held), 400 `cart_empty`, 422 `currency_mismatch`. A repeat while nothing changed (a double click) answers
    the first one's answer: one checkout."""
    cart = cart_of(org, identity.sub)
    if cart is None:
        raise CartEmpty("Your cart is empty.", success=False)
    cart = _retire_dead_checkout(org, cart)
    fingerprint = request_fingerprint("POST", CHECKOUT_ENDPOINT, {}, identity.sub)
    stored = run_once(org.id, CHECKOUT_ENDPOINT, _checkout_key(cart, queue_pass), fingerprint,
                      lambda: StoredResponse(200, _checkout(org, identity, cart, queue_pass)))
    if stored.status >= 400:
        body = dict(stored.body)
        extra = {k: v for k, v in body.items() if k not in ("code", "status", "type", "message", "errors")}
        raise ApiError(body.get("message", ""), status=stored.status, type=body.get("type"),
                       errors=body.get("errors"), **extra)
    return stored.body


def _checkout_key(cart: Cart, queue_pass: str | None) -> str:
    """The checkout's run-once key: the cart's version, and a digest of the waiting-room pass sent with it (so a
    checkout refused for want of a pass, which held nothing, runs again with one)."""
    key = f"club-cart:{cart.id}:{cart.version}"
    return f"{key}:{hashlib.sha256(queue_pass.encode()).hexdigest()[:16]}" if queue_pass else key


def _checkout(org: Org, identity: Identity, cart: Cart, queue_pass: str | None) -> dict:
    """The checkout itself, run once per cart version (see `initiate_checkout`); `queue_pass` goes with each
    showing's purchase (the core wants it for a showing whose waiting room is on)."""
    loaded = cart_lines(org, identity.sub)
    if not loaded:
        raise CartEmpty("Your cart is empty.", success=False)
    stale = stale_items(org, cart, loaded)
    if stale:
        drop_stale(org, identity.sub, stale)
        raise _stale_error([stale_view(item) for item in stale])
    currencies = {item.ticket_type.currency for item in loaded if item.ticket_type.price > 0}
    if len(currencies) > 1:
        raise CurrencyMismatch(f"The paid tickets in your cart are priced in {', '.join(sorted(currencies))}; one "
                               "checkout is one payment in one currency. Check them out separately.",
                               success=False)
    showings = _by_showing(loaded)
    group = _start_group(org, identity, cart) if len(showings) > 1 else None
    made = _hold_all(org, identity, cart, showings, group, queue_pass)
    pending = [booking for booking in made if booking.status == "pending"]
    if not pending:
        return {"success": True, "sold_free_tickets": True}
    try:
        url, params, column = _payment_form(org, pending, group)
    except ApiError:
        _undo(org, made, group)
        raise
    with write_transaction():
        Cart.update(updated_at=utcnow(), **column).where(cart.row_condition()).execute()
    return {"success": True, "sold_free_tickets": False, "cybersource_url": url, "payment_params": params}


def _by_showing(loaded: list[LoadedLine]) -> list[list[LoadedLine]]:
    """The cart's lines by showing (one booking each), the showings whose tickets cost money first, so a
    free showing is only confirmed once every paid one is held."""
    showings: dict[str, list[LoadedLine]] = {}
    for item in loaded:
        showings.setdefault(item.line.showing_id, []).append(item)
    return sorted(showings.values(), key=lambda lines: not any(item.ticket_type.price > 0 for item in lines))


def _start_group(org: Org, identity: Identity, cart: Cart) -> CheckoutGroup:
    """The checkout group of a several-showing checkout: the one an earlier run of this very checkout (same
    cart version) left when it crashed after committing some bookings, or a new one, committed with the run's
    recovery point `CHECKOUT_POINT` so a retry finds it."""
    if idempotency.recovery_point()[0] is not None:
        left = scoped(CheckoutGroup, org).where((CheckoutGroup.customer_id == identity.sub)
                                                & (CheckoutGroup.cart_version == cart.version)) \
            .order_by(CheckoutGroup.created_at.desc()).first()
        if left is not None:
            return left
    group = CheckoutGroup(id=new_id(), org=org.id, customer_id=identity.sub, booking_ids=[], paid_booking_ids=[],
                          amount=0, currency="", cart_version=cart.version)
    with write_transaction():
        group.save(force_insert=True)
    idempotency.checkpoint(CHECKOUT_POINT, group=group.id)
    return group


def _hold_all(org: Org, identity: Identity, cart: Cart, showings: list[list[LoadedLine]],
              group: CheckoutGroup | None, queue_pass: str | None) -> list[Booking]:
    """One booking per showing through the core's purchase path, all or nothing: when one is refused (sold out,
    sale ended...) the ones already made are undone at once (`_undo`) and the answer is 403 `cart_stale` with
    what went stale (or the core's own refusal when nothing looks stale). Each booking is noted on the `group`
    and committed with the recovery point `CHECKOUT_POINT` (the core's purchase commits a paid booking before
    it starts its payment), so a retry after a crash resumes with the same bookings and makes no second one."""
    made: list[Booking] = []
    done = {}
    if group is not None and group.booking_ids:
        done = {b.event_id: b for b in scoped(Booking, org).where(Booking.id.in_(group.booking_ids))}
    for lines in showings:
        if lines[0].line.showing_id in done:
            made.append(done[lines[0].line.showing_id])
            continue
        body = {"eventId": lines[0].line.showing_id, "paymentGateway": payment.GATEWAY,
                "items": [{"ticketTypeId": item.line.ticket_type_id, "quantity": item.line.count}
                          for item in lines]}
        try:
            made.append(bookings.purchase(org, purchase_request(org, identity, body, staff=False, source=SOURCE,
                                                                queue_pass=queue_pass)).booking)
        except ApiError as exc:
            _undo(org, made, group)
            stale = stale_items(org, cart, cart_lines(org, identity.sub))  # what the others' holds left
            if not stale:   # nothing looks stale (the seats came back meanwhile): the core's refusal
                raise
            drop_stale(org, identity.sub, stale)
            raise _stale_error([stale_view(item) for item in stale]) from exc
        if group is not None:
            with write_transaction():
                CheckoutGroup.update(booking_ids=[b.id for b in made], updated_at=utcnow()).where(
                    group.row_condition()).execute()
            idempotency.checkpoint(CHECKOUT_POINT, group=group.id)
    return made


def _undo(org: Org, made: list[Booking], group: CheckoutGroup | None) -> None:
    """Give back what a checkout that cannot finish already made: a held booking's seats at once (the core's
    `release_now`), a free booking confirmed a moment before cancelled through the core's `cancel_booking`
    (its tickets void; only when a later showing lost its last seats between the stale check and its hold);
    the group is forgotten."""
    for booking in made:
        current = bookings.get_booking(org, booking.id)
        if current.status == "pending":
            holds.release_now(current)
        elif current.status == "confirmed":
            cancellation.cancel_booking(org, booking.id)
    if group is not None:
        with write_transaction():
            CheckoutGroup.delete().where(group.row_condition()).execute()


def _payment_form(org: Org, pending: list[Booking],
                  group: CheckoutGroup | None) -> tuple[str, dict[str, str], dict]:
    """The hosted page's URL and signed form for the checkout's held bookings, and what the cart remembers of
    the checkout: its booking when it is one showing's, else its checkout group (one payment of the held
    bookings' sum, the group's id its reference)."""
    if group is None:
        url, params = payment.hosted_form(org, pending[0])
        return url, params, {"checkout_booking_id": pending[0].id, "checkout_group_id": None}
    group.paid_booking_ids = [b.id for b in pending]
    group.amount, group.currency = sum(b.amount for b in pending), pending[0].currency
    with write_transaction():
        CheckoutGroup.update(paid_booking_ids=group.paid_booking_ids, amount=group.amount, currency=group.currency,
                             updated_at=utcnow()).where(group.row_condition()).execute()
    url, params = payment.hosted_form(org, payment.group_of(group))
    return url, params, {"checkout_booking_id": None, "checkout_group_id": group.id}


def settle_confirmed(org: Org, booking: Booking) -> None:
    """A cart checkout's booking was confirmed (free at once, or paid): what it bought leaves the member's cart
    and the cart gets a new version. Run once per confirmation (the `booking_confirmed` hook's own write)."""
    if booking.source != SOURCE or not booking.customer_id:
        return
    bought: dict[str, int] = {}
    for line in scoped(BookingLine, org, BookingLine.ticket_type, BookingLine.quantity).where(
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


def _find_group(org: Org, reference: str) -> payment.PaymentGroup | None:
    """The payment group of the tenant's checkout group `reference` (its paid bookings), or None."""
    group = checkout_group(org, reference)
    return payment.group_of(group) if group is not None else None


def _group_org(reference: str) -> Org | None:
    """The active tenant of the checkout group `reference`, or None."""
    # not scoped to a tenant: the random group id is what names the tenant here (the signature decides later)
    row = CheckoutGroup.select(CheckoutGroup.org).where(CheckoutGroup.id == reference).first() \
        if len(reference) <= 64 else None
    return load_org(row.org_id) if row is not None else None


def _callback_tenant(host: str | None, form: dict) -> Org:
    """The club a payment callback is for: the tenant the request's hostname names, else the tenant of the
    booking its `req_reference_number` names (400 `invalid_callback` when neither), which must have the cart
    enabled (404 `plugin_not_enabled`). Nothing is believed until the gateway checked the signature under that
    club's key, so naming another club's booking or host gets nowhere."""
    org = tenant_for_host(host) or payment.callback_org(form, _group_org)
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
    after the seats were sold is refunded (409 `hold_expired`, `refunded`).

    A checkout group's callback (a reference naming a group) does this for each of its bookings: a payment
    whose seats are gone for one showing confirms the others and refunds that showing's share (`refunded`
    lists those bookings); when every showing's seats are gone it is 409 `hold_expired` as for one booking."""
    org = _callback_tenant(host, form)
    check = payment.verify(org, form, _find_group)
    if "reference" in check.data:
        return _group_answer(org, check)
    if check.paid:
        return {"success": True, "detail": PAID_DETAIL}
    booking = bookings.get_booking(org, check.data["bookingId"])
    if booking.status != "pending" and booking.customer_id:
        release_checkout(org, booking.customer_id, booking_id=booking.id)
    return {"success": False, "detail": check.reason}


PAID_DETAIL = "Payment received: your tickets are in your account and their QR codes are on their way by e-mail."


def _group_answer(org: Org, check: payment.PaymentCheck) -> dict:
    """`payment_complete`'s answer for a checkout group's callback, the cart's checkout forgotten once none of
    the group's bookings is pending any more."""
    group = checkout_group(org, check.data["reference"])
    still_pending = scoped(Booking, org, Booking.id).where(
        Booking.id.in_(group.paid_booking_ids) & (Booking.status == "pending")).exists()
    if not still_pending:
        release_checkout(org, group.customer_id, group_id=group.id)
    refunded = check.data.get("refunded") or []
    if check.paid:
        detail = PAID_DETAIL + (" The seats of one or more showings were gone; their share of the payment was "
                                "refunded." if refunded else "")
        return {"success": True, "detail": detail, "refunded": refunded}
    if refunded and not check.data.get("confirmed"):
        raise ApiError("The holds on these seats expired and they have been sold to someone else; your payment "
                       "was refunded.", status=409, type="hold_expired", refunded=True, bookingIds=refunded)
    return {"success": False, "detail": check.reason}
