"""Tenant-isolation matrix (issue 13's standing guard), generated from the app's own /openapi.json.

Two tenants, A and B, each get real records of every kind the routes address, made over HTTP like an organiser
and a fan would (venues, events with sessions, ticket types, bookings, tickets, a transfer, an owed refund,
participation, photos and a media guest, storefront products, promotions, tax rates, gift cards, orders and
jobs, e-mails and webhook deliveries). Then every operation in the document whose path carries a `{...}`
parameter is called with B's ids:

1. as A's staff, and as A's customer (A's `orgid` with A's tokens);
2. with a token/orgid mismatch: B's staff and customer tokens sent with A's `orgid`, A's tokens with B's;
3. for a path with two ids, with A's own parent id and B's child id (A's staff and customer).

Every call must answer 401, 403 or 404 with the JSON error envelope (or 422 when a body-level id check
refuses it), and for A's own staff and customer exactly what the same call naming made-up ids gets (so a
record's existence never shows across tenants). B's rows in every table that carries an `org_id`, its `org`
row and its files must be the same after the whole matrix as before. Each GET is also called with A's own ids
by A's staff, customer or the operator, and must succeed: the proof that the ids were the right kind and the
route reachable, so the 404s above come from tenant scoping and not from a wrong id. A body is the minimal
valid one its request schema allows (plus `BODY_EXTRAS` where a route needs more), so a call reaches the id
lookup.

Further passes, on every route: each id field of a JSON body (`eventId`, `ticketTypeIds`,
`sessions[].venue_id`...) and each id filter of a list (`?filter[venue_id]=`) set to B's record, the rest A's
own, must be answered exactly like a made-up id, and A's own must get further (the proof that the call reached
the check); B's secrets (API key, claim token, codes, QR payload, Idempotency-Key) under A's `orgid` open
nothing a made-up one would not; and no answer to a GET aimed at A's own records carries anything of B's.

A new route is covered without editing this file when its path parameters and body id fields are named like
the existing ones (`PATH_KINDS`, `BODY_ID_KINDS`); an operation or field the matrix cannot aim fails the test
naming it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import string
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from fakes.base import running
from fakes.stripe_server import FakeStripe
from isolation_world import UNMADE, World, build_world, differences, photo, snapshot
from smtp_server import HttpReceiver, SmtpServer
from test_purchase_support import iso

from core import db as database

METHODS = ("get", "post", "patch", "put", "delete")
REFUSED = {401, 403, 404}
MADE_UP_ID = "00000000-0000-4000-8000-000000000000"  # a well-formed id no tenant has
MADE_UP_PUBLIC_ID = "4503599627370001"  # a well-formed numeric id (kinds `<kind>_public`, public_api_v2)
# 422 types of a body-level id check (core.tenancy.require_own_ids; templates and settings named in a body)
BODY_ID_REFUSALS = {"unknown_ids", "template_not_found", "setting_not_found"}

# Path parameter -> the kind of record it names (keys of World.ids). A path whose parameter means another kind
# than its name usually does is listed in PATH_KINDS_BY_PATH.
PATH_KINDS = {
    "venue_id": "venue", "event_id": "event", "job_id": "sync_job", "ticket_id": "ticket",
    "booking_id": "booking", "ticket_type_id": "ticket_type", "record_id": "ticket_type",
    "refund_id": "refund", "participant_id": "participant", "product_id": "product", "variant_id": "variant",
    "promotion_id": "promotion", "rate_id": "tax_rate", "card_id": "gift_card", "order_id": "order",
    "message_id": "message", "guest_id": "media_guest", "media_id": "media", "endpoint_id": "endpoint",
    "delivery_id": "delivery", "org_id": "org", "key_id": "api_key", "token": "payment_return_token",
    "category_id": "category", "tag_id": "tag", "campaign_id": "campaign", "calendar_id": "calendar",
    "pickup_type_id": "pickup_type", "pickup_id": "ticket_pickup",
    "configuration_id": "ticket_configuration", "pdf_token": "ticket_pdf_token", "barcode_id": "barcode",
    "list_id": "event_list", "permanent_list_id": "permanent_list", "attendee_id": "attendee",
    "customer_id": "customer", "hostname": "domain", "tickets_token": "tickets_pdf_token",
    "template_id": "wallet_template", "wallet_template_id": "wallet_template_public",
    "wallet_token": "ticket_wallet_token", "member_id": "member", "invite_id": "invite",
}
# Signed link tokens in a path, made per (caller's tenant, owner's record): the tenant a token is signed for
# is the caller's, the record it names the owner's (`signed_tokens`).
SIGNED_TOKEN_RECORDS = {"payment_return_token": "pending_booking", "ticket_pdf_token": "ticket",
                        "tickets_pdf_token": "booking",
                        "ticket_wallet_token": "ticket"}
PATH_KINDS_BY_PATH = {
    ("/ticket-configurations/{configuration_id}/barcodes", "configuration_id"): "pool_configuration",
    ("/ticket-configurations/{configuration_id}/barcodes/{barcode_id}", "configuration_id"): "pool_configuration",
    ("/storefront/jobs/{job_id}", "job_id"): "storefront_job",
    ("/events/{event_id}", "event_id"): "parent_event",
    ("/public/v2/events/{event_id}", "event_id"): "parent_event_public",
    ("/public/v2/events/{event_id}/sync_jobs/{job_id}", "event_id"): "event_public",
    ("/public/v2/events/{event_id}/ticket_types", "event_id"): "event_public",
    ("/public/v2/events/{event_id}/ticket_types/add", "event_id"): "event_public",
    ("/public/v2/ticket_types/{ticket_type_id}", "ticket_type_id"): "ticket_configuration_public",
    ("/public/v2/events/{event_id}/lists", "event_id"): "event_public",
    ("/public/v2/events/{event_id}/refund", "event_id"): "parent_event_public",
    ("/public/v2/events/{event_id}/lists/{list_id}", "event_id"): "event_public",
    ("/public/v2/events/{event_id}/lists/{list_id}", "list_id"): "event_list_public",
    ("/events/{event_id}/refund", "event_id"): "parent_event",
    ("/events/tickets/{ticket_id}/activate", "ticket_id"): "pending_ticket",
    ("/client/events/{event_id}/participation", "event_id"): "parent_event",
    ("/client/events/{event_id}/sessions", "event_id"): "parent_event",
    ("/client/events/{event_id}/schedule", "event_id"): "parent_event",
    ("/events/{event_id}/participants/invite", "event_id"): "session",
    ("/events/{event_id}/participation", "event_id"): "session",
    ("/client/events/{event_id}/participants", "event_id"): "session",
    ("/events/bookings/{booking_id}/mark-paid", "booking_id"): "pending_booking",
    ("/storefront/orders/{order_id}", "order_id"): "order_booking",
    # A public file URL names the tenant whose photo it is: the cross-tenant attempt is the caller's own
    # tenant with B's photo id (B's own public URL is public by design).
    ("/media/o/{org_id}/{media_id}", "org_id"): "caller_org",
    ("/media/o/{org_id}/{media_id}/thumb", "org_id"): "caller_org",
    ("/lists/o/{org_id}/{list_id}/image", "org_id"): "caller_org",
    **{(path, "template_id"): kind for path, kind in (
        ("/pdf-templates/{template_id}", "pdf_template"), ("/pdf-templates/{template_id}/background", "pdf_template"),
        ("/ticket-email-templates/{template_id}", "email_template"),
        ("/ticket-email-templates/{template_id}/preview", "email_template"),
        ("/tally-templates/{template_id}", "tally_template"),
        ("/public/v2/pdf_templates/{template_id}", "pdf_template_public"),
        ("/public/v2/email_templates/{template_id}", "email_template_public"),
        ("/public/v2/tally_templates/{template_id}", "tally_template_public"))},
    ("/public/v2/events/{event_id}/setting", "event_id"): "event_public",
    ("/covers/o/{org_id}/{event_id}", "org_id"): "caller_org",
    ("/events/{event_id}/waiting-room", "event_id"): "queue_event",
    ("/client/events/{event_id}/queue", "event_id"): "queue_event",
}
# Path parameters that are not record ids: a fixed value each.
PATH_VALUES = {"action": "hide", "plugin": "media", "gateway": "stripe", "slot": "icon"}
# Query parameters that carry a credential of the owner's (a media guest's link token, a waiting-room queue token).
QUERY_KINDS = {"token": "media_guest_token", "queueToken": "queue_token"}
# Query parameters that filter a list by a record -> its kind (`sort[...]` names no record).
QUERY_ID_KINDS = {"filter[venue_id]": "venue", "filter[parent_event_id]": "parent_event", "eventId": "event",
                  "customerId": "customer", "endpointId": "endpoint", "filter[calendar_id]": "calendar",
                  "filter[category_id]": "category", "filter[permanent_list_id]": "permanent_list",
                  "recordId": "refund"}  # the audit log's filter: any record; a refund's settling is audited
QUERY_ID_KINDS_BY_PATH = {("/public/v2/events", "filter[venue_id]"): "venue_public",
                          ("/public/v2/events", "filter[parent_event_id]"): "parent_event_public",
                          ("/public/v2/events", "filter[calendar_id]"): "calendar_public",
                          ("/public/v2/events", "filter[category_id]"): "category_public",
                          ("/public/v2/events/{event_id}/lists", "filter[permanent_list_id]"):
                              "permanent_list_public"}
# Body fields (dotted paths) that name a record -> its kind; and id-like fields that name no existing record.
BODY_ID_KINDS = {
    "venue_id": "venue", "sessions[].venue_id": "venue", "sessions[].id": "session", "date_ids": "session",
    "eventId": "event",  # a sale's types are paid ones: A's own sale then stops at payment, issuing nothing
    "scans[].ticketId": "ticket",  # a ticket id typed at an offline door, uploaded with the device's scans
    "ticketTypeId": "paid_type", "items[].ticketTypeId": "paid_type", "tickets[].ticketTypeId": "paid_type",
    "tickets[].ticket_id": "paid_type",  # 002's tickets/create (developers_api): a partner sale, paid to the partner
    "participant.participantId": "attendee",  # ... for an existing attendee (002's participant)
    "merch[].variantId": "variant", "bookingId": "pending_booking", "orderId": "pending_booking",
    "id": "spare_ticket_type", "sessionIds": "session", "ticketTypeIds": "ticket_type", "variantIds": "variant",
    "category_ids": "category", "tag_ids": "tag", "campaign_ids": "campaign", "calendar_id": "calendar",
    # registration types (003) and their pickups, edited in place on PATCH /events/{event_id} (the parent event)
    "registration_types[].id": "parent_type", "registration_types[].pickups[].id": "parent_type_pickup",
    "sessions[].registration_types[].id": "session_type",
    "sessions[].registration_types[].pickups[].id": "session_type_pickup",
    "registration_types[].pickups[].pickup_type_id": "pickup_type",
    "sessions[].registration_types[].pickups[].pickup_type_id": "pickup_type",
    # a ticket type's pickups (001 names), on PATCH /events/ticket-types/{ticket_type_id} (the general type)
    "pickups[].pickupTypeId": "pickup_type", "pickups[].id": "ticket_type_pickup",
    "data.pickups[].pickupTypeId": "pickup_type", "data.pickups[].id": "spare_type_pickup",  # data API: `id`'s
    "data.event": "event",  # the data API's new ticket type names its event (no id suffix: never a target)
    "ticket_type_id": "ticket_configuration", "registration_types[].ticket_type_id": "ticket_configuration",
    "sessions[].registration_types[].ticket_type_id": "ticket_configuration",
    "ticketConfigurationId": "ticket_configuration", "data.ticketConfigurationId": "ticket_configuration",
    "passes[].id": "pass", "passes[].pickups[].id": "pass_pickup", "passes[].pickups[].pickup_type_id": "pickup_type",
    "passes[].ticket_type_id": "ticket_configuration",
    # A list must be one of the ticket type's event (ids: `event`); elsewhere A's own is `list_of_another_event`.
    "listId": "event_list", "list_id": "event_list", "registration_types[].list_id": "event_list",
    "sessions[].registration_types[].list_id": "event_list", "permanent_list_id": "permanent_list",
    "passes[].list_id": "event_list",
    "data.listId": "event_list", "data.list_id": "event_list",
    # templates are named by their numeric ids in the core too (as a ticket configuration always named them)
    "pdf_template_id": "pdf_template_public", "ticket_type.pdf_template_id": "pdf_template_public",
    "ticket_email_template_id": "email_template_public", "tally_template_id": "tally_template_public",
    "setting_id": "event_setting",
    # a ticket configuration's Apple Wallet template: its numeric id, in the core's bodies too
    "wallet_template_id": "wallet_template_public", "ticket_type.wallet_template_id": "wallet_template_public",
}
# The same, for operations whose body ids are another kind (public_api_v2's numeric ids, `<kind>_public`).
_V2_EVENT_BODY_IDS = {
    "venue_id": "venue_public", "sessions[].venue_id": "venue_public", "sessions[].id": "session_public",
    "registration_types[].ticket_type_id": "ticket_configuration_public",
    "sessions[].registration_types[].ticket_type_id": "ticket_configuration_public",
    "category_ids": "category_public", "tag_ids": "tag_public", "campaign_ids": "campaign_public",
    "calendar_id": "calendar_public",
    "registration_types[].id": "parent_type_public", "registration_types[].pickups[].id": "parent_type_pickup_public",
    "sessions[].registration_types[].id": "session_type_public",
    "sessions[].registration_types[].pickups[].id": "session_type_pickup_public",
    "registration_types[].pickups[].pickup_type_id": "pickup_type_public",
    "sessions[].registration_types[].pickups[].pickup_type_id": "pickup_type_public",
    "passes[].id": "pass_public", "passes[].ticket_type_id": "ticket_configuration_public",
    "passes[].pickups[].id": "pass_pickup_public", "passes[].pickups[].pickup_type_id": "pickup_type_public",
    "registration_types[].list_id": "event_list_public", "sessions[].registration_types[].list_id": "event_list_public",
    "passes[].list_id": "event_list_public", "setting_id": "event_setting_public",
}
BODY_ID_KINDS_BY_PATH = {("post", "/public/v2/events"): _V2_EVENT_BODY_IDS,
                         ("patch", "/public/v2/events/{event_id}"): _V2_EVENT_BODY_IDS,
                         ("post", "/public/v2/events/{event_id}/ticket_types/add"):
                             {"ticket_type_id": "ticket_configuration_public"},
                         ("post", "/public/v2/events/{event_id}/lists"):
                             {"permanent_list_id": "permanent_list_public"},
                         ("patch", "/public/v2/events/{event_id}/lists/{list_id}"):
                             {"permanent_list_id": "permanent_list_public"},
                         ("patch", "/public/v2/events/{event_id}/refund"): {"date_ids": "session_public"},
                         **{("post", path): {"showing": "event", "type": "ticket_type"}   # 004's cart lines
                            for path in ("/tickets/cart/add/", "/tickets/cart/remove/")}}
NOT_RECORD_IDS = {
    "orgId": "POST /operator/tenants: the new tenant's own id",
    "scans[].scanId": "a door device's own id for an offline scan (its idempotency key), new to the server",
    ("put", "/events/{event_id}/resale/settings", "eventId"): "read only (the answer's); the path names the event",
    "recurrences[].id": "names a rule of the path's recurring event (the matrix's event is a parent, whose PATCH "
                        "refuses any rule); tests/test_recurrences.py refuses another tenant's rule like a made-up one",
    ("post", "/events", "sessions[].id"): "a session's `id` names one to change on update; on create all are new",
    **{("post", "/events", field): "an `id` names a registration type (or its pickup) to change on update; on "
                                   "create all are new" for field in (
        "registration_types[].id", "registration_types[].pickups[].id", "sessions[].registration_types[].id",
        "sessions[].registration_types[].pickups[].id")},
    **{(method, path, field): "a new ticket type has no pickups yet to name" for method, path, field in (
        ("post", "/events/{event_id}/ticket-types", "pickups[].id"),
        ("post", "/data/event_ticket_type/create", "data.pickups[].id"))},
    ("post", "/public/v2/events", "sessions[].id"): "as POST /events: on create all sessions are new",
    **{("post", "/public/v2/events", field): "as POST /events: on create all registration types are new"
       for field in ("registration_types[].id", "registration_types[].pickups[].id",
                     "sessions[].registration_types[].id", "sessions[].registration_types[].pickups[].id",
                     "passes[].id", "passes[].pickups[].id")},
    **{("post", "/events", field): "a pass's `id` (or its pickup's) names one to change on update; on create it "
                                   "is a 422" for field in ("passes[].id", "passes[].pickups[].id")},
}
# Body fields that carry one of the caller's credentials rather than an id: always the caller's own.
BODY_VALUE_KINDS = {"qrPayload": "qr_payload"}
# Optional body fields a call needs to get as far as its id checks (a sale names its items and, for a guest
# or the box office, its buyer); ALTERNATIVES: fields left out when the id under test is in one of these.
_SALE = {"items": None, "email": None, "name": None}
_SESSION = {"sessions": None, "sessions[].name": "Talk", "sessions[].starts_at": None, "sessions[].ends_at": None}
# A new registration type needs a name; an edited one (PATCH) is named by its id, as are its pickups' tiers.
_TIERS = {"registration_types[].name": "GA", "sessions[].registration_types[].name": "GA", "passes[].name": "Pass"}
_EDITED_TIERS = {"sessions[].id": None, "registration_types[].id": None, "sessions[].registration_types[].id": None,
                 "passes[].id": None}
BODY_EXTRAS = {  # field -> its value (None: made from its schema)
    ("post", "/client/events/tickets/purchase"): _SALE,
    ("post", "/events/tickets/purchase"): _SALE,
    ("post", "/client/events/tickets/register"): _SALE,
    ("post", "/client/store/checkout"): _SALE,
    ("post", "/events"): {"name": "Fest", "type": "parent", **_SESSION, **_TIERS},
    ("patch", "/events/{event_id}"): {**_SESSION, **_EDITED_TIERS},
    ("post", "/public/v2/events"): {"name": "Fest", "type": "parent", **_SESSION, **_TIERS},
    ("patch", "/public/v2/events/{event_id}"): {**_SESSION, **_EDITED_TIERS},
    ("post", "/events/tickets/{ticket_id}/transfer"): {"toEmail": "friend@example.com"},
    ("post", "/client/events/tickets/{ticket_id}/transfer"): {"toEmail": "friend@example.com"},
    ("post", "/events/{event_id}/door-scans"): {"scans[].scanId": "1b4e28ba-2fa1-41d2-883f-0000f86ab001",
                                                "scans[].scannedAt": "2026-12-05T00:00:00Z",
                                                "scans[].verdict": "admitted", "scans[].code": "BO1:MADE-UP"},
}
ALTERNATIVES = {"items": ("tickets", "ticketTypeId"), "scans[].code": ("scans",)}  # a scan: a code or a ticket id


# --- building a call from the document --------------------------------------------------------------

@dataclass
class Operation:
    """One documented operation with a path id."""

    method: str
    path: str
    spec: dict

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def path_params(self) -> list[str]:
        return re.findall(r"{([^{}]+)}", self.path)


def operations(document: dict, *, with_path_id: bool = True) -> list[Operation]:
    """Every GET/POST/PATCH/PUT/DELETE (by default: whose path has a `{...}` parameter), in document order."""
    return [Operation(method, path, spec) for path, item in document["paths"].items()
            if "{" in path or not with_path_id for method, spec in item.items() if method in METHODS]


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


@dataclass
class BodyMaker:
    """Minimal valid request bodies from the document's schemas: required properties only, each the simplest
    value it allows; a record id field names one of `own`'s records, and the `target` field (a dotted path such
    as `items[].ticketTypeId`, included even when optional) one of `foreign`'s."""

    document: dict
    own: dict[str, str]
    foreign: dict[str, str] | None = None
    target: str | None = None
    extras: dict[str, object] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=lambda: BODY_ID_KINDS)

    def value(self, schema: dict, path: str = ""):
        schema = _resolve(self.document, schema)
        name = path.rsplit(".", 1)[-1].removesuffix("[]")
        if path in BODY_VALUE_KINDS:
            return self.own[BODY_VALUE_KINDS[path]]
        if self.extras.get(path) is not None:
            return self.extras[path]
        kind = self.kinds.get(path)
        if kind is not None:
            value = (self.foreign if path == self.target else self.own)[kind]
            value = int(value) if kind.endswith("_public") else value
            return [value] if schema.get("type") == "array" else value
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("type") == "object" or "properties" in schema:
            props = schema.get("properties", {})
            top = (self.target or "").split(".")[0].removesuffix("[]")
            extras = {extra for extra in self.extras if top not in ALTERNATIVES.get(extra, ())}
            wanted = [key for key in props if key in schema.get("required", ())
                      or f"{path}.{key}".lstrip(".") in extras
                      or _leads_to(self.target or "", f"{path}.{key}".lstrip("."))]
            return {key: self.value(props[key], f"{path}.{key}".lstrip(".")) for key in wanted}
        if schema.get("type") == "array":
            return [self.value(schema.get("items", {}), path + "[]")] * max(1, schema.get("minItems", 1))
        return _scalar(schema, name)


