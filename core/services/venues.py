"""Venues of a tenant: create, update, delete, with their IANA timezone (the default for their events).

Knows nothing of HTTP; never touches another tenant's venue (every lookup goes through `get_scoped`).
"""

from __future__ import annotations

from core.db import write_transaction
from core.errors import Unprocessable
from core.models import Org, Venue
from core.tenancy import get_scoped
from core.timefmt import is_timezone

VENUE_FIELDS = ("name", "address", "city", "country", "tz", "capacity")


def _check(fields: dict) -> None:
    errors = {}
    if "name" in fields and not str(fields["name"] or "").strip():
        errors["name"] = ["must not be blank"]
    if "tz" in fields and not is_timezone(fields["tz"]):
        errors["tz"] = [f"{fields['tz']!r} is not an IANA timezone such as 'Europe/Paris'"]
    if fields.get("capacity") is not None and fields["capacity"] < 0:
        errors["capacity"] = ["must be >= 0"]
    if errors:
        raise Unprocessable("The venue is invalid; see `errors`.", type="invalid_venue", errors=errors)


def get_venue(org: Org, venue_id: str) -> Venue:
    """The tenant's venue, or 404 `venue_not_found`."""
    return get_scoped(Venue, org, venue_id, "venue")


def create_venue(org: Org, fields: dict) -> Venue:
    """A new venue; `tz` defaults to the organisation's timezone."""
    values = {k: v for k, v in fields.items() if k in VENUE_FIELDS}
    values.setdefault("tz", org.timezone or "UTC")
    _check({"name": "", **values})
    with write_transaction():
        return Venue.create(org=org, **values)


def update_venue(org: Org, venue_id: str, fields: dict) -> Venue:
    """Change some fields of a venue (its events keep their own stored timezone)."""
    venue = get_venue(org, venue_id)
    values = {k: v for k, v in fields.items() if k in VENUE_FIELDS}
    _check(values)
    with write_transaction():
        for name, value in values.items():
            setattr(venue, name, value)
        venue.save()
    return venue


def delete_venue(org: Org, venue_id: str) -> None:
    """Delete a venue; its events stay, without a venue."""
    venue = get_venue(org, venue_id)
    with write_transaction():
        venue.delete_instance()
