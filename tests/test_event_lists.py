"""Event lists (003 "Event lists", issue 15): the default list made with every event, list CRUD in JSON and
multipart with a real image and its renditions, sanitised descriptions, permanent lists, tenant isolation, the
`list`/`list.setting` event includes, and lists on ticket types and tickets (views and the PDF)."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib

from PIL import Image
from test_purchase_support import iso


def _event(staff, **extra) -> dict:
    body = {"name": "Jazz Night", "starts_at": iso(dt.timedelta(days=20)),
            "ends_at": iso(dt.timedelta(days=20, hours=3)), "published_at": iso(-dt.timedelta(minutes=5)),
            "registration_types": [{"name": "GA", "price": 0, "inventory": 50}], **extra}
    created = staff.post("/events", json={"event": body})
    assert created.status_code == 201, created.get_json()
    return created.get_json()["data"]


def _lists(staff, event_id: str, query: str = "") -> list[dict]:
    answer = staff.get(f"/events/{event_id}/lists{query}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["data"]


def _png(size=(1200, 800), color=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def _jpeg(size=(640, 960)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 90, 200)).save(out, "JPEG")
    return out.getvalue()


def _interlaced_png(width=16, height=12) -> bytes:
    """A real Adam7-interlaced RGB PNG (Pillow reads these but cannot write them)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
    raw = b""
    for x0, y0, dx, dy in passes:
        xs, ys = range(x0, width, dx), range(y0, height, dy)
        if not xs or not ys:
            continue
        for y in ys:
            raw += b"\x00" + b"".join(bytes(((x * 15) % 256, (y * 20) % 256, 128)) for x in xs)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _upload(staff, path: str, image: bytes, method: str = "POST", filename: str = "image.png", **fields):
    form = {f"list[{key}]": value for key, value in fields.items()}
    form["list[image]"] = (io.BytesIO(image), filename)
    return staff.request(method, path, data=form, content_type="multipart/form-data")


def _fetch_image(tenant, url: str):
    """An image URL as a browser loads it: no `orgid`, no token."""
    return tenant.staff.flask.get(url)


# --- the default list ----------------------------------------------------------------------------------

def test_every_event_session_and_generated_date_gets_its_default_list(tenant):
    staff = tenant.staff
    event = _event(staff)
    lists = _lists(staff, event["id"])
    assert [(row["name"], row["default"], row["event_id"]) for row in lists] == [("Jazz Night", True, event["id"])]
    page = f"http://127.0.0.1:8000/e/{tenant.orgid}/{event['slug']}"
    assert lists[0]["links"] == {"event_page": page, "order_page": f"{page}/checkout?list={lists[0]['id']}"}

    sessions = [{"name": f"Talk {n}", "starts_at": iso(dt.timedelta(days=5, hours=n)),
                 "ends_at": iso(dt.timedelta(days=5, hours=n, minutes=50))} for n in (1, 2)]
    parent = staff.post("/events", json={"event": {"type": "parent", "name": "Fest", "sessions": sessions}})
    parent = parent.get_json()["data"]
    shown = staff.get(f"/events/{parent['id']}?include=sessions,list").get_json()["data"]
    assert shown["list"]["default"] is True and shown["list"]["event_id"] == parent["id"]
    assert [s["list"]["name"] for s in shown["sessions"]] == ["Talk 1", "Talk 2"]

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    recurring = staff.post("/events", json={"event": {
        "type": "recurring", "name": "Weekly Quiz", "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        "recurrences": [{"starts_at": start.isoformat(), "ends": "after_occurrences", "max_occurrences": 3,
                         "repeat_unit": "week", "repeat_value": 1}]}}).get_json()["data"]
    dates = staff.get(f"/events?filter[parent_event_id]={recurring['id']}&include=list").get_json()["data"]
    assert len(dates) == 3
    assert all(d["list"]["default"] and d["list"]["event_id"] == d["id"] for d in dates)


