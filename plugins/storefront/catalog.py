"""Storefront catalog: merch products and variants, ticket-type mirroring, live availability, backfill job.

Knows nothing of Flask. Never copies seat counts: a ticket variant's availability is read from its ticket type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from peewee import IntegrityError

from core import outbox
from core.db import write_transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.jobs import job
from core.models import Org, TicketType, utcnow
from core.money import is_currency, to_minor
from core.services.capacity import available_seats
from core.tenancy import get_scoped, scoped
from plugins.storefront.models import Product, StorefrontJob, Variant

BACKFILL_BATCH = 200
TICKET_CLASS = "ticket"


# --- money and validation --------------------------------------------------------------------------

def minor_amount(value, currency: str, field_name: str) -> int:
    """Major units (Decimal, str, int) to non-negative minor units of `currency`, else 422 naming the field."""
    if not is_currency(currency):
        raise Unprocessable("Unknown currency.", errors={"currency": ["Must be an ISO 4217 code such as USD."]})
    try:
        minor = to_minor(value, currency)
    except ValueError as exc:
        raise Unprocessable(f"`{field_name}` is not a valid {currency} amount.",
                            errors={field_name: [str(exc)]}) from exc
    if minor < 0:
        raise Unprocessable(f"`{field_name}` is out of range.", errors={field_name: ["Out of range."]})
    return minor


def _check_window(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise Unprocessable("The sale window ends before it starts.", errors={"saleEnd": ["Must be after saleStart."]})


def _variant_values(data: dict, currency_default: str | None = None) -> dict:
    """Model values of a variant from parsed input (price in major units)."""
    values = {k: data[k] for k in ("name", "stock", "sale_start", "sale_end") if k in data}
    currency = (data.get("currency") or currency_default or "").upper()
    if "price" in data or "currency" in data:
        if "price" not in data:
            raise Unprocessable("Send `price` again when you change the currency.", errors={"price": ["Required."]})
        values["price"] = minor_amount(data["price"], currency, "price")
        values["currency"] = currency
    return values


# --- merch products ------------------------------------------------------------------------------

def create_product(org: Org, data: dict) -> Product:
    """A merch product with its variants (each: name, price in major units, currency, stock)."""
    variants = [_variant_values(v) for v in data.get("variants") or []]
    for values in variants:
        _check_window(values.get("sale_start"), values.get("sale_end"))
    with write_transaction():
        product = Product.create(org=org.id, kind="merch", name=data["name"], description=data.get("description", ""),
                                 product_class=data.get("product_class") or "standard")
        for values in variants:
            Variant.create(org=org.id, product=product, **values)
    return product


def get_product(org: Org, product_id: str) -> Product:
    """A tenant's product by id (404 `product_not_found` otherwise)."""
    return get_scoped(Product, org, product_id, "product")


def get_variant(org: Org, variant_id: str) -> Variant:
    """A tenant's variant by id (404 `variant_not_found` otherwise)."""
    return get_scoped(Variant, org, variant_id, "variant")


def list_products(org: Org, *, kind: str | None = None, include_archived: bool = False):
    """A tenant's products (filter by kind; archived ones on request), unordered: callers page them."""
    query = scoped(Product, org)
    if kind:
        query = query.where(Product.kind == kind)
    if not include_archived:
        query = query.where(Product.archived == False)  # noqa: E712
    return query


def product_variants(product: Product, include_archived: bool = True) -> list[Variant]:
    """A product's variants, oldest first."""
    query = Variant.select().where((Variant.org == product.org_id) & (Variant.product == product.id))
    if not include_archived:
        query = query.where(Variant.archived == False)  # noqa: E712
    return list(query.order_by(Variant.created_at, Variant.id))


def update_product(org: Org, product: Product, data: dict) -> Product:
    """Rename, describe, re-class or (un)archive a product; a ticket product only takes its tax class."""
    allowed = {"product_class"} if product.kind == "ticket" else {"name", "description", "product_class", "archived"}
    refused = sorted(set(data) - allowed)
    if refused:
        raise Conflict("This product mirrors a ticket type; change the ticket type instead.", type="mirrored_product",
                       fields=refused)
    if data:
        with write_transaction():
            Product.update(**data, updated_at=utcnow()).where(product.row_condition()).execute()
    return product.reread()


