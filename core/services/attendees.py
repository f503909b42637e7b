"""Attendees: the tenant's ticket holders as records (002's participants), found again by e-mail.

One place for the rules: an e-mail (trimmed, case ignored) names one attendee per tenant, found or created
race-safely (unique index; a lost race reads the winner's row), empty fields are filled and never blanked.
Never issues tickets or moves seats; issuing calls `resolve_attendees` in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from peewee import EXCLUDED, JOIN, Case, fn

from core.db import write_transaction
from core.errors import Unprocessable
from core.models import Attendee, Event, Org, Ticket, new_id, utcnow
from core.pagination import Page, SortKey, paginate_offset
from core.services.statements import Upsert, insert_rows, row_builder
from core.tenancy import along, get_scoped, scoped
from core.timefmt import iso_utc

LISTED = ("valid", "checked_in")
"""The ticket states that make someone a participant (cancelled, refunded, transferred and unactivated
pre-generated tickets do not)."""
ATTENDEE_KEYS = (SortKey("created", Attendee.created_at, "datetime", attr="created_at"), SortKey("id", Attendee.id))
FILLABLE = ("first_name", "last_name", "email", "phone", "address")
LIMITS = {"first_name": 200, "last_name": 200, "email": 254, "phone": 40, "address": 2000}


def email_key(email: str | None) -> str | None:
    """How an e-mail is compared: trimmed and lower-cased; None when blank."""
    key = (email or "").strip().lower()
    return key or None


def split_name(name: str | None) -> tuple[str, str]:
    """(first name, last name) of a one-field name: the first word, and the rest."""
    first, _, last = (name or "").strip().partition(" ")
    return first, last.strip()


@dataclass(frozen=True)
class Contact:
    """What a ticket (or a partner) says about a person; blank fields are unknown, never "clear it"."""

    email: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    address: str | None = None

    @classmethod
    def named(cls, email: str, name: str, phone: str | None = None) -> Contact:
        """A contact from an e-mail and a one-field holder name (split into first and last name)."""
        first, last = split_name(name)
        return cls(email=(email or "").strip(), first_name=first, last_name=last, phone=phone or None)

    def merged(self, other: Contact) -> Contact:
        """This contact with its blank fields taken from `other`."""
        return Contact(**{name: getattr(self, name) or getattr(other, name) for name in FILLABLE})


def _checked(contact: Contact) -> Contact:
    """`contact`, or 422 `invalid_attendee` naming each field longer than its column."""
    errors = {name: [f"At most {limit} characters."] for name, limit in LIMITS.items()
              if len(getattr(contact, name) or "") > limit}
    if errors:
        raise Unprocessable("An attendee field is too long.", type="invalid_attendee", errors=errors)
    return contact


_FIELDS = tuple(Attendee._meta.sorted_fields)


def _filled_on_conflict() -> dict:
    """The SET of an attendee whose e-mail is taken: each empty field takes the value sent, `confirmed_at` is
    set once, nothing is ever blanked."""
    update = {Attendee.first_name: Case(None, [(Attendee.first_name == "", EXCLUDED.first_name)], Attendee.first_name),
              Attendee.last_name: Case(None, [(Attendee.last_name == "", EXCLUDED.last_name)], Attendee.last_name)}
    for field in (Attendee.phone, Attendee.address, Attendee.confirmed_at):
        update[field] = fn.COALESCE(field, getattr(EXCLUDED, field.column_name))
    update[Attendee.updated_at] = EXCLUDED.updated_at
    return update


_UPSERT = Upsert(target=("org", "email_key"), update=_filled_on_conflict, returning=tuple(f.name for f in _FIELDS))
_UPSERT_IDS = Upsert(target=("org", "email_key"), update=_filled_on_conflict, returning=("id", "email_key"))


def _row(org_id: str, contact: Contact, now, confirmed: bool) -> dict:
    return {"id": new_id(), "org": org_id, "first_name": contact.first_name, "last_name": contact.last_name,
            "email": contact.email.strip() or None, "email_key": email_key(contact.email),
            "phone": contact.phone or None, "address": contact.address or None,
            "confirmed_at": now if confirmed else None, "created_at": now, "updated_at": now}


def _upsert(org: Org | str, contacts: Sequence[Contact], confirmed: bool, upsert: Upsert) -> tuple[list, list]:
    """Write the contacts' attendees in one statement; (the rows it returned, the key of each contact's row)."""
    org_id = org if isinstance(org, str) else org.id
    now = utcnow()
    keyed: dict[str, Contact] = {}
    anonymous: dict[Contact, dict] = {}
    keys = []
    for contact in map(_checked, contacts):
        key = email_key(contact.email)
        if key:
            known = keyed.get(key)
            keyed[key] = contact if known is None else known if known == contact else known.merged(contact)
        elif contact not in anonymous:
            anonymous[contact] = _row(org_id, contact, now, confirmed)
        keys.append(key or anonymous[contact]["id"])
    # e-mails in one order, so two transactions upserting the same ones lock them in the same order
    rows = [_row(org_id, keyed[key], now, confirmed) for key in sorted(keyed)] + list(anonymous.values())
    return insert_rows(Attendee, rows, upsert=upsert), keys


def resolve_attendees(org: Org | str, contacts: Sequence[Contact], *, confirmed: bool = True) -> list[Attendee]:
    """The attendee of each contact, in order, found by e-mail or created; call it inside the write transaction
    that uses them. All of them cost one statement: an INSERT whose taken e-mails update the stored attendee
    instead (empty fields filled, `_filled_on_conflict`), returning every row (`statements.Upsert`), so two
    concurrent calls with one e-mail make one attendee (the unique index decides; on PostgreSQL the second
    waits for the first and updates its row). Contacts with one e-mail share an attendee; contacts without
    one get one new anonymous attendee per distinct contact. `confirmed`: they are being issued tickets (sets
    `confirmed_at` once)."""
    if not contacts:
        return []
    rows, keys = _upsert(org, contacts, confirmed, _UPSERT)
    made = {a.email_key or a.id: a for a in map(row_builder(Attendee, _FIELDS), rows)}
    return [made[key] for key in keys]


def resolve_attendee_ids(org: Org | str, contacts: Sequence[Contact]) -> list[str]:
    """`resolve_attendees` for contacts being issued tickets, answering only their ids (what issuing needs;
    the same one statement, returning two columns)."""
    if not contacts:
        return []
    rows, keys = _upsert(org, contacts, True, _UPSERT_IDS)
    made = {key or row_id: row_id for row_id, key in rows}
    return [made[key] for key in keys]


def attendee_for(org: Org, *, email: str, first_name: str = "", last_name: str = "", phone: str | None = None,
                 address: str | None = None) -> Attendee:
    """The tenant's attendee with this e-mail (case ignored), its empty fields filled from the others, or a new
    one; a blank e-mail makes a new anonymous attendee. Race-safe: two concurrent calls with one e-mail get one
    attendee. Joins the caller's write transaction when one is open. Not confirmed until it holds a ticket."""
    contact = Contact(email=(email or "").strip(), first_name=(first_name or "").strip(),
                      last_name=(last_name or "").strip(), phone=phone or None, address=address or None)
    with write_transaction():
        return resolve_attendees(org, [contact], confirmed=False)[0]


