"""Two tenants with a record of every kind, made over HTTP, and what a tenant owns as a comparable snapshot.

For the tenant-isolation matrix (tests/test_isolation_matrix.py): `build_world` enables the plugins and makes,
like an organiser and a fan would, venues, events with sessions and lists, a wallet pass certificate and template,
ticket types, bookings (confirmed,
pending, paid and refunded), tickets (scanned, transferred, pre-generated), participation, photos and a media guest,
storefront products, promotions, tax rates, gift cards, orders and jobs, e-mails and webhook deliveries.
`snapshot` reads every row of every table that carries a tenant's `org_id`, its `org` row and its files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field

from fakes.stripe_server import FakeStripe
from PIL import Image
from smtp_server import HttpReceiver, SmtpServer
from test_purchase_support import iso
from wallet_certs import configure_wallet

from core import db as database

# and notifications, from the transfer on
PLUGINS = ("offline", "stripe", "storefront", "media", "automation", "public_api_v2", "club_cart", "developers_api",
           "resale")


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


def photo() -> bytes:
    """A small real JPEG."""
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
    sessions = [{"name": f"Talk {n}", "venue_id": ids["venue"], "starts_at": iso(start + dt.timedelta(hours=n)),
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
    ids["spare_ticket_type"] = _ok(staff.post(f"/events/{ids['event']}/ticket-types",
                                              json={**ticket_type, "name": "Spare"}))["data"]["id"]
    ids["pass_type"] = _ok(staff.post(f"/events/{parent}/ticket-types",
                                      json={**ticket_type, "name": "Pass", "isPass": True}))["data"]["id"]
    for kind, plural in (("category", "categories"), ("tag", "tags"), ("campaign", "campaigns"),
                         ("calendar", "calendars")):
        named = {"name": f"{kind.title()} of {world.tenant.orgid}"}
        ids[kind] = _ok(staff.post(f"/{plural}", json=named))["data"]["id"]
    _ok(staff.patch(f"/events/{ids['event']}", json={"category_ids": [ids["category"]], "tag_ids": [ids["tag"]],
                                                     "campaign_ids": [ids["campaign"]],
                                                     "calendar_id": ids["calendar"]}))
    ids["ticket_configuration"] = _ok(staff.post("/ticket-configurations", json={"name": "Standard"}))["data"]["id"]
    _ok(staff.patch(f"/events/ticket-types/{ids['ticket_type']}",   # also attaches it to the event
                    json={"ticketConfigurationId": ids["ticket_configuration"]}))
    _pickups(world)
    _pass(world)


def _waiting_room(world: World) -> None:
    """An event of its own with a started waiting room, a queue entry and a pass spent on a purchase (its
    `queue_token` is the entry's)."""
    staff, ids = world.tenant.staff, world.ids
    start = dt.timedelta(days=30)
    ids["queue_event"] = _ok(staff.post("/events", json={"event": {
        "name": "On sale", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=2)),
        "published_at": iso(-dt.timedelta(minutes=5))}}))["data"]["id"]
    queue_type = _ok(staff.post(f"/events/{ids['queue_event']}/ticket-types",
                                json={"name": "Rush", "price": 0, "currency": "USD", "capacity": 10}))["data"]["id"]
    _ok(staff.put(f"/events/{ids['queue_event']}/waiting-room",
                  json={"startsAt": iso(-dt.timedelta(minutes=1)), "ratePerSecond": 1000}))
    joined = _ok(world.tenant.guest.post(f"/client/events/{ids['queue_event']}/queue"))
    ids["queue_token"] = joined["queueToken"]
    _ok(world.customer.post("/client/events/tickets/purchase", headers={"Queue-Pass": joined["queuePass"]}, json={
        "eventId": ids["queue_event"], "items": [{"ticketTypeId": queue_type, "quantity": 1}]}))


def _pass(world: World) -> None:
    """A 003 pass of the parent event, with an inline ticket configuration and a pickup."""
    staff, ids = world.tenant.staff, world.ids
    _ok(staff.patch(f"/events/{ids['parent_event']}", json={"passes": [{
        "name": "Weekend", "price": 0, "ticket_type": {"name": "Wristband"},
        "pickups": [{"pickup_type_id": ids["pickup_type"]}]}]}))
    (weekend,) = _ok(staff.get(f"/events/{ids['parent_event']}?include=passes"))["data"]["passes"]
    ids["pass"], ids["pass_pickup"] = weekend["id"], weekend["pickups"][0]["id"]