def add_variant(org: Org, product: Product, data: dict) -> Variant:
    """Another variant of a merch product."""
    if product.kind != "merch":
        raise Conflict("Ticket products get their variant from the ticket type.", type="mirrored_product")
    values = _variant_values(data)
    _check_window(values.get("sale_start"), values.get("sale_end"))
    with write_transaction():
        return Variant.create(org=org.id, product=product, **values)


def update_variant(org: Org, variant: Variant, data: dict) -> Variant:
    """Change a merch variant; stock may not drop below what is sold or held (409 `stock_below_sold`)."""
    if variant.ticket_type_id:
        raise Conflict("This variant mirrors a ticket type; change the ticket type instead.", type="mirrored_variant")
    values = _variant_values(data, variant.currency)
    if "archived" in data:
        values["archived"] = data["archived"]
    _check_window(values.get("sale_start", variant.sale_start), values.get("sale_end", variant.sale_end))
    condition = variant.row_condition()
    if values.get("stock") is not None:
        condition &= Variant.sold + Variant.held <= values["stock"]
    if values:
        with write_transaction():
            won = Variant.update(**values, updated_at=utcnow()).where(condition).execute()
        if won != 1:
            fresh = variant.reread()
            raise Conflict(f"Stock cannot go below the {fresh.sold + fresh.held} unit(s) sold or held.",
                           type="stock_below_sold", sold=fresh.sold, held=fresh.held)
    return variant.reread()


def availability(variant: Variant) -> int | None:
    """Units still on sale (None = unlimited): live seats of the ticket type, or merch stock left."""
    if variant.ticket_type_id:
        ticket_type = TicketType.get_or_none((TicketType.id == variant.ticket_type_id)
                                             & (TicketType.org == variant.org_id))
        return 0 if ticket_type is None else available_seats(ticket_type)
    if variant.stock is None:
        return None
    return max(variant.stock - variant.sold - variant.held, 0)


# --- mirroring ticket types ----------------------------------------------------------------------

def _mirror_values(ticket_type: TicketType) -> tuple[dict, dict]:
    archived = ticket_type.archived_at is not None
    product = {"name": ticket_type.name, "event_id": ticket_type.event_id, "archived": archived}
    variant = {"name": ticket_type.name, "price": ticket_type.price, "currency": ticket_type.currency,
               "stock": ticket_type.capacity, "sale_start": ticket_type.sale_start,
               "sale_end": ticket_type.sale_end, "archived": archived}
    return product, variant


def mirror_ticket_type(org_id: str, ticket_type: TicketType) -> Variant:
    """Create or update the ticket product + variant of `ticket_type` (idempotent, safe when run twice at once)."""
    product_values, variant_values = _mirror_values(ticket_type)
    now = utcnow()
    with write_transaction():
        variant = scoped(Variant, org_id).where(Variant.ticket_type_id == ticket_type.id).first()
        if variant is None:
            try:
                with write_transaction():  # a savepoint: a concurrent mirror may win the unique index
                    product = Product.create(org=org_id, kind="ticket", product_class=TICKET_CLASS, **product_values)
                    return Variant.create(org=org_id, product=product, ticket_type_id=ticket_type.id, **variant_values)
            except IntegrityError:
                variant = scoped(Variant, org_id).where(Variant.ticket_type_id == ticket_type.id).get()
        Product.update(**product_values, updated_at=now).where((Product.id == variant.product_id)
                                                               & (Product.org == variant.org_id)).execute()
        Variant.update(**variant_values, updated_at=now).where(variant.row_condition()).execute()
    return variant.reread()