def body_id_kinds(op: Operation) -> dict[str, str]:
    """Body field -> record kind for `op`."""
    return BODY_ID_KINDS | BODY_ID_KINDS_BY_PATH.get((op.method, op.path), {})


def _leads_to(target: str, field: str) -> bool:
    """Whether the dotted path `target` is `field` or lies inside it (`passes[].ticket_type_id` is not inside
    `passes[].ticket_type`)."""
    return target == field or target.startswith((f"{field}.", f"{field}[]"))


def _scalar(schema: dict, name: str):
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "email" or name.lower().endswith("email"):
        return "someone@example.com"
    if schema.get("format") in ("uri", "url") or name.endswith("Url"):
        return "https://shop.example/back"
    if schema.get("format") == "date-time":  # an end comes after its start
        return iso(dt.timedelta(days=2 if name.lower().endswith(("end", "ends_at", "endsat")) else 1))
    return "x" * max(1, schema.get("minLength", 1))


def id_fields(document: dict, schema: dict, path: str = "") -> list[str]:
    """The dotted paths of a body's fields that look like record ids (`eventId`, `venue_id`, `sessionIds`...)."""
    schema = _resolve(document, schema)
    if schema.get("type") == "array":
        return id_fields(document, schema.get("items", {}), path + "[]")
    found = []
    for key, sub in schema.get("properties", {}).items():
        dotted = f"{path}.{key}".lstrip(".")
        if re.search(r"(^id|Id|_id)s?$", key):
            found.append(dotted)
        else:
            found += id_fields(document, sub, dotted)
    return found


