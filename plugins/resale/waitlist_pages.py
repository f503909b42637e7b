"""The waiting list on the attendee pages: the event page links each sold-out ticket type to its waiting list
(`/e/<org>/waitlist/<ticket type id>`), where the signed-in customer joins for 1 to the tenant's maximum of seats,
sees their place in line (or their open offer, its deadline and where to pay it) and leaves.

Uses the `pages` plugin's site, language, session and CSRF; joins and leaves only through `waitlist.join` and
`waitlist.leave`, reads through `waitlist.customer_entries`; never decides anything itself.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, request

from core.errors import ApiError, NotFound
from core.identity import Identity
from core.models import Event, TicketType
from core.plugins import get_host
from core.tenancy import scoped
from plugins.pages import addressing, csrf, customer_session
from plugins.pages.account_views import ACCOUNT_SECTIONS
from plugins.pages.addressing import Address, Site
from plugins.pages.form_pages import read_form, render_form_page, see_other
from plugins.pages.views import PAGES, not_found_page, speaker_for
from plugins.resale import waitlist, waitlist_views
from plugins.resale.page_lookup import PLUGIN as RESALE_PLUGIN
from plugins.resale.page_lookup import poster, record_of_public_event
from plugins.resale.waitlist_api import JoinInput
from plugins.resale.waitlist_models import WaitlistEntry

DONE = ("joined", "left")
"""What the page after a POST that worked announces (`?done=`)."""


def event_page_offers(org, event) -> dict[str, list[dict]]:
    """A waiting list beside each public ticket type of the event (the event page shows it on sold-out types
    only); one query."""
    types = (scoped(TicketType, org).where((TicketType.event == event.id) & (TicketType.visibility != "private")
                                           & TicketType.archived_at.is_null()))
    return {tt.id: [{"kind": "waitlist", "price": tt.price, "currency": tt.currency,
                     "path": f"{addressing.WAITLIST}/{tt.id}"}] for tt in types}


def _type_and_event(address: Address) -> tuple[TicketType, Event] | None:
    """The ticket type the address names, public and unarchived, of a published event, for a tenant with resale
    enabled; else None."""
    found = record_of_public_event(address, TicketType)
    if found is None:
        return None
    try:
        return waitlist.ticket_type_of_event(address.site.org, found[1].id, found[0].id), found[1]
    except NotFound:
        return None


def _entry_of(site: Site, customer_id: str, ticket_type: TicketType) -> WaitlistEntry | None:
    """The customer's entry for the type (with its position and newest offer), or None."""
    return next((entry for entry in waitlist.customer_entries(site.org, customer_id, ticket_type.event_id)
                 if entry.ticket_type_id == ticket_type.id), None)


def waitlist_page(address: Address, error: ApiError | None = None) -> Response:
    """A ticket type's waiting list: the join form (signed in), a sign-in link that comes back, or the customer's
    place in line with the Leave button; an open offer with its deadline and where to pay it."""
    site, speaker = address.site, speaker_for(address.site)
    found = _type_and_event(address)
    if found is None:
        return not_found_page(site, speaker)
    ticket_type, event = found
    customer = customer_session.signed_in(site.org)
    entry = _entry_of(site, customer.sub, ticket_type) if customer else None
    offer = getattr(entry, "offer", None) if entry is not None and entry.status == "offered" else None
    done = request.args.get("done")
    return render_form_page(
        site, speaker, "resale/waitlist.html", error=error, ticket_type=ticket_type, event=event,
        customer=customer, entry=entry, offer=offer,
        checkout_url=waitlist_views.checkout_url(site.org, offer) if offer else None,
        max_seats=waitlist.settings_of(site.org).max_seats, done=done if done in DONE else None,
        seats=request.form.get("seats") or (entry.seats if entry is not None else 1),
        login_path=site.login_path(site.waitlist_path(ticket_type.id)))


def waitlist_post(address: Address) -> Response:
    """Join (`action=join`, `seats`) or leave (`action=leave`) the line, then the page again (303) saying so."""
    site = address.site
    found = poster(address, _type_and_event, lambda site, ticket_type: site.waitlist_path(ticket_type.id))
    if isinstance(found, Response):
        return found
    ticket_type, event, customer = found
    here = site.waitlist_path(ticket_type.id)
    leaving = request.form.get("action") == "leave"
    try:
        csrf.check()
        if leaving:
            waitlist.leave(site.org, customer.sub, event.id, ticket_type.id)
        else:
            seats = read_form(JoinInput(only=("seats",)), {"seats": "seats"})["seats"]
            waitlist.join(site.org, customer.sub, event.id, ticket_type.id, seats)
    except ApiError as error:
        return waitlist_page(address, error)
    return see_other(f"{here}?{urlencode({'done': 'left' if leaving else 'joined'})}")


def account_section(site: Site, customer: Identity) -> tuple[str, dict] | None:
    """The account page's "Your waiting lists": each entry's event, ticket type, seats and place in line or
    status, an open offer with its deadline and where to pay it; None while resale is off or without entries."""
    if not get_host().is_enabled(site.org.id, RESALE_PLUGIN):
        return None
    entries = waitlist.customer_entries(site.org, customer.sub)
    if not entries:
        return None
    events = {e.id: e for e in scoped(Event, site.org).where(Event.id.in_({x.event_id for x in entries}))}
    types = {t.id: t for t in scoped(TicketType, site.org).where(TicketType.id.in_({x.ticket_type_id
                                                                                    for x in entries}))}
    rows = [{"entry": entry, "event": events[entry.event_id], "ticket_type": types[entry.ticket_type_id],
             "offer": entry.offer if entry.status == "offered" else None,
             "checkout_url": waitlist_views.checkout_url(site.org, entry.offer) if entry.status == "offered"
             else None} for entry in entries]
    return "resale/_account_waitlist.html", {"rows": rows}


def register_pages() -> None:
    """Serve the waiting-list page through the pages' routes (its templates are the resale pages') and add the
    customer's waiting lists to the account page."""
    PAGES.update({(addressing.WAITLIST, "GET"): waitlist_page, (addressing.WAITLIST, "POST"): waitlist_post})
    if account_section not in ACCOUNT_SECTIONS:
        ACCOUNT_SECTIONS.append(account_section)