def archive_mirror(org_id: str, ticket_type_id: str) -> None:
    """The ticket type was deleted or archived: its variant and product stop being sold (kept for history)."""
    now = utcnow()
    with write_transaction():
        variant = scoped(Variant, org_id).where(Variant.ticket_type_id == ticket_type_id).first()
        if variant is not None:
            Variant.update(archived=True, updated_at=now).where(variant.row_condition()).execute()
            (Product.update(archived=True, updated_at=now)
             .where((Product.id == variant.product_id) & (Product.org == variant.org_id)).execute())


def variant_public_ids(org_id: str, ticket_type_ids: Iterable) -> dict[str, int]:
    """Ticket type UUID -> the numeric `public_id` of the tenant's variant mirroring it, for those of
    `ticket_type_ids` that are mirrored (archived mirrors too); one query for all of them."""
    wanted = sorted({tt_id for tt_id in ticket_type_ids if isinstance(tt_id, str)})
    if not wanted:
        return {}
    rows = scoped(Variant, org_id, Variant.ticket_type_id, Variant.public_id).where(
        Variant.ticket_type_id.in_(wanted) & Variant.public_id.is_null(False))
    return dict(rows.tuples())


# --- backfill ------------------------------------------------------------------------------------

def start_backfill(org: Org) -> StorefrontJob:
    """Queue a job that mirrors every existing ticket type of the tenant; returns the job to poll."""
    total = scoped(TicketType, org).count()
    with write_transaction():
        record = StorefrontJob.create(org=org.id, kind="backfill", status="queued", total=total)
        outbox.enqueue(backfill_job, org.id, record.id)
    return record.reread()


def backfill(org_id: str, progress: Callable[[int, int], None] | None = None) -> int:
    """Mirror every ticket type of a tenant in id order, in batches; calls `progress(done, total)` per batch."""
    base = scoped(TicketType, org_id)
    total = base.count()
    done, last_id = 0, ""
    while True:
        batch = list(base.where(TicketType.id > last_id).order_by(TicketType.id).limit(BACKFILL_BATCH))
        if not batch:
            break
        for ticket_type in batch:
            mirror_ticket_type(org_id, ticket_type)
        done += len(batch)
        last_id = batch[-1].id
        if progress:
            progress(done, max(total, done))
    return done


@job(retries=2, retry_delay=5)
def backfill_job(org_id: str, job_id: str) -> None:
    """Background job: mirror a tenant's existing ticket types, recording progress on the StorefrontJob row."""

    def record(done: int, total: int) -> None:
        StorefrontJob.update(status="running", done=done, total=total, updated_at=utcnow()).where(
            (StorefrontJob.id == job_id) & (StorefrontJob.org == org_id)).execute()

    record(0, scoped(TicketType, org_id).count())
    try:
        done = backfill(org_id, record)
    except Exception as exc:
        StorefrontJob.update(status="failed", error=str(exc)[:2000], updated_at=utcnow()).where(
            (StorefrontJob.id == job_id) & (StorefrontJob.org == org_id)).execute()
        raise
    StorefrontJob.update(status="done", done=done, total=done, updated_at=utcnow()).where(
        (StorefrontJob.id == job_id) & (StorefrontJob.org == org_id)).execute()


def get_job(org: Org, job_id: str) -> StorefrontJob:
    """A tenant's storefront job by id (404 `job_not_found`)."""
    return get_scoped(StorefrontJob, org, job_id, "job")


def require_on_sale(variant: Variant, product: Product, now: dt.datetime) -> None:
    """422 when a merch variant is archived or outside its sale window."""
    if variant.archived or product.archived:
        raise Unprocessable(f"{product.name!r} is no longer sold.", type="variant_archived", variantId=variant.id)
    if variant.sale_start is not None and variant.sale_start > now:
        raise Unprocessable(f"Sales for {product.name!r} have not started yet.", type="sale_not_started",
                            variantId=variant.id)
    if variant.sale_end is not None and variant.sale_end <= now:
        raise Unprocessable(f"Sales for {product.name!r} have ended.", type="sale_ended", variantId=variant.id)


def not_found_variant(variant_id: str) -> NotFound:
    """The 404 for an unknown (or another tenant's) variant."""
    return NotFound(f"No variant with id {variant_id!r}.", type="variant_not_found")
