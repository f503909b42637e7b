"""The pages' languages: the EN/FR catalogue (`translations/<lang>/LC_MESSAGES/messages.po`, compiled in memory
once per process), the language of a request, and dates and money written for it in an event's timezone.

Never formats money from anything but integer minor units (`core.money`); never lets a visitor pick a language
the catalogue lacks.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

from core.money import is_currency, to_major

LANGUAGES = ("en", "fr")            # the source strings are English; fr has a catalogue
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "lang"
CATALOGUE_DIR = Path(__file__).resolve().parent / "translations"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language` (English, the source language, translates nothing)."""
    po_file = CATALOGUE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def supported(language: str | None) -> str | None:
    """`language` when the pages speak it (case and region ignored: `fr-CA` is `fr`), else None."""
    if not language:
        return None
    base = language.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else None


def choose_language(asked: str | None, cookie: str | None, accept_language, tenant_default: str | None) -> str:
    """The page's language: `?lang=`, then the switcher's cookie, then the browser's Accept-Language (werkzeug's
    `request.accept_languages`), then the tenant's `language` setting, then English."""
    for candidate in (asked, cookie, accept_language.best_match(LANGUAGES) if accept_language else None,
                      tenant_default):
        found = supported(candidate)
        if found:
            return found
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Speaker:
    """Words, dates and money in one language; what every template receives as `t`."""

    language: str

    def gettext(self, message: str, **values) -> str:
        """`message` translated, then `%(name)s` placeholders filled from `values`."""
        text = translations(self.language).gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values) -> str:
        """The singular or plural form for `count`, translated, with `count` and `values` filled in."""
        text = translations(self.language).ngettext(singular, plural, count)
        return text % {"count": count, **values}

    def locale(self) -> Locale:
        """The babel locale of this language."""
        return Locale.parse(self.language)

    def date(self, when: dt.datetime, tz: str) -> str:
        """A stored (naive UTC) time's local date, written out in full (e.g. `samedi 15 juin 2031`)."""
        return format_date(_local(when, tz), format="full", locale=self.language)

    def time(self, when: dt.datetime, tz: str) -> str:
        """A stored time's local time of day (`20:00`, `8:00 PM`)."""
        return format_time(_local(when, tz), format="short", locale=self.language)

    def moment(self, when: dt.datetime, tz: str) -> str:
        """A stored time as its local date and time of day (`Sunday, June 15, 2031 at 8:00 PM`)."""
        return self.gettext("%(date)s at %(time)s", date=self.date(when, tz), time=self.time(when, tz))

    def short_moment(self, when: dt.datetime, tz: str) -> str:
        """A stored time as a short local date and time (`Jun 15, 2031, 8:00 PM`)."""
        local = _local(when, tz)
        return self.gettext("%(date)s, %(time)s", date=format_date(local, format="medium", locale=self.language),
                            time=format_time(local, format="short", locale=self.language))

    def money(self, minor: int, currency: str) -> str:
        """Integer minor units written as the language writes money (`€12.50`, `12,50 €`)."""
        if not is_currency(currency):
            return f"{minor} {currency}"
        return format_currency(to_major(minor, currency), currency, locale=self.language)


def _local(when: dt.datetime, tz: str) -> dt.datetime:
    """A naive UTC time in the zone `tz`."""
    return when.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))


def problem_message(speaker: Speaker, problem: str | None) -> str:
    """What the checkout tells a buyer about a refused attempt, by the core's error `type`."""
    gettext = speaker.gettext
    messages = {
        "validation_error": gettext("Some fields need your attention: see below."),
        "queue_pass_required": gettext("The sale of this event goes through a queue: join it, and you will be "
                                       "brought back here when it is your turn."),
        "queue_pass_invalid": gettext("Your place in the queue has expired or was used: join the queue again."),
        "sold_out": gettext("Not enough tickets are left for your choice. Choose fewer and try again."),
        "below_order_min": gettext("Your order is below the minimum for one of the ticket types."),
        "above_order_max": gettext("Your order is above the maximum for one of the ticket types."),
        "invite_code_required": gettext("One of the ticket types needs an invite code."),
        "invalid_invite_code": gettext("The invite code is not valid."),
        "sale_not_started": gettext("The sale of one of the ticket types has not started."),
        "sale_ended": gettext("The sale of one of the ticket types has ended."),
        "invalid_promo_code": gettext("The promotion code is not valid."),
        "promo_codes_unavailable": gettext("This organiser takes no promotion codes."),
        "holder_details_required": gettext("Give each ticket's holder details where they are required."),
        "mixed_currencies": gettext("These tickets are sold in different currencies: buy them in separate orders."),
        "gateway_not_enabled": gettext("Choose one of the payment methods offered."),
        "gateway_not_configured": gettext("Payments are not available at the moment. Please try again later."),
        "gateway_unavailable": gettext("The payment service did not answer. Please try again."),
        "idempotency_mismatch": gettext("This form was already sent with other choices. Please check them and send "
                                  "it again."),
        "idempotency_in_progress": gettext("Your order is still being processed. Please wait a moment and reload."),
    }
    return messages.get(problem or "", gettext("Your order could not be completed. Please check it and try again."))



def field_message(speaker: Speaker, code: str) -> str:
    """A form field's error: the page's own codes translated; the core schema's messages as they are."""
    gettext = speaker.gettext
    known = {"choose_tickets": gettext("Choose at least one ticket."), "not_a_number": gettext("Choose a number.")}
    return known.get(code, code)
