"""Staff GET /events: filters, status windows in the event's timezone, sort, fields, include, pagination."""

import base64
import datetime as dt
from zoneinfo import ZoneInfo

from test_events import iso

from core.models.base import utcnow


def add(client, name, start, hours=2, **extra):
    body = {"name": name, "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=hours)), **extra}
    response = client.post("/events", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def names(response):
    assert response.status_code == 200, response.get_json()
    return [e["name"] for e in response.get_json()["data"]]


def test_filters(tenant):
    staff = tenant.staff
    venue = staff.post("/venues", json={"name": "Club", "tz": "UTC"}).get_json()["data"]["id"]
    base = dt.datetime(2031, 5, 10, 18)
    add(staff, "Jazz Night", base, venue_id=venue, description="smooth")
    add(staff, "Rock Night", base + dt.timedelta(days=5))
    old = add(staff, "Old Show", dt.datetime(2020, 1, 1, 18))
    staff.patch(f"/events/{old['id']}", json={"archived_at": iso(utcnow())})
    assert names(staff.get("/events?filter[search]=night")) == ["Jazz Night", "Rock Night"]
    assert names(staff.get("/events?filter[search]=SMOOTH")) == ["Jazz Night"]
    assert names(staff.get("/events?filter[name]=Rock Night")) == ["Rock Night"]
    assert names(staff.get(f"/events?filter[venue_id]={venue}")) == ["Jazz Night"]
    assert names(staff.get("/events?filter[archived_at]=true")) == ["Old Show"]
    assert names(staff.get("/events?filter[archived_at]=false")) == ["Jazz Night", "Rock Night"]
    assert names(staff.get("/events?filter[starts_at][from]=2031-05-11")) == ["Rock Night"]
    assert names(staff.get("/events?filter[starts_at][to]=2031-05-10")) == ["Old Show", "Jazz Night"]
    assert names(staff.get("/events?filter[starts_at][from]=2031-05-10&filter[starts_at][to]=2031-05-10")) == [
        "Jazz Night"]
    assert names(staff.get("/events?filter[ends_at][to]=2021-01-01T00:00:00Z")) == ["Old Show"]
    assert names(staff.get("/events?filter[status]=over")) == ["Old Show"]
    assert names(staff.get("/events?filter[status]=future")) == ["Jazz Night", "Rock Night"]
    for bad in ("filter[status]=someday", "filter[starts_at][from]=soon", "filter[colour]=red", "sort[colour]=asc",
                "sort[name]=up", "page[size]=0", "page[size]=201", "page[cursor]=garbage", "include=friends",
                "fields=name,secret"):
        response = staff.get(f"/events?{bad}")
        assert response.status_code in (400, 422), bad
        assert response.get_json()["type"] in ("invalid_parameter", "invalid_cursor", "validation_error"), bad


def test_status_windows_use_the_event_timezone(tenant):
    staff = tenant.staff
    now = utcnow()
    for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"):
        zone = ZoneInfo(tz)
        local_today = now.replace(tzinfo=dt.UTC).astimezone(zone).date()
        noon = dt.datetime.combine(local_today, dt.time(12), zone).astimezone(dt.UTC).replace(tzinfo=None)
        add(staff, f"today {tz}", noon, hours=1, tz=tz)
        add(staff, f"tomorrow {tz}", noon + dt.timedelta(days=1), hours=1, tz=tz)
        month = (local_today.replace(day=1) + dt.timedelta(days=32)).replace(day=15)
        add(staff, f"next month {tz}", dt.datetime.combine(month, dt.time(12), zone).astimezone(dt.UTC)
            .replace(tzinfo=None), tz=tz)
    today = names(staff.get("/events?filter[status]=today&page[size]=50"))
    assert sorted(today) == sorted(f"today {tz}" for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"))
    tomorrow = names(staff.get("/events?filter[status]=tomorrow&page[size]=50"))
    assert sorted(tomorrow) == sorted(f"tomorrow {tz}" for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"))
    next_month = names(staff.get("/events?filter[status]=next_month&page[size]=50"))
    assert sorted(next_month) == sorted(f"next month {tz}" for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago",
                                                                        "UTC"))
    this_week = set(names(staff.get("/events?filter[status]=this_week&page[size]=50")))
    assert {f"today {tz}" for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC")} <= this_week
    assert not any(n.startswith("next month") for n in this_week)


def test_sort_fields_and_include(tenant):
    staff = tenant.staff
    venue = staff.post("/venues", json={"name": "Arena", "tz": "Europe/London"}).get_json()["data"]
    add(staff, "B", dt.datetime(2031, 1, 2), venue_id=venue["id"],
        registration_types=[{"name": "GA", "price": 12.5, "inventory": 3}])
    add(staff, "A", dt.datetime(2031, 1, 3))
    add(staff, "C", dt.datetime(2031, 1, 1))
    assert names(staff.get("/events")) == ["C", "B", "A"]
    assert names(staff.get("/events?sort[name]=asc")) == ["A", "B", "C"]
    assert names(staff.get("/events?sort[name]=desc")) == ["C", "B", "A"]
    assert names(staff.get("/events?sort[starts_at]=desc")) == ["A", "B", "C"]
    assert names(staff.get("/events?sort[venue_id]=desc&sort[name]=asc"))[0] == "B"
    sparse = staff.get("/events?fields=name,start,counts").get_json()["data"][0]
    assert set(sparse) == {"id", "name", "start", "counts"}
    assert sparse["counts"] == {"capacity": None, "sold": 0, "held": 0, "available": None}
    full = staff.get("/events?filter[name]=B&include=venue,registration_types.prices").get_json()["data"][0]
    assert full["venue"]["name"] == "Arena" and full["start"]["tz"] == "Europe/London"
    ticket = full["registration_types"][0]
    assert ticket["name"] == "GA" and ticket["prices"][0]["amount"] == 1250 and ticket["available"] == 3


def test_cursor_pagination_is_stable_across_inserts(tenant):
    staff = tenant.staff
    base = dt.datetime(2032, 1, 1)
    for i in range(25):
        add(staff, f"E{i:02d}", base + dt.timedelta(hours=i // 2))  # pairs share a start: the id breaks ties
    seen, cursor, pages = [], "", 0
    while True:
        response = staff.get(f"/events?page[size]=7&page[cursor]={cursor}")
        body = response.get_json()
        assert body["meta"]["count"] == len(body["data"]) and body["meta"]["page"]["size"] == 7
        assert body["meta"]["page"]["first"] is (pages == 0)
        seen += [e["name"] for e in body["data"]]
        pages += 1
        if pages == 1:
            # rows inserted before and after the cursor position while paging
            add(staff, "early", base - dt.timedelta(days=1))
            add(staff, "late", base + dt.timedelta(days=30))
        if body["meta"]["page"]["last"]:
            assert body["meta"]["page"]["next_cursor"] is None and body["meta"]["links"]["next"] is None
            break
        cursor = body["meta"]["page"]["next_cursor"]
        assert "page%5Bcursor%5D=" + cursor in body["meta"]["links"]["next"] or cursor in body["meta"]["links"]["next"]
    # no duplicates, no skips; "early" sorts before the first page, so it is not on a later one
    assert len(seen) == len(set(seen)) == 26
    assert sorted(seen) == sorted([f"E{i:02d}" for i in range(25)] + ["late"])
    assert [int(n[1:]) // 2 for n in seen[:-1]] == sorted(int(n[1:]) // 2 for n in seen[:-1])
    # a cursor issued for one sort order is refused for another
    token = staff.get("/events?page[size]=2").get_json()["meta"]["page"]["next_cursor"]
    other = staff.get(f"/events?page[size]=2&page[cursor]={token}&sort[name]=asc")
    assert other.status_code == 400 and other.get_json()["type"] == "invalid_cursor"
    forged = base64.urlsafe_b64encode(b'["starts_at:a,id:a",5,"x"]').decode().rstrip("=")
    assert staff.get(f"/events?page[cursor]={forged}").get_json()["type"] == "invalid_cursor"


def test_page_and_limit(tenant):
    staff = tenant.staff
    for i in range(5):
        add(staff, f"P{i}", dt.datetime(2033, 1, 1 + i))
    first = staff.get("/events?page=1&limit=2").get_json()
    assert [e["name"] for e in first["data"]] == ["P0", "P1"]
    assert first["paginate"] == {"hasNextPage": True, "nextPage": 2}
    last = staff.get("/events?page=3&limit=2").get_json()
    assert [e["name"] for e in last["data"]] == ["P4"] and last["paginate"] == {"hasNextPage": False, "nextPage": None}
    assert staff.get("/events?page=0&limit=2").status_code == 422
