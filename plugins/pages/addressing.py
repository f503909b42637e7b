"""Where a page is: the address grammar under `/e/` (with the tenant's `{org}` segment on the platform's host,
without it on a tenant's own hostname) read into the tenant, the event slug and the page, and the paths back.

Never makes the event page and checkout URLs other than from the core's formats (`core.services.event_lists`:
`EVENT_PAGE_PATH`, `TENANT_HOST_PAGE_PATH`, `CHECKOUT_SUFFIX`); never serves a tenant that has not enabled pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask import g, request

from core.errors import NotFound
from core.models import Org
from core.plugins import get_host
from core.services.event_lists import CHECKOUT_SUFFIX, CLAIM_PAGE, EVENT_PAGE_PATH, TENANT_HOST_PAGE_PATH, TICKET_PAGES
from core.services.member_invites import ACCEPT_PAGE
from core.tenancy import load_org, tenant_for_host

PLUGIN = "pages"
ICS_SUFFIX = ".ics"
INDEX, EVENT, ICS, CHECKOUT, PAY, PAID, TO_INDEX = "index", "event", "ics", "checkout", "pay", "paid", "to_index"
QUEUE = "queue"
CHECKOUT_SEGMENT = CHECKOUT_SUFFIX.strip("/")
PAID_SEGMENT = "paid"
ORDER, TICKET, CLAIM, ACCOUNT, LOGIN, LOGOUT = "order", "ticket", "claim", "account", "login", "logout"
ORDERS_SEGMENT, TICKETS_SEGMENT, ACCOUNT_SEGMENT = "orders", TICKET_PAGES, "account"
RESET, VERIFY, EMAIL_CONFIRM, RESEND = "reset", "verify", "email", "resend"  # the e-mailed account links' pages
ACCEPT_INVITE = "accept_invite"  # a staff invitation's page (`member_invites.ACCEPT_PAGE`)
# The organiser's dashboard (`manage_views`): `manage`, `manage/sign-in`, `manage/sign-out`,
# `manage/events/<id>`, `manage/events/<id>/attendees.csv`, `manage/events/<id>/doors` (its door counts alone,
# for its script).
MANAGE_SEGMENT = "manage"
MANAGE, MANAGE_SIGN_IN, MANAGE_SIGN_OUT = "manage", "manage_sign_in", "manage_sign_out"
MANAGE_EVENT, MANAGE_CSV, MANAGE_DOORS = "manage_event", "manage_csv", "manage_doors"
_MANAGE_PAGES = {(): MANAGE, ("sign-in",): MANAGE_SIGN_IN, ("sign-out",): MANAGE_SIGN_OUT}
_MANAGE_EVENT_PAGES = {(): MANAGE_EVENT, ("attendees.csv",): MANAGE_CSV, ("doors",): MANAGE_DOORS}
RESALE = "resale"  # a resale listing's checkout (`/e/<org>/resale/<listing id>`), served by the resale plugin
# The door scanner (`scan_views`): its app shell, its service worker (scope: the shell's path) and its manifest.
SCAN_SEGMENT, SCAN_WORKER_FILE, SCAN_MANIFEST_FILE = "scan", "sw.js", "manifest.webmanifest"
SCAN, SCAN_WORKER, SCAN_MANIFEST = "scan", "scan_worker", "scan_manifest"
WAITLIST = "waitlist"  # a ticket type's waiting list (`/e/<org>/waitlist/<ticket type id>`), the resale plugin's
# Pages not under an event: (segments after the tenant) -> kind; a token segment is `*`. An event whose slug is
# one of these first segments has no page (its API and its checkout links are unaffected).
_SITE_PAGES = {(ORDERS_SEGMENT, "*"): ORDER, (TICKETS_SEGMENT, "*"): TICKET, (CLAIM_PAGE,): CLAIM,
               (ACCOUNT_SEGMENT,): ACCOUNT, (ACCOUNT_SEGMENT, "login"): LOGIN, (ACCOUNT_SEGMENT, "logout"): LOGOUT,
               **{(ACCOUNT_SEGMENT, page): page for page in (RESET, VERIFY, EMAIL_CONFIRM, RESEND)},
               tuple(ACCEPT_PAGE.split("/")): ACCEPT_INVITE, (RESALE, "*"): RESALE, (SCAN_SEGMENT,): SCAN,
               (SCAN_SEGMENT, SCAN_WORKER_FILE): SCAN_WORKER, (SCAN_SEGMENT, SCAN_MANIFEST_FILE): SCAN_MANIFEST,
               (WAITLIST, "*"): WAITLIST}


@dataclass(frozen=True)
class Site:
    """A tenant's pages as this request reaches them: on its own hostname (`own_domain`) or the platform's."""

    org: Org
    own_domain: bool

    def index_path(self) -> str:
        """The tenant's event index."""
        return "/e/" if self.own_domain else f"/e/{quote(self.org.id, safe='')}/"

    def event_path(self, slug: str) -> str:
        """An event's page (the path of `event_lists.page_links`' `event_page`)."""
        quoted = quote(slug, safe="")
        if self.own_domain:
            return TENANT_HOST_PAGE_PATH.format(slug=quoted)
        return EVENT_PAGE_PATH.format(org=quote(self.org.id, safe=""), slug=quoted)

    def ics_path(self, slug: str) -> str:
        """An event's calendar file."""
        return self.event_path(slug) + ICS_SUFFIX

    def root_path(self) -> str:
        """The pages' root without its trailing slash (`/e` or `/e/<org>`): other pages hang below it."""
        return self.index_path().rstrip("/")

    def resale_path(self, listing_id: str) -> str:
        """A resale listing's checkout (the `resale` plugin's page)."""
        return f"{self.root_path()}/{RESALE}/{quote(listing_id, safe='')}"

    def waitlist_path(self, ticket_type_id: str) -> str:
        """A ticket type's waiting list: join, see the place in line, leave (the `resale` plugin's page)."""
        return f"{self.root_path()}/{WAITLIST}/{quote(ticket_type_id, safe='')}"

    def order_path(self, token: str) -> str:
        """A booking's order page by its signed token (`order_links`)."""
        return f"{self.root_path()}/{ORDERS_SEGMENT}/{token}"

    def ticket_path(self, token: str) -> str:
        """One ticket's page by its signed token (`order_links`)."""
        return f"{self.root_path()}/{TICKETS_SEGMENT}/{token}"

    def claim_path(self) -> str:
        """The claim page (the token goes in the query string)."""
        return f"{self.root_path()}/{CLAIM_PAGE}"

    def account_path(self, page: str = "") -> str:
        """The customer's account page, or its `login`/`logout` page."""
        return f"{self.root_path()}/{ACCOUNT_SEGMENT}" + (f"/{page}" if page else "")

    def login_path(self, back: str) -> str:
        """The customer's sign-in page, coming back to `back` (a path of these pages) afterwards."""
        return f"{self.account_path('login')}?{urlencode({'next': back})}"

    def manage_path(self, page: str = "") -> str:
        """The organiser's dashboard (its event list), or its `sign-in`/`sign-out` page; also the path of the
        staff session's cookie."""
        return f"{self.root_path()}/{MANAGE_SEGMENT}" + (f"/{page}" if page else "")

    def manage_event_path(self, event_id: str, page: str = "") -> str:
        """An event's dashboard, or its `attendees.csv` or `doors` (the door counts alone)."""
        return self.manage_path(f"events/{quote(event_id, safe='')}") + (f"/{page}" if page else "")

    def scan_path(self, file: str = "") -> str:
        """The door scanner's app shell, or one of its files (`sw.js`, `manifest.webmanifest`) below it."""
        return f"{self.root_path()}/{SCAN_SEGMENT}" + (f"/{file}" if file else "")

    def checkout_path(self, slug: str) -> str:
        """An event's checkout (the path of `event_lists.page_links`' `order_page`)."""
        return self.event_path(slug) + CHECKOUT_SUFFIX

    def queue_path(self, slug: str) -> str:
        """An event's waiting-room page (join the queue, then where the buyer stands)."""
        return f"{self.event_path(slug)}/{QUEUE}"

    def pay_path(self, slug: str, token: str) -> str:
        """A booking's page in the checkout (pay, hold countdown, confirmation), by its signed token."""
        return f"{self.checkout_path(slug)}/{token}"

    def paid_path(self, slug: str, token: str) -> str:
        """Where a payment provider sends the buyer back after paying."""
        return f"{self.pay_path(slug, token)}/{PAID_SEGMENT}"


