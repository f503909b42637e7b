"""The API shape of a ticket type: 001's camelCase input (003's spellings as aliases) and its JSON view.

Converts major-unit amounts and local times into the service's minor units and naive UTC; never writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, fields, post_load, validate

from core.api_schema import Schema
from core.errors import Unprocessable
from core.models import Event, TicketType, utcnow
from core.models.catalog import VISIBILITIES
from core.money import is_currency, price_view, to_major, to_minor
from core.services import ticket_configurations
from core.services.capacity import available_seats
from core.services.ticket_types import AMOUNT_FIELDS
from core.timefmt import is_timezone, iso_utc, to_utc_naive

_ROTATING = ("Its tickets show a QR that changes every 15 s on their ticket page, so a screenshot cannot be reused "
             "(default false: the static signed QR). Not with a ticket configuration that enforces a barcode pool "
             "(422 `rotating_qr_with_barcode_pool`). See docs/tickets.md#rotating-qr.")
_MAJOR = "In major units of `currency` (199 with USD is 199.00 USD; 1500 with JPY is 1500 yen)."


def _check_timezone(value: str) -> None:
    if not is_timezone(value):
        raise ValidationError("Must be an IANA timezone such as Europe/Paris.")


def _alias(field: type[fields.Field], data_key: str, of: str, **kwargs) -> fields.Field:
    return field(data_key=data_key, metadata={"description": f"003's name for `{of}`; send one of the two."},
                 **kwargs)


class CurrencyCode(fields.String):
    """An ISO 4217 code; lower case is accepted and upper-cased (`usd` -> `USD`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().upper()


class TicketTypePickupInput(Schema):
    """A pickup of the ticket type (001 names): `quantity` of a pickup type on each ticket it issues."""

    id = fields.String(metadata={"description": "An existing pickup of this ticket type, to change or (with "
                                                "`_destroy`) remove; omit to add one."})
    _destroy = fields.Boolean(data_key="_destroy", metadata={"description": "true (with `id`) removes it."})
    pickup_type_id = fields.String(data_key="pickupTypeId", metadata={
        "description": "A pickup type of yours (`/pickup-types`); required without `id`."})
    quantity = fields.Integer(validate=validate.Range(min=1, max=1000), metadata={"description": "Default 1."})


class TicketTypeFieldsSchema(Schema):
    """Every settable field of a ticket type (001's names; 003's snake_case names are accepted too).

    Rules (ranges, sale window, invite codes, passes...) are checked by the service and reported as
    422 `validation_error` under the same field names.
    """

    name = fields.String(required=True, metadata={"description": "Display name, e.g. General Admission."})
    description = fields.String()
    price = fields.Decimal(metadata={"description": _MAJOR + " >= 0."})
    currency = CurrencyCode(metadata={"description": "ISO 4217 code (default USD); `usd` is read as `USD`."})
    capacity = fields.Integer(allow_none=True, metadata={"description": "Seats on sale (>= 0); null = unlimited."})
    sale_start = fields.DateTime(data_key="saleStart", allow_none=True,
                                 metadata={"description": "ISO 8601; without an offset it is local time in `tz`."})
    sale_end = fields.DateTime(data_key="saleEnd", allow_none=True,
                               metadata={"description": "ISO 8601, after saleStart."})
    tz = fields.String(validate=_check_timezone,
                       metadata={"description": "IANA timezone for saleStart/saleEnd without an offset "
                                                "(default: the event's timezone)."})
    perks = fields.List(fields.String())
    allow_reentry = fields.Boolean(data_key="allowReentry")
    reentry_limit = fields.Integer(data_key="reentryLimit", allow_none=True,
                                   metadata={"description": "Total scans allowed, including the first (>= 1)."})
    accepted_scan_points = fields.List(fields.String(), data_key="acceptedScanPoints",
                                       metadata={"description": "Scan-point whitelist; empty = any."})
    visibility = fields.String(metadata={"enum": list(VISIBILITIES)})
    invite_code = fields.String(data_key="inviteCode", allow_none=True,
                                metadata={"description": "Required when visibility is invite-only."})
    transferable = fields.Boolean()
    refund_policy = fields.String(data_key="refundPolicy", allow_none=True)
    quantity = fields.Integer(metadata={"description": "Tickets issued per purchase unit (>= 1)."})
    grouped = fields.Boolean(metadata={"description": "Issue one grouped ticket per unit."})
    order_min = fields.Integer(data_key="orderMin", allow_none=True)
    order_max = fields.Integer(data_key="orderMax", allow_none=True)
    service_fee_amount = fields.Decimal(data_key="serviceFeeAmount",
                                        metadata={"description": "Per-ticket flat fee. " + _MAJOR})
    service_fee_percentage = fields.Float(data_key="serviceFeePercentage",
                                          metadata={"description": "Per-ticket fee, 0..100 %."})
    is_pass = fields.Boolean(data_key="isPass",
                             metadata={"description": "A pass covering every session of a parent event."})
    position = fields.Integer()
    metadata = fields.Dict()
    editable = fields.Boolean(metadata={"description": "The holder may change the ticket's holder name and e-mail "
                                                      "after purchase (`PATCH /client/events/tickets/{id}`)."})
    edit_fee = fields.Decimal(data_key="editableChangeFee",
                              metadata={"description": "The change fee of one holder edit (>= 0; 0 = free). " + _MAJOR})
    edit_minutes = fields.Integer(data_key="editableMinutes", allow_none=True,
                                  metadata={"description": "Edits allowed this many minutes after the booking was "
                                                           "confirmed (>= 1); null = no limit."})
    pickups = fields.List(fields.Nested(TicketTypePickupInput), validate=validate.Length(max=20),
                          metadata={"description": "What each ticket carries to collect at the event, edited in "
                                                   "place: an item with `id` changes (with `_destroy` removes) that "
                                                   "pickup, one without adds one (or changes the quantity of the "
                                                   "pickup of that type); pickups not listed stay."})
    configuration = fields.String(data_key="ticketConfigurationId", allow_none=True, metadata={
        "description": "Id of one of your ticket configurations (003's reusable ticket type: holder fields, "
                       "transfers, PDF attachment, display name); null for none."})
    list_id = fields.String(data_key="listId", allow_none=True, validate=validate.Length(max=64), metadata={
        "description": "The event list its tickets go on (one of this event's lists, or its parent event's); "
                       "null: the event's default list."})
    rotating_qr = fields.Boolean(data_key="rotatingQr", metadata={"description": _ROTATING})
    # 003's spellings, accepted as aliases: send one spelling per field.
    inventory = _alias(fields.Integer, "inventory", "capacity", allow_none=True)
    order_min_003 = _alias(fields.Integer, "order_min", "orderMin", allow_none=True)
    order_max_003 = _alias(fields.Integer, "order_max", "orderMax", allow_none=True)
    service_fee_amount_003 = _alias(fields.Decimal, "service_fee_amount", "serviceFeeAmount")
    service_fee_percentage_003 = _alias(fields.Float, "service_fee_percentage", "serviceFeePercentage")
    pass_003 = _alias(fields.Boolean, "pass", "isPass")
    edit_fee_003 = _alias(fields.Decimal, "editable_change_fee", "editableChangeFee")
    edit_minutes_003 = _alias(fields.Integer, "editable_minutes", "editableMinutes", allow_none=True)
    list_id_003 = _alias(fields.String, "list_id", "listId", allow_none=True, validate=validate.Length(max=64))

    _ALIASES = {"inventory": "capacity", "order_min_003": "order_min", "order_max_003": "order_max",
                "service_fee_amount_003": "service_fee_amount",
                "service_fee_percentage_003": "service_fee_percentage", "pass_003": "is_pass",
                "edit_fee_003": "edit_fee", "edit_minutes_003": "edit_minutes", "list_id_003": "list_id"}

    @post_load
    def _merge_aliases(self, data: dict, **kwargs) -> dict:
        errors = {}
        for alias, target in self._ALIASES.items():
            if alias not in data:
                continue
            if target in data:
                errors[self.fields[alias].data_key or alias] = [
                    f"Send either `{self.fields[target].data_key or target}` or this alias, not both."]
            data[target] = data.pop(alias)
        if errors:
            raise ValidationError(errors)
        return data


class TicketTypeUpdateSchema(TicketTypeFieldsSchema):
    """The fields to change; any subset."""

    name = fields.String()


class TicketTypeCreateSchema(TicketTypeFieldsSchema):
    """001's `data` object: the event id plus the ticket type's fields."""

    event = fields.String(required=True, metadata={"description": "Id of the event the ticket type sells."})


# Model field name -> the name the API uses, for reporting the service's errors.
API_NAMES = {name: field.data_key or name for name, field in TicketTypeCreateSchema().fields.items()}


@contextlib.contextmanager
def ticket_type_errors(*path: str) -> Iterator[None]:
    """Report a service `validation_error` under the API's field names, nested at `path` like smorest does."""
    try:
        yield
    except Unprocessable as exc:
        if exc.errors:
            errors = {API_NAMES.get(key, key.replace(".pickup_type_id", ".pickupTypeId")): value
                      for key, value in exc.errors.items()}
            for key in reversed(path):
                errors = {key: errors}
            exc.errors = errors
        raise


def _utc(value: dt.datetime | None, tz: str) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return None if value is None else to_utc_naive(value)
    return to_utc_naive(value.replace(tzinfo=ZoneInfo(tz)))


def to_service_fields(data: dict, *, event: Event, current: TicketType | None = None) -> dict:
    """Loaded API input -> the service's model-named fields: minor units, naive UTC times, no `tz`/`event`.

    Amounts are read in the currency sent, else the ticket type's current one (else USD on create).
    Raises Unprocessable (field errors by model name) for an unknown currency or too many decimals.
    """
    fields_ = {key: value for key, value in data.items() if key not in ("tz", "event")}
    tz = data.get("tz") or event.tz or "UTC"
    errors = {}
    for name in ("sale_start", "sale_end"):
        if name in fields_:
            try:
                fields_[name] = _utc(fields_[name], tz)
            except (OverflowError, ValueError):
                errors[name] = ["Out of range once converted to UTC."]
    currency = fields_.get("currency") or (current.currency if current else TicketType.currency.default)
    amounts = [name for name in AMOUNT_FIELDS if name in fields_]
    if amounts and not is_currency(currency):
        raise Unprocessable("Unknown currency.", errors={"currency": ["Must be an ISO 4217 currency code."]})
    for name in amounts:
        try:
            fields_[name] = to_minor(fields_[name], currency)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise Unprocessable("The ticket type is not valid; see `errors` for each field.", errors=errors)
    return fields_


def _major(minor: int, currency: str) -> str:
    return str(to_major(minor, currency)) if is_currency(currency) else str(minor)


def is_on_sale(ticket_type: TicketType, now: dt.datetime | None = None) -> bool:
    """Not archived and inside its sale window now (sold out is `available == 0`, not this)."""
    now = now or utcnow()
    return (ticket_type.archived_at is None
            and (ticket_type.sale_start is None or ticket_type.sale_start <= now)
            and (ticket_type.sale_end is None or now < ticket_type.sale_end))


def _holder_fields(ticket_type: TicketType) -> dict:
    wanted = ticket_configurations.holder_fields(ticket_configurations.configuration_of(ticket_type))
    return {"includeName": wanted.include_name, "requireName": wanted.require_name,
            "includeEmail": wanted.include_email, "requireEmail": wanted.require_email}


def pickup_view(pickup) -> dict:
    """A registration type's pickup (loaded with its pickup type)."""
    return {"id": pickup.id, "pickupTypeId": pickup.pickup_type_id, "name": pickup.pickup_type.name,
            "quantity": pickup.quantity}


def ticket_type_view(ticket_type: TicketType, *, event: Event | None = None, staff: bool = False,
                     pickups: list | None = None) -> dict:
    """The JSON form of a ticket type; counters, invite code, metadata and archive time only for staff;
    `pickups` (its pickup rows, each with its pickup type) when given."""
    tt = ticket_type
    event = event if event is not None else tt.event
    view = {
        "id": tt.id,
        "eventId": tt.event_id,
        "name": tt.name,
        "description": tt.description,
        "price": _major(tt.price, tt.currency),
        "priceMinor": tt.price,
        "currency": tt.currency,
        "prices": [{**price_view(tt.price, tt.currency), "default": True}],
        "capacity": tt.capacity,
        "available": available_seats(tt, event),
        "saleStart": iso_utc(tt.sale_start),
        "saleEnd": iso_utc(tt.sale_end),
        "onSale": is_on_sale(tt),
        "perks": tt.perks,
        "allowReentry": tt.allow_reentry,
        "reentryLimit": tt.reentry_limit,
        "acceptedScanPoints": tt.accepted_scan_points,
        "visibility": tt.visibility,
        "transferable": tt.transferable,
        "refundPolicy": tt.refund_policy,
        "quantity": tt.quantity,
        "grouped": tt.grouped,
        "orderMin": tt.order_min,
        "orderMax": tt.order_max,
        "serviceFeeAmount": _major(tt.service_fee_amount, tt.currency),
        "serviceFeeAmountMinor": tt.service_fee_amount,
        "serviceFeePercentage": tt.service_fee_percentage,
        "isPass": tt.is_pass,
        "listId": tt.list_id,
        "position": tt.position,
        "editable": tt.editable,
        "editableChangeFee": _major(tt.edit_fee, tt.currency),
        "editableChangeFeeMinor": tt.edit_fee,
        "editableMinutes": tt.edit_minutes,
        "ticketConfigurationId": tt.ticket_configuration_id,
        "rotatingQr": tt.rotating_qr,
        "holderFields": _holder_fields(tt),
        "createdAt": iso_utc(tt.created_at),
        "updatedAt": iso_utc(tt.updated_at),
    }
    if staff:
        view.update({"sold": tt.sold, "held": tt.held, "inviteCode": tt.invite_code,
                     "archivedAt": iso_utc(tt.archived_at), "metadata": tt.metadata})
    if pickups is not None:
        view["pickups"] = [pickup_view(p) for p in pickups]
    return view


class PriceSchema(Schema):
    """003's price object."""

    decimal = fields.String(metadata={"description": "Major units as a decimal string, e.g. \"199.00\"."})
    amount = fields.Integer(metadata={"description": "Minor units."})
    currency = fields.String()
    formatted = fields.String()
    default = fields.Boolean()


class TicketTypePickupSchema(Schema):
    """A pickup of a ticket type: what each of its tickets carries."""

    id = fields.String()
    pickupTypeId = fields.String()
    name = fields.String(metadata={"description": "The pickup type's name."})
    quantity = fields.Integer(metadata={"description": "Per ticket (per seat of a grouped ticket)."})


def _iso(description: str = "") -> fields.String:
    return fields.String(allow_none=True, metadata={"format": "date-time", "description": description or "UTC, Z."})


class HolderFieldsSchema(Schema):
    """What a checkout asks of each ticket's holder (from the ticket configuration; all false without one)."""

    includeName = fields.Boolean(metadata={"description": "Offer a holder name field per ticket."})
    requireName = fields.Boolean(metadata={"description": "A purchase must send each ticket's holder name."})
    includeEmail = fields.Boolean(metadata={"description": "Offer a holder e-mail field per ticket."})
    requireEmail = fields.Boolean(metadata={"description": "A purchase must send each ticket's holder e-mail."})


class TicketTypeSchema(Schema):
    """A ticket type as the API returns it (documents `ticket_type_view`)."""

    id = fields.String()
    eventId = fields.String()
    name = fields.String()
    description = fields.String()
    price = fields.String(metadata={"description": "Major units as a decimal string (\"199.00\", \"1500\")."})
    priceMinor = fields.Integer(metadata={"description": "Price in minor units (19900 for 199.00 USD)."})
    currency = fields.String()
    prices = fields.List(fields.Nested(PriceSchema))
    capacity = fields.Integer(allow_none=True)
    available = fields.Integer(allow_none=True, metadata={
        "description": "Seats left, bounded by the event's capacity too; null = unlimited."})
    saleStart = _iso()
    saleEnd = _iso()
    onSale = fields.Boolean(metadata={"description": "Not archived and inside the sale window now."})
    perks = fields.List(fields.String())
    allowReentry = fields.Boolean()
    reentryLimit = fields.Integer(allow_none=True)
    acceptedScanPoints = fields.List(fields.String())
    visibility = fields.String(metadata={"enum": list(VISIBILITIES)})
    transferable = fields.Boolean()
    refundPolicy = fields.String(allow_none=True)
    quantity = fields.Integer()
    grouped = fields.Boolean()
    orderMin = fields.Integer(allow_none=True)
    orderMax = fields.Integer(allow_none=True)
    serviceFeeAmount = fields.String(metadata={"description": "Major units as a decimal string."})
    serviceFeeAmountMinor = fields.Integer()
    serviceFeePercentage = fields.Float()
    isPass = fields.Boolean()
    listId = fields.String(allow_none=True, metadata={"description": "The event list its tickets go on; null: "
                                                                     "the event's default list."})
    position = fields.Integer()
    editable = fields.Boolean(metadata={"description": "The holder may change the holder name and e-mail."})
    editableChangeFee = fields.String(metadata={"description": "The change fee of one holder edit; major units "
                                                               "as a decimal string."})
    editableChangeFeeMinor = fields.Integer()
    editableMinutes = fields.Integer(allow_none=True, metadata={
        "description": "Minutes after the booking's confirmation during which edits are allowed; null = no limit."})
    ticketConfigurationId = fields.String(allow_none=True, metadata={"description": "Its ticket configuration."})
    rotatingQr = fields.Boolean(metadata={"description": _ROTATING})
    holderFields = fields.Nested(HolderFieldsSchema)
    createdAt = _iso()
    updatedAt = _iso()
    sold = fields.Integer(metadata={"description": "Staff only."})
    held = fields.Integer(metadata={"description": "Staff only."})
    inviteCode = fields.String(allow_none=True, metadata={"description": "Staff only."})
    archivedAt = _iso("Staff only.")
    metadata = fields.Dict(metadata={"description": "Staff only."})
    pickups = fields.List(fields.Nested(TicketTypePickupSchema), metadata={
        "description": "Ticket-type routes; in event views with `include=registration_types.pickups`."})


class IncludeArchivedSchema(Schema):
    """Whether archived ticket types are listed too."""

    include_archived = fields.Boolean(data_key="includeArchived", load_default=False)


class TicketTypeFilterSchema(IncludeArchivedSchema):
    """Which ticket types to list."""

    event = fields.String(metadata={"description": "Only this event's ticket types."})


class TicketTypeEnvelopeSchema(Schema):
    """`{"data": <ticket type>}`."""

    data = fields.Nested(TicketTypeSchema)


class DeletedSchema(Schema):
    """What a delete did: removed the record, or archived it because something still refers to it."""

    id = fields.String()
    deleted = fields.Boolean()
    archived = fields.Boolean()


class TicketTypeListSchema(Schema):
    """`{"data": [<ticket type>, ...]}`."""

    data = fields.List(fields.Nested(TicketTypeSchema))


class DeletedEnvelopeSchema(Schema):
    """`{"data": {"id", "deleted", "archived"}}`."""

    data = fields.Nested(DeletedSchema)
