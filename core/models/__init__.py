"""All core peewee models, importable from one place.

`CORE_MODELS` is the ordered list the initial migration creates (parents before children).
"""

from core.models.attendees import Attendee
from core.models.audit import AuditEntry
from core.models.barcodes import BarcodePoolCode
from core.models.base import BaseModel, JSONField, TimestampedModel, new_id, utcnow
from core.models.catalog import (
    Event,
    EventTicketConfiguration,
    Recurrence,
    SyncJob,
    TicketConfiguration,
    TicketType,
    Venue,
)
from core.models.credit import StoreCredit, StoreCreditDebit
from core.models.customer import AccountLink, Customer
from core.models.door import DoorConflict, DoorDevice
from core.models.lists import EventList, PermanentList
from core.models.members import Member, MemberInvite, Membership
from core.models.outbox import OutboxEntry
from core.models.participation import Participation, SessionSeats
from core.models.passes import PassAdmission
from core.models.pickups import PickupType, TicketPickup, TicketTypePickup
from core.models.sales import (
    Booking,
    BookingLine,
    CheckIn,
    IdempotencyRecord,
    Payment,
    Refund,
    Ticket,
    Transfer,
)
from core.models.taxonomy import Calendar, Campaign, Category, EventCampaign, EventCategory, EventTag, Tag
from core.models.templates import EventSetting, Template
from core.models.tenant import ApiKey, Org, TenantDomain, TenantModel, TenantPlugin
from core.models.ticket_edits import TicketEdit
from core.models.waiting_room import QueueEntry, QueuePassUse, WaitingRoom
from core.models.wallet import WalletCertificate, WalletTemplate

CORE_MODELS = [
    Org, ApiKey, TenantPlugin, Customer, Venue, Event, Recurrence, SyncJob, TicketConfiguration,
    EventTicketConfiguration, TicketType,
    Attendee, Booking, BookingLine, Payment, Refund, Ticket, CheckIn, Transfer, IdempotencyRecord, SessionSeats,
    Participation,
    PassAdmission, OutboxEntry, Category, Tag, Campaign, Calendar, EventCategory, EventTag, EventCampaign, TicketEdit,
    PickupType, TicketTypePickup, TicketPickup,
    BarcodePoolCode, PermanentList, EventList, TenantDomain, StoreCredit, StoreCreditDebit, Template,
    EventSetting, WalletTemplate, WalletCertificate, AuditEntry, WaitingRoom, QueueEntry, QueuePassUse, Member,
    Membership, MemberInvite, AccountLink, DoorDevice, DoorConflict,
]

__all__ = [
    "CORE_MODELS", "AccountLink", "ApiKey", "Attendee", "AuditEntry",
    "BarcodePoolCode", "BaseModel", "Booking", "BookingLine", "CheckIn", "Customer", "Event",
    "DoorConflict", "DoorDevice",
    "EventList", "EventTicketConfiguration", "PermanentList",
    "IdempotencyRecord", "JSONField", "Member", "MemberInvite", "Membership",
    "Org", "OutboxEntry", "Participation", "PassAdmission", "Payment", "PickupType",
    "Recurrence", "Refund", "TicketPickup", "TicketTypePickup",
    "SessionSeats", "TicketConfiguration",
    "SyncJob", "TenantDomain",
    "TenantModel", "TenantPlugin", "Ticket", "TicketType", "TimestampedModel", "Transfer", "Venue", "new_id",
    "utcnow", "Calendar", "Campaign", "Category", "EventCampaign", "EventCategory", "EventTag", "Tag",
    "TicketEdit", "StoreCredit", "StoreCreditDebit", "Template", "EventSetting", "WalletCertificate",
    "WalletTemplate", "WaitingRoom", "QueueEntry", "QueuePassUse",
]