def test_the_migration_gives_events_without_one_a_default_list_once(tenant):
    from core import db as database
    from core.migrations import m0017_event_lists
    from core.models import EventList

    event = _event(tenant.staff)
    with database.db.connection_context():
        EventList.delete().where(EventList.event == event["id"]).execute()
    assert _lists(tenant.staff, event["id"]) == []
    with database.db.connection_context():
        m0017_event_lists.upgrade()
        m0017_event_lists.upgrade()  # idempotent
    lists = _lists(tenant.staff, event["id"])
    assert [(row["name"], row["default"]) for row in lists] == [("Jazz Night", True)]


def test_event_includes_list_and_list_setting(tenant):
    staff = tenant.staff
    event = _event(staff)
    default = _lists(staff, event["id"])[0]
    staff.patch(f"/events/{event['id']}/lists/{default['id']}", json={"list": {"description": "<p>Door B</p>"}})
    plain = staff.get(f"/events/{event['id']}?include=list").get_json()["data"]["list"]
    assert plain["id"] == default["id"] and "setting" not in plain
    full = staff.get(f"/events/{event['id']}?include=list.setting").get_json()["data"]["list"]
    assert full["setting"] == {"description": "<p>Door B</p>", "image": None}
    listed = staff.get("/events?include=list.setting").get_json()["data"]
    assert {row["id"]: row["list"]["setting"]["description"] for row in listed}[event["id"]] == "<p>Door B</p>"
    assert "list" not in staff.get(f"/events/{event['id']}").get_json()["data"]
    seen = tenant.customer().get(f"/client/events/{event['id']}?include=list.setting")
    assert seen.get_json()["data"]["list"]["setting"]["description"] == "<p>Door B</p>"
    assert staff.get(f"/events/{event['id']}?include=lists").status_code == 400


# --- CRUD ----------------------------------------------------------------------------------------------