def anonymous_attendee(org: Org, *, first_name: str = "", last_name: str = "", phone: str | None = None,
                       address: str | None = None) -> Attendee:
    """A new attendee with no e-mail (a ticket issued to nobody in particular); never found again by e-mail."""
    return attendee_for(org, email="", first_name=first_name, last_name=last_name, phone=phone, address=address)


def attendee(org: Org | str, attendee_id: str) -> Attendee:
    """One attendee of the tenant, or 404 `attendee_not_found` (also for another tenant's)."""
    return get_scoped(Attendee, org, attendee_id, "attendee")


def attendees_page(org: Org | str, *, event_id: str | None = None, page: int, limit: int) -> Page:
    """A page of participants: the attendees holding valid or checked-in tickets (of `event_id`, else of any
    event), oldest attendee first so a page stays put as people are added. Each row is an `Attendee` with
    `ticket_ids` (those tickets, oldest first). 404 `event_not_found` for an unknown event."""
    org_id = org if isinstance(org, str) else org.id
    held = scoped(Ticket, org_id, Ticket.attendee).where(Ticket.status.in_(LISTED))
    if event_id is not None:
        get_scoped(Event, org_id, event_id, "event")
        held = held.where(Ticket.event == event_id)   # the (org, event) index finds them
    query = scoped(Attendee, org_id).where(Attendee.id.in_(held))
    result = paginate_offset(query, ATTENDEE_KEYS, page, limit)
    ids: dict[str, list[str]] = {a.id: [] for a in result.rows}
    if ids:
        tickets = scoped(Ticket, org_id, Ticket.id, Ticket.attendee).where(
            Ticket.attendee.in_(list(ids)) & Ticket.status.in_(LISTED))
        if event_id is not None:
            tickets = tickets.where(Ticket.event == event_id)
        for ticket_id, attendee_id in tickets.order_by(Ticket.created_at, Ticket.id).tuples():
            ids[attendee_id].append(ticket_id)
    for row in result.rows:
        row.ticket_ids = ids[row.id]
    return result


