"""The organiser's dashboard (`/e/{org}/manage`): the staff sign-in and sign-out, the list of the tenant's events
with their sales and check-ins, and an event's dashboard (charts of sales and check-ins, seats per ticket type,
revenue by payment method, live door counts, door conflicts, the attendee list with its search and CSV export).

Views hold no rule: the figures are `core.services.event_reports`' (the same as `GET /events/{event_id}/report`),
sign-in is `staff_session`'s (the core's), and the roles that may read are `core.roles.READERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import Response, request

from core.errors import ApiError, Forbidden, NotFound, Unauthorized
from core.models import utcnow
from core.pagination import InvalidParameter
from core.roles import ADMIN, BOX_OFFICE, DOOR, OFFICER, STAFF, VIEWER
from core.services import door_conflicts, event_reports
from core.services.ticket_configurations import shown_name
from plugins.pages import addressing, csrf, staff_session
from plugins.pages.addressing import Address, Site
from plugins.pages.charts import bar_chart
from plugins.pages.form_pages import render_form_page, safe_next, see_other
from plugins.pages.i18n import Speaker
from plugins.pages.views import PAGES, not_found_page, render, speaker_for

EVENTS_PER_PAGE = 25
ATTENDEES_PER_PAGE = 25
DOORS_REFRESH_SECONDS = 5
MAX_SEARCH = 200


def _role_name(speaker: Speaker) -> Callable[[str], str]:
    """A member role as the page's language names it."""
    names = {ADMIN: speaker.gettext("administrator"), STAFF: speaker.gettext("staff"),
             BOX_OFFICE: speaker.gettext("box office"), DOOR: speaker.gettext("door"),
             OFFICER: speaker.gettext("officer"), VIEWER: speaker.gettext("viewer")}
    return lambda role: names.get(role, role)


def _gateway_name(speaker: Speaker) -> Callable[[str], str]:
    """A payment method's name: the core's built-in ones translated, a provider's identifier otherwise."""
    names = {"offline": speaker.gettext("Offline (cash, bank transfer)"), "free": speaker.gettext("Free"),
             "store_credit": speaker.gettext("Store credit")}
    return lambda gateway: names.get(gateway, gateway.replace("_", " ").capitalize())


def _render(site: Site, template: str, *, error: ApiError | None = None, speaker: Speaker | None = None,
            **context) -> Response:
    """A dashboard page in the visitor's language (`speaker`, else the request's), with the names its templates
    show."""
    speaker = speaker or speaker_for(site)
    return render_form_page(site, speaker, template, error=error, role_name=_role_name(speaker),
                            gateway_name=_gateway_name(speaker), type_name=shown_name,
                            problem_type=error.type if error else None, **context)


def _search() -> str | None:
    return (request.args.get("q") or "").strip()[:MAX_SEARCH] or None


def _page_number() -> int:
    raw = request.args.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise InvalidParameter("`page` must be a whole number from 1 to 10000.", errors={"page": ["out of range"]})
    return int(raw)


def _sign_in_redirect(site: Site) -> Response:
    back = request.full_path.rstrip("?") if request.query_string else request.path
    return see_other(f"{site.manage_path('sign-in')}?{urlencode({'next': back})}")


def _refused(site: Site, role: str) -> Response:
    """403: the signed-in member's role may not read the dashboard (a door or officer role)."""
    error = Forbidden("This role may not read the dashboard.", type="forbidden_role")
    return _render(site, "pages/manage_refused.html", error=error, role=role)


def _reader(address: Address):
    """The signed-in member who may read the dashboard, else the answer to give instead: the sign-in page (not
    signed in) or the refusal (a role outside `READERS`)."""
    site = address.site
    identity = staff_session.signed_in(site)
    if identity is None:
        return None, _sign_in_redirect(site)
    if not staff_session.may_read(identity.role):
        return None, _refused(site, identity.role)
    return identity, None


def sign_in_page(address: Address, error: ApiError | None = None) -> Response:
    """The staff sign-in form: e-mail, password and, for a member with two-factor on, the code."""
    site = address.site
    back = safe_next(site, request.values.get("next"), site.manage_path())
    return _render(site, "pages/manage_sign_in.html", error=error, next_path=back, form=request.form,
                   asks_code=error is not None and error.type in ("otp_required", "invalid_otp"))