def test_lists_are_created_changed_paged_sorted_filtered_and_deleted(tenant):
    staff = tenant.staff
    event = _event(staff)
    permanent = staff.post("/permanent-lists", json={"name": "Members", "description": "Season members"})
    assert permanent.status_code == 201
    permanent = permanent.get_json()["data"]
    created = staff.post(f"/events/{event['id']}/lists", json={"list": {
        "name": "VIP Hospitality", "description": "Exclusive lounge access", "permanent_list_id": permanent["id"]}})
    assert created.status_code == 201, created.get_json()
    vip = created.get_json()["data"]
    assert vip["name"] == "VIP Hospitality" and vip["default"] is False
    assert vip["permanent_list_id"] == permanent["id"]
    bare = staff.post(f"/events/{event['id']}/lists?include=setting", json={"name": "Artists"}).get_json()["data"]
    assert bare["setting"] == {"description": "", "image": None}

    one = staff.get(f"/events/{event['id']}/lists/{vip['id']}?include=permanent_list,setting").get_json()["data"]
    assert one["permanent_list"]["name"] == "Members"
    assert one["setting"]["description"] == "Exclusive lounge access"

    changed = staff.patch(f"/events/{event['id']}/lists/{vip['id']}", json={"name": "VIP"}).get_json()["data"]
    assert changed["name"] == "VIP" and changed["permanent_list_id"] == permanent["id"]
    detached = staff.patch(f"/events/{event['id']}/lists/{vip['id']}", json={"permanent_list_id": None})
    assert detached.get_json()["data"]["permanent_list_id"] is None
    staff.patch(f"/events/{event['id']}/lists/{vip['id']}", json={"permanent_list_id": permanent["id"]})

    assert [r["name"] for r in _lists(staff, event["id"])] == ["Jazz Night", "VIP", "Artists"]
    assert [r["name"] for r in _lists(staff, event["id"], "?sort[name]=asc")] == ["Artists", "Jazz Night", "VIP"]
    assert [r["name"] for r in _lists(staff, event["id"], "?sort[name]=desc")] == ["VIP", "Jazz Night", "Artists"]
    first = staff.get(f"/events/{event['id']}/lists?sort[name]=asc&page[size]=2").get_json()
    assert [r["name"] for r in first["data"]] == ["Artists", "Jazz Night"] and not first["meta"]["page"]["last"]
    rest = staff.get(f"/events/{event['id']}/lists?sort[name]=asc&page[size]=2"
                     f"&page[cursor]={first['meta']['page']['next_cursor']}").get_json()
    assert [r["name"] for r in rest["data"]] == ["VIP"] and rest["meta"]["page"]["last"]
    paged, cursor = [], None
    while True:
        answer = staff.get(f"/events/{event['id']}/lists?page[size]=1"
                           + (f"&page[cursor]={cursor}" if cursor else "")).get_json()
        paged += [r["name"] for r in answer["data"]]
        cursor = answer["meta"]["page"]["next_cursor"]
        if cursor is None:
            break
    assert paged == ["Jazz Night", "VIP", "Artists"]
    filtered = _lists(staff, event["id"], f"?filter[permanent_list_id]={permanent['id']}&include=permanent_list")
    assert [(r["name"], r["permanent_list"]["id"]) for r in filtered] == [("VIP", permanent["id"])]

    renamed = staff.patch(f"/permanent-lists/{permanent['id']}",
                          json={"name": "Season members", "description": "<b>2027</b><script>x</script>"})
    assert renamed.get_json()["data"] | {"updated_at": None, "created_at": None} == {
        "id": permanent["id"], "name": "Season members", "description": "<b>2027</b>", "created_at": None,
        "updated_at": None}
    assert [p["name"] for p in staff.get("/permanent-lists").get_json()["data"]] == ["Season members"]
    assert staff.get(f"/permanent-lists/{permanent['id']}").get_json()["data"]["name"] == "Season members"
    assert staff.delete(f"/permanent-lists/{permanent['id']}").get_json()["type"] == "permanent_list_in_use"
    default = _lists(staff, event["id"])[0]
    refused = staff.delete(f"/events/{event['id']}/lists/{default['id']}")
    assert (refused.status_code, refused.get_json()["type"]) == (409, "default_list")
    assert staff.delete(f"/events/{event['id']}/lists/{bare['id']}").status_code == 204
    assert staff.get(f"/events/{event['id']}/lists/{bare['id']}").get_json()["type"] == "list_not_found"
    assert staff.delete(f"/events/{event['id']}/lists/{vip['id']}").status_code == 204
    assert staff.delete(f"/permanent-lists/{permanent['id']}").status_code == 204


def test_bad_list_input_is_refused_and_changes_nothing(tenant, other_tenant):
    staff = tenant.staff
    event = _event(staff)
    url = f"/events/{event['id']}/lists"

    def refused(response, status, kind):
        body = response.get_json()
        assert (response.status_code, body["type"]) == (status, kind), body
        return body

    missing = refused(staff.post(url, json={"list": {"description": "no name"}}), 422, "validation_error")
    assert "name" in missing["errors"]["json"]
    unknown = refused(staff.post(url, json={"list": {"name": "X", "color": "red"}}), 422, "validation_error")
    assert "color" in unknown["errors"]["json"]
    image = refused(staff.post(url, json={"list": {"name": "X", "image": "https://img.example/x.png"}}), 422,
                    "validation_error")
    assert "image" in image["errors"]["json"]
    refused(staff.post(url, data="name=X", content_type="text/plain"), 400, "invalid_body")
    foreign = other_tenant.staff.post("/permanent-lists", json={"name": "Theirs"}).get_json()["data"]
    theirs = refused(staff.post(url, json={"name": "X", "permanent_list_id": foreign["id"]}), 422,
                     "permanent_list_not_found")
    assert "permanent_list_id" in theirs["errors"]
    refused(staff.get(f"{url}?include=tickets"), 400, "invalid_parameter")
    refused(staff.get(f"{url}?images[list][image]=huge"), 400, "invalid_parameter")
    refused(staff.get(f"{url}?filter[color]=red"), 400, "invalid_parameter")
    blank = staff.patch(f"{url}/{_lists(staff, event['id'])[0]['id']}", json={"name": "  "})
    refused(blank, 422, "invalid_list")
    assert [r["name"] for r in _lists(staff, event["id"])] == ["Jazz Night"]


