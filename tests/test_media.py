"""Media plugin: galleries, uploads checked by content, GPS stripped, thumbnails, guests, quota, cleanup.

Images are made with Pillow in each test; every refused upload must leave no file and no row behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
import threading
from pathlib import Path

import pytest
from PIL import Image

GPS_IFD = 0x8825


# --- helpers -------------------------------------------------------------------------------------

def make_event(tenant, name: str = "Wedding"):
    """An event row and a free ticket type for it."""
    from core import db as database
    from core.models import Event, TicketType, new_id, utcnow

    with database.db.connection_context():
        start = utcnow() + dt.timedelta(days=3)
        event = Event.create(org=tenant.orgid, name=name, slug=f"ev-{new_id()[:8]}", starts_at=start,
                             ends_at=start + dt.timedelta(hours=5), published_at=utcnow())
        TicketType.create(org=tenant.orgid, event=event, name="Guest", price=0)
    return event


def give_ticket(tenant, event, customer, status: str = "valid") -> None:
    """Issue one ticket of `event` to the logged-in customer client `customer`."""
    from core import db as database
    from core.models import Customer, TicketType
    from core.services.issuing import Holder, issue_tickets

    with database.db.connection_context(), database.write_transaction():
        ticket_type = TicketType.get(TicketType.event == event.id)
        holder = Holder(customer.email, "Ana Attendee", Customer.get_by_id(customer.customer_id))
        issue_tickets(tenant.orgid, ticket_type, 1, holder=holder, status=status)


def attendee(tenant, event, status: str = "valid"):
    """A customer client holding a ticket for `event`."""
    client = tenant.customer(name="Ana Attendee")
    give_ticket(tenant, event, client, status)
    return client


def photo(fmt: str = "JPEG", size=(1200, 900), gps: bool = False, color=(200, 40, 40)) -> bytes:
    """A real image; with `gps`, a JPEG carrying an EXIF GPSInfo block."""
    image = Image.new("RGBA" if fmt == "PNG" else "RGB", size, color)
    out = io.BytesIO()
    options = {}
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "TestCam"
        exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 31.5), 3: "E", 4: (4.0, 53.0, 2.0)}
        options["exif"] = exif
    image.save(out, fmt, **options)
    return out.getvalue()


def upload(client, event_id: str, data: bytes, filename: str = "photo.jpg", guest: str | None = None,
           caption: str | None = None, **kwargs):
    path = f"/client/events/{event_id}/media/upload" + (f"/{guest}" if guest else "")
    form = {"file": (io.BytesIO(data), filename)}
    if caption is not None:
        form["caption"] = caption
    return client.post(path, data=form, content_type="multipart/form-data", **kwargs)


def media_folder(config, tenant) -> Path:
    return config.data_path / "media" / tenant.orgid


def stored_files(config, tenant) -> list[Path]:
    """Every file under the tenant's media folder, staging folder included."""
    folder = media_folder(config, tenant)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def counts(tenant) -> tuple[int, int]:
    """(media rows, used bytes) of the tenant."""
    from core import db as database
    from plugins.media import service
    from plugins.media.models import MediaItem

    with database.db.connection_context():
        rows = MediaItem.select().where(MediaItem.org == tenant.orgid).count()
        return rows, service.used_bytes(tenant.orgid)


def assert_nothing_left(config, tenant) -> None:
    assert stored_files(config, tenant) == []
    assert counts(tenant) == (0, 0)


@pytest.fixture
def gallery(tenant):
    """A tenant with the media plugin enabled and one event."""
    tenant.enable("media")
    tenant.event = make_event(tenant)
    return tenant


# --- tests ---------------------------------------------------------------------------------------

def test_tenant_without_the_plugin_gets_plugin_not_enabled(tenant):
    event = make_event(tenant)
    for response in (tenant.staff.get(f"/client/events/{event.id}/media"),
                     upload(tenant.staff, event.id, photo()),
                     tenant.staff.get(f"/media/files/{event.id}")):
        assert response.status_code == 404
        assert response.get_json()["type"] == "plugin_not_enabled"


