"""Events (003): create, update, publish, archive and delete date, parent (sessions) and recurring events.

Knows nothing of HTTP; never edits an event while a sync job runs on it (409 `uneditable`) and never
deletes an event that has bookings or tickets (archive it instead).
"""

from __future__ import annotations

import contextlib
import datetime as dt

from peewee import IntegrityError

from core.db import write_transaction
from core.errors import Conflict, Unprocessable
from core.models import Event, Org, Recurrence, SyncJob, Venue, utcnow
from core.models.catalog import EVENT_TYPES, VISIBILITIES
from core.plugins import hooks_for
from core.services import (
    audit,
    checkin,
    event_covers,
    event_lists,
    event_settings,
    event_taxonomy,
    passes,
    sync_jobs,
)
from core.services.event_pages import slug_problem, slugify
from core.services.event_queries import events_with_sales
from core.services.recurrence import RULE_DEFAULTS, validate_rule
from core.services.registration_types import apply_registration_types
from core.tenancy import get_scoped, scoped
from core.timefmt import is_timezone, to_utc_naive

EVENT_FIELDS = ("name", "description", "starts_at", "ends_at", "tz", "capacity", "published_at",
                "archived_at", "visibility", "position", "location")
RULE_FIELDS = ("starts_at", "ends_at", "ends", "max_occurrences", "repeat_unit", "repeat_value", "duration",
               "days", "operating_hours")
MAX_SESSIONS = 200


def get_event(org: Org, event_id: str) -> Event:
    """The tenant's event, or 404 `event_not_found` (also for another tenant's event)."""
    return get_scoped(Event, org, event_id, "event")


def _family_ids(org: Org, event: Event) -> list[str]:
    children = [r.id for r in scoped(Event, org, Event.id).where(Event.parent == event.id)]
    return [event.id, *children]


def is_deletable(org: Org, event: Event) -> bool:
    """True when neither the event nor any of its sessions/dates has a booking or ticket."""
    return not events_with_sales(org, _family_ids(org, event))


# --- validation -------------------------------------------------------------------------------------


def _invalid(errors: dict, message: str = "The event is invalid; see `errors`.", type_: str = "invalid_event"):
    raise Unprocessable(message, type=type_, errors=errors)


def _resolve_venue(org: Org, venue_id, field: str = "venue_id") -> Venue | None:
    if venue_id is None:
        return None
    venue = scoped(Venue, org).where(Venue.id == str(venue_id)[:64]).first()
    if venue is None:
        _invalid({field: [f"no venue {venue_id!r} in this organisation"]}, type_="venue_not_found")
    return venue


def _check_fields(values: dict, prefix: str = "") -> None:
    errors = {}
    if "name" in values and not str(values["name"] or "").strip():
        errors[prefix + "name"] = ["must not be blank"]
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts is not None and ends is not None and ends <= starts:
        errors[prefix + "ends_at"] = ["must be after starts_at"]
    if "tz" in values and not is_timezone(values["tz"]):
        errors[prefix + "tz"] = [f"{values['tz']!r} is not an IANA timezone such as 'Europe/Paris'"]
    if values.get("capacity") is not None and values["capacity"] < 0:
        errors[prefix + "capacity"] = ["must be >= 0"]
    if "visibility" in values and values["visibility"] not in VISIBILITIES:
        errors[prefix + "visibility"] = [f"must be one of {', '.join(VISIBILITIES)}"]
    if errors:
        _invalid(errors)


def _normalise_times(values: dict) -> dict:
    for name in ("starts_at", "ends_at", "published_at", "archived_at"):
        if isinstance(values.get(name), dt.datetime):
            values[name] = to_utc_naive(values[name]).replace(microsecond=0)
    return values


def _event_values(org: Org, data: dict, defaults: dict | None = None, prefix: str = "") -> dict:
    """Model values from API fields: times to naive UTC, venue resolved, tz defaulted, then checked."""
    values = _normalise_times({k: v for k, v in data.items() if k in EVENT_FIELDS})
    if "venue_id" in data:
        values["venue"] = _resolve_venue(org, data["venue_id"], prefix + "venue_id")
    if defaults is not None:
        for key, value in defaults.items():
            values.setdefault(key, value)
        missing = [k for k in ("name", "starts_at", "ends_at") if values.get(k) is None]
        if missing:
            _invalid({prefix + k: ["is required"] for k in missing})
        if "tz" not in values:
            venue = values.get("venue")
            values["tz"] = venue.tz if venue is not None else (org.timezone or "UTC")
    _check_fields(values, prefix)
    return values