def participant_view(row: Attendee) -> dict:
    """002's participant object (`id, first_name, last_name, email, phone, address, confirmed, created`), plus
    `ticket_count` and `ticket_ids` when the row came from `attendees_page`."""
    view = {"id": row.id, "first_name": row.first_name, "last_name": row.last_name, "email": row.email,
            "phone": row.phone, "address": row.address, "confirmed": row.confirmed_at is not None,
            "created": iso_utc(row.created_at)}
    ticket_ids = getattr(row, "ticket_ids", None)
    if ticket_ids is not None:
        view.update(ticket_count=len(ticket_ids), ticket_ids=ticket_ids)
    return view


BACKFILL_BATCH = 500


def _never_activated():
    """Tickets that are not attendees' (yet): pre-generated ones never sold at the door (activation gives a
    `door` ticket its booking)."""
    return (Ticket.status == "pending_activation") | ((Ticket.source == "door") & Ticket.booking.is_null())


def backfill_attendees() -> int:
    """Give every issued ticket that has no attendee the attendee of its holder (migration 22), in batches:
    its holder e-mail, else its customer's; one attendee per e-mail per tenant, and one anonymous attendee per
    booking (per ticket without one) for tickets with neither. Unactivated pre-generated tickets are left
    out. Returns how many tickets got one; idempotent."""
    from core.models import Customer

    done, after = 0, ""
    while True:
        rows = list(Ticket.select(Ticket.id, Ticket.org, Ticket.booking, Ticket.holder_email, Ticket.holder_name,
                                  Customer.email, Customer.name, Customer.phone)
                    .join(Customer, JOIN.LEFT_OUTER, on=along(Ticket.customer))
                    .where(Ticket.attendee.is_null() & ~_never_activated() & (Ticket.id > after))
                    .order_by(Ticket.id).limit(BACKFILL_BATCH).tuples())
        if not rows:
            return done
        groups: dict[tuple, list[tuple[str, Contact]]] = {}
        for ticket_id, org_id, booking_id, email, name, customer_email, customer_name, phone in rows:
            email = email or customer_email or ""
            own = customer_email is not None and email_key(customer_email) == email_key(email)
            contact = Contact.named(email, name or (customer_name if own else "") or "", phone if own else None)
            group = (org_id, None) if email_key(email) else (org_id, booking_id or ticket_id)
            groups.setdefault(group, []).append((ticket_id, contact))
        holders: dict[str, list[str]] = {}
        for (org_id, _), members in groups.items():
            found = resolve_attendees(org_id, [contact for _, contact in members])
            for (ticket_id, _), attendee_row in zip(members, found, strict=True):
                holders.setdefault(attendee_row.id, []).append(ticket_id)
        for attendee_id, ticket_ids in holders.items():
            Ticket.update(attendee=attendee_id).where(Ticket.id.in_(ticket_ids)).execute()
        done += len(rows)
        after = rows[-1][0]