def test_attendee_upload_strips_gps_and_gets_a_thumbnail(gallery, config):
    customer = attendee(gallery, gallery.event)
    original = photo(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the upload carries a location

    response = upload(customer, gallery.event.id, original, caption="First dance")
    assert response.status_code == 201, response.get_json()
    item = response.get_json()["data"]
    assert item["width"] == 1200 and item["height"] == 900 and item["contentType"] == "image/jpeg"
    assert item["uploadedBy"] == "Ana Attendee" and item["caption"] == "First dance"
    assert item["url"] == f"/media/o/{gallery.orgid}/{item['id']}"  # no header needed: fit for <img src>
    assert "email" not in str(item).lower()

    files = stored_files(config, gallery)
    assert [p.name for p in files] == sorted([f"{item['id']}.jpg", f"{item['id']}.thumb.jpg"])
    stored = Image.open(media_folder(config, gallery) / gallery.event.id / f"{item['id']}.jpg")
    assert not stored.getexif().get_ifd(GPS_IFD) and len(stored.getexif()) == 0
    assert counts(gallery) == (1, files[0].stat().st_size)

    listed = customer.get(f"/client/events/{gallery.event.id}/media").get_json()
    [shown] = listed["data"]
    assert shown["id"] == item["id"] and shown["thumbnailUrl"] == f"/media/o/{gallery.orgid}/{item['id']}/thumb"
    assert listed["meta"]["page"]["last"] is True

    full = customer.get(shown["url"])
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(full.data)).size == (1200, 900)
    thumb = customer.get(shown["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    small = Image.open(io.BytesIO(thumb.data))
    assert small.format == "JPEG" and max(small.size) == 400 and small.size == (400, 300)
    assert not small.getexif().get_ifd(GPS_IFD)


def test_customer_needs_a_live_ticket(gallery):
    event = gallery.event
    no_ticket = gallery.customer()
    cancelled = attendee(gallery, event, status="cancelled")
    for client in (no_ticket, cancelled):
        for response in (upload(client, event.id, photo()), client.get(f"/client/events/{event.id}/media")):
            assert response.status_code == 403
            assert response.get_json()["type"] == "ticket_required"
    other_event = make_event(gallery, "Other")
    assert upload(attendee(gallery, other_event), event.id, photo()).get_json()["type"] == "ticket_required"
    anonymous = gallery.guest.post(f"/client/events/{event.id}/media/upload")
    assert anonymous.status_code == 401 and anonymous.get_json()["type"] == "authentication_required"
    checked_in = attendee(gallery, event, status="checked_in")
    assert upload(checked_in, event.id, photo()).status_code == 201


def test_staff_upload_png_and_webp_kept_in_their_format(gallery):
    png = upload(gallery.staff, gallery.event.id, photo("PNG", (300, 200)), "a.png").get_json()["data"]
    webp = upload(gallery.staff, gallery.event.id, photo("WEBP", (640, 480)), "b.webp").get_json()["data"]
    assert png["contentType"] == "image/png" and webp["contentType"] == "image/webp"
    assert Image.open(io.BytesIO(gallery.staff.get(webp["url"]).data)).format == "WEBP"
    thumb = Image.open(io.BytesIO(gallery.staff.get(png["url"] + "/thumb").data))
    assert thumb.format == "JPEG" and thumb.size == (300, 200)  # never enlarged


def test_heic_is_stored_as_jpeg_when_pillow_heif_is_installed(gallery):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 200, 30)).save(out, "HEIF")
    item = upload(gallery.staff, gallery.event.id, out.getvalue(), "IMG_0001.HEIC").get_json()["data"]
    assert item["contentType"] == "image/jpeg" and (item["width"], item["height"]) == (320, 240)
    assert Image.open(io.BytesIO(gallery.staff.get(item["url"]).data)).format == "JPEG"


