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
refuses it), and B's rows in every table that carries an `org_id`, its `org` row and its files must be the
same after the whole matrix as before. Each GET is also called once with A's own ids by A's staff, customer
or the operator, and must succeed: the proof that the ids were the right kind and the route was reachable, so
the 404s above come from tenant scoping and not from a wrong id.

A new route is covered without editing this file when its path parameters are named like the existing ones
(`PATH_KINDS`); an operation the matrix cannot build a call for fails the test naming it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import time
from dataclasses import dataclass, field

import pytest
from PIL import Image
from smtp_server import HttpReceiver, SmtpServer
from test_purchase_support import iso

from core import db as database

METHODS = ("get", "post", "patch", "put", "delete")
REFUSED = {401, 403, 404}
BODY_ID_REFUSALS = {"unknown_ids"}  # 422 types of a body-level id check (core.tenancy.require_own_ids)
PLUGINS = ("offline", "storefront", "media", "notifications", "automation")

# Path parameter -> the kind of record it names (keys of World.ids). A path whose parameter means another kind
# than its name usually does is listed in PATH_KINDS_BY_PATH.
PATH_KINDS = {
    "venue_id": "venue", "event_id": "event", "job_id": "sync_job", "ticket_id": "ticket",
    "booking_id": "booking", "ticket_type_id": "ticket_type", "record_id": "ticket_type",
    "refund_id": "refund", "participant_id": "participant", "product_id": "product", "variant_id": "variant",
    "promotion_id": "promotion", "rate_id": "tax_rate", "card_id": "gift_card", "order_id": "order",
    "message_id": "message", "guest_id": "media_guest", "media_id": "media", "endpoint_id": "endpoint",
    "delivery_id": "delivery", "org_id": "org", "key_id": "api_key", "token": "payment_return_token",
}
PATH_KINDS_BY_PATH = {
    ("/storefront/jobs/{job_id}", "job_id"): "storefront_job",
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
}
# Path parameters that are not record ids: a fixed value each.
PATH_VALUES = {"action": "hide", "plugin": "media", "gateway": "offline"}
# Query parameters that carry a credential of the owner's (a media guest's link token).
QUERY_KINDS = {"token": "media_guest_token"}
# Bodies the request schema alone cannot make valid enough to reach the id lookup.
BODY_OVERRIDES = {
    ("put", "/client/events/participation/{participant_id}/respond"): {"response": "accept"},
    ("post", "/events/tickets/{ticket_id}/transfer"): {"toEmail": "new-holder@example.com"},
    ("post", "/client/events/tickets/{ticket_id}/transfer"): {"toEmail": "new-holder@example.com"},
    ("post", "/events/{event_id}/participants/invite"): {"email": "invitee@example.com"},
    ("post", "/storefront/products/{product_id}/variants"): {"name": "XL", "price": "10.00", "currency": "USD"},
    ("post", "/events/{event_id}/ticket-types"): {"name": "Sneaky", "price": 0, "currency": "USD"},
    ("post", "/events/{event_id}/media/guests"): {"name": "Sneaky guest"},
}


# --- the two tenants' records ---------------------------------------------------------------------

@dataclass
class World:
    """One tenant's clients and the ids of its records, by kind."""

    tenant: object
    customer: object
    ids: dict[str, str] = field(default_factory=dict)


def _ok(response) -> dict:
    """The JSON of a successful answer (a set-up step that fails stops the test with the error)."""
    assert 200 <= response.status_code < 300, (response.request.path, response.status_code, response.get_json())
    return response.get_json()


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def _events(world: World) -> None:
    staff, ids = world.tenant.staff, world.ids
    ids["venue"] = _ok(staff.post("/venues", json={"name": "Hall", "tz": "UTC", "capacity": 500}))["data"]["id"]
    start = dt.timedelta(days=30)
    created = staff.post("/events", json={"event": {
        "name": "Gala", "venue_id": ids["venue"], "starts_at": iso(start),
        "ends_at": iso(start + dt.timedelta(hours=4)), "published_at": iso(-dt.timedelta(minutes=5))}})
    ids["event"] = _ok(created)["data"]["id"]
    ids["sync_job"] = created.headers["X-Event-Sync-Job-ID"]
    sessions = [{"name": f"Talk {n}", "starts_at": iso(start + dt.timedelta(hours=n)),
                 "ends_at": iso(start + dt.timedelta(hours=n, minutes=50)),
                 "published_at": iso(-dt.timedelta(minutes=5))} for n in (1, 2)]
    parent = _ok(staff.post("/events", json={"event": {"type": "parent", "name": "Fest", "tz": "UTC",
                                                        "sessions": sessions}}))["data"]["id"]
    ids["parent_event"] = parent
    ids["session"] = _ok(staff.get(f"/events/{parent}?include=sessions"))["data"]["sessions"][0]["id"]
    ticket_type = {"name": "General", "price": 0, "currency": "USD", "capacity": 100}
    ids["ticket_type"] = _ok(staff.post(f"/events/{ids['event']}/ticket-types", json=ticket_type))["data"]["id"]
    ids["paid_type"] = _ok(staff.post(f"/events/{ids['event']}/ticket-types",
                                      json={**ticket_type, "name": "Paid", "price": "20.00"}))["data"]["id"]
    ids["pass_type"] = _ok(staff.post(f"/events/{parent}/ticket-types",
                                      json={**ticket_type, "name": "Pass", "isPass": True}))["data"]["id"]


