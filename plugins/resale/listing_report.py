"""The staff view of an event's resale: every listing with the money it moved, totals, and the CSV export.

Read only; reads the listings, their purchases and refunds in three queries, whatever their number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from core.models import Org, Refund
from core.tenancy import scoped
from core.timefmt import iso_utc
from plugins.resale import listings
from plugins.resale.listing_models import ResaleListing, ResalePurchase

CSV_COLUMNS = ("listing_id", "status", "ticket_id", "ticket_type_id", "currency", "price", "fee", "seller_amount",
               "origin", "listed_at", "sold_at", "ended_reason", "buyer_ticket_id", "seller_refund_id",
               "seller_refund_status", "seller_refunded", "payout_pending", "refused_purchases")


@dataclass
class ListingRow:
    """One listing as staff see it, with its seller's refund and its refused buyers."""

    listing: ResaleListing
    seller_refund: Refund | None
    refused: list[ResalePurchase] = field(default_factory=list)

    @property
    def seller_refunded(self) -> int:
        """What reached the seller (a refund the provider made, or staff paid out by hand)."""
        refund = self.seller_refund
        return refund.amount if refund is not None and refund.status in ("succeeded", "paid_out") else 0

    @property
    def payout_pending(self) -> int:
        """What staff still owe the seller by hand (the provider could not refund), or is still on its way."""
        refund = self.seller_refund
        return refund.amount if refund is not None and refund.status in ("owed", "pending") else 0


@dataclass
class Report:
    """An event's resale terms, listings (newest first) and totals."""

    terms: object
    rows: list[ListingRow]

    def totals(self) -> dict:
        """Counts and money of the whole event (minor units of the listings' currency)."""
        sold = [row for row in self.rows if row.listing.status == "sold"]
        return {"listings": len(self.rows), "live": sum(row.listing.status in listings.LIVE for row in self.rows),
                "sold": len(sold), "withdrawn": sum(row.listing.status == "withdrawn" for row in self.rows),
                "sales": sum(row.listing.price for row in sold), "fees": sum(row.listing.fee for row in sold),
                "sellerRefunded": sum(row.seller_refunded for row in sold),
                "payoutPending": sum(row.payout_pending for row in sold),
                "refusedPurchases": sum(len(row.refused) for row in self.rows)}


def event_report(org: Org, event_id: str) -> Report:
    """The event's resale (404 `event_not_found` for another tenant's)."""
    event, terms = listings.event_terms(org, event_id)
    found = list(scoped(ResaleListing, org).where(ResaleListing.event == event.id)
                 .order_by(ResaleListing.created_at.desc(), ResaleListing.id))
    refund_ids = [row.seller_refund for row in found if row.seller_refund]
    refunds = {r.id: r for r in scoped(Refund, org).where(Refund.id.in_(refund_ids))} if refund_ids else {}
    refused: dict[str, list[ResalePurchase]] = {}
    if found:
        for bought in scoped(ResalePurchase, org).where(ResalePurchase.listing.in_([row.id for row in found])
                                                        & (ResalePurchase.status == "refused")):
            refused.setdefault(bought.listing_id, []).append(bought)
    return Report(terms, [ListingRow(row, refunds.get(row.seller_refund), refused.get(row.id, [])) for row in found])


def csv_text(report: Report) -> str:
    """The report's listings as CSV (`CSV_COLUMNS`, amounts in minor units)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(report):
        writer.writerow(row)
    return out.getvalue()


def _csv_rows(report: Report) -> Iterator[list]:
    for row in report.rows:
        listing, refund = row.listing, row.seller_refund
        yield [listing.id, listing.status, listing.ticket_id, listing.ticket_type_id, listing.currency,
               listing.price, listing.fee, listing.seller_amount, listing.origin, iso_utc(listing.created_at),
               iso_utc(listing.sold_at) if listing.sold_at else "", listing.ended_reason or "",
               listing.buyer_ticket or "", refund.id if refund else "", refund.status if refund else "",
               row.seller_refunded, row.payout_pending, len(row.refused)]
