"""What the resale plugin's attendee pages share: the record a page's address names (a resale listing, a ticket
type), found only for a tenant with resale enabled and only when its event is published and public; and the
signed-in customer a POST acts for (the sign-in page first for anyone else).

Read only; the pages' `public_event` is the one rule of which events show.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response
from peewee import Model

from core.identity import Identity
from core.models import Event
from core.plugins import get_host
from core.tenancy import get_scoped, scoped
from plugins.pages import customer_session
from plugins.pages.addressing import Address, Site
from plugins.pages.form_pages import see_other
from plugins.pages.views import not_found_page, public_event, speaker_for

PLUGIN = "resale"


def record_of_public_event(address: Address, model: type[Model]) -> tuple[Model, Event] | None:
    """The tenant's `model` row whose id is the address's token, with its event (published and public), while
    the tenant has resale enabled; else None (the page answers 404)."""
    site = address.site
    if not get_host().is_enabled(site.org.id, PLUGIN):
        return None
    row = scoped(model, site.org).where(model.id == str(address.token)[:64]).first()
    if row is None:
        return None
    event = get_scoped(Event, site.org, row.event_id)
    return (row, event) if public_event(site, event.slug) is not None else None


def poster(address: Address, find: Callable[[Address], tuple[Model, Event] | None],
           back: Callable[[Site, Model], str]) -> tuple[Model, Event, Identity] | Response:
    """For a POST: the record `find` reads from the address, its event and the signed-in customer; else the
    answer to send instead (the HTML 404, or 303 to the sign-in page coming back to `back(site, record)`)."""
    site = address.site
    found = find(address)
    if found is None:
        return not_found_page(site, speaker_for(site))
    customer = customer_session.signed_in(site.org)
    if customer is None:
        return see_other(site.login_path(back(site, found[0])))
    return found[0], found[1], customer