def _sales(world: World) -> None:
    staff, fan, ids = world.tenant.staff, world.customer, world.ids
    bought = _ok(fan.post("/client/events/tickets/purchase", json={
        "eventId": ids["event"], "tickets": [{"ticketTypeId": ids["ticket_type"], "quantity": 3}]}))
    ids["booking"] = bought["bookingId"]
    ids["ticket"], ids["transferred_ticket"], spare = (t["id"] for t in bought["tickets"])
    _ok(staff.post(f"/events/tickets/{ids['transferred_ticket']}/transfer",
                   json={"toEmail": "friend@example.com"}))
    paid_order = {"eventId": ids["event"], "tickets": [{"ticketTypeId": ids["paid_type"], "quantity": 1}],
                  "paymentGateway": "offline"}
    ids["pending_booking"] = _ok(fan.post("/client/events/tickets/purchase", json=paid_order))["bookingId"]
    paid = _ok(fan.post("/client/events/tickets/purchase", json=paid_order))["bookingId"]
    paid = _ok(staff.post(f"/events/bookings/{paid}/mark-paid", json={"reference": "cash"}))
    refunded = _ok(staff.post(f"/events/tickets/{paid['tickets'][0]['id']}/refund", json={}))
    ids["refund"] = refunded["refund"]["id"]
    pregenerated = _ok(staff.post("/events/tickets/pre-generate", json={
        "eventId": ids["event"], "ticketTypeId": ids["ticket_type"], "quantity": 1}))
    ids["pending_ticket"] = pregenerated["tickets"][0]["id"]
    _ok(fan.post("/client/events/tickets/register", json={"eventId": ids["parent_event"],
                                                         "ticketTypeId": ids["pass_type"]}))
    invited = _ok(staff.post(f"/events/{ids['session']}/participants/invite", json={"email": fan.email}))
    ids["participant"] = invited["id"]
    del spare


def _plugins(world: World, receiver: HttpReceiver) -> None:
    staff, fan, ids = world.tenant.staff, world.customer, world.ids
    product = _ok(staff.post("/storefront/products", json={
        "name": "Tee", "productClass": "apparel",
        "variants": [{"name": "M", "price": "20.00", "currency": "USD", "stock": 10}]}))["data"]
    ids["product"], ids["variant"] = product["id"], product["variants"][0]["id"]
    ids["promotion"] = _ok(staff.post("/storefront/promotions", json={
        "code": "SAVE10", "kind": "percentage", "value": 10}))["data"]["id"]
    ids["tax_rate"] = _ok(staff.post("/storefront/tax-rates", json={"name": "VAT", "rate": 20}))["data"]["id"]
    ids["gift_card"] = _ok(staff.post("/storefront/gift-cards", json={"amount": "30.00",
                                                                      "currency": "USD"}))["data"]["id"]
    ids["storefront_job"] = _ok(staff.post("/storefront/backfill"))["jobId"]
    checkout = _ok(fan.post("/client/store/checkout", json={
        "eventId": ids["event"], "items": [{"ticketTypeId": ids["ticket_type"], "quantity": 1}],
        "merch": [{"variantId": ids["variant"], "quantity": 1}], "paymentGateway": "offline"}))
    ids["order_booking"] = checkout["bookingId"]
    ids["order"] = _ok(fan.get("/client/store/orders"))["data"][0]["id"]
    form = {"file": (io.BytesIO(_photo()), "photo.jpg")}
    uploaded = _ok(fan.post(f"/client/events/{ids['event']}/media/upload", data=form,
                            content_type="multipart/form-data"))
    ids["media"] = uploaded["data"]["id"]
    guest = _ok(staff.post(f"/events/{ids['event']}/media/guests", json={"name": "Aunt May"}))
    ids["media_guest"], ids["media_guest_token"] = guest["guestId"], guest["token"]
    ids["message"] = _ok(staff.get("/notifications/messages"))["data"][0]["id"]
    ids["delivery"] = _ok(staff.get("/automation/deliveries"))["data"][0]["id"]


