"""Every request example of 002 (shared/seeds/002_49e0f46160882b11.txt), replayed through the developers_api plugin
with `Authorization: Bearer <api key>` and no `orgid`.

The examples' paths and bodies are copied below as they are, under their seed section's name; their ids (event
67212707e47ff56741acb3a6 and 643e7b194937913299554a7d, tier 65fff7aada40be007f09ee95, participant
697f54811fc6cd47e04c39c3) are mapped to records made in the set-up. The seed's e-mail addresses were hidden by
the page it was copied from ("[email protected]", e-mail obfuscation); the replay sends a real address in their
place (`EMAIL`), since "[email protected]" is rightly refused as an e-mail (422). Each answer is compared field
by field (names and JSON types, nested objects included) with the seed's sample response, and the values that
the set-up fixes are checked too.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from conftest import make_tenant
from test_developers_api import key_call, ok, photo
from test_events import iso
from test_public_api_v2 import assert_shape
from test_purchase_support import make_type

# --- the seed's examples, as they are --------------------------------------------------------------------------

LIST_EVENTS = "/events?page=1&limit=20"                                  # 1. List Events
GET_EVENT = "/event/67212707e47ff56741acb3a6"                             # 2. Get Single Event
LIST_TICKETS = "/tickets?eventId=67212707e47ff56741acb3a6"                # 3. List Tickets
CREATE_FOR_PARTICIPANT = {                                                # 4. Create Tickets, first example
    "eventId": "643e7b194937913299554a7d",
    "tickets": [{"ticket_id": "65fff7aada40be007f09ee95", "quantity": 2}],
    "participant": {"participantId": "697f54811fc6cd47e04c39c3"}}
CREATE_FOR_NEW_PARTICIPANT = {                                            # second example
    "eventId": "643e7b194937913299554a7d",
    "tickets": [{"ticket_id": "65fff7aada40be007f09ee95", "quantity": 2}],
    "participant": {"last_name": "Doe", "first_name": "John", "email": "[email protected]",
                    "phone": "+1234567890"}}
CREATE_ANONYMOUS = {                                                      # third example
    "eventId": "643e7b194937913299554a7d",
    "tickets": [{"ticket_id": "65fff7aada40be007f09ee95", "quantity": 1}]}
LIST_PARTICIPANTS = "/participants?eventId=67212707e47ff56741acb3a6&page=1&limit=50"   # 5. List Participants

OBFUSCATED = "[email protected]"
EMAIL = "john.doe@example.com"

# --- the seed's sample responses, as they are ----------------------------------------------------------------

SAMPLE_EVENT = {
    "id": "507f1f77bcf86cd799439011", "name": "Concert de Jazz", "slug": "concert-de-jazz",
    "path": "/concert-de-jazz", "dateStart": "2024-06-15T20:00:00.000Z", "dateEnd": "2024-06-16T02:00:00.000Z",
    "location": "Paris, France", "publish": True,
    "cover": {"square": "https://res.cloudinary.com/genielabel/image/upload/c_fill,w_200,h_200,g_auto/abc123.jpg",
              "thumb": "https://res.cloudinary.com/genielabel/image/upload/c_thumb,w_400,h_300/abc123.jpg",
              "medium": "https://res.cloudinary.com/genielabel/image/upload/c_scale,w_800/abc123.jpg",
              "original": "https://res.cloudinary.com/genielabel/image/upload/abc123.jpg"},
    "checkoutUrl": "https://www.goevent.live/e/concert-de-jazz/checkout",
    "siteUrl": "https://www.goevent.live/e/concert-de-jazz"}
SAMPLE_LIST = {"events": [SAMPLE_EVENT], "paginate": {"hasNextPage": True, "nextPage": 2}}
SAMPLE_TICKETS = {"tickets": [{"id": "65fff7aada40be007f09ee95", "name": "VIP", "available": True, "quantity": 100},
                              {"id": "65fff7aada40be007f09ee96", "name": "Standard", "available": True,
                               "quantity": 250}]}
SAMPLE_ONE = {"event": SAMPLE_EVENT, **SAMPLE_TICKETS}
SAMPLE_PARTICIPANT = {"id": "697f54811fc6cd47e04c39c3", "last_name": "Doe", "first_name": "John",
                      "email": "[email protected]", "phone": "+1234567890", "address": None}
SAMPLE_CREATED = {"success": True, "participant": SAMPLE_PARTICIPANT, "tickets": [
    {"name": "VIP", "url": "https://goeventcloud2.s3.amazonaws.com/ticket-123.pdf?signature=...", "quantity": 2}]}
SAMPLE_PARTICIPANTS = {"participants": [
    {**SAMPLE_PARTICIPANT, "confirmed": True, "created": "2024-01-15T10:30:00.000Z"},
    {"id": "697f54811fc6cd47e04c39c4", "last_name": "Smith", "first_name": "Jane", "email": "[email protected]",
     "phone": "+1234567891", "address": "123 Main St", "confirmed": True, "created": "2024-01-16T14:20:00.000Z"}],
    "paginate": {"hasNextPage": False, "nextPage": None}}

# Where a sample shows a value that is null here, and why: (path).
NULL_ALLOWED = {
    "paginate.nextPage": "null on the last page",
    "events.cover": "null for an event without a cover (the set-up's other 20)",
    "participant.address": "the sample's own null",
    "participant": "null for anonymous tickets (the third example)",
    "participants.address": "null when the participant gave none",
}


def assert_same_shape(sample, actual) -> None:
    """Field by field: every field of the sample, with its JSON type (null only where NULL_ALLOWED says why)."""
    assert_shape(sample, actual, null_allowed=NULL_ALLOWED)


def seeded(text_or_body, ids: dict[str, str]):
    """An example with the seed's ids replaced by the set-up's."""
    if isinstance(text_or_body, str):
        for seed_id, real in ids.items():
            text_or_body = text_or_body.replace(seed_id, real)
        return text_or_body
    if isinstance(text_or_body, dict):
        return {k: seeded(v, ids) for k, v in text_or_body.items()}
    if isinstance(text_or_body, list):
        return [seeded(v, ids) for v in text_or_body]
    return text_or_body


@pytest.fixture
def seed_world(app):
    """The seed's world: 21 events (so page 1 of 20 has a next page), "Concert de Jazz" in Paris with a cover and
    its VIP (100 seats) and Standard (250) tiers."""
    tenant = make_tenant(app, "GoEvent", plugins=("developers_api",))
    staff = tenant.staff
    start = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None) + dt.timedelta(days=60)
    published = iso(start - dt.timedelta(days=90))
    jazz = ok(staff.post("/events", json={"name": "Concert de Jazz", "location": "Paris, France",
                                          "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=6)),
                                          "published_at": published}), 201)["data"]
    ok(staff.put(f"/events/{jazz['id']}/cover", data={"image": (io.BytesIO(photo()), "abc123.jpg")},
                 content_type="multipart/form-data"))
    for index in range(20):
        later = start + dt.timedelta(days=index + 1)
        ok(staff.post("/events", json={"name": f"Session {index}", "starts_at": iso(later),
                                       "ends_at": iso(later + dt.timedelta(hours=2)), "published_at": published}),
           201)
    vip = make_type(tenant, jazz["id"], name="VIP", price=120, currency="EUR", capacity=100)
    standard = make_type(tenant, jazz["id"], name="Standard", price=45, currency="EUR", capacity=250)
    tenant.ids = {OBFUSCATED: EMAIL, "67212707e47ff56741acb3a6": jazz["id"], "643e7b194937913299554a7d": jazz["id"],
                  "65fff7aada40be007f09ee95": vip, "65fff7aada40be007f09ee96": standard}
    tenant.jazz = jazz
    return tenant


def test_list_events(seed_world, config):
    body = ok(key_call(seed_world, "GET", LIST_EVENTS))
    assert_same_shape(SAMPLE_LIST, body)
    assert len(body["events"]) == 20 and body["paginate"] == {"hasNextPage": True, "nextPage": 2}
    [jazz] = [e for e in body["events"] if e["name"] == "Concert de Jazz"]
    assert (jazz["slug"], jazz["path"], jazz["location"], jazz["publish"]) == (
        "concert-de-jazz", "/concert-de-jazz", "Paris, France", True)
    assert jazz["siteUrl"] == f"{config.public_url}/e/{seed_world.orgid}/concert-de-jazz"
    assert jazz["checkoutUrl"] == jazz["siteUrl"] + "/checkout"
    assert jazz["dateStart"].endswith(".000Z") and jazz["dateStart"][:19] == seed_world.jazz["start"]["utc"][:19]
    last = ok(key_call(seed_world, "GET", "/events?page=2&limit=20"))
    assert len(last["events"]) == 1 and last["paginate"] == {"hasNextPage": False, "nextPage": None}


def test_get_single_event(seed_world):
    body = ok(key_call(seed_world, "GET", seeded(GET_EVENT, seed_world.ids)))
    assert_same_shape(SAMPLE_ONE, body)
    assert [(t["name"], t["available"], t["quantity"]) for t in body["tickets"]] == [
        ("VIP", True, 100), ("Standard", True, 250)]
    for url in body["event"]["cover"].values():
        assert seed_world._flask.get(url.split("127.0.0.1:8000", 1)[1]).status_code == 200


def test_list_tickets(seed_world):
    body = ok(key_call(seed_world, "GET", seeded(LIST_TICKETS, seed_world.ids)))
    assert_same_shape(SAMPLE_TICKETS, body)
    assert [t["id"] for t in body["tickets"]] == [seed_world.ids["65fff7aada40be007f09ee95"],
                                                  seed_world.ids["65fff7aada40be007f09ee96"]]


def test_create_tickets_anonymous(seed_world):
    body = ok(key_call(seed_world, "POST", "/tickets/create", json=seeded(CREATE_ANONYMOUS, seed_world.ids)))
    assert_same_shape(SAMPLE_CREATED, body)
    assert body["participant"] is None
    assert [(t["name"], t["quantity"]) for t in body["tickets"]] == [("VIP", 1)]
    assert seed_world._flask.get(body["tickets"][0]["url"].split("127.0.0.1:8000", 1)[1]).status_code == 200


def test_create_tickets_for_a_new_participant(seed_world):
    body = ok(key_call(seed_world, "POST", "/tickets/create",
                       json=seeded(CREATE_FOR_NEW_PARTICIPANT, seed_world.ids)))
    assert_same_shape(SAMPLE_CREATED, body)
    participant = body["participant"]
    assert {k: participant[k] for k in ("last_name", "first_name", "email", "phone", "address")} == {
        "last_name": "Doe", "first_name": "John", "email": EMAIL, "phone": "+1234567890", "address": None}
    assert [(t["name"], t["quantity"]) for t in body["tickets"]] == [("VIP", 2)]
    seed_world.ids["697f54811fc6cd47e04c39c3"] = participant["id"]
    again = ok(key_call(seed_world, "POST", "/tickets/create",
                        json=seeded(CREATE_FOR_NEW_PARTICIPANT, seed_world.ids)))
    assert again["participant"]["id"] == participant["id"]   # found again by e-mail


def test_create_tickets_for_an_existing_participant(seed_world):
    made = ok(key_call(seed_world, "POST", "/tickets/create",
                       json=seeded(CREATE_FOR_NEW_PARTICIPANT, seed_world.ids)))["participant"]
    seed_world.ids["697f54811fc6cd47e04c39c3"] = made["id"]
    body = ok(key_call(seed_world, "POST", "/tickets/create", json=seeded(CREATE_FOR_PARTICIPANT, seed_world.ids)))
    assert_same_shape(SAMPLE_CREATED, body)
    assert body["participant"]["id"] == made["id"] and body["participant"]["phone"] == "+1234567890"
    assert [(t["name"], t["quantity"]) for t in body["tickets"]] == [("VIP", 2)]


def test_list_participants(seed_world):
    ok(key_call(seed_world, "POST", "/tickets/create", json=seeded(CREATE_FOR_NEW_PARTICIPANT, seed_world.ids)))
    smith = {**CREATE_FOR_NEW_PARTICIPANT, "participant": {"last_name": "Smith", "first_name": "Jane",
                                                           "email": "jane@example.com", "phone": "+1234567891"}}
    ok(key_call(seed_world, "POST", "/tickets/create", json=seeded(smith, seed_world.ids)))
    body = ok(key_call(seed_world, "GET", seeded(LIST_PARTICIPANTS, seed_world.ids)))
    assert_same_shape(SAMPLE_PARTICIPANTS, body)
    assert [(p["first_name"], p["last_name"], p["confirmed"]) for p in body["participants"]] == [
        ("John", "Doe", True), ("Jane", "Smith", True)]
    assert all(p["created"].endswith(".000Z") for p in body["participants"])
    assert body["paginate"] == {"hasNextPage": False, "nextPage": None}