@dataclass
class Call:
    """A request ready to send (without its caller)."""

    method: str
    url: str
    json: object = None
    data: dict | None = None

    def send(self, client):
        if self.data is not None:
            form = {k: (io.BytesIO(v), "photo.jpg") if isinstance(v, bytes) else v for k, v in self.data.items()}
            return client.request(self.method.upper(), self.url, data=form, content_type="multipart/form-data")
        return client.request(self.method.upper(), self.url, json=self.json)


class Unbuildable(Exception):
    """The matrix cannot make a call for this operation (names the operation and why)."""


def _path_value(op: Operation, param: str, owner: World, caller: World) -> str:
    if param in PATH_VALUES:
        return PATH_VALUES[param]
    kind = PATH_KINDS_BY_PATH.get((op.path, param)) or PATH_KINDS.get(param)
    if kind is None:
        raise Unbuildable(f"{op.name}: no record kind for path parameter {param!r} (add it to PATH_KINDS)")
    if kind == "caller_org":
        return caller.ids["org"]
    value = (caller.ids.get(f"{kind}:{owner.ids[SIGNED_TOKEN_RECORDS[kind]]}") if kind in SIGNED_TOKEN_RECORDS
             else owner.ids.get(kind))
    if value is None:
        raise Unbuildable(f"{op.name}: the world has no {kind!r} record for {param!r}")
    return value