def build_world(tenant, receiver: HttpReceiver, smtp: SmtpServer) -> World:
    """Enable the plugins and make one record of every kind over HTTP; return the ids."""
    for plugin in PLUGINS:
        tenant.enable(plugin)
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port),
                     sender="Tickets <tickets@example.com>")
    world = World(tenant, tenant.customer(name="Ana Fan"))
    _ok(tenant.staff.patch("/org/settings", json={"participantsVisibility": "names"}))
    world.ids["endpoint"] = _ok(tenant.staff.post("/automation/endpoints", json={
        "url": receiver.url, "eventTypes": ["booking.confirmed", "tickets.issued"]}))["id"]
    _events(world)
    _sales(world)
    _plugins(world, receiver)
    world.ids["org"] = tenant.orgid
    from core.models import ApiKey

    with database.db.connection_context():
        world.ids["api_key"] = ApiKey.select(ApiKey.id).where(ApiKey.org == tenant.orgid).first().id
    return world


# --- what B owns, before and after ------------------------------------------------------------------

def snapshot(org_id: str, data_path) -> dict:
    """Every row of every table that carries `org_id`, the org row itself, and B's files with their digests."""
    rows = {}
    with database.db.connection_context():
        for table in database.db.get_tables():
            columns = [c.name for c in database.db.get_columns(table)]
            key = "org_id" if "org_id" in columns else "id" if table == "org" else None
            if key is None:
                continue
            cursor = database.db.execute_sql(f'SELECT * FROM "{table}" WHERE "{key}" = %s ORDER BY 1'
                                             .replace("%s", database.db.param), (org_id,))
            rows[table] = [tuple(map(str, row)) for row in cursor.fetchall()]
    files = {}
    for folder in ("media", "outbox"):
        root = data_path / folder / org_id
        for path in sorted(root.rglob("*")) if root.exists() else ():
            if path.is_file():
                files[str(path.relative_to(data_path))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"rows": rows, "files": files}


def differences(before: dict, after: dict) -> list[str]:
    """What changed between two snapshots, one line per table or file."""
    out = []
    for table in sorted(set(before["rows"]) | set(after["rows"])):
        old, new = set(before["rows"].get(table, ())), set(after["rows"].get(table, ()))
        if old != new:
            out.append(f"{table}: {len(old - new)} row(s) gone or changed, {len(new - old)} new or changed: "
                       f"{sorted(new - old)[:2]}")
    if before["files"] != after["files"]:
        out.append(f"files: {sorted(set(before['files'].items()) ^ set(after['files'].items()))[:4]}")
    return out


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


