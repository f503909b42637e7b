"""Pickups (003): pickup types, the pickups a registration type gives each ticket, the pickups issued tickets
carry and their collection at the event.

Knows nothing of HTTP. A ticket's pickups are copied from its registration type when it is issued and never
follow later edits of that type; a pickup is collected once (one conditional UPDATE decides the race).
"""

from __future__ import annotations

import contextlib
import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator

from peewee import JOIN, IntegrityError, Select

from core.db import is_sqlite, write_transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.models import Org, PickupType, Ticket, TicketPickup, TicketType, TicketTypePickup, new_id, utcnow
from core.services.statements import CompiledQuery, Slot, compile_query, insert_rows
from core.tenancy import along, get_scoped, scoped

PICKUP_TYPE_FIELDS = ("name", "description")
MAX_PICKUPS = 20  # per registration type
MAX_QUANTITY = 1000
COLLECTABLE = ("valid", "checked_in")  # a ticket whose pickups can be handed over

Errors = dict[str, list[str]]


def _org_id(org: Org | str) -> str:
    return org if isinstance(org, str) else org.id


# --- pickup types ---------------------------------------------------------------------------------------


def _pickup_type_values(fields: dict, creating: bool = False) -> dict:
    """The settable fields of `fields`, checked (422 `invalid_pickup_type`): a name, when given or creating,
    must not be blank."""
    values = {k: v for k, v in fields.items() if k in PICKUP_TYPE_FIELDS}
    if (creating or "name" in values) and not str(values.get("name") or "").strip():
        raise Unprocessable("The pickup type is invalid; see `errors`.", type="invalid_pickup_type",
                            errors={"name": ["must not be blank"]})
    return values


def get_pickup_type(org: Org, pickup_type_id) -> PickupType:
    """The tenant's pickup type, or 404 `pickup_type_not_found` (also for another tenant's)."""
    return get_scoped(PickupType, org, pickup_type_id, "pickup_type")


def list_pickup_types(org: Org) -> Select:
    """The tenant's pickup types (the caller orders and pages them)."""
    return scoped(PickupType, org)


def create_pickup_type(org: Org, fields: dict) -> PickupType:
    """A new pickup type (`name` required, `description` optional)."""
    values = _pickup_type_values(fields, creating=True)
    with write_transaction():
        return PickupType.create(org=org, **values)


def update_pickup_type(org: Org, pickup_type_id, fields: dict) -> PickupType:
    """Change some fields of a pickup type; tickets show its current name."""
    pickup_type = get_pickup_type(org, pickup_type_id)
    values = _pickup_type_values(fields)
    if values:
        with write_transaction():
            PickupType.update(**values, updated_at=utcnow()).where(pickup_type.row_condition()).execute()
    return get_pickup_type(org, pickup_type.id)


def delete_pickup_type(org: Org, pickup_type_id) -> None:
    """Delete a pickup type no registration type and no issued ticket uses; else 409 `pickup_type_in_use`.

    The DELETE is conditional on both in one statement, so a registration type gaining it meanwhile keeps it.
    """
    pickup_type = get_pickup_type(org, pickup_type_id)
    offered = scoped(TicketTypePickup, org, TicketTypePickup.pickup_type).where(
        TicketTypePickup.pickup_type == pickup_type.id)
    carried = scoped(TicketPickup, org, TicketPickup.pickup_type).where(TicketPickup.pickup_type == pickup_type.id)
    with write_transaction():
        deleted = PickupType.delete().where(pickup_type.row_condition() & PickupType.id.not_in(offered)
                                            & PickupType.id.not_in(carried)).execute()
        if not deleted:
            raise Conflict("This pickup type is offered by a registration type or carried by issued tickets; "
                           "remove it from the registration types first (tickets keep theirs).",
                           type="pickup_type_in_use")


# --- a registration type's pickups ----------------------------------------------------------------------


def _invalid(errors: Errors) -> Unprocessable:
    return Unprocessable("The pickups are invalid; see `errors`.", type="invalid_pickups", errors=errors)


def _unknown(field: str, message: str) -> Unprocessable:
    # Another tenant's record is answered exactly like a made-up id (`unknown_ids`, as core.tenancy does).
    return Unprocessable(message, type="unknown_ids", errors={field: [message]})