def sign_in_post(address: Address) -> Response:
    """Sign a staff member in (`staff_session.authenticate`); a role that may read gets the session cookie and
    goes on to `next`, any other is told why and gets no session."""
    site = address.site
    try:
        csrf.check()
        membership = staff_session.authenticate(site)
    except ApiError as error:
        return sign_in_page(address, error)
    if not staff_session.may_read(membership.role):
        return _refused(site, membership.role)
    back = safe_next(site, request.form.get("next"), site.manage_path())
    if not back.startswith(site.manage_path()):
        back = site.manage_path()
    return staff_session.sign_in(site, see_other(back), membership)


def sign_out_post(address: Address) -> Response:
    """Sign out: drop the dashboard's cookie, back to the sign-in page."""
    csrf.check()
    site = address.site
    return staff_session.sign_out(site, see_other(site.manage_path("sign-in")))


def events_page(address: Address) -> Response:
    """The tenant's events (not over first, soonest first; `?q=` searches names), each with seats sold of its
    capacity and tickets checked in."""
    identity, answer = _reader(address)
    if answer is not None:
        return answer
    site, page = address.site, _page_number()
    lines, more = event_reports.event_lines(site.org, _search(), page, EVENTS_PER_PAGE)
    return _render(site, "pages/manage_events.html", staff=identity, lines=lines, search=_search() or "",
                   page=page, more=more, now=utcnow())


def event_dashboard(address: Address) -> Response:
    """One event's dashboard (`event_reports.event_report`) with a page of its attendees (`?q=`, `?page=`) and
    its door conflicts (`door_conflicts.list_conflicts`: offline admissions beyond a ticket's limit)."""
    identity, answer = _reader(address)
    if answer is not None:
        return answer
    site, speaker = address.site, speaker_for(address.site)
    try:
        report = event_reports.event_report(site.org, address.record)
    except NotFound:
        return not_found_page(site, speaker)
    page = _page_number()
    attendees = event_reports.attendee_page(site.org, address.record, _search(), page, ATTENDEES_PER_PAGE)
    conflicts = door_conflicts.list_conflicts(site.org, address.record)
    return _render(site, "pages/manage_event.html", speaker=speaker, staff=identity, report=report,
                   sales_chart=bar_chart(speaker, report.sales), checkins_chart=bar_chart(speaker, report.check_ins),
                   attendees=attendees, search=_search() or "", page=page, refresh_seconds=DOORS_REFRESH_SECONDS,
                   doors=report.doors, generated_at=report.generated_at, tz=report.event.tz, conflicts=conflicts)


def attendees_csv(address: Address) -> Response:
    """The attendee list (the same `?q=` filter) as a CSV download."""
    identity, answer = _reader(address)
    if answer is not None:
        return answer
    site = address.site
    try:
        text = "".join(event_reports.attendee_csv(site.org, address.record, _search()))
    except NotFound:
        return not_found_page(site, speaker_for(site))
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="attendees-{address.record}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def door_counts(address: Address) -> Response:
    """The door counts table alone (`_door_counts.html`, as the dashboard shows it), for the dashboard's script to
    refresh (401 without a session, 403 for a role that may not read, 404 for an unknown event: JSON errors)."""
    site = address.site
    identity = staff_session.signed_in(site)
    if identity is None:
        raise Unauthorized("Sign in to the dashboard first.", type="authentication_required")
    if not staff_session.may_read(identity.role):
        raise Forbidden("This role may not read the dashboard.", type="forbidden_role")
    event = event_reports.reported_event(site.org, address.record)
    doors = event_reports.door_counts(site.org, event.id)
    return render(site, speaker_for(site), "pages/_door_counts.html", doors=doors, generated_at=utcnow(), tz=event.tz)


def register_pages() -> None:
    """Add the dashboard's pages to the pages' routes."""
    PAGES.update({(addressing.MANAGE_SIGN_IN, "GET"): sign_in_page, (addressing.MANAGE_SIGN_IN, "POST"): sign_in_post,
                  (addressing.MANAGE_SIGN_OUT, "POST"): sign_out_post, (addressing.MANAGE, "GET"): events_page,
                  (addressing.MANAGE_EVENT, "GET"): event_dashboard, (addressing.MANAGE_CSV, "GET"): attendees_csv,
                  (addressing.MANAGE_DOORS, "GET"): door_counts})