@dataclass(frozen=True)
class Address:
    """A page request read: the tenant's site, the page kind and the event slug (None for the index)."""

    site: Site
    page: str
    slug: str | None = None
    token: str | None = None    # a booking's signed checkout token (PAY, PAID), an order or ticket page's token
    record: str | None = None   # the event id of an event's dashboard pages


def _not_found() -> NotFound:
    return NotFound("No such page.", type="page_not_found")


def _site(org_segment: str | None) -> Site:
    """The tenant of this request: the one whose hostname it came to (an `{org}` segment must then name it),
    else the one `org_segment` names; 404 for an unknown tenant or one without pages enabled."""
    host_org = tenant_for_host(request.host)
    if host_org is not None:
        if org_segment is not None and org_segment != host_org.id:
            raise _not_found()
        org, own_domain = host_org, True
    else:
        org = load_org(org_segment) if org_segment and len(org_segment) <= 64 else None
        if org is None:
            raise NotFound(f"No organisation {org_segment!r}.", type="unknown_org")
        own_domain = False
    g.org = org
    if not get_host().is_enabled(org.id, PLUGIN):
        raise NotFound(f"The {PLUGIN!r} plugin is not enabled for this organisation.", type="plugin_not_enabled")
    return Site(org, own_domain)


def _site_page(site: Site, segments: tuple[str, ...]) -> Address | None:
    """An order, ticket, claim, account or dashboard page of `site` (`_SITE_PAGES`, `_manage_page`), or None for
    an event's pages."""
    if segments[0] == MANAGE_SEGMENT:
        return _manage_page(site, segments[1:])
    kind = _SITE_PAGES.get(segments) or (_SITE_PAGES.get((segments[0], "*")) if len(segments) == 2 else None)
    if kind is None:
        return None
    return Address(site, kind, token=segments[1] if kind in (ORDER, TICKET, RESALE, WAITLIST) else None)