def _pickups(world: World) -> None:
    """A pickup type, on the general ticket type (so its tickets carry it) and on registration types of the
    parent event and of its first session (003 bodies)."""
    staff, ids = world.tenant.staff, world.ids
    ids["pickup_type"] = _ok(staff.post("/pickup-types", json={"name": "T-shirt"}))["data"]["id"]
    pickups = [{"pickupTypeId": ids["pickup_type"], "quantity": 1}]
    for kind, key in (("ticket_type", "ticket_type_pickup"), ("spare_ticket_type", "spare_type_pickup")):
        shown = _ok(staff.patch(f"/events/ticket-types/{ids[kind]}", json={"pickups": pickups}))["data"]
        ids[key] = shown["pickups"][0]["id"]
    floor = {"name": "Floor", "price": 0, "pickups": [{"pickup_type_id": ids["pickup_type"]}]}
    _ok(staff.patch(f"/events/{ids['parent_event']}", json={"event": {
        "registration_types": [floor], "sessions": [{"id": ids["session"], "registration_types": [floor]}]}}))
    for holder, kind in ((ids["parent_event"], "parent_type"), (ids["session"], "session_type")):
        shown = _ok(staff.get(f"/events/{holder}?include=registration_types.pickups"))["data"]
        tier = next(t for t in shown["registration_types"] if t["name"] == "Floor")
        ids[kind], ids[f"{kind}_pickup"] = tier["id"], tier["pickups"][0]["id"]


def _lists(world: World) -> None:
    """A permanent list and a list of the event that references it, with an image (multipart)."""
    staff, ids = world.tenant.staff, world.ids
    ids["permanent_list"] = _ok(staff.post("/permanent-lists", json={"name": "Members"}))["data"]["id"]
    form = {"list[name]": "VIP", "list[permanent_list_id]": ids["permanent_list"],
            "list[image]": (io.BytesIO(photo()), "vip.jpg")}
    ids["event_list"] = _ok(staff.post(f"/events/{ids['event']}/lists", data=form,
                                       content_type="multipart/form-data"))["data"]["id"]


def _templates(world: World) -> None:
    """A PDF ticket design with a background image (multipart), a ticket e-mail template and a tally template,
    and the event's setting naming all three."""
    staff, ids = world.tenant.staff, world.ids
    form = {"template[name]": "Poster", "template[background]": (io.BytesIO(photo()), "paper.jpg")}
    made = {"pdf_template": _ok(staff.post("/pdf-templates", data=form, content_type="multipart/form-data"))["data"],
            "email_template": _ok(staff.post("/ticket-email-templates", json={
                "name": "Mail", "body": "Hello {recipient_name}: {ticket_links}"}))["data"],
            "tally_template": _ok(staff.post("/tally-templates", json={"name": "Door"}))["data"]}
    for kind, row in made.items():
        ids[kind], ids[f"{kind}_public"] = row["id"], str(row["public_id"])
    setting = _ok(staff.patch(f"/events/{ids['event']}/setting", json={"setting": {
        "pdf_template_id": made["pdf_template"]["public_id"],
        "ticket_email_template_id": made["email_template"]["public_id"],
        "tally_template_id": made["tally_template"]["public_id"]}}))["data"]
    ids["event_setting"], ids["event_setting_public"] = setting["id"], str(setting["public_id"])


def _cover(world: World) -> None:
    """A cover image on the event (its renditions made by the job, inline in tests)."""
    form = {"image": (io.BytesIO(photo()), "cover.jpg")}
    _ok(world.tenant.staff.put(f"/events/{world.ids['event']}/cover", data=form, content_type="multipart/form-data"))


def _wallet(world: World) -> None:
    """A pass certificate and a default Apple Wallet template with an icon (so every ticket has a pass)."""
    staff, ids = world.tenant.staff, world.ids
    template = configure_wallet(world.tenant)
    ids["wallet_template"], ids["wallet_template_public"] = template["id"], str(template["public_id"])
    icon = io.BytesIO()
    Image.new("RGBA", (64, 64), (200, 20, 60, 255)).save(icon, "PNG")
    _ok(staff.put(f"/wallet-templates/{template['id']}/icon", data={"image": (io.BytesIO(icon.getvalue()), "i.png")},
                  content_type="multipart/form-data"))


