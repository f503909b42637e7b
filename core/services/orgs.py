"""An organisation's own settings: name, active flag, time zone, seat-hold time, who sees session attendees,
the web origins allowed to call its API from a browser or frame its pages, the default payment gateway and
whether buyers' accounts must have a verified e-mail.

The one setter used by the tenant admin (`/org/settings`) and the operator (`tenants`); never provisions an org.
"""

from __future__ import annotations

from core.db import write_transaction
from core.errors import NotFound, Unprocessable
from core.models import Org
from core.plugins import get_host
from core.services import audit, email_verification, event_settings, gateways, two_factor
from core.services.participation import VISIBILITIES as PARTICIPANTS_VISIBILITIES
from core.tenancy import forget_org
from core.timefmt import is_timezone
from core.web_origins import CORS_SETTING, EMBED_SETTING, check_origins, forget_origins

MAX_HOLD_MINUTES = 24 * 60


def get_org(org_id: str) -> Org:
    """The organisation with this id, active or not, or 404 `unknown_org`."""
    org = Org.get_or_none(Org.id == org_id)
    if org is None:
        raise NotFound(f"No tenant {org_id!r}; `boxoffice tenants list` shows them.", type="unknown_org")
    return org


def check_timezone(timezone: str) -> str:
    """`timezone` when it is an IANA name, else 422 `invalid_timezone`."""
    if not is_timezone(timezone):
        raise Unprocessable(f"Unknown time zone {timezone!r}; use an IANA name such as Europe/Paris.",
                            type="invalid_timezone")
    return timezone


def _check_hold_minutes(hold_minutes: int | None) -> int | None:
    if hold_minutes is not None and not 1 <= hold_minutes <= MAX_HOLD_MINUTES:
        raise Unprocessable(f"holdMinutes must be between 1 and {MAX_HOLD_MINUTES}.", type="invalid_hold_minutes")
    return hold_minutes


def _with_default_gateway(org: Org, identifier: str) -> dict:
    """The org's settings with `default_gateway` set ("" removes it); 422 unless buyers can pay with it."""
    settings = dict(org.settings or {})
    if not identifier:
        settings.pop(gateways.DEFAULT_GATEWAY_SETTING, None)
        return settings
    offered = sorted(gateways.offered(org))
    if identifier not in offered:
        raise Unprocessable(f"{identifier!r} is not a payment gateway buyers can use here; enable its plugin "
                            f"first (offered: {', '.join(offered) or 'none'}).", type="invalid_default_gateway",
                            gateways=offered)
    settings[gateways.DEFAULT_GATEWAY_SETTING] = identifier
    return settings


def _audited(org: Org) -> dict:
    """An organisation's settings as the audit log compares them."""
    return {"name": org.name, "active": org.active, "timezone": org.timezone, "hold_minutes": org.hold_minutes,
            **(org.settings or {})}


def update_org(org_id: str, *, name: str | None = None, active: bool | None = None,
               timezone: str | None = None, hold_minutes: int | None = None,
               clear_hold_minutes: bool = False, participants_visibility: str | None = None,
               cors_origins: list[str] | None = None, embed_origins: list[str] | None = None,
               default_gateway: str | None = None, pos_processing: str | None = None,
               admins_need_two_factor: bool | None = None, require_email_verification: bool | None = None) -> Org:
    """Rename, (de)activate or re-zone an organisation, set its hold TTL, who customers see attending sessions
    (`participants_visibility` in Org.settings), the origins whose web apps may call its API from a browser
    (`cors_origins`) or frame its embeddable pages (`embed_origins`; an empty list clears either), or the
    payment gateway a purchase naming none uses (`default_gateway` in Org.settings; "" clears it), or whether
    staff may sell at the box office for events that inherit it (`pos_processing`: enabled or disabled), or
    whether its admins must sign in with two-factor (`admins_need_two_factor`); whether customers' accounts must
    have a verified e-mail to buy (`require_email_verification`; turning it on needs an enabled plugin that sends
    the verification e-mail: 422 `email_unavailable`); a deactivated organisation's requests get 404.

    Every value is checked before anything is written (422, nothing changed); the org cache is dropped after.
    """
    org = get_org(org_id)
    before = _audited(org)
    if participants_visibility is not None:
        if participants_visibility not in PARTICIPANTS_VISIBILITIES:
            raise Unprocessable(f"participantsVisibility is one of {', '.join(PARTICIPANTS_VISIBILITIES)}.",
                                type="invalid_participants_visibility")
        org.settings = {**(org.settings or {}), "participants_visibility": participants_visibility}
    for key, origins, field in ((CORS_SETTING, cors_origins, "corsOrigins"),
                                (EMBED_SETTING, embed_origins, "embedOrigins")):
        if origins is not None:
            org.settings = {**(org.settings or {}), key: check_origins(origins, field)}
    if default_gateway is not None:
        org.settings = _with_default_gateway(org, default_gateway)
    if pos_processing is not None:
        if pos_processing not in event_settings.ORG_POS_PROCESSING:
            raise Unprocessable(f"posProcessing is one of {', '.join(event_settings.ORG_POS_PROCESSING)}.",
                                type="invalid_pos_processing")
        org.settings = {**(org.settings or {}), event_settings.ORG_POS_SETTING: pos_processing}
    if admins_need_two_factor is not None:
        org.settings = {**(org.settings or {}), two_factor.ADMINS_NEED_IT: bool(admins_need_two_factor)}
    if require_email_verification is not None:
        if require_email_verification and not email_verification.sends_links(org):
            raise email_verification.email_unavailable("requireEmailVerification")
        org.settings = {**(org.settings or {}), email_verification.REQUIRE_SETTING: require_email_verification}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise Unprocessable("A tenant needs a name of 1 to 200 characters.", type="invalid_name")
        org.name = name
    if active is not None:
        org.active = active
    if timezone is not None:
        org.timezone = check_timezone(timezone)
    if hold_minutes is not None or clear_hold_minutes:
        org.hold_minutes = _check_hold_minutes(hold_minutes)
    with write_transaction():
        org.save()
        old, new = audit.changes(before, _audited(org))
        if new:
            audit.record(org, "org.settings_changed", "org", org.id, before=old, after=new)
        forget_org(org.id)  # announced with the commit: every process drops it at once
        forget_origins()
        get_host().forget(org.id)
    return org
