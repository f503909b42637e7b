"""The waiting-room page (`<event>/queue`): join the event's queue (POST), then where the buyer stands, refreshed
without JavaScript (`<meta http-equiv="refresh">`), forwarding to the checkout with the pass once admitted.

Views only: the queue, its order and the pass are the core's (`core.services.waiting_rooms`); never a rule here.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, redirect, request

from core.api.queue_pass import QUEUE_PASS_FIELD
from core.errors import ApiError
from core.services import waiting_rooms
from plugins.pages import addressing
from plugins.pages.addressing import Address, Site
from plugins.pages.views import PAGES, not_found_page, public_event, render, speaker_for

TOKEN_PARAM = "t"
MIN_REFRESH_SECONDS, MAX_REFRESH_SECONDS = 2, 30


def _standing_path(site: Site, slug: str, token: str) -> str:
    return f"{site.queue_path(slug)}?{urlencode({TOKEN_PARAM: token})}"


def _checkout_with(site: Site, slug: str, queue_pass: str) -> str:
    """The checkout URL that carries the pass into the form (a hidden `queuePass` field)."""
    return f"{site.checkout_path(slug)}?{urlencode({QUEUE_PASS_FIELD: queue_pass})}"


def queue_page(address: Address) -> Response:
    """GET: without a token, the invitation to join; with one (`?t=`), where the buyer stands, refreshed until
    admitted, then forwarded to the checkout with the pass. An event without a room goes to its checkout."""
    site, speaker = address.site, speaker_for(address.site)
    event = public_event(site, address.slug)
    if event is None:
        return not_found_page(site, speaker)
    if not event.waiting_room_id:
        return redirect(site.checkout_path(event.slug), code=303)
    token = (request.args.get(TOKEN_PARAM) or "")[:2048]
    standing, problem = None, None
    if token:
        try:
            standing = waiting_rooms.standing(site.org, event.id, token)
        except ApiError as error:
            problem = error.type
    if standing is None:
        return render(site, speaker, "pages/queue.html", status=404 if problem else 200, event=event,
                      standing=None, problem=problem, refresh=None, forward=None)
    forward = _checkout_with(site, event.slug, standing.queue_pass) if standing.state == "admitted" else None
    refresh = None
    if standing.state in ("before_start", "waiting"):
        refresh = min(MAX_REFRESH_SECONDS, max(MIN_REFRESH_SECONDS, standing.wait_seconds or 0))
    return render(site, speaker, "pages/queue.html", event=event, standing=standing, problem=None, refresh=refresh,
                  forward=forward)


def queue_join(address: Address) -> Response:
    """POST: join the event's queue, then its standing page (303); an event without a room: its checkout."""
    site, speaker = address.site, speaker_for(address.site)
    event = public_event(site, address.slug)
    if event is None:
        return not_found_page(site, speaker)
    try:
        standing = waiting_rooms.join(site.org, event.id)
    except ApiError as error:
        if error.type == "waiting_room_not_found":
            return redirect(site.checkout_path(event.slug), code=303)
        return render(site, speaker, "pages/queue.html", status=error.status, event=event, standing=None,
                      problem=error.type, refresh=None, forward=None)
    return redirect(_standing_path(site, event.slug, standing.token), code=303)


def register_queue_pages() -> None:
    """Add the waiting-room page to the views' table (`views.PAGES`)."""
    PAGES.update({(addressing.QUEUE, "GET"): queue_page, (addressing.QUEUE, "POST"): queue_join})
