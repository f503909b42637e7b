"""Recurring events complete (003 `recurrences`): operating-hour windows in local time across DST, rules edited
in place by `id` (`_destroy`, added without one, the others kept), numeric public ids, `active_occurrences`,
and regeneration that never touches a date with sales."""

from __future__ import annotations

import datetime as dt

from test_purchase_support import iso

from core import db as database
from core.models import Event, Recurrence


def recurring(tenant, rules: list[dict], **extra) -> str:
    response = tenant.staff.post("/events", json={"event": {
        "type": "recurring", "name": "Tours", "tz": "Europe/Paris", "starts_at": "2030-03-29T09:00:00Z",
        "ends_at": "2030-03-29T10:00:00Z", "published_at": "2020-01-01T00:00:00Z", **extra,
        "recurrences": rules}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


def dates(tenant, event_id: str) -> list[dict]:
    return tenant.staff.get(f"/events?filter[parent_event_id]={event_id}&page[size]=200").get_json()["data"]


def rules_of(tenant, event_id: str) -> list[dict]:
    return tenant.staff.get(f"/events/{event_id}?include=recurrences").get_json()["data"]["recurrences"]


def patch_rules(tenant, event_id: str, rules: list[dict]):
    return tenant.staff.patch(f"/events/{event_id}", json={"event": {"recurrences": rules}})


def test_operating_hours_give_one_date_per_window_in_local_time_across_dst(tenant):
    event = recurring(tenant, [{"starts_at": "2030-03-29T00:00:00Z", "ends": "on_date",
                                "ends_at": "2030-04-01T23:00:00Z", "repeat_unit": "day", "duration": 2,
                                "operating_hours": [{"open": "18:00", "close": "20:00"},
                                                    {"open": "10:00", "close": "12:30"}]}])
    found = [(d["start"]["local"], d["end"]["local"][11:]) for d in dates(tenant, event)]
    # Paris moves to summer time on 31 March 2030: the windows keep their wall-clock times
    assert found == [(f"2030-{day}T{opens}:00{offset}", f"{closes}:00{offset}")
                     for day, offset in (("03-29", "+01:00"), ("03-30", "+01:00"), ("03-31", "+02:00"),
                                         ("04-01", "+02:00"))
                     for opens, closes in (("10:00", "12:30"), ("18:00", "20:00"))]
    (rule,) = rules_of(tenant, event)
    assert rule["operating_hours"] == [{"open": "18:00", "close": "20:00"}, {"open": "10:00", "close": "12:30"}]
    assert rule["active_occurrences"] == 8


def test_windows_over_midnight_and_counted_occurrences(tenant):
    event = recurring(tenant, [{"starts_at": "2030-06-05T00:00:00Z", "ends": "after_occurrences",
                                "max_occurrences": 3, "repeat_unit": "week", "days": ["friday", "saturday"],
                                "operating_hours": [{"open": "22:00", "close": "02:00"}]}])
    found = [(d["start"]["local"], d["end"]["local"]) for d in dates(tenant, event)]
    assert found == [("2030-06-07T22:00:00+02:00", "2030-06-08T02:00:00+02:00"),
                     ("2030-06-08T22:00:00+02:00", "2030-06-09T02:00:00+02:00"),
                     ("2030-06-14T22:00:00+02:00", "2030-06-15T02:00:00+02:00")]


def test_unusable_windows_are_422_naming_operating_hours(tenant):
    for windows in ([{"open": "25:00", "close": "26:00"}], [{"open": "10:00"}], [{"open": "10:00", "close": "10:00"}],
                    [{"open": "10:00", "close": "14:00"}, {"open": "13:00", "close": "15:00"}],
                    [{"open": "10:00", "close": "12:00", "from": "09:00"}]):
        response = tenant.staff.post("/events", json={"event": {
            "type": "recurring", "name": "Bad", "tz": "UTC", "starts_at": "2030-06-01T09:00:00Z",
            "ends_at": "2030-06-01T10:00:00Z",
            "recurrences": [{"starts_at": "2030-06-01T09:00:00Z", "repeat_unit": "day", "operating_hours": windows}]}})
        assert response.status_code == 422, (windows, response.get_json())
        assert "operating_hours" in str(response.get_json()["errors"]), response.get_json()
    assert tenant.staff.get("/events?filter[name]=Bad").get_json()["data"] == []


def test_a_rule_with_id_is_changed_in_place_and_rules_not_sent_stay(tenant):
    event = recurring(tenant, [{"starts_at": "2030-04-01T16:00:00Z", "ends": "after_occurrences",
                                "max_occurrences": 4, "repeat_unit": "week"}])
    (weekly,) = rules_of(tenant, event)
    with database.db.connection_context():
        public_id = Recurrence.get_by_id(weekly["id"]).public_id
    assert isinstance(public_id, int) and 0 < public_id < 2**53

    assert patch_rules(tenant, event, [{"id": weekly["id"], "max_occurrences": 2}]).status_code == 200
    (changed,) = rules_of(tenant, event)
    assert (changed["id"], changed["max_occurrences"], changed["repeat_unit"]) == (weekly["id"], 2, "week")
    with database.db.connection_context():
        assert Recurrence.get_by_id(weekly["id"]).public_id == public_id  # never changes
    assert len(dates(tenant, event)) == 2

    added = patch_rules(tenant, event, [{"starts_at": "2030-05-01T08:00:00Z", "ends": "after_occurrences",
                                         "max_occurrences": 1, "repeat_unit": "day"}])
    assert added.status_code == 200, added.get_json()
    assert [r["id"] for r in rules_of(tenant, event)][0] == weekly["id"] and len(rules_of(tenant, event)) == 2
    assert len(dates(tenant, event)) == 3

    removed = patch_rules(tenant, event, [{"id": weekly["id"], "_destroy": True}])
    assert removed.status_code == 200
    assert [r["max_occurrences"] for r in rules_of(tenant, event)] == [1]
    assert [d["start"]["utc"] for d in dates(tenant, event)] == ["2030-05-01T08:00:00Z"]
    last = rules_of(tenant, event)[0]["id"]
    emptied = patch_rules(tenant, event, [{"id": last, "_destroy": True}])
    assert emptied.status_code == 422 and "recurrences" in emptied.get_json()["errors"]
    assert len(rules_of(tenant, event)) == 1


def test_rule_ids_name_only_this_events_rules(tenant, other_tenant):
    event = recurring(tenant, [{"starts_at": "2030-04-01T16:00:00Z", "ends": "after_occurrences",
                                "max_occurrences": 1}])
    theirs = recurring(other_tenant, [{"starts_at": "2030-04-01T16:00:00Z", "ends": "after_occurrences",
                                       "max_occurrences": 1}])
    their_rule = rules_of(other_tenant, theirs)[0]["id"]
    foreign = patch_rules(tenant, event, [{"id": their_rule, "max_occurrences": 3}])
    made_up = patch_rules(tenant, event, [{"id": "00000000-0000-4000-8000-000000000000", "max_occurrences": 3}])
    assert foreign.status_code == made_up.status_code == 422
    assert foreign.get_json()["errors"] == made_up.get_json()["errors"] == {
        "recurrences[0].id": ["no such rule of this event"]}
    assert rules_of(other_tenant, theirs)[0]["max_occurrences"] == 1
    on_create = tenant.staff.post("/events", json={"event": {
        "type": "recurring", "name": "X", "tz": "UTC", "starts_at": "2030-06-01T09:00:00Z",
        "ends_at": "2030-06-01T10:00:00Z", "recurrences": [{"id": their_rule, "starts_at": "2030-06-01T09:00:00Z"}]}})
    assert on_create.status_code == 422 and "recurrences[0].id" in on_create.get_json()["errors"]


def test_active_occurrences_leave_out_archived_and_finished_dates(tenant):
    soon = dt.timedelta(hours=1)
    start = iso(-dt.timedelta(days=2) + soon)
    event = recurring(tenant, [{"starts_at": start, "ends": "after_occurrences", "max_occurrences": 5,
                                "repeat_unit": "day", "duration": 1}], starts_at=start,
                      ends_at=iso(-dt.timedelta(days=2) + 2 * soon))
    generated = dates(tenant, event)
    assert len(generated) == 3  # dates already over are not generated
    assert rules_of(tenant, event)[0]["active_occurrences"] == 3
    archived = tenant.staff.patch(f"/events/{generated[0]['id']}", json={"archived_at": iso(dt.timedelta(0))})
    assert archived.status_code == 200
    assert rules_of(tenant, event)[0]["active_occurrences"] == 2


def test_active_occurrences_is_read_only(tenant):
    event = recurring(tenant, [{"starts_at": "2030-04-01T16:00:00Z", "ends": "after_occurrences",
                                "max_occurrences": 2, "repeat_unit": "day"}])
    (rule,) = rules_of(tenant, event)
    echoed = patch_rules(tenant, event, [{"id": rule["id"], "active_occurrences": 7}])
    assert echoed.status_code == 422, echoed.get_json()
    assert "recurrences" in str(echoed.get_json()["errors"]) and "active_occurrences" in str(echoed.get_json())
    assert rules_of(tenant, event) == [rule]


def test_regenerating_keeps_dates_with_sales_and_detaches_those_no_rule_makes(tenant):
    event = recurring(tenant, [{"starts_at": "2030-04-01T16:00:00Z", "ends": "after_occurrences",
                                "max_occurrences": 3, "repeat_unit": "day"}],
                      registration_types=[{"name": "GA", "price": 0, "inventory": 10}])
    first, second, third = dates(tenant, event)
    ticket_type = tenant.staff.get(f"/events/{second['id']}?include=registration_types").get_json()[
        "data"]["registration_types"][0]["id"]
    bought = tenant.customer().post("/client/events/tickets/purchase", json={
        "eventId": second["id"], "tickets": [{"ticketTypeId": ticket_type, "quantity": 1}]})
    assert bought.status_code in (200, 201), bought.get_json()
    (rule,) = rules_of(tenant, event)

    moved = patch_rules(tenant, event, [{"id": rule["id"], "starts_at": "2030-04-01T17:00:00Z"}])
    assert moved.status_code == 200, moved.get_json()
    after = dates(tenant, event)
    assert [d["start"]["utc"] for d in after] == ["2030-04-01T17:00:00Z", "2030-04-02T16:00:00Z",
                                                  "2030-04-02T17:00:00Z", "2030-04-03T17:00:00Z"]
    kept = after[1]
    assert kept["id"] == second["id"] and first["id"] not in {d["id"] for d in after}
    with database.db.connection_context():
        assert Event.get_by_id(kept["id"]).recurrence_id is None  # kept, detached from the rule
        assert {Event.get_by_id(d["id"]).recurrence_id for d in after if d["id"] != kept["id"]} == {rule["id"]}
    assert rules_of(tenant, event)[0]["active_occurrences"] == 3

    back = patch_rules(tenant, event, [{"id": rule["id"], "starts_at": "2030-04-01T16:00:00Z"}])
    assert back.status_code == 200
    assert [d["id"] == second["id"] for d in dates(tenant, event)] == [False, True, False]
    with database.db.connection_context():  # produced by the rule again: attached again
        assert Event.get_by_id(second["id"]).recurrence_id == rule["id"]
    assert rules_of(tenant, event)[0]["active_occurrences"] == 3


def test_migration_14_backfills_rule_ids_and_restores_the_unique_index(tenant):
    from core.migrations import m0014_passes_and_recurrences as m0014

    recurring(tenant, [{"starts_at": "2030-04-01T16:00:00Z", "ends": "after_occurrences", "max_occurrences": 1},
                       {"starts_at": "2030-05-01T16:00:00Z", "ends": "after_occurrences", "max_occurrences": 1}])
    with database.db.connection_context():
        database.db.execute_sql("DROP INDEX recurrence_public_id")
        Recurrence.update(public_id=None).where(Recurrence.org == tenant.orgid).execute()
        m0014.upgrade()
        m0014.upgrade()  # idempotent
        ids = [r.public_id for r in Recurrence.select().where(Recurrence.org == tenant.orgid)]
        assert len(ids) == 2 and len(set(ids)) == 2 and all(isinstance(i, int) and 0 < i < 2**53 for i in ids)
        assert {i.name: i for i in database.db.get_indexes("recurrence")}["recurrence_public_id"].unique
