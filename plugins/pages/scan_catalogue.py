"""The door scanner's words: every string its JavaScript shows, in the page's language, handed to the script as
JSON in the page (so the catalogue is the pages' gettext catalogue and the service worker caches it with the shell).

Never decides anything: refusal reasons are the server's (the core's door rules and error `type`s); this only
names them in a language, with the server's own message shown for a `type` it does not know.
"""

from __future__ import annotations

from plugins.pages.i18n import Speaker


def _(message: str) -> str:
    """Marks an English string for the catalogue (`pybabel extract -k _`); translated when a page is served."""
    return message


# What the scanner says for a refusal or a sign-in problem, by the core's error `type`.
REFUSALS: dict[str, str] = {
    "invalid_qr": _("Not a ticket of this organiser, or a forged code."),
    "wrong_event": _("This ticket is for another event."),
    "ticket_revoked": _("This ticket was cancelled, refunded or transferred."),
    "not_activated": _("This ticket has not been activated yet."),
    "scan_point_not_accepted": _("This ticket is not accepted at this scan point."),
    "already_checked_in": _("Already checked in."),
    "not_registered_for_session": _("This pass holder has not chosen this session."),
    "qr_expired": _("This code has expired: ask for the live code on the ticket's page."),
    "live_code_required": _("This ticket needs its live code: ask to open the ticket's page."),
    "unknown_rule": _("This scanner cannot apply one of the door rules: connect to the network."),
    "ticket_not_found": _("No ticket with this number."),
    "invalid_credentials": _("Wrong e-mail or password, or not on this organiser's staff."),
    "otp_required": _("Enter the code from your authenticator app."),
    "invalid_otp": _("That code is not valid. Try the current one."),
    "forbidden_role": _("Your role does not allow checking tickets in. Ask an administrator."),
    "member_sign_in_required": _("Sign in with your own staff account."),
    "two_factor_enrolment_required": _("Turn on two-factor sign-in for your account first."),
    "rate_limited": _("Too many attempts. Wait a moment and try again."),
    "membership_revoked": _("You are no longer on this organiser's staff."),
    "device_event_mismatch": _("This device is set up for another event."),
    "authentication_required": _("This device's sign-in has ended: sign in again."),
    "event_not_found": _("This event no longer exists."),
}

# The scanner's interface strings, by key (placeholders `{name}` are filled by the script).
WORDS: dict[str, str] = {
    "admitted": _("Admitted"),
    "refused": _("Refused"),
    "entry": _("Entry {count} of {limit}"),
    "entryNoLimit": _("Entry {count}"),
    "offline": _("Offline: scans are decided on this device and queued."),
    "queued": _("{count} scans waiting to upload."),
    "uploaded": _("All scans uploaded."),
    "online": _("Online"),
    "offlineDecision": _("Decided on this device (offline)."),
    "noBundle": _("No ticket list on this device yet: connect to the network once."),
    "evaluatorMissing": _("This scanner cannot decide offline: connect to the network."),
    "noEvents": _("No event today or later."),
    "unnamedPoint": _("Any entrance (no scan point)"),
    "conflict": _("Conflict: ticket {ticket} was admitted at another door too ({count} of {limit})."),
    "cameraUnavailable": _("No camera: type or paste the code instead."),
    "cameraOn": _("Camera on: hold the code in front of it."),
    "signOutBlocked": _("Some scans are not uploaded yet: connect to the network before signing out."),
    "networkError": _("The server cannot be reached. Check the network and try again."),
    "serverError": _("The server could not answer. Try again."),
    "checking": _("Checking..."),
    "holderUnknown": _("No holder name"),
    "bundleAge": _("Ticket list of {time}"),
    "eventStarts": _("Starts {time}"),
}


def scan_catalogue(speaker: Speaker) -> dict[str, dict[str, str]]:
    """The scanner's words (`words`) and refusal reasons (`refusals`) in `speaker`'s language."""
    return {"words": {key: speaker.gettext(text) for key, text in WORDS.items()},
            "refusals": {key: speaker.gettext(text) for key, text in REFUSALS.items()}}
