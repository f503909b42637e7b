"""Staff events: create each type, validation, timezones, publish, update/409 uneditable, sync jobs, delete."""

import datetime as dt

from core.models.base import utcnow


def iso(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def future(days: float = 10, hours: float = 0) -> dt.datetime:
    return (utcnow() + dt.timedelta(days=days, hours=hours)).replace(microsecond=0, second=0)


def in_db(fn, *args, **kwargs):
    """Run a service/model call outside a request, with its own connection."""
    from core import db as database

    with database.db.connection_context():
        return fn(*args, **kwargs)


def make_event(client, **fields):
    start = fields.pop("start", future())
    body = {"name": "Gala", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=3)), **fields}
    response = client.post("/events", json={"event": body})
    assert response.status_code == 201, response.get_json()
    return response


def test_create_date_event_renders_003_fields_and_tz(tenant):
    venue = tenant.staff.post("/venues", json={"name": "Hall", "tz": "Australia/Melbourne"}).get_json()["data"]
    response = tenant.staff.post("/events", json={"event": {
        "name": "New Year's Eve Gala", "venue_id": venue["id"], "starts_at": "2030-12-31T09:00:00Z",
        "ends_at": "2030-12-31T15:00:00Z", "capacity": 500}})
    assert response.status_code == 201
    assert response.headers["X-Event-Sync-Job-ID"]
    data = response.get_json()["data"]
    assert list(data) == ["id", "created_at", "updated_at", "name", "slug", "status", "venue_id",
                          "parent_event_id", "calendar_id", "published_at", "capacity", "type", "start",
                          "end", "allow_overlap", "permanent", "path", "location", "publish", "cover",
                          "site_url", "checkout_url", "deletable"]
    assert data["type"] == "date" and data["status"] == "future" and data["deletable"] is True
    assert data["published_at"] is None and data["slug"] == "new-year-s-eve-gala"
    assert data["start"] == {"tz": "Australia/Melbourne", "local": "2030-12-31T20:00:00+11:00",
                             "utc": "2030-12-31T09:00:00Z"}
    assert len(data["id"]) == 36 and data["venue_id"] == venue["id"]
    job = tenant.staff.get(f"/events/{data['id']}/sync_jobs/{response.headers['X-Event-Sync-Job-ID']}")
    assert job.status_code == 200 and job.get_json()["data"]["status"] == "succeeded"


def test_bare_body_and_offsets_are_accepted(tenant):
    response = tenant.staff.post("/events", json={"name": "Bare", "tz": "Europe/Paris",
                                                  "starts_at": "2030-07-01T20:00:00+02:00",
                                                  "ends_at": "2030-07-01T23:00:00+02:00"})
    assert response.status_code == 201
    start = response.get_json()["data"]["start"]
    assert start == {"tz": "Europe/Paris", "local": "2030-07-01T20:00:00+02:00", "utc": "2030-07-01T18:00:00Z"}


