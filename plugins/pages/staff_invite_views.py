"""The page a staff invitation's e-mail links to (`/e/{org}/staff/accept-invite?token=`): a new person chooses a
name and a password (twice), a person already on staff elsewhere gives their existing password; then it says to
sign in with the API (`POST /auth/login`).

Views hold no rule: the invitation, the password rules and the membership are the core's (`member_invites`,
`members`); a GET uses nothing up, only the form's POST accepts.
"""

from __future__ import annotations

from flask import Response, request

from core.errors import ApiError
from core.services import member_invites, members
from plugins.pages import addressing, csrf
from plugins.pages.addressing import Address
from plugins.pages.form_pages import check_same_password, render_form_page
from plugins.pages.views import PAGES, speaker_for

LOGIN_API = "POST /auth/login"


def _token() -> str:
    return (request.values.get("token") or "").strip()


def invite_page(address: Address, error: ApiError | None = None, joined: bool = False) -> Response:
    """The invitation (organisation, role, e-mail) with its form (new person, or existing password), a refusal,
    or, once accepted, how to sign in."""
    site, speaker = address.site, speaker_for(address.site)
    invite = existing = None
    if not joined:
        try:
            invite = member_invites.pending_invite(site.org, _token())
            existing = members.member_by_email(invite.email) is not None
        except ApiError as refused:
            error = error or refused
    return render_form_page(site, speaker, "pages/accept_invite.html", error=error, invite=invite,
                            existing=existing, joined=joined, token=_token(), login_api=LOGIN_API,
                            form=request.form)


def invite_post(address: Address) -> Response:
    """Accept the invitation (`member_invites.accept_invite`), then show how to sign in."""
    site = address.site
    try:
        csrf.check()
        password = request.form.get("password", "")
        if request.form.get("new") == "1":
            check_same_password()
        member_invites.accept_invite(site.org, _token(), password=password,
                                     name=request.form.get("name", "").strip())
    except ApiError as error:
        return invite_page(address, error)
    return invite_page(address, joined=True)


def register_pages() -> None:
    """Add the staff invitation page to the pages' routes."""
    PAGES.update({(addressing.ACCEPT_INVITE, "GET"): invite_page, (addressing.ACCEPT_INVITE, "POST"): invite_post})