def id_params(op: Operation) -> list[str]:
    """The path parameters that name records (not fixed values, not the caller's own tenant)."""
    return [p for p in op.path_params() if p not in PATH_VALUES
            and (PATH_KINDS_BY_PATH.get((op.path, p)) or PATH_KINDS.get(p)) != "caller_org"]


def build_call(document: dict, op: Operation, owner: World, caller: World, *, callers_parent: bool = False,
               body: BodyMaker | None = None) -> Call:
    """`op` aimed at `owner`'s records (`caller` fills the path's tenant slot where the path names one); with
    `callers_parent`, the first id of the path is the caller's own record and the others are the owner's.
    `body` makes the JSON body (by default: minimal, its ids the owner's)."""
    url = op.path
    parent = id_params(op)[0] if callers_parent else None
    for param in op.path_params():
        url = url.replace("{" + param + "}", _path_value(op, param, caller if param == parent else owner, caller))
    query = {p["name"]: owner.ids[QUERY_KINDS[p["name"]]] for p in op.spec.get("parameters", ())
             if p["in"] == "query" and p["name"] in QUERY_KINDS}
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    content = op.spec.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        maker = body or BodyMaker(document, owner.ids, extras=BODY_EXTRAS.get((op.method, op.path), {}),
                                  kinds=body_id_kinds(op))
        return Call(op.method, url, json=maker.value(content["application/json"]["schema"]))
    if "multipart/form-data" in content:
        schema = _resolve(document, content["multipart/form-data"]["schema"])
        form = {key: photo() if _resolve(document, schema["properties"][key]).get("format") == "binary"
                else _scalar(schema["properties"][key], key) for key in schema.get("required", ())}
        return Call(op.method, url, data=form)
    if content:
        raise Unbuildable(f"{op.name}: no body builder for {sorted(content)}")
    return Call(op.method, url)


