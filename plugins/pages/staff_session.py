"""The organiser's staff session on the pages: a staff member signs in with the core's own sign-in
(`members.authenticate_member`, as `POST /auth/login` does, on the same throttle counters), and the member JWT it
answers (`core.api.member_auth.member_session`) is kept in the `pages_staff` cookie (`session_cookie`: HttpOnly,
SameSite=Lax, Secure on https) whose path is the dashboard's, so no other page ever receives it.

Never issues or checks a token by itself: the role is the member's current one, read by the core on every request
(a removed member or an ended session reads as signed out); decides no role rule: `core.roles.READERS` does.
"""

from __future__ import annotations

from flask import Response

from core.api.member_auth import MemberLogin, member_session
from core.identity import Identity
from core.models import Membership
from core.roles import READERS
from core.services import members
from plugins.pages.addressing import Site
from plugins.pages.form_pages import read_form
from plugins.pages.session_cookie import SessionCookie
from plugins.pages.sign_in_attempts import counted, staff_login_attempts

COOKIE = "pages_staff"
SIGN_IN_FIELDS = {"email": "email", "password": "password", "otp": "otp"}
_SESSION = SessionCookie(COOKIE)


def signed_in(site: Site) -> Identity | None:
    """The staff member of the tenant whose session this request carries (whatever their role now), or None."""
    identity = _SESSION.read(site.org)
    return identity if identity is not None and identity.is_member else None


def may_read(role: str) -> bool:
    """Whether a member of `role` may read the dashboard (`core.roles.READERS`)."""
    return role in READERS


def authenticate(site: Site) -> Membership:
    """The membership the sign-in form names (`members.authenticate_member`: 401 `invalid_credentials`,
    `otp_required`, `invalid_otp`; 403 `two_factor_enrolment_required`), failures counted with the API's staff
    sign-ins (429 `rate_limited` past the limit)."""
    data = read_form(MemberLogin(), SIGN_IN_FIELDS)
    return counted(staff_login_attempts(site.org.id, data["email"]),
                   lambda: members.authenticate_member(site.org, **data))


def sign_in(site: Site, response: Response, membership: Membership) -> Response:
    """Keep a new session of the membership (the core's member JWT) in the dashboard's cookie."""
    return _SESSION.put(response, member_session(membership)["token"], site.manage_path())


def sign_out(site: Site, response: Response) -> Response:
    """Drop the dashboard's cookie."""
    return _SESSION.drop(response, site.manage_path())