def _own_pickup_types(org: Org, items: list[dict]) -> dict[str, PickupType]:
    wanted = {str(i["pickup_type_id"])[:64] for i in items if i.get("pickup_type_id") is not None}
    if not wanted:
        return {}
    return {p.id: p for p in scoped(PickupType, org).where(PickupType.id.in_(sorted(wanted)))}


def _check_items(items: list[dict]) -> None:
    if len(items) > MAX_PICKUPS:
        raise _invalid({"pickups": [f"at most {MAX_PICKUPS} pickups per registration type"]})
    errors: Errors = {}
    for index, item in enumerate(items):
        quantity = item.get("quantity")
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)
                                     or not 1 <= quantity <= MAX_QUANTITY):
            errors[f"pickups[{index}].quantity"] = [f"must be a whole number from 1 to {MAX_QUANTITY}"]
        if item.get("_destroy") and item.get("id") is None:
            errors[f"pickups[{index}].id"] = ["`_destroy` removes an existing pickup: send its `id`"]
        elif item.get("id") is None and item.get("pickup_type_id") is None:
            errors[f"pickups[{index}].pickup_type_id"] = ["required for a new pickup"]
    if errors:
        raise _invalid(errors)


@contextlib.contextmanager
def _one_per_pickup_type() -> Iterator[None]:
    """A write that the unique (ticket type, pickup type) index may refuse when a concurrent edit added the same
    pickup type first: a savepoint, and 409 `pickups_changed` instead of a database error."""
    try:
        with write_transaction():
            yield
    except IntegrityError as exc:
        raise Conflict("The pickups of this registration type changed meanwhile; read them and send yours again.",
                       type="pickups_changed") from exc


def apply_ticket_type_pickups(org: Org, ticket_type: TicketType, items: list[dict]) -> bool:
    """Edit a registration type's pickups in place from 003 items `{id?, _destroy?, pickup_type_id?, quantity?}`:
    with `id` update (or with `_destroy: true` remove) that pickup of this type; without `id` add one, or update
    the quantity of the pickup this type already has of that pickup type (a type lists each pickup type once,
    so re-sending a list never duplicates). Returns whether anything changed.

    Errors are keyed `pickups[i].<field>`: 422 `invalid_pickups`, or `unknown_ids` for an id that is not this
    type's pickup or not a pickup type of the tenant. Call inside the caller's write transaction.
    """
    _check_items(items)
    current = {p.id: p for p in scoped(TicketTypePickup, org).where(TicketTypePickup.ticket_type == ticket_type.id)}
    types = _own_pickup_types(org, items)
    by_type = {p.pickup_type_id: p for p in current.values()}
    changed, seen = False, set()
    for index, item in enumerate(items):
        at = f"pickups[{index}]"
        type_id = None if item.get("pickup_type_id") is None else str(item["pickup_type_id"])[:64]
        if type_id is not None and type_id not in types:
            raise _unknown(f"{at}.pickup_type_id", f"No pickup type {type_id!r} in this organisation.")
        row = current.get(str(item["id"])[:64]) if item.get("id") is not None else by_type.get(type_id)
        if item.get("id") is not None and row is None:
            raise _unknown(f"{at}.id", f"No pickup {item['id']!r} on this registration type.")
        if row is not None and row.id in seen:
            raise _invalid({f"{at}.id": ["this pickup is already listed earlier in `pickups`"]})
        if item.get("_destroy"):
            seen.add(row.id)
            TicketTypePickup.delete().where(row.row_condition()).execute()
            by_type.pop(row.pickup_type_id, None)
            changed = True
            continue
        if row is None:
            with _one_per_pickup_type():
                row = TicketTypePickup.create(org=_org_id(org), ticket_type=ticket_type.id, pickup_type=type_id,
                                              quantity=item.get("quantity") or 1, position=index)
            seen.add(row.id)
            by_type[type_id] = row
            changed = True
            continue
        seen.add(row.id)
        changes = {}
        if type_id is not None and type_id != row.pickup_type_id:
            if type_id in by_type:
                raise _invalid({f"{at}.pickup_type_id": ["this registration type already has that pickup type"]})
            changes["pickup_type"] = type_id
        if item.get("quantity") is not None and item["quantity"] != row.quantity:
            changes["quantity"] = item["quantity"]
        if changes:
            with _one_per_pickup_type():
                TicketTypePickup.update(**changes, updated_at=utcnow()).where(row.row_condition()).execute()
            by_type.pop(row.pickup_type_id, None)
            by_type[changes.get("pickup_type", row.pickup_type_id)] = row
            changed = True
    return changed


