"""The checkout pages: the form (`GET`/`POST <event>/checkout`, its key kept per checkout attempt in a cookie), a
booking's page (pay with the tenant's gateway, the hold's countdown, or the confirmation; `POST`: pay on the
provider's own page through the core's redirect flow) and the provider's way back (`.../paid`).

Buys only through the core's purchase path (`purchase_requests.purchase_request`, `booking.purchase` under the
idempotency service with the key the form carries), confirms only through `booking.confirm`; never a second copy
of a rule, never two bookings for one form.
"""

from __future__ import annotations

import contextlib
import secrets

from flask import Response, redirect, request
from marshmallow import ValidationError

from core.api.queue_pass import QUEUE_PASS_FIELD, sent_queue_pass
from core.errors import ApiError, NotFound
from core.models import Booking, Event, EventList, utcnow
from core.payments import ManualPayment, Step
from core.services import booking as bookings
from core.services import gateways, payment_redirects, pricing, ticket_types
from core.services.event_lists import get_event_list, sells_on_list
from core.services.idempotency import StoredResponse, request_fingerprint, run_once, stored_answer
from core.services.purchase_requests import purchase_request
from plugins.pages import addressing
from plugins.pages.addressing import Address, Site
from plugins.pages.checkout_form import choices, purchase_body, read_form
from plugins.pages.i18n import Speaker
from plugins.pages.links import booking_id_of, booking_token
from plugins.pages.offers import event_offers
from plugins.pages.order_links import order_token
from plugins.pages.views import PAGES, not_found_page, public_event, render, speaker_for

IDEMPOTENCY_ENDPOINT = "POST /e/checkout"   # the form's keys live apart from the API's
KEY_COOKIE_SECONDS = 24 * 3600    # the idempotency service keeps a key's answer this long
NEW_ORDER_FIELD = "new_order"     # posted by "Buy more tickets" / "Start again": a fresh form key
_KEY_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _booking_for(site: Site, token: str | None) -> Booking | None:
    """The tenant's booking a token names (expired on the spot if its hold ran out), or None."""
    booking_id = booking_id_of(token)
    if booking_id is None:
        return None
    try:
        return bookings.get_booking(site.org, booking_id)
    except ApiError:
        return None


def _form_context(site: Site, event: Event, invite_code: str, event_list: EventList | None) -> dict:
    """What the form offers: buyable types (and invite-only ones the code opens), only those of `event_list`
    when the checkout was opened for one (003's `order_page?list=`), and the gateways."""
    invite_only = [tt for tt in ticket_types.list_ticket_types(site.org, event) if tt.visibility == "invite-only"]
    offered = choices(event_offers(site.org, event, utcnow()), invite_only, invite_code)
    if event_list is not None:
        offered = [c for c in offered if sells_on_list(c.ticket_type, event_list)]
    return {"choices": offered, "gateways": list(gateways.offered(site.org).values()),
            "takes_promo_codes": pricing.takes_promo_codes(site.org),
            "default_gateway": gateways.default_gateway(site.org), "event_list": event_list}


def _event_list(site: Site, event: Event, list_id: str | None) -> EventList | None:
    """The event's list the checkout is for (`list` in the query or the form), None for none; 404 for one
    that is not this event's."""
    return get_event_list(site.org, event.id, list_id) if list_id else None


def _key_cookie(event: Event) -> str:
    """The cookie that keeps the form key of this event's checkout attempt."""
    return f"checkout_{event.id}"


def _keep_key(response: Response, site: Site, event: Event, key: str) -> Response:
    """Remember `key` as the event's checkout attempt (sent back only to its checkout pages)."""
    response.set_cookie(_key_cookie(event), key, max_age=KEY_COOKIE_SECONDS, path=site.checkout_path(event.slug),
                        samesite="Lax", secure=request.is_secure, httponly=True)
    return response


def _kept_key(site: Site, event: Event) -> str | None:
    """The key of the buyer's current checkout attempt at this event: the cookie's, unless its purchase was
    refused (a refused attempt's key stays with its stored refusal, so the form gets a new one)."""
    key = request.cookies.get(_key_cookie(event)) or ""
    if not key or len(key) > 64 or not set(key) <= _KEY_CHARACTERS:
        return None
    stored = stored_answer(site.org.id, IDEMPOTENCY_ENDPOINT, key)
    return None if stored is not None and stored.status >= 400 else key