def _sales(world: World) -> None:
    staff, fan, ids = world.tenant.staff, world.customer, world.ids
    ids["idempotency_key"] = "first-sale-" + world.tenant.orgid
    bought = _ok(fan.post("/client/events/tickets/purchase", headers={"Idempotency-Key": ids["idempotency_key"]},
                          json={"eventId": ids["event"],
                                "tickets": [{"ticketTypeId": ids["ticket_type"], "quantity": 3}]}))
    ids["booking"] = bought["bookingId"]
    ids["ticket"], ids["transferred_ticket"], scanned = (t["id"] for t in bought["tickets"])
    ids["ticket_pickup"] = bought["tickets"][0]["pickups"][0]["id"]
    _ok(staff.post(f"/events/check-in/{scanned}", json={}))
    _ok(staff.patch(f"/events/ticket-types/{ids['ticket_type']}", json={"editable": True}))
    _ok(fan.patch(f"/client/events/tickets/{ids['ticket']}", json={"holderName": "Edited Holder"}))  # a ticket edit
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
    ids["attendee"] = _ok(staff.get(f"/events/{ids['event']}/participants"))["participants"][0]["id"]
    from core.models import Org, Ticket
    from core.services import qr

    with database.db.connection_context():
        ids["qr_payload"] = qr.payload_for(Org.get_by_id(world.tenant.orgid), Ticket.get_by_id(ids["ticket"]))
    _ok(fan.post("/client/events/tickets/register", json={"eventId": ids["parent_event"],
                                                         "ticketTypeId": ids["pass_type"]}))
    invited = _ok(staff.post(f"/events/{ids['session']}/participants/invite", json={"email": fan.email}))
    ids["participant"] = invited["id"]
    _store_credit(world)
    # E-mails from here on: one claim link (rendering a ticket PDF for every sale above costs seconds).
    world.tenant.enable("notifications")
    _ok(fan.post("/client/auth/verify-email/resend"))  # an account link (its token: `verify_token`)
    transfer = _ok(staff.post(f"/events/tickets/{ids['transferred_ticket']}/transfer",
                              json={"toEmail": "friend@example.com"}))
    ids["claim_token"] = transfer["claimToken"]


def _store_credit(world: World, start: dt.timedelta = dt.timedelta(days=40)) -> None:
    """Store credit: the fan's paid booking of a rained-off event refunded as credit, part of it spent on a
    pending purchase (a held debit)."""
    staff, fan, ids = world.tenant.staff, world.customer, world.ids
    event = _ok(staff.post("/events", json={"event": {
        "name": "Rained off", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=2)),
        "published_at": iso(-dt.timedelta(minutes=5)),
        "registration_types": [{"name": "Lawn", "price": "10.00", "currency": "USD", "inventory": 10}]}}))["data"]
    lawn = _ok(staff.get(f"/events/{event['id']}?include=registration_types"))["data"]["registration_types"][0]
    order = _ok(fan.post("/client/events/tickets/purchase", json={
        "eventId": event["id"], "tickets": [{"ticketTypeId": lawn["id"], "quantity": 1}],
        "paymentGateway": "offline"}))
    _ok(staff.post(f"/events/bookings/{order['bookingId']}/mark-paid", json={"reference": "cash"}))
    _ok(staff.patch(f"/events/{event['id']}/refund", json={"refund": {"refund_method": "store_credit"}}))
    _ok(fan.post("/client/events/tickets/purchase", json={
        "eventId": ids["event"], "tickets": [{"ticketTypeId": ids["paid_type"], "quantity": 1}],
        "paymentGateway": "offline", "useStoreCredit": True}))