def payment_return_token(app, path_org: str, booking_id: str) -> str:
    """The signed way back from a provider's page, as the app makes it for `path_org`, naming `booking_id`."""
    from core.services.payment_redirects import CALLBACK_PATH, callback_url

    with app.app_context():  # callback_url reads only the ids of the org and booking it is given
        url = callback_url(SimpleNamespace(id=path_org), SimpleNamespace(id=booking_id), "https://shop.example/back")
    return url.split(CALLBACK_PATH, 1)[1]


def ticket_link_token(make_link, path: str):
    """A maker of a ticket download link's token (`pdf_link`, `wallet_link`) as the app makes it for
    `path_org`, naming `ticket_id`."""
    def make(app, path_org: str, ticket_id: str) -> str:
        with app.app_context():  # the link reads only the ids of the org and ticket it is given
            url = make_link(SimpleNamespace(id=path_org), SimpleNamespace(id=ticket_id))
        return url.split(path, 1)[1]

    return make


def tickets_pdf_token(app, path_org: str, booking_id: str) -> str:
    """A partner sale's PDF link token as the app makes it for `path_org`, naming the tickets of `booking_id`'s
    first ticket type."""
    from core.models import BookingLine
    from core.services.ticket_pdf import TICKETS_PDF_PATH, tickets_pdf_link

    with app.app_context(), database.db.connection_context():
        line = BookingLine.select().where(BookingLine.booking == booking_id).first()
        url = tickets_pdf_link(SimpleNamespace(id=path_org), booking_id, line.ticket_type_id if line else "none")
    return url.split(TICKETS_PDF_PATH, 1)[1]


def _signed_token_makers() -> dict:
    """Kind of signed token -> its maker `(app, path_org, record_id) -> token`."""
    from core.services.ticket_pdf import PDF_LINK_PATH, pdf_link
    from core.services.wallet_passes import WALLET_LINK_PATH, wallet_link

    return {"payment_return_token": payment_return_token,
            "ticket_pdf_token": ticket_link_token(pdf_link, PDF_LINK_PATH), "tickets_pdf_token": tickets_pdf_token,
            "ticket_wallet_token": ticket_link_token(wallet_link, WALLET_LINK_PATH)}


def signed_tokens(app, caller: World, owner_record_ids: dict[str, str]) -> None:
    """Give `caller` a token of each signed kind for its own tenant, naming the owner's record of that kind."""
    for kind, maker in _signed_token_makers().items():
        record = owner_record_ids[SIGNED_TOKEN_RECORDS[kind]]
        caller.ids[f"{kind}:{record}"] = maker(app, caller.ids["org"], record)


def made_up_world(like: World) -> World:
    """`like`'s tenant with a made-up id for every kind of record (a tenant id is no secret: any `orgid` header
    tells a real one from a made-up one)."""
    return World(None, None, {kind: MADE_UP_PUBLIC_ID if kind.endswith("_public") else MADE_UP_ID
                              for kind in like.ids} | {"org": like.ids["org"]})


# --- the matrix --------------------------------------------------------------------------------------------

# Refusals a route documents instead of 401/403/404: a forged payment return link is 400 `invalid_callback`,
# a provider webhook for B's tenant without B's signature 400 `invalid_signature`.
OTHER_REFUSALS = {("get", "/payments/return/{token}"): {(400, "invalid_callback")},
                  ("post", "/payments/return/{token}"): {(400, "invalid_callback")},
                  ("post", "/webhooks/{gateway}/{org_id}"): {(400, "invalid_signature")}}