def _manage_page(site: Site, rest: tuple[str, ...]) -> Address:
    """A page of the organiser's dashboard (the segments after `manage`)."""
    kind = _MANAGE_PAGES.get(rest)
    if kind is not None:
        return Address(site, kind)
    if len(rest) >= 2 and rest[0] == "events" and len(rest[1]) <= 64:
        kind = _MANAGE_EVENT_PAGES.get(rest[2:])
        if kind is not None:
            return Address(site, kind, record=rest[1])
    raise _not_found()


def _event_page(site: Site, segment: str, rest: tuple[str, ...]) -> Address:
    """`<slug>`, `<slug>.ics`, `<slug>/queue`, `<slug>/checkout`, `<slug>/checkout/<token>` or
    `<slug>/checkout/<token>/paid` of `site`, or one of its pages not under an event (`_site_page`)."""
    found = _site_page(site, (segment, *rest))
    if found is not None:
        return found
    if not rest:
        if segment.endswith(ICS_SUFFIX):
            return Address(site, ICS, segment[:-len(ICS_SUFFIX)])
        return Address(site, EVENT, segment)
    if rest == (QUEUE,):
        return Address(site, QUEUE, segment)
    if rest[0] != CHECKOUT_SEGMENT or len(rest) > 3:
        raise _not_found()
    if len(rest) == 1:
        return Address(site, CHECKOUT, segment)
    if len(rest) == 2:
        return Address(site, PAY, segment, rest[1])
    if rest[2] == PAID_SEGMENT:
        return Address(site, PAID, segment, rest[1])
    raise _not_found()


def locate(segments: tuple[str, ...], trailing_slash: bool) -> Address:
    """Read the path segments after `/e/` (empty for `/e/`). On a tenant's hostname the `{org}` segment may be
    left out (`/e/<slug>`, the form `page_links` makes there) or kept (`/e/<org>/<slug>`); on the platform's
    host it is required (`/e/<org>/` index, `/e/<org>/<slug>[.ics|/checkout]`)."""
    host_org = tenant_for_host(request.host)
    if host_org is not None and segments[:1] != (host_org.id,):
        site = _site(None)
        if not segments:
            return Address(site, INDEX)
        return _event_page(site, segments[0], segments[1:])
    if not segments:
        raise _not_found()
    site = _site(segments[0])
    if len(segments) == 1:
        if not trailing_slash and not site.own_domain:
            return Address(site, TO_INDEX)
        return Address(site, INDEX)
    return _event_page(site, segments[1], segments[2:])
