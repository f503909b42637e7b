"""The resale listings on the attendee pages: what an event's page shows beside each ticket type, and a listing's
checkout (`/e/<org>/resale/<listing id>`): the signed-in buyer starts the purchase here, then pays on the pages'
own booking page like any order.

Uses the `pages` plugin's site, language, session and CSRF; buys only through `listing_sale.buy_listing`; never
decides anything itself.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, request

from core.errors import ApiError
from core.models import Event, TicketType, utcnow
from core.services import gateways
from core.tenancy import get_scoped
from plugins.pages import addressing, csrf, customer_session
from plugins.pages.addressing import Address
from plugins.pages.form_pages import render_form_page, see_other
from plugins.pages.links import booking_token
from plugins.pages.views import PAGES, not_found_page, speaker_for
from plugins.resale import listing_sale, listings
from plugins.resale.listing_models import ResaleListing
from plugins.resale.page_lookup import poster, record_of_public_event

PLUGIN = "resale"
templates = Blueprint("resale_pages", __name__, template_folder="templates")
"""Only the templates (`resale/...`); the pages' own blueprint routes the requests."""


def event_page_offers(org, event) -> dict[str, list[dict]]:
    """The event's listings on public sale by ticket type, cheapest first (none while resale is off); one
    query."""
    found: dict[str, list[dict]] = {}
    for listing in listings.on_sale(org, event.id):
        found.setdefault(listing.ticket_type_id, []).append(
            {"kind": "resale", "price": listing.price, "currency": listing.currency,
             "path": f"{addressing.RESALE}/{listing.id}"})
    return found


def _listing_and_event(address: Address) -> tuple[ResaleListing, Event] | None:
    """The listing the address names, of a published event, for a tenant with resale enabled; else None."""
    return record_of_public_event(address, ResaleListing)


def _offer() -> str:
    return (request.values.get("offer") or "").strip()[:200]


def listing_page(address: Address, error: ApiError | None = None) -> Response:
    """A listing: the ticket, its event and price, and (signed in) the button that starts paying for it."""
    site, speaker = address.site, speaker_for(address.site)
    found = _listing_and_event(address)
    if found is None:
        return not_found_page(site, speaker)
    listing, event = found
    here = site.resale_path(listing.id) + (f"?{urlencode({'offer': _offer()})}" if _offer() else "")
    reserved = listing.reserved_until is not None and listing.reserved_until > utcnow()
    return render_form_page(
        site, speaker, "resale/listing_checkout.html", error=error, listing=listing, event=event,
        ticket_type=get_scoped(TicketType, site.org, listing.ticket_type_id),
        available=listing.status == "listed" and not reserved or (listing.status == "offered" and bool(_offer())),
        customer=customer_session.signed_in(site.org), offer=_offer(),
        choices=[g for g in gateways.offered(site.org).values()],
        login_path=site.login_path(here))


def listing_post(address: Address) -> Response:
    """Start paying for the listing (the signed-in customer's core booking), then its booking page (303)."""
    site = address.site
    found = poster(address, _listing_and_event, lambda site, listing: site.resale_path(listing.id))
    if isinstance(found, Response):
        return found
    listing, event, customer = found
    try:
        csrf.check()
        body = {"paymentGateway": request.form.get("gateway") or None, "offer": _offer() or None}
        result = listing_sale.buy_listing(site.org, customer, event.id, listing.id, body)
    except ApiError as error:
        return listing_page(address, error)
    return see_other(site.pay_path(event.slug, booking_token(result.booking.id)))


def register_pages(app) -> None:
    """Serve the listing checkout through the pages' routes and make its templates findable."""
    PAGES.update({(addressing.RESALE, "GET"): listing_page, (addressing.RESALE, "POST"): listing_post})
    if "resale_pages" not in app.blueprints:
        app.register_blueprint(templates)
