"""The pages' routes under `/e/`: read the address (`addressing.locate`), choose the language, render a template.

Views hold no rule: events, offers and purchases come from the core's services. A tenant without the plugin
enabled gets the core's JSON 404; a missing event of an enabled tenant gets the HTML 404 page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, make_response, redirect, render_template, request

from core.errors import NotFound
from core.models import Event, utcnow
from core.plugins import hooks_for, plugin_settings
from core.services import event_queries
from core.services.event_lists import page_links
from core.services.event_pages import location_text
from core.tenancy import tenant_exempt
from plugins.pages import addressing
from plugins.pages.addressing import Address, Site
from plugins.pages.calendar_file import calendar
from plugins.pages.i18n import (
    LANG_COOKIE,
    LANGUAGE_NAMES,
    LANGUAGES,
    Speaker,
    choose_language,
    field_message,
    problem_message,
    supported,
)
from plugins.pages.offers import event_facts, event_offers

ASSETS_PATH = "/e/_assets"        # no tenant id or slug has an underscore
INDEX_PAGE_SIZE = 50
LANG_COOKIE_SECONDS = 365 * 24 * 3600

# The tenant comes from the path or the hostname, not the `orgid` header (browsers send none).
blp = tenant_exempt(Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                              static_url_path=ASSETS_PATH))


def speaker_for(site: Site) -> Speaker:
    """The request's language (`i18n.choose_language`) for the tenant's site."""
    default = plugin_settings(site.org, addressing.PLUGIN).get("language")
    return Speaker(choose_language(request.args.get("lang"), request.cookies.get(LANG_COOKIE),
                                   request.accept_languages, default))


def render(site: Site, speaker: Speaker, template: str, status: int = 200, **context) -> Response:
    """A page of `site` in `speaker`'s language; a valid `?lang=` is remembered in the switcher's cookie."""
    body = render_template(template, site=site, org=site.org, t=speaker, _=speaker.gettext, ngettext=speaker.ngettext,
                           problem_message=problem_message, field_message=field_message,
                           language=speaker.language, languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
                           path=request.path, **context)
    response = make_response(body, status)
    response.headers["Content-Language"] = speaker.language
    response.headers["Cache-Control"] = "no-store"   # availability, holds and language change per visit
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    asked = supported(request.args.get("lang"))
    if asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=LANG_COOKIE_SECONDS, samesite="Lax",
                            secure=request.is_secure, httponly=True)
    return response


def not_found_page(site: Site, speaker: Speaker) -> Response:
    """The HTML 404 of an enabled tenant's pages (no such event, or not published)."""
    return render(site, speaker, "pages/not_found.html", status=404)


def public_event(site: Site, slug: str) -> Event | None:
    """The published public event at `slug`, or None."""
    try:
        return event_queries.get_public_event_by_slug(site.org, slug)
    except NotFound:
        return None


def index_page(address: Address) -> Response:
    """The tenant's published events that have not ended, soonest first, a page at a time (`?after=`)."""
    site = address.site
    filters = event_queries.EventFilters(top_level=True, ends_from=utcnow())
    page = event_queries.public_page(site.org, filters, None, INDEX_PAGE_SIZE, request.args.get("after") or None)
    venues = event_queries.preload(site.org, page.rows, set(), public_only=True, want_locations=True).venues
    places = {event.id: location_text(event, venues.get(event.venue_id)) for event in page.rows}
    return render(site, speaker_for(site), "pages/index.html", events=page.rows, places=places,
                  next_cursor=page.next_cursor)


def event_page(address: Address) -> Response:
    """An event: dates, place, cover, description, schedule and ticket offers, with Open Graph tags."""
    site, speaker = address.site, speaker_for(address.site)
    event = public_event(site, address.slug)
    if event is None:
        return not_found_page(site, speaker)
    now = utcnow()
    return render(site, speaker, "pages/event.html", event=event, facts=event_facts(site.org, event),
                  offers=event_offers(site.org, event, now), now=now, more_offers=more_offers(site.org, event),
                  canonical_url=page_links(site.org.id, event.slug)["event_page"])


