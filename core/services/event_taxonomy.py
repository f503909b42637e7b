"""Categories, tags, campaigns, the calendar and permanence of events: set from an event body, loaded for a
page of events (one query per relationship), and the events-list filters on them.

Knows nothing of HTTP. Every id in a body must name the tenant's own record (422 `unknown_ids` naming the
field, whether it is missing or another tenant's); never one query per listed event.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from core.models import (
    Calendar,
    Campaign,
    Category,
    Event,
    EventCampaign,
    EventCategory,
    EventTag,
    Org,
    Tag,
    utcnow,
)
from core.services.taxonomy import active_condition, create_record, tag_key
from core.tenancy import along, require_own_ids, scoped

BODY_FIELDS = ("category_ids", "tag_ids", "tags", "campaign_ids", "calendar_id", "permanent")
PERMANENCE = {"permanent": True, "non_permanent": False}
# body field -> (join model, its column naming the record, the record's model)
_LINKS = {
    "category_ids": (EventCategory, "category", Category),
    "tag_ids": (EventTag, "tag", Tag),
    "campaign_ids": (EventCampaign, "campaign", Campaign),
}


def _org_id(org: Org | str) -> str:
    return org if isinstance(org, str) else org.id


def _tags_named(org: Org, names: list[str]) -> list[str]:
    """The ids of the tenant's tags with these names (case ignored), creating the missing ones."""
    wanted = {tag_key(name): name.strip() for name in names if name.strip()}
    if not wanted:
        return []
    found = {row.name_key: row.id for row in scoped(Tag, org, Tag.id, Tag.name_key)
             .where(Tag.name_key.in_(list(wanted)))}
    for key, name in wanted.items():
        if key not in found:
            found[key] = create_record(org, "tag", {"name": name}).id
    return [found[key] for key in wanted]


def _replace_links(org: Org, event: Event, field: str, record_ids: list[str]) -> None:
    join, column, _ = _LINKS[field]
    join.delete().where((join.org == org.id) & (join.event == event.id)).execute()
    if record_ids:
        now = utcnow()
        join.insert_many([{"org": org.id, "event": event.id, column: record_id, "created_at": now,
                           "updated_at": now} for record_id in record_ids]).execute()


def apply_to_event(org: Org, event: Event, data: dict) -> None:
    """Set what `data` (an event body) says of `event`'s categories, tags, campaigns, calendar and permanence,
    inside the caller's write transaction. A list sent replaces that relationship (`tags` by name and `tag_ids`
    together make the tag list; a tag named that the tenant lacks is created); a field left out changes nothing.
    An id that is not the tenant's is 422 `unknown_ids` naming the field, and the caller's transaction rolls
    back."""
    if not any(name in data for name in BODY_FIELDS):
        return
    chosen = {field: require_own_ids(model, org, data[field], field)
              for field, (_, _, model) in _LINKS.items() if data.get(field) is not None}
    if data.get("tags") is not None:
        named = _tags_named(org, data["tags"])
        chosen["tag_ids"] = list(dict.fromkeys([*chosen.get("tag_ids", ()), *named]))
    changes = {}
    if "calendar_id" in data:
        calendar = data["calendar_id"]
        changes["calendar_id"] = None if calendar is None else require_own_ids(
            Calendar, org, [calendar], "calendar_id")[0]
    if data.get("permanent") is not None:
        changes["permanent"] = bool(data["permanent"])
    for field, record_ids in chosen.items():
        _replace_links(org, event, field, record_ids)
    if changes:
        Event.update(**changes, updated_at=utcnow()).where((Event.org == org.id) & (Event.id == event.id)).execute()
        for name, value in changes.items():
            setattr(event, name, value)


def _attached(org: Org | str, model, join, column: str, event_ids: list[str], order, *where) -> dict:
    """event id -> `model` records attached to it through `join`, for all `event_ids` in one query."""
    found = defaultdict(list)
    if not event_ids:
        return found
    link = getattr(join, column)
    query = (scoped(model, org, model, join.event.alias("attached_to")).join(join, on=(link == model.id))
             .where((join.org == _org_id(org)) & join.event.in_(event_ids), *where).order_by(*order, model.id))
    for record in query.objects():
        found[record.attached_to].append(record)
    return found


def categories_of(org: Org | str, event_ids: list[str]) -> dict:
    """event id -> its categories (by position, then name), for a page of events in one query."""
    return _attached(org, Category, EventCategory, "category", event_ids, (Category.position, Category.name))


def tags_of(org: Org | str, event_ids: list[str]) -> dict:
    """event id -> its tags (by name), for a page of events in one query."""
    return _attached(org, Tag, EventTag, "tag", event_ids, (Tag.name_key,))


def active_campaigns_of(org: Org | str, event_ids: list[str], now: dt.datetime) -> dict:
    """event id -> its campaigns active at `now` (by name), for a page of events in one query."""
    return _attached(org, Campaign, EventCampaign, "campaign", event_ids, (Campaign.name,), active_condition(now))


def filter_conditions(org: Org | str, calendar_id: str | None = None, category_id: str | None = None,
                      tag: str | None = None, permanence: str | None = None) -> list:
    """SQL conditions on `Event` for the events list's `filter[calendar_id]`, `filter[category_id]`,
    `filter[tag]` (a tag name, case ignored) and `filter[permanence]` (`permanent` | `non_permanent`); each
    uses an (org, ...) index."""
    conditions = []
    if calendar_id is not None:
        conditions.append(Event.calendar_id == calendar_id)
    if category_id is not None:
        conditions.append(Event.id.in_(scoped(EventCategory, org, EventCategory.event)
                                       .where(EventCategory.category == category_id)))
    if tag is not None:
        tagged = (scoped(EventTag, org, EventTag.event).join(Tag, on=along(EventTag.tag))
                  .where(Tag.name_key == tag_key(tag)))
        conditions.append(Event.id.in_(tagged))
    if permanence is not None:
        conditions.append(Event.permanent == PERMANENCE[permanence])
    return conditions
