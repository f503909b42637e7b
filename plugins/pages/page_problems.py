"""What the order, claim and account pages say when the core refuses something, in the visitor's language, by
the core's error `type` (transfer, claim, sign-in and form checks).

Never decides anything: the refusals are the core services'; an unknown type falls back to the core's message.
"""

from __future__ import annotations

from core.errors import ApiError
from plugins.pages.i18n import Speaker


def problem_text(speaker: Speaker, error: ApiError) -> str:
    """The sentence a page shows for `error`."""
    _ = speaker.gettext
    messages = {
        "not_transferable": _("This ticket cannot be transferred (it was used, cancelled or already passed on, "
                              "or its type does not allow transfers)."),
        "holder_details_required": _("This ticket needs the name of the person it goes to."),
        "customer_not_found": _("No account has that username."),
        "transfer_to_self": _("This ticket is already in that account."),
        "invalid_claim_token": _("This claim link is not valid."),
        "already_claimed": _("This ticket has already been claimed."),
        "claim_expired": _("This claim link has expired; ask the organiser to send a new one."),
        "invalid_credentials": _("E-mail or password is incorrect."),
        "email_taken": _("An account with this e-mail already exists: sign in instead."),
        "username_taken": _("This username is taken."),
        "csrf_failed": _("This form expired; reload the page and try again."),
        "validation_error": _("Some fields need your attention."),
        "rate_limited": _("Too many attempts: wait a few minutes, then try again."),
        "invalid_link": _("This link is not valid (a newer one replaced it, or it was mistyped)."),
        "link_used": _("This link has already been used."),
        "link_expired": _("This link has expired: ask for a new one."),
        "passwords_differ": _("The two passwords differ."),
        "email_already_verified": _("Your e-mail address is already verified."),
        "invite_not_found": _("This invitation link is not valid."),
        "invite_used": _("This invitation was already used: sign in with your password."),
        "invite_revoked": _("This invitation was withdrawn: ask an administrator for a new one."),
        "invite_expired": _("This invitation has expired: ask an administrator for a new one."),
        "already_a_member": _("You are already on the staff of this organisation."),
        "invalid_password": _("Choose a password of 8 characters or more."),
        "email_unavailable": _("This organiser sends no e-mails yet, so no link can be sent."),
    }
    return messages.get(error.type, error.message)