# --- create / update ----------------------------------------------------------------------------------


def _unique_slug(org: Org, name: str, event_id: str) -> str:
    slug = slugify(name)
    if scoped(Event, org, Event.id).where(Event.slug == slug).exists():
        slug = f"{slug[:290]}-{event_id[:8]}"
    return slug


def _slug_taken(slug: str, field: str = "slug") -> Unprocessable:
    return Unprocessable(f"Another event of yours already has the slug {slug!r}.", type="slug_taken",
                         errors={field: ["already used by another event of this organisation"]})


def _chosen_slug(org: Org, data: dict, event_id: str, field: str = "slug") -> str | None:
    """The slug sent in `data` (None when none was sent), checked: well-formed (422 `invalid_event`) and not
    another event's of the tenant (422 `slug_taken`)."""
    slug = data.get("slug")
    if slug is None:
        return None
    problem = slug_problem(slug)
    if problem:
        _invalid({field: [problem]})
    if scoped(Event, org, Event.id).where((Event.slug == slug) & (Event.id != event_id)).exists():
        raise _slug_taken(slug, field)
    return slug


@contextlib.contextmanager
def _slug_guard(slug: str | None):
    """Turn the unique (org, slug) index's refusal (a concurrent request took the slug) into 422 `slug_taken`."""
    try:
        yield
    except IntegrityError as exc:
        raise _slug_taken(slug or "") from exc


def _with_overlap_setting(kind: str, settings: dict | None, data: dict) -> dict:
    """The event's settings with the body's `allow_overlap` applied (read by participation); 422 on an event
    that has no sessions to overlap."""
    settings = dict(settings or {})
    if "allow_overlap" in data:
        if kind != "parent":
            _invalid({"allow_overlap": ["only parent events have sessions that can overlap"]})
        settings["allow_overlap"] = bool(data["allow_overlap"])
    return settings


def _new_event(org: Org, values: dict, slug: str | None = None, **extra) -> Event:
    event = Event(org=org, **values, **extra)
    event.slug = slug or _unique_slug(org, event.name, event.id)
    event.save(force_insert=True)
    event_lists.add_default_lists(org.id, [event])
    return event


def _create_sessions(org: Org, parent: Event, sessions: list[dict], first_index: int = 0) -> None:
    if len(sessions) > MAX_SESSIONS:
        _invalid({"sessions": [f"at most {MAX_SESSIONS} sessions"]})
    for offset, session in enumerate(sessions):
        prefix = f"sessions[{first_index + offset}]."
        defaults = {"tz": parent.tz, "venue": parent.venue, "capacity": None, "visibility": parent.visibility}
        if session.get("venue_id") is not None:
            defaults.pop("tz")
        values = _event_values(org, session, defaults=defaults, prefix=prefix)
        child = _new_event(org, values, type="date", parent=parent)
        apply_registration_types(org, child, session.get("registration_types") or [], prefix)


def _add_rule(org: Org, event: Event, rule: dict, index: int) -> None:
    if rule.get("id") is not None:
        _invalid({f"recurrences[{index}].id": ["names an existing rule to change: only on update"]})
    if rule.get("_destroy"):
        _invalid({f"recurrences[{index}]._destroy": ["needs the `id` of the rule to remove"]})
    values = {**RULE_DEFAULTS, **_normalise_times({k: v for k, v in rule.items() if k in RULE_FIELDS})}
    Recurrence.create(org=org, event=event, **validate_rule(values, index))


def _add_rules(org: Org, event: Event, rules: list[dict]) -> None:
    for index, rule in enumerate(rules):
        _add_rule(org, event, rule, index)


def _apply_rules(org: Org, event: Event, rules: list[dict]) -> None:
    """003 PATCH of `recurrences`: a rule with `id` (its UUID) changes in place, or with `_destroy: true` is
    removed; one without `id` is added; rules not sent stay. At least one rule must remain."""
    current = {rule.id: rule for rule in scoped(Recurrence, org).where(Recurrence.event == event.id)}
    for index, item in enumerate(rules):
        if item.get("id") is None:
            _add_rule(org, event, item, index)
            continue
        rule = current.pop(str(item["id"]), None)
        if rule is None:
            _invalid({f"recurrences[{index}].id": ["no such rule of this event"]})
        if item.get("_destroy"):
            rule.delete_instance()
            continue
        sent = _normalise_times({k: v for k, v in item.items() if k in RULE_FIELDS})
        values = validate_rule({**{name: getattr(rule, name) for name in RULE_FIELDS}, **sent}, index)
        for name in sent:
            setattr(rule, name, values[name])
        rule.save()
    if not scoped(Recurrence, org, Recurrence.id).where(Recurrence.event == event.id).exists():
        _invalid({"recurrences": ["a recurring event needs at least one recurrence rule"]})


