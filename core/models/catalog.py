"""The catalog: venues, events (date | parent | recurring), recurrence rules, sync jobs, ticket configurations,
ticket types.

Capacity counters (`sold`, `held`) live on Event and TicketType and change only through
`core.services.capacity`, with conditional UPDATEs.
"""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    FloatField,
    IntegerField,
    TextField,
)

from core.models.base import DateTimeField, ForeignKeyField, JSONField
from core.models.public_id import PublicIdField, ensure_unused
from core.models.tenant import TenantModel

EVENT_TYPES = ("date", "parent", "recurring")
VISIBILITIES = ("public", "private", "invite-only")


class PublicIdModel(TenantModel):
    """A tenant record with a stable numeric `public_id` beside its UUID (`core.models.public_id`)."""

    public_id = PublicIdField()

    def save(self, *args, **kwargs):
        """Save; an insert first makes sure its drawn public id is unused (draws again if not)."""
        if kwargs.get("force_insert") or (args and args[0]):
            ensure_unused(self)
        return super().save(*args, **kwargs)


class Venue(PublicIdModel):
    """A place events happen; its timezone is the default for its events."""

    name = CharField(max_length=200)
    address = TextField(default="")
    city = CharField(max_length=120, default="")
    country = CharField(max_length=2, default="")
    tz = CharField(max_length=64, default="UTC")
    capacity = IntegerField(null=True)


class Event(PublicIdModel):
    """An event: a single date, a parent with sessions, or a recurring template with generated dates."""

    type = CharField(max_length=16, default="date")
    name = CharField(max_length=300)
    slug = CharField(max_length=320)
    description = TextField(default="")
    venue = ForeignKeyField(Venue, null=True, column_name="venue_id", on_delete="SET NULL")
    parent = ForeignKeyField("self", null=True, column_name="parent_event_id", backref="children",
                             on_delete="CASCADE")
    recurrence_id = CharField(max_length=36, null=True)
    tz = CharField(max_length=64, default="UTC")
    starts_at = DateTimeField()
    ends_at = DateTimeField()
    capacity = IntegerField(null=True)
    sold = IntegerField(default=0)
    held = IntegerField(default=0)
    published_at = DateTimeField(null=True)
    archived_at = DateTimeField(null=True)
    visibility = CharField(max_length=16, default="public")
    position = IntegerField(default=0)
    syncing = BooleanField(default=False)
    settings = JSONField(default=dict)
    calendar_id = CharField(max_length=36, null=True)  # a `core.models.taxonomy.Calendar` of the tenant
    permanent = BooleanField(default=False)  # always on (a membership, a standing guest list): see docs/events.md
    setting_id = CharField(max_length=36, null=True)  # its `core.models.templates.EventSetting`; null: built-ins
    location = TextField(default="")  # free text shown as the event's place; empty: its venue's name and city
    cover = JSONField(null=True)  # the staff-uploaded cover image and its renditions (core.services.event_covers)
    waiting_room_id = CharField(max_length=36, null=True)  # its on-sale waiting room while on (migration 27)
    door_secret = TextField(null=True)  # rotating QR codes' key, sealed (core.services.rotating_qr; migration 28)

    class Meta:
        indexes = (
            (("org", "starts_at", "id"), False),
            (("org", "calendar_id", "starts_at", "id"), False),
            (("org", "permanent", "starts_at", "id"), False),
            (("org", "published_at", "starts_at", "id"), False),
            (("org", "parent", "starts_at", "id"), False),
            (("org", "slug"), True),  # unique per tenant (migration 21): the event's public page path
        )


class Recurrence(PublicIdModel):
    """A recurrence rule of a recurring event (003), fanned out into child date events by a job.

    `operating_hours` is a list of `{"open": "HH:MM", "close": "HH:MM"}` local windows: one date per window per
    day the rule produces. The dates a rule generated carry its id (`Event.recurrence_id`).
    """

    event = ForeignKeyField(Event, backref="recurrences", column_name="event_id", on_delete="CASCADE")
    starts_at = DateTimeField()
    ends_at = DateTimeField(null=True)
    ends = CharField(max_length=24, default="never")
    max_occurrences = IntegerField(null=True)
    repeat_unit = CharField(max_length=8, default="week")
    repeat_value = IntegerField(default=1)
    duration = FloatField(null=True)
    days = JSONField(default=list)
    operating_hours = JSONField(default=list)