@pytest.mark.parametrize("case", ["text_named_jpg", "truncated_jpeg", "gif", "oversize", "oversize_body",
                                  "no_file"])
def test_bad_uploads_are_clear_4xx_and_leave_nothing_behind(gallery, config, case):
    gallery.configure("media", max_upload_bytes=50_000)
    jpeg = photo(size=(400, 300))
    sent = {
        "text_named_jpg": (b"just some notes, not a photo\n" * 20, 415, "not_an_image"),
        "truncated_jpeg": (jpeg[: len(jpeg) // 2], 422, "corrupt_image"),
        "gif": (photo("GIF", (50, 50)), 415, "unsupported_image_format"),
        "oversize": (secrets.token_bytes(60_000), 413, "file_too_large"),
        "oversize_body": (secrets.token_bytes(400_000), 413, "file_too_large"),
    }
    if case == "no_file":
        response = gallery.staff.post(f"/client/events/{gallery.event.id}/media/upload", data={"caption": "x"},
                                      content_type="multipart/form-data")
        status, type_ = 422, "file_required"
    else:
        data, status, type_ = sent[case]
        response = upload(gallery.staff, gallery.event.id, data, "photo.jpg")
    assert response.status_code == status, response.get_json()
    assert response.get_json()["type"] == type_ and response.get_json()["message"]
    assert_nothing_left(config, gallery)


def test_oversize_body_is_refused_before_it_is_read(gallery, monkeypatch):
    from werkzeug.formparser import FormDataParser

    gallery.configure("media", max_upload_bytes=1000)
    monkeypatch.setattr(FormDataParser, "parse", lambda *a, **k: pytest.fail("an oversize body was parsed"))
    response = upload(gallery.staff, gallery.event.id, secrets.token_bytes(300_000))
    assert response.status_code == 413 and response.get_json()["type"] == "file_too_large"


def test_a_photo_over_the_json_body_limit_uploads_within_the_tenants_photo_limit(gallery, config):
    noise = Image.frombytes("RGB", (1000, 800), secrets.token_bytes(1000 * 800 * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=98)
    assert config.max_body_bytes < len(out.getvalue()) < 10 * 1024 * 1024
    response = upload(gallery.staff, gallery.event.id, out.getvalue())
    assert response.status_code == 201, response.get_json()


def test_too_many_pixels_is_refused(gallery, config, monkeypatch):
    from core.kits import images

    monkeypatch.setattr(images, "MAX_PIXELS", 10_000)
    response = upload(gallery.staff, gallery.event.id, photo(size=(200, 100)))
    assert response.status_code == 422 and response.get_json()["type"] == "image_too_large"
    assert_nothing_left(config, gallery)


def test_guest_invite_token_flow(gallery, config):
    from core import db as database
    from plugins.media.models import MediaGuest

    event = gallery.event
    invite = gallery.staff.post(f"/events/{event.id}/media/guests", json={"name": "Aunt May",
                                                                          "email": "may@example.com"})
    assert invite.status_code == 201, invite.get_json()
    body = invite.get_json()
    guest_id, token = body["guestId"], body["token"]
    assert body["uploadUrl"] == f"/client/events/{event.id}/media/upload/{guest_id}"
    with database.db.connection_context():
        row = MediaGuest.get_by_id(guest_id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row.__data__.values())

    by_query = upload(gallery.guest, event.id, photo(gps=True), guest=guest_id, query_string={"token": token})
    by_header = upload(gallery.guest, event.id, photo(), guest=guest_id, headers={"X-Guest-Token": token})
    assert by_query.status_code == by_header.status_code == 201
    assert by_query.get_json()["data"]["uploadedBy"] == "Aunt May"
    upload(gallery.staff, event.id, photo())  # someone else's photo, not in the guest's list

    mine = gallery.guest.get(f"/client/events/{event.id}/media/guest/{guest_id}", query_string={"token": token})
    assert mine.status_code == 200
    assert {i["id"] for i in mine.get_json()["data"]} == {by_query.get_json()["data"]["id"],
                                                         by_header.get_json()["data"]["id"]}
    other_event = make_event(gallery, "Other")
    assert upload(gallery.guest, other_event.id, photo(), guest=guest_id,
                  query_string={"token": token}).get_json()["type"] == "invalid_guest_token"


def test_wrong_missing_or_expired_guest_token_leaves_nothing(gallery, config):
    from core import db as database
    from core.models import utcnow
    from plugins.media.models import MediaGuest

    event = gallery.event
    body = gallery.staff.post(f"/events/{event.id}/media/guests", json={"name": "Bob"}).get_json()
    guest_id, token = body["guestId"], body["token"]
    cases = [
        (guest_id, {"token": "not-the-token"}, 403, "invalid_guest_token"),
        ("00000000-0000-4000-8000-000000000000", {"token": token}, 403, "invalid_guest_token"),
        (guest_id, {}, 401, "guest_token_required"),
    ]
    for gid, query, status, type_ in cases:
        for response in (upload(gallery.guest, event.id, photo(), guest=gid, query_string=query),
                         gallery.guest.get(f"/client/events/{event.id}/media/guest/{gid}", query_string=query)):
            assert (response.status_code, response.get_json()["type"]) == (status, type_)
    with database.db.connection_context():
        MediaGuest.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(MediaGuest.id == guest_id).execute()
    expired = upload(gallery.guest, event.id, photo(), guest=guest_id, query_string={"token": token})
    assert expired.status_code == 403 and expired.get_json()["type"] == "guest_token_expired"
    assert_nothing_left(config, gallery)

    revoked = gallery.staff.post(f"/events/{event.id}/media/guests", json={"name": "Eve"}).get_json()
    assert upload(gallery.guest, event.id, photo(), guest=revoked["guestId"],
                  headers={"X-Guest-Token": revoked["token"]}).status_code == 201
    assert gallery.staff.delete(f"/events/{event.id}/media/guests/{revoked['guestId']}").status_code == 204
    after = upload(gallery.guest, event.id, photo(), guest=revoked["guestId"],
                   headers={"X-Guest-Token": revoked["token"]})
    assert after.status_code == 403 and after.get_json()["type"] == "guest_token_expired"
    unknown = gallery.staff.delete(f"/events/{event.id}/media/guests/{guest_id[::-1]}")
    assert unknown.status_code == 404 and unknown.get_json()["type"] == "media_guest_not_found"

    past = gallery.staff.post(f"/events/{event.id}/media/guests",
                              json={"name": "Late", "expiresAt": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422


def test_staff_hide_unhide_and_delete(gallery, config):
    event = gallery.event
    customer = attendee(gallery, event)
    item = upload(customer, event.id, photo()).get_json()["data"]
    gallery_url = f"/client/events/{event.id}/media"

    hidden = gallery.staff.post(f"/events/{event.id}/media/{item['id']}/hide")
    assert hidden.status_code == 200 and hidden.get_json()["data"]["hidden"] is True
    assert customer.get(gallery_url).get_json()["data"] == []
    assert customer.get(item["url"]).get_json()["type"] == "media_not_found"
    assert customer.get(f"{item['url']}/thumb").status_code == 404
    assert customer.get(f"/media/files/{item['id']}").get_json()["type"] == "media_not_found"
    assert gallery.staff.get(item["url"]).status_code == 404  # the header-free URL never serves a hidden photo
    [moderated] = gallery.staff.get(f"/events/{event.id}/media").get_json()["data"]
    assert moderated["hidden"] is True and moderated["url"] == f"/media/files/{item['id']}"
    assert gallery.staff.get(moderated["url"]).status_code == 200  # staff, with the orgid header
    assert customer.post(f"/events/{event.id}/media/{item['id']}/hide").status_code == 403

    assert gallery.staff.post(f"/events/{event.id}/media/{item['id']}/unhide").get_json()["data"]["hidden"] is False
    assert [i["id"] for i in customer.get(gallery_url).get_json()["data"]] == [item["id"]]

    assert len(stored_files(config, gallery)) == 2
    assert gallery.staff.delete(f"/events/{event.id}/media/{item['id']}").status_code == 204
    assert_nothing_left(config, gallery)
    assert customer.get(item["url"]).status_code == 404
    again = gallery.staff.delete(f"/events/{event.id}/media/{item['id']}")
    assert again.status_code == 404 and again.get_json()["type"] == "media_not_found"


def test_quota_is_enforced_and_refusal_leaves_nothing(gallery, config):
    first = upload(gallery.staff, gallery.event.id, photo(size=(500, 500)))
    assert first.status_code == 201
    used = counts(gallery)[1]
    gallery.configure("media", quota_bytes=used + 100)
    second = upload(gallery.staff, gallery.event.id, photo(size=(500, 500), color=(1, 2, 3)))
    assert second.status_code == 409 and second.get_json()["type"] == "quota_exceeded"
    assert counts(gallery) == (1, used)
    assert len(stored_files(config, gallery)) == 2  # the first photo and its thumbnail only


def test_concurrent_uploads_cannot_overrun_the_quota(gallery, config, live_server):
    import requests

    data = photo(size=(300, 300))
    probe = upload(gallery.staff, gallery.event.id, data).get_json()["data"]
    size = counts(gallery)[1]
    gallery.staff.delete(f"/events/{gallery.event.id}/media/{probe['id']}")
    gallery.configure("media", quota_bytes=size * 3 + size // 2)

    results: list[int] = []
    start = threading.Barrier(8)

    def send():
        start.wait()
        response = requests.post(f"{live_server.url}/client/events/{gallery.event.id}/media/upload",
                                 files={"file": ("p.jpg", data)}, timeout=60,
                                 headers={"orgid": gallery.orgid, "Authorization": f"Bearer {gallery.staff_token}"})
        results.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] * 3 + [409] * 5
    assert counts(gallery) == (3, size * 3)
    originals = [p for p in stored_files(config, gallery) if ".thumb." not in p.name]
    assert len(originals) == 3


def test_other_tenants_media_is_not_found(gallery, other_tenant):
    other_tenant.enable("media")
    item = upload(gallery.staff, gallery.event.id, photo()).get_json()["data"]
    foreign = other_tenant.staff
    assert foreign.get(f"/media/files/{item['id']}").get_json()["type"] == "media_not_found"
    assert foreign.get(f"/media/o/{other_tenant.orgid}/{item['id']}").get_json()["type"] == "media_not_found"
    assert foreign.get(f"/client/events/{gallery.event.id}/media").get_json()["type"] == "event_not_found"
    assert foreign.post(f"/events/{gallery.event.id}/media/{item['id']}/hide").status_code == 404
    own_event = make_event(other_tenant)
    assert foreign.delete(f"/events/{own_event.id}/media/{item['id']}").get_json()["type"] == "media_not_found"
    assert gallery.staff.get(item["url"]).status_code == 200


def test_photo_urls_work_without_any_header_like_an_img_tag(gallery, app):
    item = upload(gallery.staff, gallery.event.id, photo()).get_json()["data"]
    browser = app.test_client()  # no orgid, no token
    full = browser.get(item["url"])
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    [listed] = gallery.staff.get(f"/events/{gallery.event.id}/media").get_json()["data"]
    assert browser.get(listed["thumbnailUrl"]).status_code == 200
    assert browser.get(f"/media/files/{item['id']}").get_json()["type"] == "missing_orgid"
    assert browser.get(f"/media/o/no-such-org/{item['id']}").get_json()["type"] == "media_not_found"
    assert browser.get(f"/media/o/{gallery.orgid}/not-a-photo").get_json()["type"] == "media_not_found"
    from core import db as database
    from tenants import service as tenants

    with database.db.connection_context():
        tenants.set_plugin_enabled(gallery.orgid, "media", False)
    assert browser.get(item["url"]).get_json()["type"] == "media_not_found"


def test_gallery_pages_newest_first(gallery):
    ids = [upload(gallery.staff, gallery.event.id, photo(size=(64, 64))).get_json()["data"]["id"]
           for _ in range(3)]
    url = f"/client/events/{gallery.event.id}/media"
    first = gallery.staff.get(url, query_string={"page[size]": 2}).get_json()
    cursor = first["meta"]["page"]["next_cursor"]
    second = gallery.staff.get(url, query_string={"page[size]": 2, "page[cursor]": cursor}).get_json()
    seen = [i["id"] for i in first["data"] + second["data"]]
    assert sorted(seen) == sorted(ids) and len(second["data"]) == 1 and second["meta"]["page"]["last"]


def test_storage_path_setting_and_a_plugged_in_backend(gallery, tmp_path):
    from core.kits import storage

    gallery.configure("media", storage_path=str(tmp_path / "elsewhere"))
    item = upload(gallery.staff, gallery.event.id, photo()).get_json()["data"]
    assert (tmp_path / "elsewhere" / gallery.event.id / f"{item['id']}.jpg").is_file()

    class MemoryStorage(storage.MediaStorage):
        blobs: dict[str, bytes] = {}

        def save(self, key, source):
            self.blobs[key] = source.read()
            return len(self.blobs[key])

        def open(self, key):
            if key not in self.blobs:
                raise FileNotFoundError(key)
            return io.BytesIO(self.blobs[key])

        def delete(self, key):
            self.blobs.pop(key, None)

        def size(self, key):
            return len(self.blobs[key])

    storage.register_backend("memory", lambda org_id, settings, data_path: MemoryStorage())
    gallery.configure("media", storage="memory", storage_path="")
    item = upload(gallery.staff, gallery.event.id, photo()).get_json()["data"]
    assert sorted(MemoryStorage.blobs) == sorted([f"{gallery.event.id}/{item['id']}.jpg",
                                                 f"{gallery.event.id}/{item['id']}.thumb.jpg"])
    assert gallery.staff.get(item["url"]).data == MemoryStorage.blobs[f"{gallery.event.id}/{item['id']}.jpg"]
    gallery.staff.delete(f"/events/{gallery.event.id}/media/{item['id']}")
    assert MemoryStorage.blobs == {}
    gallery.configure("media", storage="nowhere")
    assert upload(gallery.staff, gallery.event.id, photo()).get_json()["type"] == "media_storage_unavailable"


def test_deleting_an_event_removes_its_photos_and_gives_the_quota_back(gallery, config):
    event = gallery.event
    upload(gallery.staff, event.id, photo())
    upload(gallery.staff, event.id, photo(fmt="PNG"), filename="b.png")
    assert counts(gallery)[0] == 2 and len(stored_files(config, gallery)) == 4  # originals and thumbnails
    assert counts(gallery)[1] > 0
    assert gallery.staff.delete(f"/events/{event.id}").status_code == 204
    assert_nothing_left(config, gallery)


def test_a_failing_plugin_does_not_block_deleting_an_event(gallery, config, monkeypatch):
    from plugins.media import service

    def broken(org, event_ids):
        raise RuntimeError("storage is down")

    monkeypatch.setattr(service, "forget_events", broken)
    upload(gallery.staff, gallery.event.id, photo())
    assert gallery.staff.delete(f"/events/{gallery.event.id}").status_code == 204
    assert gallery.staff.get(f"/events/{gallery.event.id}").status_code == 404
    assert counts(gallery)[0] == 0  # the rows went with the event; the files are left, as logged