def test_descriptions_keep_simple_formatting_and_lose_scripts_and_attributes(tenant):
    staff = tenant.staff
    event = _event(staff)
    dirty = ('<p style="color:red" onclick="steal()">Lounge <strong>open</strong> from 8pm'
             '<script>alert(document.cookie)</script></p><ul><li>Drinks</li></ul>'
             '<a href="javascript:alert(1)">bad</a> <a href="https://jazz.example/vip" target="_blank">map</a>'
             '<img src="x" onerror="steal()"><iframe src="https://evil.example"></iframe>')
    created = staff.post(f"/events/{event['id']}/lists?include=setting",
                         data={"list[name]": "VIP", "list[description]": dirty},
                         content_type="multipart/form-data")
    assert created.status_code == 201, created.get_json()
    description = created.get_json()["data"]["setting"]["description"]
    assert "<strong>open</strong>" in description and "<ul><li>Drinks</li></ul>" in description
    assert '<a href="https://jazz.example/vip" rel="noopener noreferrer">map</a>' in description
    for gone in ("script", "alert", "onclick", "style", "onerror", "<img", "iframe", "javascript", "target"):
        assert gone not in description


# --- images --------------------------------------------------------------------------------------------

def test_multipart_image_is_cleaned_stored_and_served_with_measured_renditions(tenant):
    staff = tenant.staff
    event = _event(staff)
    created = _upload(staff, f"/events/{event['id']}/lists?include=setting", _png(), name="VIP Hospitality",
                      description="Exclusive lounge access")
    assert created.status_code == 201, created.get_json()
    row = created.get_json()["data"]
    image = row["setting"]["image"]
    assert (image["content_type"], image["width"], image["height"]) == ("image/png", 1200, 800)
    sizes = {name: (r["width"], r["height"]) for name, r in image["renditions"].items()}
    assert sizes == {"thumb": (200, 133), "small": (400, 267), "medium": (800, 533), "large": (1200, 800)}
    original = _fetch_image(tenant, image["url"])
    assert original.status_code == 200 and original.mimetype == "image/png"
    assert Image.open(io.BytesIO(original.data)).size == (1200, 800)
    for name, rendition in image["renditions"].items():
        served = _fetch_image(tenant, rendition["url"])
        assert served.mimetype == "image/jpeg"
        assert Image.open(io.BytesIO(served.data)).size == sizes[name]

    only = staff.get(f"/events/{event['id']}/lists/{row['id']}?include=setting&images[list][image]=thumb,medium")
    assert set(only.get_json()["data"]["setting"]["image"]["renditions"]) == {"thumb", "medium"}

    replaced = _upload(staff, f"/events/{event['id']}/lists/{row['id']}?include=setting", _jpeg(), method="PATCH",
                       filename="photo.jpg")
    assert replaced.status_code == 200, replaced.get_json()
    new_image = replaced.get_json()["data"]["setting"]["image"]
    assert (new_image["content_type"], new_image["width"], new_image["height"]) == ("image/jpeg", 640, 960)
    assert replaced.get_json()["data"]["name"] == "VIP Hospitality"
    assert Image.open(io.BytesIO(_fetch_image(tenant, new_image["url"]).data)).format == "JPEG"

    removed = staff.patch(f"/events/{event['id']}/lists/{row['id']}?include=setting", json={"image": None})
    assert removed.get_json()["data"]["setting"]["image"] is None
    gone = _fetch_image(tenant, new_image["url"])
    assert (gone.status_code, gone.get_json()["type"]) == (404, "image_not_found")


