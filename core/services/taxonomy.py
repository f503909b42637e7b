"""Categories, tags, campaigns and calendars of a tenant: create, read, list, change and delete them.

One set of functions for the four kinds (`KINDS`), each with its own fields and checks. Knows nothing of HTTP;
never reads another tenant's record (404 `<kind>_not_found`); deleting a record detaches it from its events.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from peewee import IntegrityError

from core.db import db, write_transaction
from core.errors import Conflict, Unprocessable
from core.models import Calendar, Campaign, Category, Event, Org, Tag, utcnow
from core.pagination import DEFAULT_PAGE_SIZE, Page, SortKey, paginate_cursor
from core.tenancy import get_scoped, scoped
from core.timefmt import to_utc_naive

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def tag_key(name: str) -> str:
    """What two tag names must differ in to be two tags: the trimmed, case-folded name."""
    return name.strip().casefold()


def is_active(campaign: Campaign, now: dt.datetime) -> bool:
    """Whether `campaign` runs at `now`: from `starts_at` (inclusive; null: always did) until `ends_at`
    (exclusive; null: never ends)."""
    return ((campaign.starts_at is None or campaign.starts_at <= now)
            and (campaign.ends_at is None or now < campaign.ends_at))


def active_condition(now: dt.datetime):
    """`is_active` as SQL on the campaign table."""
    return ((Campaign.starts_at.is_null() | (Campaign.starts_at <= now))
            & (Campaign.ends_at.is_null() | (Campaign.ends_at > now)))


def _name_errors(values: dict, record) -> dict:
    if "name" in values and not str(values["name"] or "").strip():
        return {"name": ["must not be blank"]}
    return {}


def _campaign_errors(values: dict, record) -> dict:
    errors = _name_errors(values, record)
    starts = values.get("starts_at", getattr(record, "starts_at", None))
    ends = values.get("ends_at", getattr(record, "ends_at", None))
    if starts is not None and ends is not None and ends <= starts:
        errors["ends_at"] = ["must be after starts_at"]
    return errors


def _calendar_errors(values: dict, record) -> dict:
    errors = _name_errors(values, record)
    if values.get("color") is not None and not _COLOR.fullmatch(values["color"]):
        errors["color"] = ["must be a hex colour such as #1e88e5"]
    return errors


def _tag_values(values: dict) -> dict:
    if "name" in values:
        values["name"] = str(values["name"]).strip()
        values["name_key"] = tag_key(values["name"])
    return values


def _utc_times(values: dict) -> dict:
    for name in ("starts_at", "ends_at"):
        if isinstance(values.get(name), dt.datetime):
            values[name] = to_utc_naive(values[name]).replace(microsecond=0)
    return values


@dataclass(frozen=True)
class Kind:
    """One kind of record: its model, the name errors use, its settable fields, checks and list order."""

    model: type
    what: str
    fields: tuple[str, ...]
    errors: Callable[[dict, object], dict] = _name_errors
    prepare: Callable[[dict], dict] = lambda values: values
    order: tuple[str, ...] = ("name",)

    def sort_keys(self) -> list[SortKey]:
        """The keyset of its list (always ending with `id`)."""
        model = self.model
        kinds = {"position": "int"}
        return [*(SortKey(name, getattr(model, name), kinds.get(name, "str")) for name in self.order),
                SortKey("id", model.id)]


KINDS = {
    "category": Kind(Category, "category", ("name", "description", "position"), order=("position", "name")),
    "tag": Kind(Tag, "tag", ("name",), prepare=_tag_values, order=("name_key",)),
    "campaign": Kind(Campaign, "campaign", ("name", "description", "starts_at", "ends_at"),
                     errors=_campaign_errors, prepare=_utc_times),
    "calendar": Kind(Calendar, "calendar", ("name", "description", "color"), errors=_calendar_errors),
}


def _values(kind: Kind, fields: dict, record=None) -> dict:
    values = kind.prepare({k: v for k, v in fields.items() if k in kind.fields})
    errors = kind.errors(values, record)
    if errors:
        raise Unprocessable(f"The {kind.what} is invalid; see `errors`.", type=f"invalid_{kind.what}",
                            errors=errors)
    return values


def _saved(kind: Kind, record, insert: bool = False) -> object:
    """Save `record`; a tag whose name another tag of the tenant has (any case) is 409 `tag_exists`."""
    try:
        with db.atomic():  # a savepoint: a refused tag leaves the transaction usable on PostgreSQL
            record.save(force_insert=insert)
    except IntegrityError:
        if kind.model is not Tag:
            raise
        taken = scoped(Tag, record.org_id, Tag.id).where(Tag.name_key == record.name_key).first()
        raise Conflict(f"This organisation already has the tag {record.name!r} (tag names ignore case).",
                       type="tag_exists", tagId=taken.id if taken else None) from None
    return record


def get_record(org: Org, what: str, record_id: str):
    """The tenant's record of kind `what`, or 404 `<what>_not_found` (also for another tenant's)."""
    return get_scoped(KINDS[what].model, org, record_id, what)


def list_records(org: Org, what: str, size: int | None = None, cursor: str | None = None) -> Page:
    """One cursor page of the tenant's records of kind `what`, in the kind's order."""
    kind = KINDS[what]
    return paginate_cursor(scoped(kind.model, org), kind.sort_keys(), size or DEFAULT_PAGE_SIZE, cursor)


def create_record(org: Org, what: str, fields: dict):
    """A new record of kind `what` from the API fields (422 `invalid_<what>` naming a bad field)."""
    kind = KINDS[what]
    values = _values(kind, {"name": "", **fields})
    with write_transaction():
        return _saved(kind, kind.model(org=org, **values), insert=True)


def update_record(org: Org, what: str, record_id: str, fields: dict):
    """Change the fields sent of the tenant's record of kind `what`."""
    kind = KINDS[what]
    record = get_record(org, what, record_id)
    values = _values(kind, fields, record)
    with write_transaction():
        for name, value in values.items():
            setattr(record, name, value)
        return _saved(kind, record)


def delete_record(org: Org, what: str, record_id: str) -> None:
    """Delete the tenant's record of kind `what` and detach it from every event (their join rows go with it;
    events on a deleted calendar keep no calendar)."""
    kind = KINDS[what]
    record = get_record(org, what, record_id)
    with write_transaction():
        if kind.model is Calendar:
            Event.update(calendar_id=None, updated_at=utcnow()).where(
                (Event.org == org.id) & (Event.calendar_id == record.id)).execute()
        record.delete_instance(recursive=True)