def _form(site: Site, speaker: Speaker, event: Event, *, status: int = 200, posted=None, problem: str | None = None,
          step: str = "tickets", invite_code: str = "", event_list: EventList | None = None,
          key: str | None = None, queue_pass: str | None = None) -> Response:
    """The checkout form carrying `key` (else a fresh idempotency key: a failed attempt's key stays with its
    stored answer), remembered in the event's checkout cookie until the buyer starts a new order, and the
    waiting-room pass the buyer came with (the queue page's forward) as a hidden `queuePass` field."""
    context = _form_context(site, event, invite_code, event_list)
    key = key or secrets.token_urlsafe(24)
    response = render(site, speaker, "pages/checkout.html", status=status, event=event, posted=posted,
                      problem=problem, step=step, key=key, invite_code=invite_code, queue_pass=queue_pass,
                      queue_pass_field=QUEUE_PASS_FIELD, **context)
    return _keep_key(response, site, event, key)


def checkout_page(address: Address) -> Response:
    """GET: the form; `?invite=` opens invite-only types whose code it is; `?queuePass=` carries the waiting
    room's pass into it (without one, an event whose room is on sends the buyer to its queue page)."""
    site, speaker = address.site, speaker_for(address.site)
    event = public_event(site, address.slug)
    if event is None:
        return not_found_page(site, speaker)
    try:
        event_list = _event_list(site, event, request.args.get("list"))
    except NotFound:
        return not_found_page(site, speaker)
    queue_pass = (request.args.get(QUEUE_PASS_FIELD) or "")[:4096] or None
    if event.waiting_room_id and queue_pass is None:   # the sale goes through the queue: its page first
        return redirect(site.queue_path(event.slug), code=303)
    return _form(site, speaker, event, invite_code=(request.args.get("invite") or "").strip()[:100],
                 event_list=event_list, queue_pass=queue_pass, key=_kept_key(site, event))


def _new_order(site: Site, event: Event) -> Response:
    """"Buy more tickets" / "Start again": a new checkout attempt (a fresh form key), then the form (303)."""
    return _keep_key(redirect(site.checkout_path(event.slug), code=303), site, event, secrets.token_urlsafe(24))


def checkout_post(address: Address) -> Response:
    """POST: the holders step when a chosen type asks for them, else the purchase (once per form key), then the
    booking's page (303)."""
    site, speaker = address.site, speaker_for(address.site)
    event = public_event(site, address.slug)
    if event is None:
        return not_found_page(site, speaker)
    if request.form.get(NEW_ORDER_FIELD):
        return _new_order(site, event)
    invite = (request.form.get("invite") or "").strip()[:100]
    try:
        event_list = _event_list(site, event, request.form.get("list"))
    except NotFound:
        return not_found_page(site, speaker)
    offered = _form_context(site, event, invite, event_list)["choices"]
    posted = read_form(request.form, offered)
    queue_pass = sent_queue_pass()
    again = {"posted": posted, "invite_code": invite, "event_list": event_list, "queue_pass": queue_pass}
    unused = {**again, "key": posted.values["key"] or None}   # nothing was bought with the key yet
    if posted.errors:
        return _form(site, speaker, event, status=422, problem="validation_error", **unused)
    if posted.values["step"] != "holders" and any(c.asks_holders for c in posted.chosen(offered)):
        return _form(site, speaker, event, step="holders", **unused)
    try:
        body = purchase_body(event, posted, offered, request.form)
    except ValidationError as error:
        posted.errors.update({name: list(messages) if isinstance(messages, list) else [str(messages)]
                              for name, messages in error.normalized_messages().items()})
        return _form(site, speaker, event, status=422, problem="validation_error",
                     step=posted.values["step"] or "tickets", **unused)
    try:
        stored = _purchase_once(site, body, posted.values["key"], queue_pass)
    except ApiError as error:
        earlier = _earlier_booking(site, error, posted.values["key"])
        if earlier is not None:   # the form was sent again, changed, after its purchase: show that booking
            return redirect(site.pay_path(event.slug, booking_token(earlier)), code=303)
        posted.errors.update(_field_errors(error.to_dict().get("errors")))
        return _form(site, speaker, event, status=error.status if error.status < 500 else 502,
                     problem=error.type, step=posted.values["step"] or "tickets", **again)
    if stored.status >= 400:
        return _form(site, speaker, event, status=stored.status, problem=stored.body.get("type"), **again)
    return redirect(site.pay_path(event.slug, booking_token(stored.body["bookingId"])), code=303)


def _earlier_booking(site: Site, error: ApiError, key: str) -> str | None:
    """The booking an earlier purchase made with `key`, when `error` says the key was used with other choices."""
    if error.type != "idempotency_mismatch":
        return None
    stored = stored_answer(site.org.id, IDEMPOTENCY_ENDPOINT, key)
    return stored.body.get("bookingId") if stored is not None and stored.status < 400 else None