def test_images_other_than_jpeg_or_plain_png_are_refused_and_leave_nothing(tenant):
    staff = tenant.staff
    event = _event(staff)
    url = f"/events/{event['id']}/lists"
    assert Image.open(io.BytesIO(_interlaced_png())).info.get("interlace")  # a real interlaced PNG
    gif = io.BytesIO()
    Image.new("RGB", (20, 20)).save(gif, "GIF")
    for data, status, kind in ((_interlaced_png(), 415, "interlaced_png"),
                               (gif.getvalue(), 415, "unsupported_image_format"),
                               (b"just some text, not a picture", 415, "not_an_image"),
                               (_png()[:400], 422, "corrupt_image")):
        answer = _upload(staff, url, data, name="VIP")
        assert (answer.status_code, answer.get_json()["type"]) == (status, kind)
    assert [r["name"] for r in _lists(staff, event["id"])] == ["Jazz Night"]
    stray = _upload(staff, url, _png(), name="VIP")
    assert stray.status_code == 201
    wrong_key = staff.post(url, data={"list[name]": "X", "list[photo]": (io.BytesIO(_png()), "a.png")},
                           content_type="multipart/form-data")
    assert (wrong_key.status_code, wrong_key.get_json()["type"]) == (422, "validation_error")


# --- isolation -----------------------------------------------------------------------------------------

def test_another_tenants_lists_and_images_are_invisible(tenant, other_tenant):
    staff = tenant.staff
    event = _event(staff)
    vip = _upload(staff, f"/events/{event['id']}/lists?include=setting", _png((300, 200)), name="VIP")
    vip = vip.get_json()["data"]
    other_event = _event(staff)
    path = f"/events/{event['id']}/lists/{vip['id']}"
    for client in (other_tenant.staff,):
        assert client.get(path).get_json()["type"] == "event_not_found"
        assert client.patch(path, json={"name": "Mine"}).status_code == 404
        assert client.delete(path).status_code == 404
        assert client.get(f"/events/{event['id']}/lists").status_code == 404
    assert staff.get(f"/events/{other_event['id']}/lists/{vip['id']}").get_json()["type"] == "list_not_found"
    own_url = vip["setting"]["image"]["url"]
    assert _fetch_image(tenant, own_url).status_code == 200
    crossed = _fetch_image(tenant, own_url.replace(tenant.orgid, other_tenant.orgid))
    assert (crossed.status_code, crossed.get_json()["type"]) == (404, "image_not_found")
    fan = tenant.customer()
    assert fan.get(f"/events/{event['id']}/lists").status_code == 403
    assert fan.post(f"/events/{event['id']}/lists", json={"name": "Mine"}).status_code == 403
    assert tenant.guest.get(f"/events/{event['id']}/lists").status_code == 401
    assert staff.get(path).get_json()["data"]["name"] == "VIP"


# --- lists on ticket types and tickets -----------------------------------------------------------------

