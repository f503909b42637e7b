"""Staff events API (003): list with filters/sort/fields/include/cursor pages, CRUD, sync job status.

Staff only; views parse, call `core.services.events` / `event_queries` and render, nothing more.
"""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api.event_schemas import (
    ALL_FIELDS,
    DEFAULT_FIELDS,
    INCLUDES,
    EventEnvelope,
    EventInput,
    EventList,
    EventPatch,
    EventView,
    IncludeQuery,
    StaffListQuery,
    check_bracket_params,
    comma_set,
    filters_from,
    sort_spec,
)
from core.api_schema import Schema
from core.auth import require_role
from core.models import Event, Org, utcnow
from core.pagination import DEFAULT_PAGE_SIZE, page_body
from core.roles import MANAGERS, READERS
from core.services import event_queries, events, holds, sync_jobs
from core.tenancy import current_org
from core.timefmt import iso_utc

blp = Blueprint("events", __name__, description="Events catalog (staff): date, parent and recurring events")

SYNC_HEADER = "X-Event-Sync-Job-ID"


def parse_view_options(args: dict, allowed_includes: dict, default_fields) -> tuple[list, set[str]]:
    """The field list and include set of a request (400 `invalid_parameter` for unknown names)."""
    asked = comma_set(args.get("include"), set(allowed_includes), "include")
    include = {part for name in asked for part in allowed_includes[name]}
    chosen = comma_set(args.get("fields") or args.get("fields_"), ALL_FIELDS, "fields")
    field_list = ["id", *sorted(chosen - {"id"})] if chosen else list(default_fields)
    return field_list, include


def release_shown_holds(org: Org, field_list: list[str], include: set[str],
                        event_ids: list[str] | None = None) -> int:
    """Before rendering events with `field_list`/`include`: when the view shows seat figures (`counts`, or
    ticket types with `available`), release the overdue holds it would count, of `event_ids` and their
    sessions/dates (None: the whole tenant). Returns how many it released: an event row loaded before a
    release that returned more than 0 has stale counters."""
    if "counts" not in field_list and "registration_types" not in include:
        return 0
    return holds.release_overdue_of_events(org.id, event_ids, with_sessions=True)


def event_body(org: Org, event: Event, args: dict | None = None,
               default_fields: tuple[str, ...] = DEFAULT_FIELDS) -> dict:
    """The staff JSON view of one event with the request's `fields`/`include` (`args`), overdue holds it
    would count released first. Public for plugins that serve the same data in another shape."""
    field_list, include = parse_view_options(args or {}, INCLUDES, default_fields)
    if release_shown_holds(org, field_list, include, [event.id]):
        event = events.get_event(org, event.id)   # its counters changed with the release
    related = event_queries.preload(org, [event], include, want_deletable="deletable" in field_list,
                                    want_locations="location" in field_list)
    return EventView(field_list, include, related, utcnow(), staff=True)(event)


def event_list_body(org: Org, args: dict, default_fields: tuple[str, ...] = DEFAULT_FIELDS) -> dict:
    """The staff list body (`{"data": [...], "meta": {...}}`) for parsed list arguments `args`: filters, sort
    (`sort[...]` of the request), `fields`, `include` and the page. Public for plugins, like `event_body`."""
    keys = event_queries.sort_keys(sort_spec())
    field_list, include = parse_view_options(args, INCLUDES, default_fields)
    release_shown_holds(org, field_list, include)
    query = event_queries.staff_query(org, filters_from(args))
    size = args.get("limit") or args.get("page_size") or DEFAULT_PAGE_SIZE
    page = event_queries.fetch_page(query, keys, size, args.get("page_cursor"), args.get("page"))
    related = event_queries.preload(org, page.rows, include, want_deletable="deletable" in field_list,
                                    want_locations="location" in field_list)
    return page_body(page, EventView(field_list, include, related, utcnow(), staff=True))


def render_one(event: Event, args: dict | None = None, status: int = 200, job=None):
    """`{"data": <event>}` with the request's fields/include, plus the sync job header when given."""
    response = jsonify({"data": event_body(current_org(), event, args)})
    response.status_code = status
    if job is not None:
        response.headers[SYNC_HEADER] = job.id
    return response


@blp.route("/events")
class EventCollection(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(StaffListQuery, location="query")
    @blp.response(200, EventList)
    def get(self, args):
        """List events: `filter[...]`, `sort[field]=asc|desc`, `fields`, `include`, `page[size]`/`page[cursor]`
        (or `page`/`limit`). Sessions and generated dates are listed too; filter by `parent_event_id`."""
        check_bracket_params(StaffListQuery())
        return jsonify(event_list_body(current_org(), args))

    @require_role(MANAGERS, scope="events")
    @blp.arguments(EventInput)
    @blp.response(201, EventEnvelope, headers={SYNC_HEADER: {"description": "Poll GET /events/{id}/sync_jobs/{jobId}",
                                                             "schema": {"type": "string"}}})
    def post(self, data):
        """Create a date, parent (with `sessions`) or recurring (with `recurrences`) event; body bare or as
        `{"event": {...}}`. Recurring dates are generated by a background job (see the header)."""
        event, job = events.create_event(current_org(), data)
        return render_one(event, status=201, job=job)


@blp.route("/events/<event_id>")
class EventItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(IncludeQuery, location="query")
    @blp.response(200, EventEnvelope)
    def get(self, args, event_id):
        """One event; `include=` venue, sessions, recurrences, registration_types; `fields=` to pick fields."""
        return render_one(events.get_event(current_org(), event_id), args)

    @require_role(MANAGERS, scope="events")
    @blp.arguments(EventPatch(partial=True))
    @blp.response(200, EventEnvelope)
    def patch(self, data, event_id):
        """Change an event (only the fields sent). `published_at` publishes, `archived_at` archives,
        `sessions` with `id`/`_destroy` edit sessions, `recurrences` replaces the rules and regenerates
        future dates. 409 `uneditable` while a sync job runs."""
        event, job = events.update_event(current_org(), event_id, data)
        return render_one(event, job=job)

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, event_id):
        """Delete an event with its sessions/dates; 409 `event_has_sales` if it has bookings or tickets."""
        events.delete_event(current_org(), event_id)
        return "", 204


class ProgressSchema(Schema):
    done = fields.Integer()
    total = fields.Integer()


class SyncJobSchema(Schema):
    id = fields.String()
    event_id = fields.String()
    kind = fields.String(metadata={"description": "recurrence_fan_out, build or update."})
    status = fields.String(metadata={"enum": ["queued", "running", "succeeded", "failed"]})
    progress = fields.Nested(ProgressSchema)
    error = fields.String(allow_none=True)
    result = fields.Dict()
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)


class SyncJobEnvelope(Schema):
    data = fields.Nested(SyncJobSchema)


@blp.route("/events/<event_id>/sync_jobs/<job_id>")
class SyncJobItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, SyncJobEnvelope)
    def get(self, event_id, job_id):
        """Status and progress of a sync job (id from the `X-Event-Sync-Job-ID` header)."""
        return {"data": sync_job_view(sync_jobs.get_sync_job(current_org(), event_id, job_id))}


def sync_job_view(job) -> dict:
    """The JSON view of a sync job (`SyncJobSchema`). Public for plugins that serve it in another shape."""
    return {"id": job.id, "event_id": job.event_id, "kind": job.kind, "status": job.status,
            "progress": {"done": job.progress_done, "total": job.progress_total},
            "error": job.error, "result": job.result, "created_at": iso_utc(job.created_at),
            "started_at": iso_utc(job.started_at), "finished_at": iso_utc(job.finished_at)}