def _plugins(world: World, receiver: HttpReceiver) -> None:
    staff, fan, ids = world.tenant.staff, world.customer, world.ids
    product = _ok(staff.post("/storefront/products", json={
        "name": "Tee", "productClass": "apparel",
        "variants": [{"name": "M", "price": "20.00", "currency": "USD", "stock": 10}]}))["data"]
    ids["product"], ids["variant"] = product["id"], product["variants"][0]["id"]
    ids["promo_code"] = "SAVE" + world.tenant.orgid.rsplit("-", 1)[-1].upper()
    ids["promotion"] = _ok(staff.post("/storefront/promotions", json={
        "code": ids["promo_code"], "kind": "percentage", "value": 10}))["data"]["id"]
    ids["tax_rate"] = _ok(staff.post("/storefront/tax-rates", json={"name": "VAT", "rate": 20}))["data"]["id"]
    card = _ok(staff.post("/storefront/gift-cards", json={"amount": "30.00", "currency": "USD"}))["data"]
    ids["gift_card"], ids["gift_card_code"] = card["id"], card["code"]
    ids["storefront_job"] = _ok(staff.post("/storefront/backfill"))["jobId"]
    checkout = _ok(fan.post("/client/store/checkout", json={
        "eventId": ids["event"], "items": [{"ticketTypeId": ids["ticket_type"], "quantity": 1}],
        "merch": [{"variantId": ids["variant"], "quantity": 1}], "paymentGateway": "offline"}))
    ids["order_booking"] = checkout["bookingId"]
    ids["order"] = _ok(fan.get("/client/store/orders"))["data"][0]["id"]
    form = {"file": (io.BytesIO(photo()), "photo.jpg")}
    uploaded = _ok(fan.post(f"/client/events/{ids['event']}/media/upload", data=form,
                            content_type="multipart/form-data"))
    ids["media"] = uploaded["data"]["id"]
    guest = _ok(staff.post(f"/events/{ids['event']}/media/guests", json={"name": "Aunt May"}))
    ids["media_guest"], ids["media_guest_token"] = guest["guestId"], guest["token"]
    ids["message"] = _ok(staff.get("/notifications/messages"))["data"][0]["id"]
    ids["delivery"] = _ok(staff.get("/automation/deliveries"))["data"][0]["id"]
    encore = _ok(staff.post("/events", json={"event": {
        "name": "Encore", "starts_at": iso(dt.timedelta(days=31)), "ends_at": iso(dt.timedelta(days=31, hours=2)),
        "published_at": iso(-dt.timedelta(minutes=5))}}))["data"]["id"]
    encore_type = _ok(staff.post(f"/events/{encore}/ticket-types", json={"name": "Encore", "price": 0,
                                                                        "currency": "USD", "capacity": 10}))
    for showing, tt in ((ids["event"], ids["ticket_type"]), (encore, encore_type["data"]["id"])):
        _ok(fan.post("/api/tickets/cart/add/", json={"showing": showing, "type": tt, "count": 1}))
    _ok(fan.post("/api/tickets/initiate_checkout/", json={}))   # two showings: a club_cart checkout group
    _ok(fan.post("/api/tickets/cart/add/", json={"showing": ids["event"], "type": ids["ticket_type"], "count": 1}))


def _public_ids(world: World) -> None:
    """The numeric ids (public_api_v2) of the records 003 names by number, as `<kind>_public`."""
    from core.models import (
        Calendar,
        Campaign,
        Category,
        Event,
        EventList,
        PermanentList,
        PickupType,
        Tag,
        TicketConfiguration,
        TicketType,
        TicketTypePickup,
        Venue,
    )

    with database.db.connection_context():
        for kind, model in (("venue", Venue), ("event", Event), ("parent_event", Event), ("session", Event),
                            ("category", Category), ("tag", Tag), ("campaign", Campaign), ("calendar", Calendar),
                            ("parent_type", TicketType), ("session_type", TicketType), ("pickup_type", PickupType),
                            ("parent_type_pickup", TicketTypePickup), ("session_type_pickup", TicketTypePickup),
                            ("ticket_configuration", TicketConfiguration), ("pass", TicketType),
                            ("pass_pickup", TicketTypePickup), ("event_list", EventList),
                            ("permanent_list", PermanentList)):
            world.ids[f"{kind}_public"] = str(model.get_by_id(world.ids[kind]).public_id)


def _barcode_pool(world: World) -> None:
    """A ticket configuration enforcing its barcode pool on the spare tier, codes uploaded (one per tenant's own
    text), one of them used by a comp's ticket."""
    staff, ids = world.tenant.staff, world.ids
    ids["pool_configuration"] = _ok(staff.post("/ticket-configurations", json={
        "name": "Wristbands", "enforce_barcode_pool": True}))["data"]["id"]
    _ok(staff.patch(f"/events/ticket-types/{ids['spare_ticket_type']}",
                    json={"ticketConfigurationId": ids["pool_configuration"]}))
    tag = world.tenant.orgid.rsplit("-", 1)[-1].upper()
    path = f"/ticket-configurations/{ids['pool_configuration']}/barcodes"
    _ok(staff.post(path, data=f"POOL-{tag}-1\nPOOL-{tag}-2\n".encode(), content_type="text/csv"))
    comp = {"eventId": ids["event"], "ticketTypeId": ids["spare_ticket_type"],
            "holders": [{"email": "pool@example.com", "name": "Pool Holder"}]}
    bought = _ok(staff.post("/events/tickets/comp", json=comp))
    ids["barcode_code"] = bought["tickets"][0]["barcode"]
    ids["barcode"] = next(row["id"] for row in _ok(staff.get(path))["data"] if not row["used"])