@dataclass
class Matrix:
    """The calls made and what was wrong with their answers."""

    calls: int = 0
    problems: list[str] = field(default_factory=list)

    def attack(self, op: Operation, call: Call, label: str, client, control: Call | None = None):
        """Send one cross-tenant call and record it if the answer is not a refusal, or (with `control`, the
        same call naming made-up records) if it is not the answer a made-up id gets."""
        self.calls += 1
        response = call.send(client)
        problem = refusal_problem(op, response)
        made_up = outcome(control.send(client)) if problem is None and control is not None else None
        if made_up is not None and made_up != outcome(response):
            problem = f"answered {outcome(response)}, made-up ids {made_up}: another tenant's record is told apart"
        if problem:
            self.problems.append(f"{op.name} as {label} ({call.url}): {problem}")
        return response


def refusal_problem(op: Operation, response) -> str | None:
    """Why `response` is not a proper refusal of a cross-tenant call, or None."""
    if response.status_code < 400:
        return f"answered {response.status_code}: another tenant's record was reached"
    body = response.get_json(silent=True)
    kind = body.get("type") if isinstance(body, dict) else None
    if kind is None:
        return f"answered {response.status_code} without the JSON error envelope"
    if response.status_code == 422 and kind == "validation_error":
        return f"422 validation_error before the id lookup ({body.get('errors')}): give it BODY_EXTRAS"
    if response.status_code == 404 and kind == "not_found":
        return "404 not_found: the URL matched no route (a path value is wrong)"
    if response.status_code in REFUSED or (response.status_code == 422 and kind in BODY_ID_REFUSALS):
        return None
    if (response.status_code, kind) in OTHER_REFUSALS.get((op.method, op.path), ()):
        return None
    return f"answered {response.status_code} {kind}"


def callers(a: World, b: World) -> list[tuple[str, object]]:
    """Who attacks B's ids: A's staff and customer, then both tenants' tokens under the other's orgid."""
    return [("A staff", a.tenant.staff), ("A customer", a.customer),
            ("B staff token, orgid A", a.tenant.staff.as_token(b.tenant.staff_token)),
            ("B customer token, orgid A", a.tenant.guest.as_token(b.customer.token)),
            ("A staff token, orgid B", b.tenant.staff.as_token(a.tenant.staff_token)),
            ("A customer token, orgid B", b.tenant.guest.as_token(a.customer.token))]


@pytest.fixture(scope="module")
def worlds(app):
    """Tenants A and B with records of every kind, the app's OpenAPI document, and the set-up time."""
    from conftest import make_tenant

    config = app.config["BOXOFFICE"]
    allow_private, config.webhooks_allow_private = config.webhooks_allow_private, True  # the loopback receiver
    receiver, smtp = HttpReceiver().start(), SmtpServer().start()
    try:
        with running(FakeStripe()) as stripe:
            started = time.perf_counter()
            a, b = (build_world(make_tenant(app, name), receiver, smtp, stripe) for name in ("Tenant A", "Tenant B"))
            for caller, owner in ((a, b), (a, a)):
                signed_tokens(app, caller, owner.ids)
            document = a.tenant.guest.get("/openapi.json").get_json()
            yield a, b, document, time.perf_counter() - started
    finally:
        config.webhooks_allow_private = allow_private
        receiver.stop()
        smtp.stop()


def test_every_path_id_route_refuses_another_tenants_ids(app, worlds, config, operator):
    a, b, document, setup_seconds = worlds
    ops = [op for op in operations(document) if (op.method, op.path) not in NOT_YET_COVERED]
    started = time.perf_counter()
    before = snapshot(b.ids["org"], config.data_path)
    empty = {table for table, rows in before["rows"].items() if not rows}
    assert empty <= UNMADE and before["files"], f"B has no rows in {sorted(empty - UNMADE)}: make them in build_world"
    print(f"\nB's snapshot: {sum(map(len, before['rows'].values()))} rows in "
          f"{len(before['rows']) - len(empty)} tables, {len(before['files'])} files")
    matrix, nobody = Matrix(), made_up_world(b)
    signed_tokens(app, a, {record: MADE_UP_ID for record in SIGNED_TOKEN_RECORDS.values()})
    for op in ops:
        try:
            attack = build_call(document, op, owner=b, caller=a)
        except Unbuildable as exc:
            matrix.problems.append(str(exc))
            continue
        control = build_call(document, op, owner=nobody, caller=a)
        for index, (label, client) in enumerate(callers(a, b)):
            matrix.attack(op, attack, label, client, control if index < 2 else None)
        if len(id_params(op)) > 1:  # A's own event (or tenant) in the path, B's photo, guest, job or key
            mixed = build_call(document, op, owner=b, caller=a, callers_parent=True)
            control = build_call(document, op, owner=nobody, caller=a, callers_parent=True)
            for label, client in callers(a, b)[:2]:
                answer = matrix.attack(op, mixed, f"{label} with A's parent id", client, control)
            if outcome(answer) == (401, "invalid_operator_token"):  # the operator's own route: A's tenant, B's key
                matrix.attack(op, mixed, "the operator with A's tenant id", operator, control)
    changed = differences(before, snapshot(b.ids["org"], config.data_path))
    elapsed = time.perf_counter() - started

    unproven = []  # a GET with A's own ids must succeed for someone of A's: the ids and set-up are right
    for op in ops:
        if op.method == "get" and not any(p.startswith(op.name + " ") or p.startswith(op.name + ":")
                                          for p in matrix.problems):
            own = build_call(document, op, owner=a, caller=a)
            answers = [own.send(client) for client in (a.tenant.staff, a.customer, operator)]
            if all(answer.status_code >= 400 for answer in answers):
                unproven.append(f"{op.name} with A's own ids fails for A's staff, customer and the operator "
                                f"({[(r.status_code, (r.get_json(silent=True) or {}).get('type')) for r in answers]})"
                                ": the matrix's ids or set-up are wrong for it")
    print(f"\nisolation matrix: {len(ops)} operations with a path id, {matrix.calls} cross-tenant calls in "
          f"{elapsed:.2f}s (set-up {setup_seconds:.2f}s)")
    assert len(ops) >= 80  # the document really was read
    assert matrix.problems + changed + unproven == [], "\n".join(matrix.problems + changed + unproven)


