"""Event presentation fields in the core: slug (settable, unique per tenant, kept across renames), path,
location, publish, the public page and checkout links, and the cover image with its renditions (made by a
job, served from the tenant's storage with cache headers)."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image
from test_developers_api import photo
from test_events import iso

START = dt.datetime(2031, 6, 15, 18, 0)


def _event(tenant, **fields) -> dict:
    body = {"name": "Concert de Jazz", "starts_at": iso(START), "ends_at": iso(START + dt.timedelta(hours=6)),
            **fields}
    response = tenant.staff.post("/events", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def _upload(tenant, event_id: str, data: bytes, name: str = "cover.jpg", field: str = "image"):
    return tenant.staff.put(f"/events/{event_id}/cover", data={field: (io.BytesIO(data), name)},
                            content_type="multipart/form-data")


def _fetch(tenant, url: str):
    return tenant._flask.get(url.split("127.0.0.1:8000", 1)[-1])


def test_slug_is_made_from_the_name_kept_on_rename_and_changed_only_when_sent(tenant, config):
    event = _event(tenant)
    assert (event["slug"], event["path"]) == ("concert-de-jazz", "/concert-de-jazz")
    assert event["site_url"] == f"{config.public_url}/e/{tenant.orgid}/concert-de-jazz"
    assert event["checkout_url"] == event["site_url"] + "/checkout"
    renamed = tenant.staff.patch(f"/events/{event['id']}", json={"name": "Jazz at Night"}).get_json()["data"]
    assert (renamed["name"], renamed["slug"]) == ("Jazz at Night", "concert-de-jazz")
    moved = tenant.staff.patch(f"/events/{event['id']}", json={"slug": "jazz-night"}).get_json()["data"]
    assert (moved["slug"], moved["path"]) == ("jazz-night", "/jazz-night")
    assert moved["site_url"].endswith(f"/e/{tenant.orgid}/jazz-night")
    again = _event(tenant)   # same name: the generated slug is made unique
    assert again["slug"] == "concert-de-jazz"   # free again: the first event moved to jazz-night
    third = _event(tenant)
    assert third["slug"].startswith("concert-de-jazz-") and third["slug"] != again["slug"]


def test_a_slug_taken_or_malformed_is_a_422_and_changes_nothing(tenant, other_tenant):
    first = _event(tenant, slug="spring-gala")
    taken = tenant.staff.post("/events", json={"name": "Other", "slug": "spring-gala", "starts_at": iso(START),
                                               "ends_at": iso(START + dt.timedelta(hours=1))})
    assert taken.status_code == 422 and taken.get_json()["type"] == "slug_taken", taken.get_json()
    second = _event(tenant, name="Second")
    patch = tenant.staff.patch(f"/events/{second['id']}", json={"slug": "spring-gala"})
    assert patch.status_code == 422 and patch.get_json()["type"] == "slug_taken"
    for bad in ("Spring Gala", "a--b", "-x", "", "é"):
        response = tenant.staff.patch(f"/events/{second['id']}", json={"slug": bad})
        assert response.status_code == 422, (bad, response.get_json())
    assert tenant.staff.get(f"/events/{second['id']}").get_json()["data"]["slug"] == "second"
    assert tenant.staff.patch(f"/events/{first['id']}", json={"slug": "spring-gala"}).status_code == 200  # its own
    assert _event(other_tenant, slug="spring-gala")["slug"] == "spring-gala"   # unique per tenant only
    listed = tenant.staff.get("/events?fields=slug").get_json()["data"]
    assert sorted(e["slug"] for e in listed) == ["second", "spring-gala"]


def test_the_unique_index_refuses_a_repeated_slug_per_tenant(tenant):
    import pytest
    from peewee import IntegrityError

    from core import db as database
    from core.models import Event

    event = _event(tenant, slug="only-once")
    with database.db.connection_context():
        with pytest.raises(IntegrityError), database.db.atomic():
            Event.create(org=tenant.orgid, name="Copy", slug="only-once", starts_at=START, ends_at=START)
        assert Event.select().where((Event.org == tenant.orgid) & (Event.slug == "only-once")).count() == 1
    assert event["slug"] == "only-once"


def test_recurring_dates_get_their_own_slugs(tenant):
    body = {"type": "recurring", "name": "Weekly Tasting", "starts_at": "2031-06-02T18:00:00Z",
            "ends_at": "2031-06-02T20:00:00Z",
            "recurrences": [{"starts_at": "2031-06-02T18:00:00Z", "ends_at": "2031-06-30T23:00:00Z",
                             "ends": "on_date", "repeat_unit": "week", "repeat_value": 1, "duration": 2,
                             "days": ["monday"]}]}
    parent = tenant.staff.post("/events", json=body).get_json()["data"]
    dates = tenant.staff.get(f"/events?filter[parent_event_id]={parent['id']}&fields=slug").get_json()["data"]
    slugs = [d["slug"] for d in dates]
    assert len(slugs) == 5 and len(set(slugs)) == 5 and all(s.startswith("weekly-tasting-") for s in slugs)


def test_location_is_the_text_else_the_venue_and_publish_follows_published_at(tenant):
    venue = tenant.staff.post("/venues", json={"name": "Salle Pleyel", "city": "Paris", "country": "FR"}
                              ).get_json()["data"]
    at_venue = _event(tenant, venue_id=venue["id"])
    assert at_venue["location"] == "Salle Pleyel, Paris, FR" and at_venue["publish"] is False
    text = _event(tenant, name="Open air", venue_id=venue["id"], location="Parc de la Villette",
                  published_at=iso(dt.datetime(2026, 1, 1)))
    assert text["location"] == "Parc de la Villette" and text["publish"] is True
    nowhere = _event(tenant, name="Online")
    assert nowhere["location"] == ""
    later = _event(tenant, name="Later", published_at=iso(dt.datetime(2030, 1, 1)))
    assert later["publish"] is False   # published_at still to come
    client = tenant.guest.get("/client/events").get_json()["data"]
    [shown] = [e for e in client if e["id"] == text["id"]]
    assert (shown["location"], shown["publish"], shown["path"]) == ("Parc de la Villette", True, "/open-air")
    assert shown["site_url"] == text["site_url"] and shown["cover"] is None
    listed = {e["id"]: e["location"] for e in tenant.staff.get("/events").get_json()["data"]}
    assert listed[at_venue["id"]] == "Salle Pleyel, Paris, FR" and listed[nowhere["id"]] == ""


def test_cover_upload_makes_the_four_renditions_without_exif(tenant, other_tenant):
    event = _event(tenant, published_at=iso(dt.datetime(2026, 1, 1)))
    assert event["cover"] is None
    response = _upload(tenant, event["id"], photo(1200, 900))
    assert response.status_code == 200, response.get_json()
    cover = response.get_json()["data"]["cover"]
    assert set(cover) == {"square", "thumb", "medium", "original"}
    sizes = {}
    for name, url in cover.items():
        got = _fetch(tenant, url)
        assert got.status_code == 200, (name, got.get_json())
        assert got.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        image = Image.open(io.BytesIO(got.data))
        assert image.format == "JPEG" and not image.getexif(), name
        sizes[name] = image.size
    assert sizes == {"square": (200, 200), "thumb": (400, 300), "medium": (800, 600), "original": (1200, 900)}
    tall = _upload(tenant, event["id"], photo(300, 1000, fmt="PNG", exif=False)).get_json()["data"]["cover"]
    assert tall["square"] != cover["square"]   # a new upload has new URLs; the old ones are gone
    assert _fetch(tenant, cover["square"]).status_code == 404
    new_sizes = {name: Image.open(io.BytesIO(_fetch(tenant, url).data)).size for name, url in tall.items()}
    assert new_sizes == {"square": (200, 200), "thumb": (400, 300), "medium": (800, 2667), "original": (300, 1000)}
    current = _fetch(tenant, tall["thumb"].split("?")[0] + "?rendition=thumb")
    assert current.status_code == 200 and current.headers["Cache-Control"] == "public, max-age=300"
    client = tenant.guest.get(f"/client/events/{event['id']}").get_json()["data"]
    assert client["cover"] == tall
    foreign = tall["thumb"].replace(f"/o/{tenant.orgid}/", f"/o/{other_tenant.orgid}/")
    assert _fetch(tenant, foreign).status_code == 404


def test_cover_is_null_until_the_job_made_the_renditions(tenant, monkeypatch):
    from core import db as database
    from core.models import Event
    from core.services import event_covers

    event = _event(tenant)
    monkeypatch.setattr(event_covers.outbox, "enqueue", lambda *args: None)   # the job never runs
    response = _upload(tenant, event["id"], photo(640, 480))
    assert response.status_code == 200 and response.get_json()["data"]["cover"] is None
    assert tenant.guest.get(f"/client/events/{event['id']}").status_code == 404   # a draft; staff see null:
    assert tenant.staff.get(f"/events/{event['id']}").get_json()["data"]["cover"] is None
    monkeypatch.undo()
    with database.db.connection_context():
        record = Event.get_by_id(event["id"]).cover
        event_covers.make_cover_renditions(tenant.orgid, event["id"], record["id"])
    assert set(tenant.staff.get(f"/events/{event['id']}").get_json()["data"]["cover"]) == {
        "square", "thumb", "medium", "original"}


def test_bad_cover_uploads_are_4xx_and_change_nothing(tenant, other_tenant):
    event = _event(tenant)
    cases = [(b"not an image at all", "x.jpg", "image", 415, "not_an_image"),
             (photo()[:2000], "cut.jpg", "image", 422, "corrupt_image"),
             (photo(), "cover.jpg", "picture", 422, "validation_error")]
    for data, name, field, status, type_ in cases:
        response = _upload(tenant, event["id"], data, name, field)
        assert (response.status_code, response.get_json()["type"]) == (status, type_), response.get_json()
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    response = _upload(tenant, event["id"], gif.getvalue(), "a.gif")
    assert (response.status_code, response.get_json()["type"]) == (415, "unsupported_image_format")
    as_json = tenant.staff.put(f"/events/{event['id']}/cover", json={"image": "x"})
    assert as_json.status_code == 415
    assert _upload(other_tenant, event["id"], photo()).status_code == 404
    assert tenant.staff.get(f"/events/{event['id']}").get_json()["data"]["cover"] is None
    guest = tenant.guest.put(f"/events/{event['id']}/cover", data={"image": (io.BytesIO(photo()), "c.jpg")},
                             content_type="multipart/form-data")
    assert guest.status_code in (401, 403)


def test_deleting_an_event_removes_its_cover_files(tenant, config):
    from pathlib import Path

    event = _event(tenant)
    _upload(tenant, event["id"], photo(400, 400))
    folder = Path(config.data_path) / "media" / tenant.orgid / "covers" / event["id"]
    assert len(list(folder.iterdir())) == 4
    assert tenant.staff.delete(f"/events/{event['id']}").status_code in (200, 204)
    assert not list(folder.iterdir())


def test_migration_21_adds_the_columns_makes_repeated_slugs_unique_and_is_idempotent(tenant, other_tenant):
    from core.db import db as database
    from core.migrations import m0021_event_presentation
    from core.models import Event

    first = _event(tenant, slug="weekly")
    other = _event(other_tenant, slug="weekly")
    with database.connection_context():
        database.execute_sql(f"DROP INDEX {m0021_event_presentation.INDEX}")
        database.execute_sql(f'CREATE INDEX {m0021_event_presentation.INDEX} ON "event" ("org_id", "slug")')
        copies = [f"{index}0000000-copy-4000-8000-000000000000" for index in range(2)]
        for index, copy in enumerate(copies):
            Event.insert(id=copy, org=tenant.orgid, name="Copy", slug="weekly", starts_at=START, ends_at=START,
                         created_at=START + dt.timedelta(days=index + 1), updated_at=START).execute()
        for column in ("location", "cover"):
            database.execute_sql(f'ALTER TABLE "event" DROP COLUMN "{column}"')
        database.execute_sql('ALTER TABLE "booking" DROP COLUMN "attendee_id"')
        m0021_event_presentation.upgrade()
        m0021_event_presentation.upgrade()  # idempotent
        slugs = {row.id: row.slug for row in Event.select(Event.id, Event.slug).where(Event.slug.startswith("weekly"))}
        assert slugs[first["id"]] == "weekly" and slugs[other["id"]] == "weekly"   # the oldest keeps it
        assert {slugs[copy] for copy in copies} == {f"weekly-{copy[:8]}" for copy in copies}
        [index] = [i for i in database.get_indexes("event") if i.name == m0021_event_presentation.INDEX]
        assert index.unique
        assert {"location", "cover"} <= {column.name for column in database.get_columns("event")}
        assert "attendee_id" in {column.name for column in database.get_columns("booking")}
        assert Event.get_by_id(first["id"]).location == ""
        Event.delete().where(Event.id.in_(copies)).execute()