def _members(tenant) -> dict:
    """A member (an accepted invitation) and a pending invitation, made before notifications would e-mail their
    tokens instead of answering them."""
    made = {}
    for name in ("member", "invite"):
        made[name] = _ok(tenant.staff.post("/org/members/invites", json={
            "email": f"{name}-{tenant.orgid}@staff.example", "role": "door"}))
    accepted = _ok(tenant.guest.post("/org/members/invites/accept", json={
        "token": made["member"]["token"], "password": "long-enough-pw-1", "name": "Door"}))
    return {"member": accepted["member"]["id"], "invite": made["invite"]["id"],
            "invite_token": made["invite"]["token"]}


def build_world(tenant, receiver: HttpReceiver, smtp: SmtpServer, stripe: FakeStripe) -> World:
    """Enable the plugins and make one record of every kind over HTTP; return the ids."""
    members = _members(tenant)
    for plugin in PLUGINS:
        tenant.enable(plugin)
    tenant.configure("stripe", secret_key="sk_test_" + tenant.orgid, publishable_key="pk_test_" + tenant.orgid,
                     webhook_secret="whsec_" + tenant.orgid, api_base=stripe.url, timeout="1")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port),
                     sender="Tickets <tickets@example.com>")
    world = World(tenant, tenant.customer(name="Ana Fan"))
    _ok(tenant.staff.patch("/org/settings", json={"participantsVisibility": "names"}))
    world.ids["endpoint"] = _ok(tenant.staff.post("/automation/endpoints", json={
        "url": receiver.url, "eventTypes": ["booking.confirmed", "tickets.issued"]}))["id"]
    _events(world)
    _lists(world)
    _templates(world)
    _cover(world)
    _wallet(world)
    _public_ids(world)
    _sales(world)
    _barcode_pool(world)
    _plugins(world, receiver)
    _waiting_room(world)
    world.ids["org"], world.ids["customer"] = tenant.orgid, world.customer.customer_id
    [verification] = smtp.account_messages("email_verification", world.customer.email)
    world.ids["verify_token"] = re.search(r"account/verify\?token=([\w-]+)",
                                          verification.get_body(("plain",)).get_content()).group(1)
    world.ids["api_key_secret"] = tenant.admin_api_key
    world.ids.update(members)
    operator = tenant.guest.as_token(tenant.app.config["BOXOFFICE"].operator_token)
    world.ids["domain"] = _ok(operator.post(f"/operator/tenants/{tenant.orgid}/domains",
                                            json={"hostname": f"Tickets.{tenant.orgid}.example"}))["hostname"]
    from core.models import ApiKey

    with database.db.connection_context():
        world.ids["api_key"] = ApiKey.select(ApiKey.id).where(ApiKey.org == tenant.orgid).first().id
    return world


# --- what B owns, before and after ------------------------------------------------------------------

# Tables build_world leaves empty: rows that only a checkout paying with a promotion or gift card, or a
# recurring event or a 003 pass scanned at a session, would make, which no route with a path id reads or writes.
# NOT YET MADE (a known gap, session 9): door devices and conflicts, and the resale plugin's tables. Their
# routes' tenant isolation is tested in their own files (test_door_devices, test_waitlist*, test_resale_listings);
# the matrix does not make their rows yet, so its path-id attacks on them cannot prove they stay untouched.
NOT_YET_MADE = {"door_conflict", "door_device", "resale_listings", "resale_purchases", "resale_terms",
                "resale_waitlist_entry", "resale_waitlist_offer"}
UNMADE = NOT_YET_MADE | {"recurrence", "pass_admission", "storefront_gift_card_redemption",
                         "storefront_promotion_customer",
          "storefront_promotion_use"}

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