def test_an_operation_the_matrix_cannot_aim_fails_naming_it(worlds):
    """A new route whose path parameter names no known kind of record is reported, never skipped."""
    a, b, document, _ = worlds
    new_route = Operation("get", "/gadgets/{gadget_id}", {"responses": {}})
    with pytest.raises(Unbuildable, match=r"GET /gadgets/\{gadget_id\}: no record kind for path parameter 'gadget_id'"):
        build_call(document, new_route, owner=b, caller=a)


# Operations the path-id matrix does not attack yet (a known gap, session 9): their records (door devices,
# resale listings and sales) are not made by build_world (`isolation_world.NOT_YET_MADE`); their own test files
# refuse another tenant's ids (test_door_devices, test_resale_listings, test_waitlist).
NOT_YET_COVERED = {
    ("delete", "/events/{event_id}/door-devices/{device_id}"),
    ("post", "/client/events/{event_id}/resale/{listing_id}/purchase"),
    ("get", "/client/events/tickets/{ticket_id}/resale"),
    ("get", "/client/events/resale/sales/{booking_id}"),
}

VERDICT_ROUTES = {("post", "/events/tickets/validate"),  # answer 200 with a verdict (`reason`) for any QR
                  ("post", "/events/{event_id}/door-scans")}  # 200, a `result` (or refusal `type`) per scan


def outcome(response) -> tuple[int, str | None]:
    """An answer as status and machine type (or a verdict's `reason`)."""
    body = response.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    if body.get("scans") and isinstance(body["scans"], list):   # a door upload: its (first) scan's answer
        scan = body["scans"][0]
        return response.status_code, (scan.get("error") or {}).get("type") or scan.get("result")
    return response.status_code, body.get("type") or body.get("reason")


def body_id_problems(document: dict, op: Operation, target: str, a: World, b: World) -> list[str]:
    """Send `op` with its body field `target` naming B's record, a made-up id and A's own (A's staff, then A's
    customer); B's must be refused exactly like the made-up one, and A's own must get further."""
    problems, reached = [], False
    kinds = body_id_kinds(op)
    made_up = {kind: MADE_UP_PUBLIC_ID if kind.endswith("_public") else MADE_UP_ID for kind in set(kinds.values())}
    extras = BODY_EXTRAS.get((op.method, op.path), {})
    for label, client in callers(a, b)[:2]:
        theirs, unknown = (build_call(document, op, owner=a, caller=a,
                                      body=BodyMaker(document, a.ids, ids, target, extras, kinds)).send(client)
                           for ids in (b.ids, made_up))
        if outcome(theirs) != outcome(unknown):
            problems.append(f"{op.name} {target}=B's as {label}: answered {outcome(theirs)}, a made-up id "
                            f"{outcome(unknown)}: another tenant's record is told apart")
        elif theirs.status_code < 400 and (op.method, op.path) not in VERDICT_ROUTES:
            problems.append(f"{op.name} {target}=B's as {label}: accepted ({theirs.status_code})")
        elif outcome(theirs)[1] == "validation_error":
            problems.append(f"{op.name} {target} as {label}: 422 validation_error "
                            f"{theirs.get_json().get('errors')}: give it BODY_EXTRAS")
        if not reached:
            own = build_call(document, op, owner=a, caller=a,
                             body=BodyMaker(document, a.ids, a.ids, target, extras, kinds))
            reached = outcome(own.send(client)) != outcome(theirs)
    if not reached:
        problems.append(f"{op.name} {target}: A's own id is answered like B's ({outcome(theirs)}): the call never "
                        "reaches the id check")
    return problems


def test_body_ids_naming_another_tenants_records_are_refused(worlds, config):
    """Every record id a JSON body carries (on any route), set to one of B's records with the rest A's own,
    is refused exactly like a made-up id, and changes nothing of B's."""
    a, b, document, _ = worlds
    before = snapshot(b.ids["org"], config.data_path)
    problems, targets = [], 0
    for op in operations(document, with_path_id=False):
        content = op.spec.get("requestBody", {}).get("content", {}).get("application/json")
        for target in id_fields(document, content["schema"]) if content else ():
            if target in NOT_RECORD_IDS or (op.method, op.path, target) in NOT_RECORD_IDS:
                continue
            if target not in body_id_kinds(op):
                problems.append(f"{op.name}: no record kind for body field {target!r} (add it to BODY_ID_KINDS)")
                continue
            targets += 1
            problems += body_id_problems(document, op, target, a, b)
    changed = differences(before, snapshot(b.ids["org"], config.data_path))
    print(f"\nbody ids: {targets} id fields, {targets * 2} cross-tenant calls")
    assert problems + changed == [], "\n".join(problems + changed)


def answer_text(response, named_id: str) -> str:
    """Status and JSON (or text: a CSV export) of an answer, with the id the request named written as `<id>`
    (links echo it)."""
    body = response.get_json(silent=True)
    text = response.get_data(as_text=True) if body is None and response.mimetype.startswith("text/") else ""
    return f"{response.status_code} {json.dumps(body)}{text}".replace(named_id, "<id>")


def test_list_filters_naming_another_tenants_records_find_nothing(worlds):
    """A list filtered by one of B's records (`?filter[venue_id]=`, `?customerId=`...) answers exactly what a
    made-up id gets, while A's own record finds something (the proof that the filter is applied)."""
    a, b, document, _ = worlds
    made_up = made_up_world(b)
    problems, calls = [], 0
    for op in operations(document, with_path_id=False):
        for param in op.spec.get("parameters", ()) if op.method == "get" else ():
            name = param["name"]
            if param["in"] != "query" or name.startswith("sort[") or not re.search(r"(_id\]|Id)$", name):
                continue
            if name not in QUERY_ID_KINDS:
                problems.append(f"{op.name}: no record kind for query parameter {name!r} (add it to QUERY_ID_KINDS)")
                continue
            url = build_call(document, op, owner=a, caller=a).url
            kind, filtered = QUERY_ID_KINDS_BY_PATH.get((op.path, name)) or QUERY_ID_KINDS[name], False
            for label, client in callers(a, b)[:2]:
                theirs, unknown, own = (
                    answer_text(client.get(f"{url}{'&' if '?' in url else '?'}{name}={owner.ids[kind]}"),
                                owner.ids[kind]) for owner in (b, made_up, a))
                calls += 1
                if theirs != unknown:
                    problems.append(f"{op.name}?{name}=B's as {label}: {theirs[:300]}; a made-up id: {unknown[:300]}")
                filtered = filtered or own != theirs
            if not filtered:
                problems.append(f"{op.name}?{name}: A's own record finds what B's does: the filter is not applied")
    print(f"\nlist filters: {calls} cross-tenant calls")
    assert problems == [], "\n".join(problems)