def ticket_type_pickups(org: Org | str, ticket_type_ids: Iterable[str]) -> dict[str, list[TicketTypePickup]]:
    """The pickups of each of `ticket_type_ids` with their pickup type (one query), in list order."""
    ids = sorted(set(ticket_type_ids))
    found: dict[str, list[TicketTypePickup]] = defaultdict(list)
    if not ids:
        return found
    query = (scoped(TicketTypePickup, org, TicketTypePickup, PickupType)
             .join(PickupType, on=along(TicketTypePickup.pickup_type))
             .where(TicketTypePickup.ticket_type.in_(ids))
             .order_by(TicketTypePickup.position, TicketTypePickup.created_at, TicketTypePickup.id))
    for row in query:
        found[row.ticket_type_id].append(row)
    return found


def pickups_of_ticket_type(ticket_type: TicketType) -> list[TicketTypePickup]:
    """The pickups of one registration type: those attached by `attach_ticket_type_pickups`, else one query."""
    attached = ticket_type.__dict__.get("_pickups")
    if attached is None:
        attached = ticket_type_pickups(ticket_type.org_id, [ticket_type.id]).get(ticket_type.id, [])
    return attached


def attach_ticket_type_pickups(org: Org | str, ticket_types: list[TicketType]) -> list[TicketType]:
    """Load the pickups of a page of registration types in one query and keep them on each instance."""
    found = ticket_type_pickups(org, [tt.id for tt in ticket_types])
    for tt in ticket_types:
        tt.__dict__["_pickups"] = found.get(tt.id, [])
    return ticket_types


def copy_ticket_type_pickups(org_id: str, copies: dict[str, str]) -> None:
    """Give each new registration type the pickups of the one it copies (`copies`: new id -> original id), in
    bulk (a recurring event's generated dates copy the template's types)."""
    originals = ticket_type_pickups(org_id, set(copies.values()))
    rows = [{"id": new_id(), "org": org_id, "ticket_type": new, "pickup_type": p.pickup_type_id,
             "quantity": p.quantity, "position": p.position}
            for new, old in copies.items() for p in originals.get(old, ())]
    if rows:
        insert_rows(TicketTypePickup, rows)


# --- the pickups of issued tickets --------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _offered_sql(sqlite: bool) -> CompiledQuery:
    """The pickups a registration type gives (type, quantity, position, name), compiled once: issuing is on
    the purchase path."""
    return compile_query(
        TicketTypePickup.select(TicketTypePickup.pickup_type, TicketTypePickup.quantity, TicketTypePickup.position,
                                PickupType.name)
        .join(PickupType, on=along(TicketTypePickup.pickup_type))
        .where((TicketTypePickup.org == Slot("org")) & (TicketTypePickup.ticket_type == Slot("ticket_type")))
        .order_by(TicketTypePickup.position, TicketTypePickup.created_at, TicketTypePickup.id))


def issue_pickups(org_id: str, ticket_type: TicketType, tickets: list[Ticket]) -> None:
    """Copy the registration type's pickups onto newly issued `tickets` (quantity x the ticket's seats), in bulk,
    and keep them on the instances so the answer needs no query. One SELECT when the type has none."""
    offered = _offered_sql(is_sqlite()).tuples(org=org_id, ticket_type=ticket_type.id)
    rows, now = [], utcnow()
    for ticket in tickets:
        mine = [{"id": new_id(), "org": org_id, "ticket": ticket.id, "pickup_type": type_id,
                 "quantity": quantity * max(ticket.seats, 1), "position": position, "collected_at": None,
                 "collected_by": None, "created_at": now, "updated_at": now}
                for type_id, quantity, position, _ in offered]
        ticket.__dict__["_pickups"] = [TicketPickup(__no_default__=True, **row, pickup_type_name=name)
                                       for row, (*_, name) in zip(mine, offered, strict=True)]
        rows += mine
    if rows:
        insert_rows(TicketPickup, rows)


