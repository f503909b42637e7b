"""The public-id kit: a record's stable numeric id (`public_id`, see `core.models.public_id`) and its UUID,
looked up both ways within one tenant.

For plugins that serve APIs whose clients parse ids as numbers (`public_api_v2`): they show `public_id` and
translate the numbers they receive to the UUIDs the core services take. Another tenant's id is not found.
Models with a public id: `PUBLIC_ID_MODELS`.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import NotFound
from core.models import (
    Calendar,
    Campaign,
    Category,
    Event,
    EventList,
    EventSetting,
    Org,
    PermanentList,
    PickupType,
    Recurrence,
    Tag,
    Template,
    TicketConfiguration,
    TicketType,
    TicketTypePickup,
    Venue,
    WalletTemplate,
)
from core.models.public_id import PUBLIC_ID_LIMIT
from core.tenancy import scoped

PUBLIC_ID_MODELS = (Venue, Event, TicketType, TicketConfiguration, Category, Tag, Campaign, Calendar, PickupType,
                    TicketTypePickup, Recurrence, EventList, PermanentList, Template, EventSetting,
                    WalletTemplate)


def is_public_id(value) -> bool:
    """Whether `value` could be a public id: an int (not a bool) in [1, 2^53)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < PUBLIC_ID_LIMIT


def uuid_for(model, org: Org | str, public_id, what: str | None = None) -> str:
    """The UUID of the tenant's `model` row with `public_id`, or NotFound (`<what>_not_found`)."""
    found = uuids_for(model, org, [public_id]).get(public_id)
    if found is None:
        label = what or model.__name__.lower()
        raise NotFound(f"No {label.replace('_', ' ')} with id {public_id!r}.", type=f"{label}_not_found")
    return found


def uuids_for(model, org: Org | str, public_ids: Iterable) -> dict[int, str]:
    """public id -> UUID for the tenant's rows of `model` among `public_ids` (others are left out)."""
    wanted = {p for p in public_ids if is_public_id(p)}
    if not wanted:
        return {}
    rows = scoped(model, org, model.public_id, model.id).where(model.public_id.in_(sorted(wanted))).tuples()
    return dict(rows)


def public_ids_for(model, org: Org | str, uuids: Iterable) -> dict[str, int]:
    """UUID -> public id for the tenant's rows of `model` among `uuids` (others are left out)."""
    wanted = {u for u in uuids if isinstance(u, str)}
    if not wanted:
        return {}
    rows = scoped(model, org, model.id, model.public_id).where(model.id.in_(sorted(wanted))).tuples()
    return dict(rows)