def _lookalike(kind: str, secret: str) -> str:
    """A made-up secret of the same shape (every letter and digit moved on by 13): no tenant has it. A QR
    payload keeps its format: the same ticket fields signed with a key no tenant has."""
    if kind == "qr_payload":
        from core.services import qr
        from core.signing import generate_keypair

        return qr.payload_from_parts(generate_keypair()[0], MADE_UP_ID, MADE_UP_ID, 1)
    letters, digits = string.ascii_letters, string.digits
    table = str.maketrans(letters + digits, "".join(letters[(letters.index(c) + 13) % 52] for c in letters)
                          + "".join(digits[(int(c) + 5) % 10] for c in digits))
    return secret.translate(table)


# Secrets a request carries that are not ids: (method, path, where, kind, body with `{}` for the secret).
# A sale's body names A's own paid ticket type, so a good secret would get it further than a bad one.
SECRETS = [
    ("post", "/auth/token", "apiKey", "api_key_secret", {"apiKey": "{}"}),
    ("post", "/client/events/tickets/claim", "token", "claim_token", {"token": "{}"}),
    ("post", "/client/store/gift-cards/balance", "code", "gift_card_code", {"code": "{}"}),
    ("post", "/events/check-in", "qrPayload", "qr_payload", {"qrPayload": "{}"}),
    ("post", "/events/tickets/validate", "qrPayload", "qr_payload", {"qrPayload": "{}"}),
    ("post", "/events/check-in", "qrPayload", "barcode_code", {"qrPayload": "{}"}),
    ("post", "/events/tickets/validate", "qrPayload", "barcode_code", {"qrPayload": "{}"}),
    ("post", "/client/events/tickets/purchase", "promoCode", "promo_code", {"promoCode": "{}"}),
    ("post", "/client/store/checkout", "promoCode", "promo_code", {"promoCode": "{}"}),
    ("post", "/client/store/checkout", "promoCode", "gift_card_code", {"promoCode": "{}"}),
    ("post", "/client/events/tickets/purchase", "Idempotency-Key", "idempotency_key", {}),
    ("post", "/org/members/invites/accept", "token", "invite_token", {"token": "{}", "password": "long-enough-pw-1"}),
    ("post", "/client/auth/verify-email", "token", "verify_token", {"token": "{}"}),
]


def send_secret(client, case: tuple, secret: str, sale: dict) -> tuple[int, str | None]:
    """One SECRETS case sent with `secret` in its body field or header (a sale's body completed by `sale`)."""
    method, path, where, _, template = case
    body = {key: secret if value == "{}" else value for key, value in template.items()}
    body = {**sale, **body} if path.endswith(("/purchase", "/checkout")) else body
    headers = {where: secret} if where[0].isupper() else {}
    return outcome(client.request(method.upper(), path, json=body, headers=headers))


def test_another_tenants_secrets_open_nothing(worlds, config):
    """B's API key, claim token, gift card code, promotion code, QR payload and Idempotency-Key, sent under
    A's `orgid` by A's guest, customer and staff, are answered exactly like a made-up secret of the same shape,
    and A's own secret gets another answer (the proof that the call reached the check)."""
    a, b, document, _ = worlds
    before = snapshot(b.ids["org"], config.data_path)
    problems, calls = [], 0
    sale = {"eventId": a.ids["event"], "items": [{"ticketTypeId": a.ids["paid_type"], "quantity": 1}],
            "email": "buyer@example.com", "name": "Buyer", "paymentGateway": "offline"}
    for case in SECRETS:
        method, path, _, kind, _ = case
        reached = False
        for label, client in [("A guest", a.tenant.guest), *callers(a, b)[:2]]:
            theirs = send_secret(client, case, b.ids[kind], sale)
            made_up = send_secret(client, case, _lookalike(kind, b.ids[kind]), sale)
            calls += 1
            if theirs != made_up:
                problems.append(f"{method.upper()} {path} with B's {kind} as {label}: {theirs}, made-up {made_up}")
            reached = reached or send_secret(client, case, a.ids[kind], sale) != theirs
        if not reached:
            problems.append(f"{method.upper()} {path}: A's own {kind} is answered like B's: the check is not reached")
    changed = differences(before, snapshot(b.ids["org"], config.data_path))
    print(f"\nsecrets: {calls} cross-tenant calls")
    assert problems + changed == [], "\n".join(problems + changed)


def test_no_answer_to_a_shows_anything_of_b(worlds, operator):
    """Every GET in the document, aimed at A's own records (lists included), answered to A's guest, customer
    and staff, contains no id, code or token of B's; the lists do show A's own records."""
    a, b, document, _ = worlds
    secrets_of_b = {value.encode() for value in b.ids.values() if len(value) >= 8}
    own = {value.encode() for kind, value in a.ids.items() if len(value) >= 8 and kind != "org"}
    problems, shown_own, gets = [], 0, 0
    for op in operations(document, with_path_id=False):
        if op.method != "get":
            continue
        url = build_call(document, op, owner=a, caller=a).url
        for label, client in [("A guest", a.tenant.guest), *callers(a, b)[:2]]:
            gets += 1
            text = client.get(url).get_data()
            leaked = sorted(value for value in secrets_of_b if value in text)
            if leaked:
                problems.append(f"GET {url} as {label} shows B's {leaked[:3]}")
            shown_own += any(value in text for value in own)
    print(f"\nanswers to A: {gets} GETs, {shown_own} of them showing A's own records, none of B's")
    assert shown_own >= 40 and problems == [], "\n".join(problems)