class SyncJob(TenantModel):
    """A background job working on an event (recurrence fan-out, bulk refund), with status and progress."""

    event = ForeignKeyField(Event, backref="sync_jobs", column_name="event_id", on_delete="CASCADE")
    kind = CharField(max_length=32)
    status = CharField(max_length=16, default="queued")
    progress_done = IntegerField(default=0)
    progress_total = IntegerField(default=0)
    error = TextField(null=True)
    params = JSONField(default=dict)
    result = JSONField(default=dict)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)


class TicketConfiguration(PublicIdModel):
    """Reusable ticketing settings that many sellable tiers share (003's "ticket type").

    The core's `TicketType` is the sellable tier (003's registration type: price, inventory, sale window). A
    configuration is what a ticket is like once issued: its display name, whether the holder's name and e-mail
    are asked for or required, whether the PDF is attached to the e-mail, whether it can be transferred, and
    whether its codes come from a staff-uploaded barcode pool. Tiers of many events may share one through
    `TicketType.configuration`; it never shares capacity. The defaults require nothing of a buyer.
    `pdf_template_id` / `wallet_template_id` are the numeric public ids of the tenant's templates
    (`core.models.templates.Template`, the wallet's own model); null: the event setting's, else the built-in.
    """

    name = CharField(max_length=200)
    display_name = CharField(max_length=200, default="")
    pdf_template_id = BigIntegerField(null=True)
    wallet_template_id = BigIntegerField(null=True)
    attachable = BooleanField(default=True)
    transferable = BooleanField(default=True)
    include_name = BooleanField(default=False)
    require_name = BooleanField(default=False)
    include_email = BooleanField(default=False)
    require_email = BooleanField(default=False)
    enforce_barcode_pool = BooleanField(default=False)
    archived_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("org", "name"), False),)


class EventTicketConfiguration(TenantModel):
    """A configuration attached to an event (003 `POST /events/{id}/ticket_types/add`), offered for its tiers."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    configuration = ForeignKeyField(TicketConfiguration, column_name="ticket_configuration_id",
                                    on_delete="CASCADE")

    class Meta:
        indexes = ((("org", "event", "configuration"), True),)


class TicketType(PublicIdModel):
    """A sellable tier of an event (001's fields plus 003's registration-type fields).

    Prices and fees are integer minor units of `currency`. `capacity` None means unlimited; `held` are
    seats in pending bookings, `sold` seats in confirmed tickets (one seat per ticket, or per grouped unit).
    A pass (`is_pass`, on a parent event) covers every session; one made through 003's `passes` also
    `admits_every_session` at the door without its holder choosing sessions (`core.services.door_rules`).
    """

    event = ForeignKeyField(Event, backref="ticket_types", column_name="event_id", on_delete="CASCADE")
    name = CharField(max_length=200)
    description = TextField(default="")
    price = IntegerField(default=0)
    currency = CharField(max_length=3, default="USD")
    capacity = IntegerField(null=True)
    sold = IntegerField(default=0)
    held = IntegerField(default=0)
    sale_start = DateTimeField(null=True)
    sale_end = DateTimeField(null=True)
    perks = JSONField(default=list)
    allow_reentry = BooleanField(default=False)
    reentry_limit = IntegerField(null=True)
    accepted_scan_points = JSONField(default=list)
    visibility = CharField(max_length=16, default="public")
    invite_code = CharField(max_length=100, null=True)
    transferable = BooleanField(default=True)
    refund_policy = CharField(max_length=200, null=True)
    quantity = IntegerField(default=1)
    grouped = BooleanField(default=False)
    order_min = IntegerField(null=True)
    order_max = IntegerField(null=True)
    service_fee_amount = IntegerField(default=0)
    service_fee_percentage = FloatField(default=0)
    is_pass = BooleanField(default=False)
    admits_every_session = BooleanField(default=False)
    position = IntegerField(default=0)
    archived_at = DateTimeField(null=True)
    metadata = JSONField(default=dict)
    configuration = ForeignKeyField(TicketConfiguration, null=True, column_name="ticket_configuration_id",
                                    backref="ticket_types", on_delete="RESTRICT")
    editable = BooleanField(default=False)  # the holder may change their name and e-mail after purchase
    edit_fee = IntegerField(default=0)      # the change fee of one such edit, minor units of `currency`
    edit_minutes = IntegerField(null=True)  # edits allowed this long after the booking's confirmation; None: always
    list_id = CharField(max_length=36, null=True)  # its tickets' event list (core.models.lists); null: the default
    rotating_qr = BooleanField(default=False)  # its tickets show a QR that changes every 15 s (migration 28)

    class Meta:
        indexes = ((("org", "event", "position"), False),)