def _ticket_pickup_query(org: Org | str) -> Select:
    return (scoped(TicketPickup, org, TicketPickup, PickupType.name.alias("pickup_type_name"))
            .join(PickupType, JOIN.INNER, on=along(TicketPickup.pickup_type)))


def attach_ticket_pickups(org: Org | str, tickets: list[Ticket]) -> list[Ticket]:
    """Load the pickups of a page of tickets in one query and keep them on each instance (for their views)."""
    ids = [t.id for t in tickets if "_pickups" not in t.__dict__]
    found: dict[str, list[TicketPickup]] = defaultdict(list)
    if ids:
        query = _ticket_pickup_query(org).where(TicketPickup.ticket.in_(ids)).order_by(
            TicketPickup.position, TicketPickup.id)
        for row in query.objects():
            found[row.ticket_id].append(row)
        for ticket in tickets:
            ticket.__dict__.setdefault("_pickups", found.get(ticket.id, []))
    return tickets


def pickups_of_ticket(ticket: Ticket) -> list[TicketPickup]:
    """The pickups an issued ticket carries (each with `pickup_type_name`): attached, else one query."""
    if "_pickups" not in ticket.__dict__:
        attach_ticket_pickups(ticket.org_id, [ticket])
    return ticket.__dict__["_pickups"]


def move_ticket_pickups(org_id: str, old_ticket_id: str, new_ticket_id: str) -> None:
    """A transferred ticket's pickups go with it to the recipient's new ticket (collected ones stay collected)."""
    TicketPickup.update(ticket=new_ticket_id, updated_at=utcnow()).where(
        (TicketPickup.org == org_id) & (TicketPickup.ticket == old_ticket_id)).execute()


def collect_pickup(org: Org, ticket_id, pickup_id, collected_by: str | None = None) -> TicketPickup:
    """Mark one pickup of a live ticket handed over, once: a conditional UPDATE on (not collected yet, ticket
    valid or checked in), so of two concurrent collects exactly one wins.

    404 `ticket_not_found` / `pickup_not_found` (another tenant's or another ticket's look the same as missing
    ones); 409 `pickup_already_collected` (with `collectedAt`), 409 `ticket_revoked` for a refunded, cancelled
    or transferred ticket, 409 `not_activated` for a ticket waiting for activation.
    """
    ticket = get_scoped(Ticket, org, ticket_id, "ticket")
    pickup = None
    if isinstance(pickup_id, str) and len(pickup_id) <= 64:
        pickup = scoped(TicketPickup, org).where((TicketPickup.id == pickup_id)
                                                 & (TicketPickup.ticket == ticket.id)).first()
    if pickup is None:
        raise NotFound(f"No pickup {pickup_id!r} on this ticket.", type="pickup_not_found")
    now = utcnow()
    live = Ticket.select(Ticket.id).where(ticket.row_condition() & Ticket.status.in_(COLLECTABLE))
    with write_transaction():
        won = (TicketPickup.update(collected_at=now, collected_by=(collected_by or None) and collected_by[:64],
                                   updated_at=now)
               .where(pickup.row_condition() & TicketPickup.collected_at.is_null()
                      & TicketPickup.ticket.in_(live)).execute())
    fresh = _ticket_pickup_query(org).where(pickup.row_condition()).objects().get()
    if won == 1:
        return fresh
    if fresh.collected_at is not None:
        raise Conflict(f"This pickup was already collected at {fresh.collected_at:%Y-%m-%d %H:%M:%S} UTC.",
                       type="pickup_already_collected",
                       collectedAt=fresh.collected_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    status = ticket.reread().status
    if status == "pending_activation":
        raise Conflict("This ticket is not activated yet; its pickups cannot be collected.", type="not_activated",
                       ticketStatus=status)
    raise Conflict(f"This ticket is {status}; its pickups can no longer be collected.", type="ticket_revoked",
                   ticketStatus=status)