def operations(document: dict) -> list[Operation]:
    """Every GET/POST/PATCH/PUT/DELETE whose path has a `{...}` parameter, in document order."""
    return [Operation(method, path, spec) for path, item in document["paths"].items() if "{" in path
            for method, spec in item.items() if method in METHODS]


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example(document: dict, schema: dict, name: str = ""):
    """A minimal valid value for a JSON schema: its required properties only, each the simplest it allows."""
    schema = _resolve(document, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: example(document, props[key], key) for key in schema.get("required", ())}
    if kind == "array":
        return [example(document, schema.get("items", {}), name)] * max(1, schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "email" or name.lower().endswith("email"):
        return "someone@example.com"
    if schema.get("format") == "date-time":
        return iso(dt.timedelta(days=1))
    return "x" * max(1, schema.get("minLength", 1))


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
    value = caller.ids.get(f"{kind}:{owner.ids['org']}") if kind == "payment_return_token" else owner.ids.get(kind)
    if value is None:
        raise Unbuildable(f"{op.name}: the world has no {kind!r} record for {param!r}")
    return value


def id_params(op: Operation) -> list[str]:
    """The path parameters that name records (not fixed values, not the caller's own tenant)."""
    return [p for p in op.path_params() if p not in PATH_VALUES
            and (PATH_KINDS_BY_PATH.get((op.path, p)) or PATH_KINDS.get(p)) != "caller_org"]


def build_call(document: dict, op: Operation, owner: World, caller: World, *, callers_parent: bool = False) -> Call:
    """`op` aimed at `owner`'s records (`caller` fills the path's tenant slot where the path names one); with
    `callers_parent`, the first id of the path is the caller's own record and the others are the owner's."""
    url = op.path
    parent = id_params(op)[0] if callers_parent else None
    for param in op.path_params():
        url = url.replace("{" + param + "}", _path_value(op, param, caller if param == parent else owner, caller))
    query = {p["name"]: owner.ids[QUERY_KINDS[p["name"]]] for p in op.spec.get("parameters", ())
             if p["in"] == "query" and p["name"] in QUERY_KINDS}
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    content = op.spec.get("requestBody", {}).get("content", {})
    if (op.method, op.path) in BODY_OVERRIDES:
        return Call(op.method, url, json=BODY_OVERRIDES[(op.method, op.path)])
    if "application/json" in content:
        return Call(op.method, url, json=example(document, content["application/json"]["schema"]))
    if "multipart/form-data" in content:
        schema = _resolve(document, content["multipart/form-data"]["schema"])
        form = {key: _photo() if _resolve(document, schema["properties"][key]).get("format") == "binary"
                else example(document, schema["properties"][key], key) for key in schema.get("required", ())}
        return Call(op.method, url, data=form)
    if content:
        raise Unbuildable(f"{op.name}: no body builder for {sorted(content)}")
    return Call(op.method, url)


def payment_return_token(app, path_org: str, booking_id: str) -> str:
    """The signed way back from a provider's page, as the app makes it for `path_org`, naming `booking_id`."""
    from core.models import Booking, Org
    from core.services.payment_redirects import CALLBACK_PATH, callback_url

    with app.app_context(), database.db.connection_context():
        url = callback_url(Org.get_by_id(path_org), Booking.get_by_id(booking_id), "https://shop.example/back")
    return url.split(CALLBACK_PATH, 1)[1]


# --- the matrix --------------------------------------------------------------------------------------------

# Refusals a route documents instead of 401/403/404: a forged payment return link is 400 `invalid_callback`.
OTHER_REFUSALS = {("get", "/payments/return/{token}"): {(400, "invalid_callback")},
                  ("post", "/payments/return/{token}"): {(400, "invalid_callback")}}


@dataclass
class Matrix:
    """The calls made and what was wrong with their answers."""

    calls: int = 0
    problems: list[str] = field(default_factory=list)

    def attack(self, op: Operation, call: Call, label: str, client) -> None:
        """Send one cross-tenant call and record it if the answer is not a refusal."""
        self.calls += 1
        problem = refusal_problem(op, call.send(client))
        if problem:
            self.problems.append(f"{op.name} as {label} ({call.url}): {problem}")


def refusal_problem(op: Operation, response) -> str | None:
    """Why `response` is not a proper refusal of a cross-tenant call, or None."""
    if response.status_code < 400:
        return f"answered {response.status_code}: another tenant's record was reached"
    body = response.get_json(silent=True)
    kind = body.get("type") if isinstance(body, dict) else None
    if kind is None:
        return f"answered {response.status_code} without the JSON error envelope"
    if response.status_code == 422 and kind == "validation_error":
        return f"422 validation_error before the id lookup ({body.get('errors')}): fix its body in BODY_OVERRIDES"
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
    receiver, smtp = HttpReceiver().start(), SmtpServer().start()
    allow_private, config.webhooks_allow_private = config.webhooks_allow_private, True  # the loopback receiver
    try:
        started = time.perf_counter()
        a, b = (build_world(make_tenant(app, name), receiver, smtp) for name in ("Tenant A", "Tenant B"))
        for caller, owner in ((a, b), (a, a)):
            caller.ids[f"payment_return_token:{owner.ids['org']}"] = payment_return_token(
                app, caller.ids["org"], owner.ids["pending_booking"])
        document = a.tenant.guest.get("/openapi.json").get_json()
        yield a, b, document, time.perf_counter() - started
    finally:
        config.webhooks_allow_private = allow_private
        receiver.stop()
        smtp.stop()


def test_every_path_id_route_refuses_another_tenants_ids(worlds, config, operator):
    a, b, document, setup_seconds = worlds
    ops = operations(document)
    started = time.perf_counter()
    before = snapshot(b.ids["org"], config.data_path)
    matrix = Matrix()
    for op in ops:
        try:
            attack = build_call(document, op, owner=b, caller=a)
        except Unbuildable as exc:
            matrix.problems.append(str(exc))
            continue
        for label, client in callers(a, b):
            matrix.attack(op, attack, label, client)
        if len(id_params(op)) > 1:  # A's own event (or tenant) in the path, B's photo, guest, job or key
            mixed = build_call(document, op, owner=b, caller=a, callers_parent=True)
            for label, client in callers(a, b)[:2]:
                matrix.attack(op, mixed, f"{label} with A's parent id", client)
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