def test_ticket_types_and_tickets_go_on_lists_whose_description_shows_on_the_ticket(tenant, other_tenant):
    from core import db as database
    from core.models import Ticket
    from core.services.ticket_pdf import ticket_card

    staff = tenant.staff
    event = _event(staff)
    default = _lists(staff, event["id"])[0]
    vip = staff.post(f"/events/{event['id']}/lists", json={"list": {
        "name": "VIP", "description": "<p>Lounge &amp; bar <em>upstairs</em></p>"}}).get_json()["data"]
    other_event = _event(staff)
    other_list = staff.post(f"/events/{other_event['id']}/lists", json={"name": "Elsewhere"}).get_json()["data"]
    ga = staff.get(f"/events/{event['id']}?include=registration_types").get_json()["data"]["registration_types"][0]
    assert ga["listId"] is None

    moved = staff.patch(f"/events/ticket-types/{ga['id']}", json={"listId": vip["id"]})
    assert moved.status_code == 200 and moved.get_json()["data"]["listId"] == vip["id"]
    wrong = staff.patch(f"/events/ticket-types/{ga['id']}", json={"listId": other_list["id"]}).get_json()
    assert wrong["type"] == "list_of_another_event" and "listId" in wrong["errors"]["json"]
    foreign = other_tenant.staff.post(f"/events/{_event(other_tenant.staff)['id']}/lists", json={"name": "T"})
    theirs = staff.patch(f"/events/ticket-types/{ga['id']}", json={"listId": foreign.get_json()["data"]["id"]})
    assert (theirs.status_code, theirs.get_json()["type"]) == (422, "list_not_found")
    added = staff.patch(f"/events/{event['id']}", json={"event": {
        "registration_types": [{"name": "Guests", "price": 0, "inventory": 5, "list_id": vip["id"]}]}})
    assert added.status_code == 200, added.get_json()
    types = staff.get(f"/events/{event['id']}?include=registration_types").get_json()["data"]["registration_types"]
    assert {t["name"]: t["listId"] for t in types}["Guests"] == vip["id"]
    in_use = staff.delete(f"/events/{event['id']}/lists/{vip['id']}")
    assert (in_use.status_code, in_use.get_json()["type"]) == (409, "list_in_use")

    fan = tenant.customer()
    bought = fan.post("/client/events/tickets/purchase", json={
        "eventId": event["id"], "tickets": [{"ticketTypeId": ga["id"], "quantity": 1}]})
    assert bought.status_code in (200, 201), bought.get_json()
    ticket_id = bought.get_json()["tickets"][0]["id"]
    mine = fan.get(f"/client/events/tickets/{ticket_id}").get_json()
    assert mine["listId"] == vip["id"]
    assert mine["list"] == {"id": vip["id"], "name": "VIP", "description": "<p>Lounge &amp; bar <em>upstairs</em></p>"}
    with database.db.connection_context():
        card = ticket_card(tenant.org, Ticket.get_by_id(ticket_id))
    assert (card["list"], card["listDescription"]) == ("VIP", "Lounge & bar upstairs")

    back = staff.put(f"/events/tickets/{ticket_id}/list", json={"listId": default["id"]})
    assert back.status_code == 200 and back.get_json()["list"]["id"] == default["id"]
    assert staff.get(f"/events/tickets/{ticket_id}").get_json()["list"]["name"] == "Jazz Night"
    refused = staff.put(f"/events/tickets/{ticket_id}/list", json={"listId": other_list["id"]})
    assert (refused.status_code, refused.get_json()["type"]) == (422, "list_of_another_event")
    assert "listId" in refused.get_json()["errors"]
    reset = staff.put(f"/events/tickets/{ticket_id}/list", json={"listId": None})
    assert reset.get_json()["list"]["id"] == vip["id"]
    assert fan.get("/client/events/tickets/mine").get_json()["tickets"][0]["list"]["name"] == "VIP"
    assert staff.get(f"/events/{event['id']}/tickets").get_json()["data"][0]["list"]["id"] == vip["id"]
    assert other_tenant.staff.put(f"/events/tickets/{ticket_id}/list", json={"listId": None}).status_code == 404
    assert fan.put(f"/events/tickets/{ticket_id}/list", json={"listId": None}).status_code == 403
    pdf = staff.get(f"/events/tickets/{ticket_id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_a_multipart_part_without_a_readable_name_is_a_422(tenant):
    """Found by the fuzzer: a form part without a name (werkzeug's key None) was a 500."""
    staff = tenant.staff
    event = _event(staff)
    boundary = "b0undary"
    for disposition in ("form-data", 'form-data; filename="a.png"'):
        body = (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\nx\r\n--{boundary}\r\n"
                f'Content-Disposition: form-data; name="list[name]"\r\n\r\nVIP\r\n--{boundary}--\r\n')
        answer = staff.post(f"/events/{event['id']}/lists", data=body.encode(),
                            content_type=f"multipart/form-data; boundary={boundary}")
        assert (answer.status_code, answer.get_json()["type"]) == (422, "validation_error")
    assert [r["name"] for r in _lists(staff, event["id"])] == ["Jazz Night"]