def _field_errors(errors) -> dict[str, list[str]]:
    """An error envelope's `errors` (`{"json": {field: [messages]}}` or `{field: [messages]}`) by form field."""
    if not isinstance(errors, dict):
        return {}
    fields = errors.get("json", errors)
    return {name: [str(m) for m in messages] for name, messages in fields.items() if isinstance(messages, list)}


def _purchase_once(site: Site, body: dict, key: str, queue_pass: str | None) -> StoredResponse:
    """The core's purchase of `body` as a guest, with the waiting-room pass the form carried, run once per form
    key (a repeat replays the booking's id)."""
    def operation() -> StoredResponse:
        result = bookings.purchase(site.org, purchase_request(site.org, None, body, staff=False, source="online",
                                                              queue_pass=queue_pass))
        return StoredResponse(201, {"bookingId": result.booking.id})

    fingerprint = request_fingerprint("POST", IDEMPOTENCY_ENDPOINT, body)
    return run_once(site.org.id, IDEMPOTENCY_ENDPOINT, key or secrets.token_urlsafe(24), fingerprint, operation)


def _event_booking(address: Address) -> tuple[Event, Booking] | None:
    """The published event and the booking its token names (the event's own), or None."""
    event = public_event(address.site, address.slug)
    booking = _booking_for(address.site, address.token) if event is not None else None
    if booking is None or booking.event_id != event.id:
        return None
    return event, booking


def pay_page(address: Address) -> Response:
    """A booking's page: its confirmation, the news that its hold ran out, or how to pay it before it does."""
    site, speaker = address.site, speaker_for(address.site)
    found = _event_booking(address)
    if found is None:
        return not_found_page(site, speaker)
    event, booking = found
    result = bookings.load_result(booking)
    widget = None
    if booking.status == "pending":
        gateway = gateways.gateways(site.org).get(booking.gateway)
        widget = _widget(site, gateway, booking, result.payment, event.slug, address.token) if gateway else None
    return render(site, speaker, "pages/booking.html", event=event, booking=booking, lines=result.lines,
                  tickets=result.tickets, widget=widget, now=utcnow(),
                  start_again=site.checkout_path(event.slug),
                  order_path=site.order_path(order_token(site.org.id, booking.id)))


def pay_elsewhere(address: Address) -> Response:
    """POST on a booking's page (pay without JavaScript): the core's redirect flow (`payment_redirects.start`)
    sends the buyer to the provider's page, whose way back confirms through the core and lands on this page."""
    found = _event_booking(address)
    if found is None:
        return not_found_page(address.site, speaker_for(address.site))
    event, booking = found
    here = request.host_url.rstrip("/") + address.site.pay_path(event.slug, address.token)
    try:
        started = payment_redirects.start(address.site.org, booking.id, here)
    except ApiError:   # no longer pending, or the provider cannot: the booking's page says what there is to do
        started = {}
    return redirect(started.get("url") or here, code=303)


def _widget(site: Site, gateway, booking: Booking, payment: dict, slug: str, token: str) -> dict:
    """What the booking page shows to pay: the provider's template (`pages/pay/<identifier>.html`) with its
    widget configuration (public values only), the client data the purchase kept, and the way back."""
    provider = gateway.provider
    config = provider.widget_config(site.org, gateway.settings) if provider.supports(Step.WIDGET) else {}
    return {"identifier": gateway.identifier, "name": provider.name, "config": config,
            "client_secret": payment.get("client_secret"), "approval_url": payment.get("approval_url"),
            "order_id": booking.payment_ref, "redirects": provider.supports(Step.REDIRECT),
            "instructions": provider.instructions(gateway.settings) if isinstance(provider, ManualPayment) else None,
            "return_url": request.host_url.rstrip("/") + site.paid_path(slug, token),
            "pay_path": site.pay_path(slug, token)}


def paid_return(address: Address) -> Response:
    """The provider sent the buyer back: confirm the booking through the core (the provider verifies the payment
    itself; nothing in the query is trusted), then show the booking's page."""
    found = _event_booking(address)
    if found is None:
        return not_found_page(address.site, speaker_for(address.site))
    event, booking = found
    if booking.status == "pending":
        with contextlib.suppress(ApiError):   # not paid (yet), or the hold ran out: the booking's page says which
            bookings.confirm(address.site.org, booking.id)
    return redirect(address.site.pay_path(event.slug, address.token), code=303)


def register_pages() -> None:
    """Add the checkout's pages to the views' table (`views.PAGES`)."""
    PAGES.update({(addressing.CHECKOUT, "GET"): checkout_page, (addressing.CHECKOUT, "POST"): checkout_post,
                  (addressing.PAY, "GET"): pay_page, (addressing.PAY, "POST"): pay_elsewhere,
                  (addressing.PAID, "GET"): paid_return})