def more_offers(org, event) -> dict[str, list[dict]]:
    """The offers other plugins sell beside each ticket type (the `event_page_offers` hook), merged by type."""
    merged: dict[str, list[dict]] = {}
    for answer in hooks_for(org).event_page_offers(org=org, event=event):
        for type_id, offers in (answer or {}).items():
            merged.setdefault(type_id, []).extend(offers)
    return merged


def ics_file(address: Address) -> Response:
    """The event's calendar file (its sessions' dates for a parent event)."""
    site = address.site
    event = public_event(site, address.slug)
    if event is None:
        return not_found_page(site, speaker_for(site))
    facts = event_facts(site.org, event)
    dates = facts.sessions if event.type != "date" and facts.sessions else [event]
    text = calendar(dates, url_of=lambda item: page_links(site.org.id, item.slug)["event_page"],
                    location=facts.location, description=facts.description_text, now=utcnow())
    response = make_response(text)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response


# (page kind, method) -> view; filled here and by `checkout_views`, `order_views` and `account_views` (they import
# this module).
PAGES: dict[tuple[str, str], Callable[[Address], Response]] = {
    (addressing.INDEX, "GET"): index_page, (addressing.EVENT, "GET"): event_page, (addressing.ICS, "GET"): ics_file}


def show(segments: tuple[str, ...], trailing_slash: bool = False) -> Response:
    """Serve the page at `/e/<segments>` for the request's method."""
    address = addressing.locate(segments, trailing_slash)
    if address.page == addressing.TO_INDEX:
        return redirect(address.site.index_path(), code=308)
    view = PAGES.get((address.page, request.method))
    if view is None:
        raise NotFound("No such page.", type="page_not_found")
    return view(address)


PAGE_METHODS = ["GET", "POST"]


@blp.route("/e/", methods=PAGE_METHODS)
def root():
    """`/e/`: the tenant's index on its own hostname."""
    return show(())


@blp.route("/e/<first>", methods=PAGE_METHODS)
def one_segment(first: str):
    """`/e/<slug>` (own hostname) or `/e/<org>` (the index, with its slash)."""
    return show((first,))


@blp.route("/e/<first>/", methods=PAGE_METHODS)
def one_segment_index(first: str):
    """`/e/<org>/`: the tenant's index."""
    return show((first,), trailing_slash=True)


@blp.route("/e/<first>/<second>", methods=PAGE_METHODS)
def two_segments(first: str, second: str):
    """`/e/<org>/<slug>[.ics]`, `/e/<org>/claim`, `/e/<org>/account`, or on the tenant's own hostname
    `/e/<slug>/checkout`, `/e/orders/<token>`, `/e/tickets/<token>`, `/e/account/login`."""
    return show((first, second))


@blp.route("/e/<first>/<second>/<third>", methods=PAGE_METHODS)
def three_segments(first: str, second: str, third: str):
    """`/e/<org>/<slug>/checkout`, `/e/<org>/orders/<token>`, `/e/<org>/tickets/<token>`,
    `/e/<org>/account/login`, or `/e/<slug>/checkout/<token>` on the tenant's own hostname."""
    return show((first, second, third))


@blp.route("/e/<first>/<second>/<third>/<fourth>", methods=PAGE_METHODS)
def four_segments(first: str, second: str, third: str, fourth: str):
    """`/e/<org>/<slug>/checkout/<token>`, or `/e/<slug>/checkout/<token>/paid` on the tenant's own hostname."""
    return show((first, second, third, fourth))


@blp.route("/e/<first>/<second>/<third>/<fourth>/<fifth>", methods=PAGE_METHODS)
def five_segments(first: str, second: str, third: str, fourth: str, fifth: str):
    """`/e/<org>/<slug>/checkout/<token>/paid`."""
    return show((first, second, third, fourth, fifth))
