"""The customer's pages: sign in or create an account (`/e/{org}/account/login`), sign out, the account page
listing their orders and tickets (`/e/{org}/account`), and the claim page a transfer recipient opens from their
e-mail (`/e/{org}/claim?token=...`).

Views hold no rule: credentials, accounts, tickets and the claim are the core's (`accounts`, `ticket_queries`,
`transfers`, with the API's schemas); the session is the core's customer token in a cookie
(`customer_session`). A claim needs a signed-in customer, as `POST /client/events/tickets/claim` does.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import Response, request

from core.api.auth import LoginSchema, RegisterSchema
from core.errors import ApiError, NotFound
from core.identity import Identity
from core.models import Event, Ticket, utcnow
from core.services import accounts, email_verification, ticket_queries, transfers
from core.tenancy import get_scoped
from plugins.pages import addressing, csrf, customer_session
from plugins.pages.addressing import Address, Site
from plugins.pages.form_pages import read_form, render_form_page, safe_next, see_other
from plugins.pages.order_links import order_token, ticket_token
from plugins.pages.sign_in_attempts import counted, login_attempts
from plugins.pages.ticket_cards import ticket_cards
from plugins.pages.views import PAGES, speaker_for

AccountSection = Callable[[Site, Identity], "tuple[str, dict] | None"]
ACCOUNT_SECTIONS: list[AccountSection] = []
"""More sections of the account page, after the tickets, added by other plugins (like `PAGES`): each is called
with the site and the signed-in customer and answers (its template, the template's `section` value), or None to
show nothing (e.g. while the plugin is off for the tenant)."""

LOGIN_FIELDS = {"email": "email", "password": "password"}
REGISTER_FIELDS = {"email": "email", "password": "password", "name": "name"}


def _login_redirect(site: Site, back: str) -> Response:
    """To the sign-in page, coming back to `back` afterwards."""
    return see_other(site.login_path(back))


def login_page(address: Address, error: ApiError | None = None) -> Response:
    """The sign-in form and the create-an-account form (both come back to `?next=`, else the account page)."""
    site = address.site
    back = safe_next(site, request.values.get("next"), site.account_path())
    return render_form_page(site, speaker_for(site), "pages/login.html", error=error, next_path=back,
                            action=request.form.get("action", "login"), form=request.form)


def login_post(address: Address) -> Response:
    """Sign in (`accounts.authenticate_customer`) or create an account (`accounts.register_customer`), then set
    the session cookie and go on to `next`."""
    site = address.site
    try:
        csrf.check()
        if request.form.get("action") == "register":
            customer = accounts.register_customer(site.org, **read_form(RegisterSchema(), REGISTER_FIELDS))
        else:
            customer = _authenticate(site)
    except ApiError as error:
        return login_page(address, error)
    back = safe_next(site, request.form.get("next"), site.account_path())
    return customer_session.sign_in(see_other(back), customer)


def _authenticate(site: Site):
    """The customer the sign-in form names (`accounts.authenticate_customer`), wrong passwords counted with the
    API's logins (`sign_in_attempts`): 401 `invalid_credentials`, 429 `rate_limited`."""
    data = read_form(LoginSchema(), LOGIN_FIELDS)
    return counted(login_attempts(site.org.id, data["email"]),
                   lambda: accounts.authenticate_customer(site.org, **data))


def logout_post(address: Address) -> Response:
    """Sign out: drop the session cookie, back to the tenant's index."""
    csrf.check()
    return customer_session.sign_out(see_other(address.site.index_path()))


def account_page(address: Address) -> Response:
    """The signed-in customer's e-mail (a reminder and a resend button while unverified), orders (each with its
    order page link) and tickets (QR, PDF, wallet pass and a link to the ticket's page), then the other plugins'
    `ACCOUNT_SECTIONS`; the sign-in page for anyone else."""
    site = address.site
    customer = customer_session.signed_in(site.org)
    if customer is None:
        return _login_redirect(site, site.account_path())
    profile = accounts.profile(site.org, customer.sub)
    tickets = ticket_queries.my_tickets(site.org, customer.sub)
    orders = ticket_queries.my_bookings(site.org, customer.sub)
    return render_form_page(site, speaker_for(site), "pages/account.html", customer=customer,
                            profile=profile, verified=email_verification.is_verified(profile),
                            sent=request.args.get("sent") == "1", cards=ticket_cards(site.org, tickets),
                            orders=orders, order_paths={o["id"]: site.order_path(order_token(site.org.id, o["id"]))
                                                        for o in orders},
                            ticket_paths={t.id: site.ticket_path(ticket_token(site.org.id, t.id)) for t in tickets},
                            sections=[found for found in (section(site, customer) for section in ACCOUNT_SECTIONS)
                                      if found is not None])


def _claim_token() -> str:
    return (request.values.get("token") or "").strip()


def claim_page(address: Address, error: ApiError | None = None) -> Response:
    """The ticket a claim link offers (type, event, who sent it) and the button that claims it; the sign-in
    page first for a visitor who is not signed in."""
    site, speaker = address.site, speaker_for(address.site)
    try:
        transfer = transfers.transfer_for_claim_token(site.org, _claim_token())
    except NotFound as missing:
        return render_form_page(site, speaker, "pages/claim.html", error=missing, transfer=None)
    ticket = get_scoped(Ticket, site.org, transfer.new_ticket_id, "ticket")
    customer = customer_session.signed_in(site.org)
    mine = customer is not None and ticket.customer_id == customer.sub
    event = get_scoped(Event, site.org, ticket.event_id, "event")
    return render_form_page(site, speaker, "pages/claim.html", error=error, transfer=transfer, ticket=ticket,
                            event=event, state=transfers.claim_state(transfer, utcnow()),
                            customer=customer, mine=mine, token=_claim_token(),
                            login_path=f"{site.account_path('login')}?"
                                       f"{urlencode({'next': f'{site.claim_path()}?token={_claim_token()}'})}",
                            ticket_path=site.ticket_path(ticket_token(site.org.id, ticket.id)))


def claim_post(address: Address) -> Response:
    """Claim the ticket into the signed-in customer's account (`transfers.claim`), then show its page."""
    site = address.site
    customer = customer_session.signed_in(site.org)
    if customer is None:
        return _login_redirect(site, f"{site.claim_path()}?{urlencode({'token': _claim_token()})}")
    try:
        csrf.check()
        ticket = transfers.claim(site.org, _claim_token(), customer.sub)
    except ApiError as error:
        return claim_page(address, error)
    return see_other(site.ticket_path(ticket_token(site.org.id, ticket.id)) + "?claimed=1")


def register_pages() -> None:
    """Add the account, sign-in, sign-out and claim pages to the pages' routes."""
    PAGES.update({(addressing.LOGIN, "GET"): login_page, (addressing.LOGIN, "POST"): login_post,
                  (addressing.LOGOUT, "POST"): logout_post, (addressing.ACCOUNT, "GET"): account_page,
                  (addressing.CLAIM, "GET"): claim_page, (addressing.CLAIM, "POST"): claim_post})