def _notify_published(org: Org, event: Event, was_published: bool) -> None:
    if event.published_at is not None and not was_published:
        hooks_for(org).notify("event_published", org=org, event=event)


def _insert_event(org: Org, kind: str, data: dict, slug: str | None) -> tuple[Event, SyncJob]:
    """One write transaction: the event with its sessions, rules, registration types, taxonomy and passes; an
    IntegrityError when the unique slug index refuses it."""
    sessions, rules = data.get("sessions") or [], data.get("recurrences") or []
    with write_transaction():
        values = _event_values(org, data, defaults={})
        settings = _with_overlap_setting(kind, None, data)
        chosen = {"settings": settings, **event_settings.event_setting_values(org, data, settings)}
        event = _new_event(org, values, slug, type=kind, syncing=kind == "recurring", **chosen)
        _create_sessions(org, event, sessions)
        _add_rules(org, event, rules)
        apply_registration_types(org, event, data.get("registration_types") or [])
        event_taxonomy.apply_to_event(org, event, data)
        passes.apply_passes(org, event, data.get("passes") or [], creating=True)
        job_row = sync_jobs.record_job(org, event, sync_jobs.FAN_OUT if rules else "build",
                                       status="queued" if rules else "succeeded")
        if rules:
            sync_jobs.queue_fan_out(job_row)
        _notify_published(org, event, was_published=False)
    return event, job_row


def create_event(org: Org, data: dict) -> tuple[Event, SyncJob]:
    """Create an event of any type with its sessions, recurrences and registration types.

    Parent events are published on create (003); a recurring event's dates are generated by a sync job.
    Returns the event and its sync job (for `X-Event-Sync-Job-ID`).
    """
    kind = data.get("type") or "date"
    if kind not in EVENT_TYPES:
        _invalid({"type": [f"must be one of {', '.join(EVENT_TYPES)}"]})
    sessions, rules = data.get("sessions") or [], data.get("recurrences") or []
    if kind == "parent" and not sessions:
        _invalid({"sessions": ["a parent event needs at least one session"]})
    if kind != "parent" and sessions:
        _invalid({"sessions": ["only parent events have sessions"]})
    if kind == "recurring" and not rules:
        _invalid({"recurrences": ["a recurring event needs at least one recurrence rule"]})
    if kind != "recurring" and rules:
        _invalid({"recurrences": ["only recurring events have recurrences"]})
    if kind != "parent" and data.get("passes"):
        _invalid({"passes": ["only parent events have passes (they cover every session)"]})
    data = dict(data)
    if kind == "parent":
        starts = [s["starts_at"] for s in sessions if s.get("starts_at")]
        ends = [s["ends_at"] for s in sessions if s.get("ends_at")]
        if starts and ends:
            data.setdefault("starts_at", min(starts))
            data.setdefault("ends_at", max(ends))
        if data.get("published_at") is None:
            data["published_at"] = utcnow()
    slug = _chosen_slug(org, data, "")
    try:
        event, job_row = _insert_event(org, kind, data, slug)
    except IntegrityError:
        if slug is not None:
            raise _slug_taken(slug) from None
        event, job_row = _insert_event(org, kind, data, slug)  # a generated slug was taken meanwhile: again
    if rules:
        event = event.reread()
    return event, job_row


def _save_edited(org: Org, event: Event, capacity_before: int | None) -> None:
    """Write an edited event or session; a change of its capacity is recorded in the audit log with it."""
    event.save()
    if event.capacity != capacity_before:
        audit.record(org, "event.capacity_changed", "event", event.id, before={"capacity": capacity_before},
                     after={"capacity": event.capacity})