def test_validation_errors_are_4xx_with_type(tenant, other_tenant):
    staff = tenant.staff
    cases = [
        {"name": "x", "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
        {"name": "x"},
        {"name": "x", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z", "tz": "Mars/Base"},
        {"name": "x", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z", "capacity": -1},
        {"name": "x", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z", "type": "party"},
        {"name": "x", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z", "type": "parent"},
        {"name": "x", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z", "type": "recurring"},
        {"name": "x", "starts_at": "not a date", "ends_at": "2030-01-02T00:00:00Z"},
    ]
    for body in cases:
        response = staff.post("/events", json={"event": body})
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["type"] in ("invalid_event", "validation_error")
    foreign_venue = other_tenant.staff.post("/venues", json={"name": "Theirs"}).get_json()["data"]["id"]
    response = staff.post("/events", json={"name": "x", "venue_id": foreign_venue,
                                           "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z"})
    assert response.status_code == 422 and response.get_json()["type"] == "venue_not_found"
    assert tenant.guest.post("/events", json={"name": "x"}).status_code == 401
    assert tenant.customer().post("/events", json={"name": "x"}).status_code == 403


def test_parent_event_with_sessions_and_registration_types(tenant):
    response = tenant.staff.post("/events", json={"event": {
        "type": "parent", "name": "Tasting Tour", "tz": "UTC",
        "sessions": [
            {"name": "Session A", "starts_at": "2030-09-01T17:00:00Z", "ends_at": "2030-09-01T19:00:00Z",
             "registration_types": [{"name": "GA", "price": 50, "inventory": 50, "ticket_type_id": None},
                                    {"name": "VIP", "price": 125.5, "inventory": 10}]},
            {"name": "Session B", "starts_at": "2030-09-01T19:30:00Z", "ends_at": "2030-09-01T22:00:00Z",
             "published_at": "2020-01-01T00:00:00Z"},
        ]}})
    assert response.status_code == 201, response.get_json()
    parent = response.get_json()["data"]
    assert parent["type"] == "parent" and parent["published_at"] is not None
    assert parent["start"]["utc"] == "2030-09-01T17:00:00Z" and parent["end"]["utc"] == "2030-09-01T22:00:00Z"
    full = tenant.staff.get(f"/events/{parent['id']}?include=sessions,registration_types").get_json()["data"]
    names = [s["name"] for s in full["sessions"]]
    assert names == ["Session A", "Session B"]
    session_a, session_b = full["sessions"]
    assert session_a["published_at"] is None and session_b["published_at"] is not None
    assert session_a["parent_event_id"] == parent["id"]
    prices = {rt["name"]: rt["prices"][0]["amount"] for rt in session_a["registration_types"]}
    assert prices == {"GA": 5000, "VIP": 12550}
    listed = tenant.staff.get(f"/events?filter[parent_event_id]={parent['id']}").get_json()
    assert [e["name"] for e in listed["data"]] == ["Session A", "Session B"]


def test_fields_not_built_yet_are_refused_not_ignored(tenant):
    """003 fields the core cannot honour yet are a 422 naming the field, and nothing is created."""
    before = len(tenant.staff.get("/events").get_json()["data"])
    typed = tenant.staff.post("/events", json={"event": {
        "name": "Gig", "starts_at": "2030-09-01T17:00:00Z", "ends_at": "2030-09-01T19:00:00Z",
        "registration_types": [{"name": "GA", "price": 50, "inventory": 50, "ticket_type_id": 2217}]}})
    assert typed.status_code == 422, typed.get_json()
    assert "ticket_type_id" in typed.get_json()["errors"]["json"]["registration_types"]["0"]
    assert len(tenant.staff.get("/events").get_json()["data"]) == before


def test_recurring_event_fans_out_weekly_in_local_time_across_dst(tenant):
    response = tenant.staff.post("/events", json={"event": {
        "type": "recurring", "name": "Weekly Tasting", "tz": "Europe/Paris",
        "starts_at": "2030-03-18T17:00:00Z", "ends_at": "2030-03-18T19:00:00Z",
        "published_at": "2020-01-01T00:00:00Z",
        "registration_types": [{"name": "GA", "price": 10, "inventory": 20}],
        "recurrences": [{"starts_at": "2030-03-18T17:00:00Z", "ends_at": "2030-04-10T00:00:00Z",
                         "ends": "on_date", "repeat_unit": "week", "repeat_value": 1, "duration": 2,
                         "days": ["monday", "wednesday"]}]}})
    assert response.status_code == 201, response.get_json()
    event = response.get_json()["data"]
    job_id = response.headers["X-Event-Sync-Job-ID"]
    job = tenant.staff.get(f"/events/{event['id']}/sync_jobs/{job_id}").get_json()["data"]
    assert job["kind"] == "recurrence_fan_out" and job["status"] == "succeeded"
    assert job["progress"] == {"done": 7, "total": 7}
    dates = tenant.staff.get(f"/events?filter[parent_event_id]={event['id']}&page[size]=50"
                             "&include=registration_types").get_json()["data"]
    assert [d["start"]["local"][:10] for d in dates] == ["2030-03-18", "2030-03-20", "2030-03-25", "2030-03-27",
                                                         "2030-04-01", "2030-04-03", "2030-04-08"]
    # 18:00 local before and after the switch to summer time (31 March 2030)
    assert {d["start"]["local"][11:] for d in dates} == {"18:00:00+01:00", "18:00:00+02:00"}
    assert dates[0]["start"]["utc"] == "2030-03-18T17:00:00Z" and dates[-1]["start"]["utc"] == "2030-04-08T16:00:00Z"
    assert dates[0]["end"]["utc"] == "2030-03-18T19:00:00Z"
    assert all(d["type"] == "date" and d["registration_types"][0]["name"] == "GA" for d in dates)
    # removing the rule (`_destroy`) and adding another regenerates the future dates
    old = tenant.staff.get(f"/events/{event['id']}?include=recurrences").get_json()["data"]["recurrences"][0]
    patched = tenant.staff.patch(f"/events/{event['id']}", json={"event": {"recurrences": [
        {"id": old["id"], "_destroy": True},
        {"starts_at": "2030-03-18T17:00:00Z", "ends": "after_occurrences", "max_occurrences": 3,
         "repeat_unit": "day", "repeat_value": 2}]}})
    assert patched.status_code == 200, patched.get_json()
    assert patched.headers["X-Event-Sync-Job-ID"] != job_id
    dates = tenant.staff.get(f"/events?filter[parent_event_id]={event['id']}").get_json()["data"]
    assert [d["start"]["utc"] for d in dates] == ["2030-03-18T17:00:00Z", "2030-03-20T17:00:00Z",
                                                  "2030-03-22T17:00:00Z"]
    rules = tenant.staff.get(f"/events/{event['id']}?include=recurrences").get_json()["data"]["recurrences"]
    assert len(rules) == 1 and rules[0]["repeat_unit"] == "day"


def test_never_ending_rule_is_capped(tenant):
    response = tenant.staff.post("/events", json={"type": "recurring", "name": "Daily", "tz": "UTC",
                                                  "starts_at": iso(future(1)), "ends_at": iso(future(1, 1)),
                                                  "recurrences": [{"starts_at": iso(future(1)), "ends": "never",
                                                                   "repeat_unit": "day"}]})
    job = tenant.staff.get(f"/events/{response.get_json()['data']['id']}/sync_jobs/"
                           f"{response.headers['X-Event-Sync-Job-ID']}").get_json()["data"]
    assert 360 <= job["progress"]["total"] <= 367


def test_invalid_recurrence_is_422(tenant):
    response = tenant.staff.post("/events", json={"type": "recurring", "name": "Bad", "starts_at": iso(future()),
                                                  "ends_at": iso(future(10, 1)),
                                                  "recurrences": [{"starts_at": iso(future()), "ends": "on_date"}]})
    assert response.status_code == 422 and response.get_json()["type"] == "invalid_recurrence"


def test_publish_update_and_uneditable_while_syncing(tenant):
    event = make_event(tenant.staff).get_json()["data"]
    response = tenant.staff.patch(f"/events/{event['id']}", json={"event": {"name": "Renamed",
                                                                            "published_at": iso(utcnow())}})
    assert response.status_code == 200 and response.headers["X-Event-Sync-Job-ID"]
    data = response.get_json()["data"]
    assert data["name"] == "Renamed" and data["published_at"] is not None
    bad = tenant.staff.patch(f"/events/{event['id']}", json={"ends_at": "2000-01-01T00:00:00Z"})
    assert bad.status_code == 422

    from audits import start_sync_job

    from core.models import Event, Org
    from core.services.sync_jobs import finish_job

    job = in_db(lambda: start_sync_job(Org.get_by_id(tenant.orgid), Event.get_by_id(event["id"]),
                                       "storefront_mirror"))
    blocked = tenant.staff.patch(f"/events/{event['id']}", json={"name": "Again"})
    assert blocked.status_code == 409
    assert blocked.get_json()["type"] == "uneditable"
    assert "syncing" in blocked.get_json()["message"]
    running = tenant.staff.get(f"/events/{event['id']}/sync_jobs/{job.id}").get_json()["data"]
    assert running["status"] == "running" and running["finished_at"] is None
    in_db(finish_job, job)
    assert tenant.staff.patch(f"/events/{event['id']}", json={"name": "Again"}).status_code == 200


def test_a_job_whose_worker_died_is_failed_and_the_event_released(tenant):
    """A job that reported nothing for 10 minutes is lost: the next edit fails it and goes through; a
    worker that picks the lost job up later leaves it alone."""
    import datetime as dt

    from audits import start_sync_job

    from core.models import Event, Org, SyncJob
    from core.services import sync_jobs

    event = make_event(tenant.staff).get_json()["data"]
    org = in_db(Org.get_by_id, tenant.orgid)
    quiet = in_db(lambda: start_sync_job(org, Event.get_by_id(event["id"]), "recurrence_fan_out"))
    in_db(lambda: SyncJob.update(updated_at=utcnow() - dt.timedelta(minutes=9)).where(
        SyncJob.id == quiet.id).execute())
    busy = tenant.staff.patch(f"/events/{event['id']}", json={"name": "Too soon"})
    assert busy.status_code == 409 and "10 minutes" in busy.get_json()["message"]

    in_db(lambda: SyncJob.update(updated_at=utcnow() - dt.timedelta(minutes=11), status="queued").where(
        SyncJob.id == quiet.id).execute())
    edited = tenant.staff.patch(f"/events/{event['id']}", json={"name": "After the crash"})
    assert edited.status_code == 200 and edited.get_json()["data"]["name"] == "After the crash"
    lost = tenant.staff.get(f"/events/{event['id']}/sync_jobs/{quiet.id}").get_json()["data"]
    assert lost["status"] == "failed" and "worker was lost" in lost["error"] and lost["finished_at"]

    in_db(sync_jobs.fan_out_recurrences, tenant.orgid, quiet.id)  # the worker comes back with the old job
    again = tenant.staff.get(f"/events/{event['id']}/sync_jobs/{quiet.id}").get_json()["data"]
    assert again["status"] == "failed" and again["error"] == lost["error"]
    assert tenant.staff.patch(f"/events/{event['id']}", json={"name": "Editable"}).status_code == 200


def test_delete_and_archive(tenant):
    event = make_event(tenant.staff).get_json()["data"]
    assert tenant.staff.delete(f"/events/{event['id']}").status_code == 204
    assert tenant.staff.get(f"/events/{event['id']}").status_code == 404

    sold = make_event(tenant.staff).get_json()["data"]
    from core.models import Booking

    in_db(Booking.create, org=tenant.orgid, event=sold["id"], email="a@b.co")
    assert tenant.staff.get(f"/events/{sold['id']}").get_json()["data"]["deletable"] is False
    refused = tenant.staff.delete(f"/events/{sold['id']}")
    assert refused.status_code == 409 and refused.get_json()["type"] == "event_has_sales"
    archived = tenant.staff.patch(f"/events/{sold['id']}", json={"archived_at": iso(utcnow())})
    assert archived.status_code == 200
    assert tenant.staff.get(f"/events/{sold['id']}?fields=archived_at").get_json()["data"]["archived_at"]


def test_other_tenant_cannot_see_or_touch(tenant, other_tenant):
    event = make_event(tenant.staff).get_json()["data"]
    job_id = "x"
    for response in (other_tenant.staff.get(f"/events/{event['id']}"),
                     other_tenant.staff.patch(f"/events/{event['id']}", json={"name": "Mine"}),
                     other_tenant.staff.delete(f"/events/{event['id']}"),
                     other_tenant.staff.get(f"/events/{event['id']}/sync_jobs/{job_id}")):
        assert response.status_code == 404
        assert response.get_json()["type"] == "event_not_found"
    assert other_tenant.staff.get("/events").get_json()["data"] == []
    assert tenant.staff.get(f"/events/{event['id']}/sync_jobs/nope").get_json()["type"] == "sync_job_not_found"


def test_openapi_documents_events(app):
    spec = app.test_client().get("/openapi.json").get_json()
    for path in ("/events", "/events/{event_id}", "/events/{event_id}/sync_jobs/{job_id}", "/venues",
                 "/client/events", "/client/events/{event_id}/ticket-types", "/client/events/{event_id}/schedule"):
        assert path in spec["paths"], path
    parameters = {p["name"]: p for p in spec["paths"]["/events"]["get"]["parameters"]}
    assert {"page[size]", "page[cursor]", "filter[status]", "sort[starts_at]", "filter[starts_at][from]"} <= set(
        parameters)
    # a date filter is text (it was an untyped `{}`: the fuzzer sent objects and lists as valid values)
    for bound in ("filter[starts_at][from]", "filter[starts_at][to]", "filter[ends_at][from]", "filter[ends_at][to]"):
        assert parameters[bound]["schema"] == {"type": "string"}, bound


def test_session_ids_in_a_patch_must_be_this_events_own(tenant, other_tenant):
    def festival(client) -> tuple[str, str]:
        created = client.staff.post("/events", json={"type": "parent", "name": "Festival", "tz": "UTC", "sessions": [
            {"name": "Day 1", "starts_at": "2030-09-01T17:00:00Z", "ends_at": "2030-09-01T19:00:00Z"}]})
        assert created.status_code == 201, created.get_json()
        parent = created.get_json()["data"]["id"]
        full = client.staff.get(f"/events/{parent}?include=sessions").get_json()["data"]
        return parent, full["sessions"][0]["id"]

    parent, mine = festival(tenant)
    _, theirs = festival(other_tenant)
    for bad in (theirs, "made-up"):  # the other tenant's session and an id that names nothing: refused alike
        response = tenant.staff.patch(f"/events/{parent}", json={"sessions": [
            {"id": mine, "name": "Renamed"}, {"id": bad, "name": "Hijacked"}]})
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["type"] == "invalid_event" and "sessions[1].id" in response.get_json()["errors"]
    names = [s["name"] for s in tenant.staff.get(f"/events/{parent}?include=sessions").get_json()["data"]["sessions"]]
    assert names == ["Day 1"]  # the whole PATCH rolled back
    theirs_now = other_tenant.staff.get(f"/events/{theirs}").get_json()["data"]
    assert theirs_now["name"] == "Day 1"
