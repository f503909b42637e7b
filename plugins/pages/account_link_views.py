"""The pages the customer account e-mails link to: choose a new password (`/e/{org}/account/reset?token=`),
verify the e-mail (`/e/{org}/account/verify?token=`), confirm a change of e-mail (`/e/{org}/account/email?token=`),
and the account page's "send the verification link again" button (`/e/{org}/account/resend`).

Views hold no rule: links, passwords and sessions are the core's (`password_reset`, `email_verification`,
`email_change`, with the API's schema); a GET never uses a link up (a link scanner opens it too), only the POST.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request

from core.api.account_links import ResetConfirmSchema
from core.errors import ApiError, NotFound
from core.models import Customer, Org
from core.services import email_change, email_verification, password_reset
from plugins.pages import addressing, csrf, customer_session
from plugins.pages.addressing import Address
from plugins.pages.form_pages import check_same_password, read_form, render_form_page, see_other
from plugins.pages.sign_in_attempts import link_attempts
from plugins.pages.views import PAGES, speaker_for

RESET_FIELDS = {"token": "token", "password": "newPassword"}
# page kind -> the core's confirmation for its link (verify, change of e-mail)
DEAD_LINK = frozenset({"invalid_link", "link_used", "link_expired"})  # the core's refusals that end a link's form
CONFIRMS: dict[str, Callable[[Org, object], Customer]] = {
    addressing.VERIFY: email_verification.verify, addressing.EMAIL_CONFIRM: email_change.confirm_change}


def _token() -> str:
    return (request.values.get("token") or "").strip()


def link_page(address: Address, error: ApiError | None = None, done: Customer | None = None) -> Response:
    """The form of the link's page (new password twice for a reset, a button otherwise), a refusal (without the
    form once the link cannot work), or, after a verification or a change of e-mail, its confirmation."""
    return render_form_page(address.site, speaker_for(address.site), "pages/account_link.html", error=error,
                            kind=address.page, token=_token(), done=done,
                            dead=error is not None and error.type in DEAD_LINK)


def _redeemed(action: Callable[[], Customer]) -> Customer:
    """`action` (a core confirmation of a link) with unknown tokens counted with the API's (429 past the limit)."""
    csrf.check()
    attempts = link_attempts()
    if attempts is not None:
        attempts.check()
    try:
        return action()
    except NotFound:
        if attempts is not None:
            attempts.failed()
        raise


def reset_post(address: Address) -> Response:
    """Choose the new password (`password_reset.reset_password`, the API's rules), then sign the customer in on
    this browser and open their account page."""
    site = address.site
    try:
        data = read_form(ResetConfirmSchema(), RESET_FIELDS)
        check_same_password()
        customer = _redeemed(lambda: password_reset.reset_password(site.org, data["token"], data["newPassword"]))
    except ApiError as error:
        return link_page(address, error)
    return customer_session.sign_in(see_other(site.account_path()), customer)


def confirm_post(address: Address) -> Response:
    """Use a verification or change-of-e-mail link (`CONFIRMS`), then show its confirmation."""
    site = address.site
    try:
        customer = _redeemed(lambda: CONFIRMS[address.page](site.org, _token()))
    except ApiError as error:
        return link_page(address, error)
    return link_page(address, done=customer)


def resend_post(address: Address) -> Response:
    """Send the signed-in customer a new verification link (`email_verification.resend`), back to the account
    page saying so; a refusal (already verified, no e-mail plugin) is shown on this page."""
    site = address.site
    customer = customer_session.signed_in(site.org)
    if customer is None:
        return see_other(site.account_path("login"))
    try:
        csrf.check()
        email_verification.resend(site.org, customer.sub)
    except ApiError as error:
        return link_page(address, error)
    return see_other(site.account_path() + "?sent=1")


def register_pages() -> None:
    """Add the e-mailed account links' pages and the resend button's page to the pages' routes."""
    PAGES.update({(kind, "GET"): link_page for kind in (addressing.RESET, *CONFIRMS)})
    PAGES.update({(addressing.RESET, "POST"): reset_post, (addressing.RESEND, "POST"): resend_post,
                  **{(kind, "POST"): confirm_post for kind in CONFIRMS}})