def _apply_sessions(org: Org, parent: Event, sessions: list[dict]) -> None:
    existing = scoped(Event, org, Event.id).where(Event.parent == parent.id).count()
    new = [s for s in sessions if not s.get("id")]
    for index, session in enumerate(sessions):
        if not session.get("id"):
            continue
        child = scoped(Event, org).where((Event.id == str(session["id"])[:64])
                                         & (Event.parent == parent.id)).first()
        if child is None:
            _invalid({f"sessions[{index}].id": ["no such session of this event"]})
        if session.get("_destroy"):
            if events_with_sales(org, [child.id]):
                raise Conflict("This session has bookings or tickets; archive it instead.",
                               type="event_has_sales")
            checkin.forget_scans(org.id, [child.id])
            child.delete_instance()
            continue
        values = _event_values(org, session, prefix=f"sessions[{index}].")
        _check_fields({"starts_at": values.get("starts_at", child.starts_at),
                       "ends_at": values.get("ends_at", child.ends_at)}, f"sessions[{index}].")
        capacity_before = child.capacity
        for key, value in values.items():
            setattr(child, key, value)
        _save_edited(org, child, capacity_before)
        apply_registration_types(org, child, session.get("registration_types") or [], f"sessions[{index}].")
    _create_sessions(org, parent, new, first_index=existing)


def update_event(org: Org, event_id: str, data: dict) -> tuple[Event, SyncJob]:
    """Change an event (003 PATCH): fields, sessions, registration types and passes (in place: `id` updates,
    `_destroy` removes, no `id` adds), and recurrence rules (`id`/`_destroy` likewise; the future dates without
    sales are regenerated). 409 while syncing."""
    event = get_event(org, event_id)
    sessions, rules = data.get("sessions"), data.get("recurrences")
    if data.get("type") not in (None, event.type):
        _invalid({"type": ["the type of an event cannot change"]})
    if sessions is not None and event.type != "parent":
        _invalid({"sessions": ["only parent events have sessions"]})
    if rules is not None and (event.type != "recurring" or not rules):
        _invalid({"recurrences": ["only recurring events have recurrences, and they need at least one"]})
    if data.get("passes") and event.type != "parent":
        _invalid({"passes": ["only parent events have passes (they cover every session)"]})
    was_published = event.published_at is not None
    capacity_before = event.capacity
    slug = _chosen_slug(org, data, event.id)
    with _slug_guard(slug), write_transaction():
        sync_jobs.claim_event(org.id, event.id, syncing_after=rules is not None)
        values = _event_values(org, data)
        if slug is not None:
            values["slug"] = slug   # a rename keeps the slug; only sending one changes it
        _check_fields({"starts_at": values.get("starts_at", event.starts_at),
                       "ends_at": values.get("ends_at", event.ends_at)})
        for key, value in values.items():
            setattr(event, key, value)
        event.settings = _with_overlap_setting(event.type, event.settings, data)
        for key, value in event_settings.event_setting_values(org, data, event.settings).items():
            setattr(event, key, value)
        event.syncing = rules is not None
        _save_edited(org, event, capacity_before)
        if sessions is not None:
            _apply_sessions(org, event, sessions)
        if rules is not None:
            _apply_rules(org, event, rules)
        apply_registration_types(org, event, data.get("registration_types") or [])
        event_taxonomy.apply_to_event(org, event, data)
        passes.apply_passes(org, event, data.get("passes") or [], creating=False)
        job_row = sync_jobs.record_job(org, event, sync_jobs.FAN_OUT if rules is not None else "update",
                                       status="queued" if rules is not None else "succeeded")
        if rules is not None:
            sync_jobs.queue_fan_out(job_row)
        _notify_published(org, event, was_published)
        if _raised(capacity_before, event.capacity):
            hooks_for(org).notify("event_capacity_raised", org=org, event=event)
    if rules is not None:
        event = event.reread()
    return event, job_row


def _raised(before: int | None, after: int | None) -> bool:
    """True when a capacity went up or its limit was removed."""
    return before is not None and (after is None or after > before)


def delete_event(org: Org, event_id: str) -> None:
    """Delete an event with its sessions/dates; 409 `event_has_sales` if any has bookings or tickets,
    409 `uneditable` while it syncs."""
    event = get_event(org, event_id)
    if not is_deletable(org, event):
        raise Conflict("This event has bookings or tickets and cannot be deleted; archive it instead "
                       "(PATCH `archived_at`).", type="event_has_sales")
    with write_transaction():
        sync_jobs.claim_event(org.id, event.id, syncing_after=False)
        doomed = [event.id] + [row.id for row in scoped(Event, org, Event.id).where(Event.parent == event.id)]
        hooks_for(org).within("event_deleting", org=org, event_ids=doomed)
        checkin.forget_scans(org.id, doomed)
        event_lists.forget_events(org, doomed)
        event_covers.forget_events(org, doomed)
        Event.delete().where((Event.org == org.id) & Event.id.in_(doomed)).execute()
