"""Store credit: a buyer's credit with one tenant, granted by a store-credit refund and spent at checkout before
any payment gateway, as ledger rows (`StoreCredit` grants, `StoreCreditDebit` amounts drawn from them).

Never lets a credit go below zero or be spent twice: a draw is a conditional UPDATE of the credit's `remaining`
(like the seat counters), made in the transaction that creates the booking; it becomes `spent` in the
transaction that confirms the booking and is given back once when the booking expires or is cancelled. An
expired credit is never drawn from. Knows nothing of HTTP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import Case

from core.errors import Conflict, Unprocessable
from core.models import Booking, BookingLine, Customer, Org, Refund, StoreCredit, StoreCreditDebit, new_id, utcnow
from core.services import audit
from core.services.pricing import Quote
from core.tenancy import scoped

ADJUSTMENT_KIND = "store_credit"
"""The booking line kind of the credit a purchase used (a negative amount)."""


class StoreCreditGone(Conflict):
    """409 `store_credit_changed`: the credit a booking was priced with was spent or given back meanwhile."""

    type = "store_credit_changed"


@dataclass
class Draw:
    """An amount to draw from one credit."""

    credit_id: str
    amount: int


def _usable(now: dt.datetime):
    return (StoreCredit.remaining > 0) & (StoreCredit.expires_at.is_null() | (StoreCredit.expires_at > now))


def usable_credits(org: Org | str, customer_id: str, currency: str,
                   now: dt.datetime | None = None) -> list[StoreCredit]:
    """The customer's unexpired credits with something left in `currency`, soonest expiry first (one query on
    the (org, customer, currency, expires_at) index)."""
    now = now or utcnow()
    never = Case(None, [(StoreCredit.expires_at.is_null(), 1)], 0)
    return list(scoped(StoreCredit, org).where((StoreCredit.customer == customer_id)
                                               & (StoreCredit.currency == currency) & _usable(now))
                .order_by(never, StoreCredit.expires_at, StoreCredit.created_at, StoreCredit.id))


def _refusal(org: Org, customer: Customer, currency: str, now: dt.datetime) -> Unprocessable:
    """Why a buyer who asked to use store credit has none to use (expired, or none in this currency)."""
    expired = scoped(StoreCredit, org, StoreCredit.id).where(
        (StoreCredit.customer == customer.id) & (StoreCredit.currency == currency) & (StoreCredit.remaining > 0)
        & (StoreCredit.expires_at <= now)).exists()
    if expired:
        return Unprocessable("Your store credit has expired; buy without `useStoreCredit`.",
                             type="store_credit_expired", errors={"useStoreCredit": ["the credit has expired"]})
    return Unprocessable(f"You have no store credit in {currency}; buy without `useStoreCredit`.",
                         type="no_store_credit", errors={"useStoreCredit": [f"no store credit in {currency}"]})


def apply_to_quote(org: Org, quote: Quote, customer: Customer | None) -> int:
    """A purchase with `useStoreCredit`: the buyer's usable credit pays what it can of the quote, before any
    gateway (a `store_credit` adjustment); it is drawn in the transaction that creates the booking. Returns the
    amount used. 422 `store_credit_requires_account` for a guest, `store_credit_expired` / `no_store_credit`
    when none is usable. A quote that costs nothing uses none."""
    if customer is None:
        raise Unprocessable("Store credit belongs to a customer account; log in to use it.",
                            type="store_credit_requires_account",
                            errors={"useStoreCredit": ["log in to use store credit"]})
    if quote.total <= 0:
        return 0
    now = utcnow()
    credits = usable_credits(org, customer.id, quote.currency, now)
    if not credits:
        raise _refusal(org, customer, quote.currency, now)
    left, draws = quote.total, []
    for credit in credits:
        if left == 0:
            break
        take = min(credit.remaining, left)
        draws.append(Draw(credit.id, take))
        left -= take
    used = quote.total - left
    quote.add_adjustment(ADJUSTMENT_KIND, "Store credit", -used)
    quote.when_booked(lambda booking: _draw(booking, draws, now))
    return used


def _take(org_id: str, draws: list[Draw], now: dt.datetime | None) -> None:
    """Take each draw from its credit with a conditional UPDATE (unexpired when `now` is given); 409
    `store_credit_changed` when one no longer has enough (the caller's transaction rolls back)."""
    for draw in draws:
        condition = ((StoreCredit.org == org_id) & (StoreCredit.id == draw.credit_id)
                     & (StoreCredit.remaining >= draw.amount))
        if now is not None:
            condition &= StoreCredit.expires_at.is_null() | (StoreCredit.expires_at > now)
        won = StoreCredit.update(remaining=StoreCredit.remaining - draw.amount, updated_at=utcnow()).where(
            condition).execute()
        if won != 1:
            raise StoreCreditGone("Your store credit changed while you were buying (spent elsewhere or expired); "
                                  "nothing was charged, try again.")


def _draw(booking: Booking, draws: list[Draw], now: dt.datetime) -> None:
    """In the booking's creating transaction: draw the credit, `spent` at once for a booking confirmed with it
    (fully covered), else `held` until it is confirmed."""
    _take(booking.org_id, draws, now)
    status = "spent" if booking.status == "confirmed" else "held"
    stamp = utcnow()
    StoreCreditDebit.insert_many([
        {"id": new_id(), "org": booking.org_id, "credit": draw.credit_id, "booking": booking.id,
         "amount": draw.amount, "status": status, "created_at": stamp, "updated_at": stamp}
        for draw in draws]).execute()


def uses_credit(lines: list[BookingLine]) -> bool:
    """Whether a booking (its lines, already read) was priced with store credit."""
    return any(line.kind == ADJUSTMENT_KIND for line in lines)


def confirm_draws(booking: Booking, from_expired: bool) -> None:
    """In the transaction that confirms the booking: its held draws become `spent`; a booking confirmed after
    its hold expired draws its given-back credit again (409 `store_credit_changed` when it is gone, and the
    caller refunds the payment as for seats that are gone)."""
    if from_expired:
        released = list(StoreCreditDebit.select().where(
            (StoreCreditDebit.org == booking.org_id) & (StoreCreditDebit.booking == booking.id)
            & (StoreCreditDebit.status == "released")))
        _take(booking.org_id, [Draw(debit.credit_id, debit.amount) for debit in released], None)
        StoreCreditDebit.update(status="spent", updated_at=utcnow()).where(
            (StoreCreditDebit.org == booking.org_id)
            & StoreCreditDebit.id.in_([debit.id for debit in released])).execute()
    StoreCreditDebit.update(status="spent", updated_at=utcnow()).where(
        (StoreCreditDebit.org == booking.org_id) & (StoreCreditDebit.booking == booking.id)
        & (StoreCreditDebit.status == "held")).execute()


def release_draws(booking: Booking) -> int:
    """In the transaction that expires or cancels a pending booking: give its held credit back once (each draw
    flips held -> released with a conditional UPDATE; only the winner adds it back). Costs nothing for a
    booking without reductions (`adjustments` >= 0). Returns the amount given back."""
    if (booking.adjustments or 0) >= 0:
        return 0
    given = 0
    for debit in StoreCreditDebit.select().where((StoreCreditDebit.org == booking.org_id)
                                                 & (StoreCreditDebit.booking == booking.id)
                                                 & (StoreCreditDebit.status == "held")):
        won = StoreCreditDebit.update(status="released", updated_at=utcnow()).where(
            debit.row_condition() & (StoreCreditDebit.status == "held")).execute()
        if won == 1:
            StoreCredit.update(remaining=StoreCredit.remaining + debit.amount, updated_at=utcnow()).where(
                (StoreCredit.id == debit.credit_id) & (StoreCredit.org == debit.org_id)).execute()
            given += debit.amount
    return given


# --- granting ------------------------------------------------------------------------------------

def account_of(booking: Booking) -> str:
    """The customer account a booking's credit goes to: the one it was bought from. 422 `no_customer_account`
    for a guest or box-office booking (a matching e-mail is not proof of ownership: registration does not
    verify addresses, so crediting by e-mail would hand the credit to whoever registered it)."""
    if booking.customer_id:
        return booking.customer_id
    raise Unprocessable("The booking was not bought from a customer account, so there is no account to hold "
                        "store credit; refund it to the original payment method instead.",
                        type="no_customer_account", bookingId=booking.id)


def grant(org: Org | str, booking: Booking, refund: Refund, amount: int, expires_at: dt.datetime | None,
          note: str = "") -> StoreCredit:
    """Inside a refund's transaction: credit `amount` of the booking's currency to its buyer's account, usable
    until `expires_at` (None: no expiry)."""
    org_id = org if isinstance(org, str) else org.id
    credit = StoreCredit.create(org=org_id, customer=account_of(booking), amount=amount, remaining=amount,
                                currency=booking.currency, expires_at=expires_at, refund=refund.id,
                                booking=booking.id, note=note[:2000])
    audit.record(org_id, "store_credit.granted", "store_credit", credit.id, after={
        "customer_id": credit.customer_id, "amount": amount, "currency": booking.currency,
        "expires_at": expires_at, "refund_id": refund.id, "booking_id": booking.id})
    return credit


# --- reading -------------------------------------------------------------------------------------

def customer_credits(org: Org, customer_id: str) -> list[StoreCredit]:
    """A customer's credits, newest first."""
    return list(scoped(StoreCredit, org).where(StoreCredit.customer == customer_id)
                .order_by(StoreCredit.created_at.desc(), StoreCredit.id))


def balances(credits: list[StoreCredit], now: dt.datetime | None = None) -> dict[str, int]:
    """currency -> what the customer can spend now (unexpired remaining credit)."""
    now = now or utcnow()
    totals: dict[str, int] = {}
    for credit in credits:
        if credit.remaining > 0 and (credit.expires_at is None or credit.expires_at > now):
            totals[credit.currency] = totals.get(credit.currency, 0) + credit.remaining
    return totals
