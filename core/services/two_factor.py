"""Two-factor sign-in for staff members with TOTP (RFC 6238, pyotp): enrol (a secret and its otpauth URI,
confirmed with a first code), check a code at sign-in (each code works once), and whether a tenant demands it of
its admins.

The one place for these rules. The secret is kept sealed under the deployment key (`core.sealed`), never in
clear, never logged, and shown to its owner only while enrolling.
"""

from __future__ import annotations

import hmac
import time

import pyotp

from core.db import write_transaction
from core.errors import ApiError, Conflict, Unauthorized
from core.models import Member, Membership, Org
from core.sealed import seal, unseal

ADMINS_NEED_IT = "admins_need_two_factor"  # Org.settings: admins must sign in with a TOTP code
DRIFT_STEPS = 1  # codes of the step before and after the current one are accepted too (clock drift)


class EnrolmentRequired(ApiError):
    """403 `two_factor_enrolment_required`: the tenant demands two-factor of its admins and this admin has none.
    Carries the membership, so the sign-in view can give a token that may only enrol."""

    def __init__(self, membership: Membership):
        super().__init__("This organisation requires two-factor sign-in for admins: enrol with the "
                         "`enrolmentToken` (POST /auth/two-factor/enrol, then /auth/two-factor/confirm).",
                         status=403, type="two_factor_enrolment_required")
        self.membership = membership


def admins_need_it(org: Org) -> bool:
    """True when the tenant demands two-factor sign-in of its admins."""
    return bool((org.settings or {}).get(ADMINS_NEED_IT))


def _matching_step(secret: str, code: object) -> int | None:
    """The time step whose code `code` is (this step or one next to it), or None."""
    if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        moment = now + offset * totp.interval
        if hmac.compare_digest(totp.at(moment), code):
            return totp.timecode(moment)
    return None


def _use_step(member: Member, step: int, **changes) -> bool:
    """Record `step` as the member's last used code (with `changes`) unless that step or a later one was used
    already: one conditional UPDATE, so a code works once even when two sign-ins race."""
    fresh = Member.totp_last_step.is_null() | (Member.totp_last_step < step)
    with write_transaction():
        return Member.update(totp_last_step=step, **changes).where((Member.id == member.id) & fresh).execute() == 1


def check_login_code(member: Member, code: str | None) -> None:
    """At sign-in of a member with two-factor on: 401 `otp_required` without a code, 401 `invalid_otp` for a
    wrong one or one already used."""
    if not code:
        raise Unauthorized("This account signs in with a two-factor code: send `otp`.", type="otp_required")
    secret = unseal(member.totp_secret or "")
    step = _matching_step(secret, code) if secret else None
    if step is None or not _use_step(member, step):
        raise Unauthorized("The two-factor code is not valid (or was used already).", type="invalid_otp")


def start_enrolment(member: Member, issuer: str) -> tuple[str, str]:
    """A new secret for `member` and its `otpauth://` URI (for an authenticator app, labelled with `issuer`),
    kept pending until `confirm_enrolment`; starting again replaces a pending one. 409 `two_factor_enabled_already`
    when it is on already."""
    if member.totp_secret:
        raise Conflict("Two-factor sign-in is on already for this account.", type="two_factor_enabled_already")
    secret = pyotp.random_base32()
    with write_transaction():
        Member.update(totp_pending=seal(secret)).where(Member.id == member.id).execute()
    return secret, pyotp.TOTP(secret).provisioning_uri(name=member.email, issuer_name=issuer)


def confirm_enrolment(member: Member, code: str) -> None:
    """Turn two-factor on with the pending secret once `code` is one of its codes (422 `invalid_otp` otherwise;
    409 `no_enrolment` when none was started, `two_factor_enabled_already` when it is on)."""
    if member.totp_secret:
        raise Conflict("Two-factor sign-in is on already for this account.", type="two_factor_enabled_already")
    secret = unseal(member.totp_pending or "")
    if not secret:
        raise Conflict("Start with POST /auth/two-factor/enrol.", type="no_enrolment")
    step = _matching_step(secret, code)
    if step is None or not _use_step(member, step, totp_secret=member.totp_pending, totp_pending=None):
        raise ApiError("The two-factor code is not valid (or was used already).", status=422, type="invalid_otp")
