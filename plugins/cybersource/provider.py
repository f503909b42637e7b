"""The CyberSource provider: Secure Acceptance Hosted Checkout (a signed form the buyer posts to CyberSource's
page, a signed callback back), verified callbacks confirming through the core, refunds over the REST API.

Never confirms or releases a booking on a callback whose signature fails under the tenant's secret key, never
trusts a callback's amount (the core compares it with the booking's) and never returns a secret.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from marshmallow import ValidationError, fields, validate

from core.api_schema import Schema
from core.errors import ApiError, GatewayUnavailable, NotFound
from core.models import Booking, Org, utcnow
from core.money import is_currency, to_major, to_minor
from core.payments import PaymentCheck, PaymentProvider, RefundResult, Step, WebhookDelivery, kit
from core.services import booking as bookings
from core.services import gateways, holds
from core.tenancy import load_org
from plugins.cybersource import rest
from plugins.cybersource.signing import fields_signed, sign_fields

log = logging.getLogger(__name__)

NAME = "cybersource"
HOSTED_URLS = {"test": "https://testsecureacceptance.cybersource.com/pay",
               "live": "https://secureacceptance.cybersource.com/pay"}
REQUIRED_SETTINGS = ("profile_id", "access_key", "secret_key")
SIGNED_FIELDS = ("access_key", "profile_id", "transaction_uuid", "signed_field_names", "unsigned_field_names",
                 "signed_date_time", "locale", "transaction_type", "reference_number", "amount", "currency")
# a callback is only believed when CyberSource signed these (and, for a payment, what was paid)
CALLBACK_FIELDS = ("decision", "req_reference_number")
PAID_FIELDS = ("transaction_id", "req_amount", "req_currency")
PAID = ("ACCEPT",)
FAILED = ("DECLINE", "CANCEL", "ERROR")
DUPLICATE_SUBMISSION = "104"   # ERROR: this access_key and transaction_uuid were used already (a second post)
MAX_FIELD_LENGTH = 4096


def _base64(value: str) -> None:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("Must be the Base64 shared secret CyberSource issued.") from exc


class CyberSourceSettings(Schema):
    """A tenant's CyberSource settings (`boxoffice tenants config ORG cybersource key=value`)."""

    profile_id = fields.String(validate=validate.Length(min=1, max=64),
                               metadata={"description": "the Secure Acceptance profile id"})
    access_key = fields.String(validate=validate.Length(min=1, max=64),
                               metadata={"description": "the profile's access key"})
    secret_key = fields.String(validate=validate.Length(min=1, max=1024),
                               metadata={"secret": True, "description": "the profile's secret key (signs forms)"})
    environment = fields.String(validate=validate.OneOf(("test", "live")),
                                metadata={"description": "test (default) or live"})
    locale = fields.String(validate=validate.Regexp(r"^[a-z]{2}(-[a-z]{2})?$"),
                           metadata={"description": "the hosted page's language, e.g. en-us (default)"})
    hosted_url = fields.URL(require_tld=False, schemes={"http", "https"},
                            metadata={"description": "another hosted-page URL (tests, proxies)"})
    merchant_id = fields.String(validate=validate.Length(min=1, max=64),
                                metadata={"description": "REST: the merchant id (refunds through the API)"})
    rest_key_id = fields.String(validate=validate.Length(min=1, max=128),
                                metadata={"description": "REST: the shared secret key's id"})
    rest_shared_secret = fields.String(validate=_base64,
                                       metadata={"secret": True, "description": "REST: the shared secret (Base64)"})
    api_base = fields.URL(require_tld=False, schemes={"http", "https"},
                          metadata={"description": "another REST base URL (tests, proxies)"})
    timeout = fields.Float(validate=validate.Range(min=0),
                           metadata={"description": "seconds to wait for the REST API (0.1-30; default 10)"})


def hosted_url(settings: dict) -> str:
    """Where the buyer's browser posts the signed form: `hosted_url`, else the environment's page."""
    return settings.get("hosted_url") or HOSTED_URLS.get(settings.get("environment") or "test", HOSTED_URLS["test"])


@dataclass(frozen=True)
class PaymentGroup:
    """Several pending CyberSource bookings of one tenant paid by ONE Secure Acceptance payment of their sum.

    `reference` is the caller's id for the group (letters, digits, _ and -, at most 50 characters: CyberSource's
    limit): the form's `reference_number` and `transaction_uuid`, so the group is paid at most once.
    `booking_ids` are its bookings, all in one currency. The caller keeps the group and finds it again for a
    callback (`verify_callback`'s `find_group`)."""

    reference: str
    booking_ids: tuple[str, ...]


def _form(reference: str, amount: int, currency: str, settings: dict,
          receipt_page: str | None = None) -> tuple[str, dict[str, str]]:
    """The hosted page's URL and the signed form paying `amount` (minor units) of `currency` under `reference`
    (`transaction_uuid` and `reference_number`)."""
    kit.require_settings(NAME, settings, REQUIRED_SETTINGS)
    params = {
        "access_key": settings["access_key"],
        "profile_id": settings["profile_id"],
        "transaction_uuid": reference,
        "signed_field_names": ",".join(SIGNED_FIELDS),
        "unsigned_field_names": "",
        "signed_date_time": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "locale": settings.get("locale") or "en-us",
        "transaction_type": "sale",
        "reference_number": reference,
        "amount": str(to_major(amount, currency)),
        "currency": currency,
    }
    if receipt_page:
        params["override_custom_receipt_page"] = receipt_page
        params["signed_field_names"] += ",override_custom_receipt_page"
    params["signature"] = sign_fields(settings["secret_key"], params)
    return hosted_url(settings), params


def checkout_form(booking: Booking, settings: dict, receipt_page: str | None = None) -> tuple[str, dict[str, str]]:
    """The hosted page's URL and the signed form fields that pay `booking` there.

    `transaction_uuid` is the booking id: CyberSource refuses a second transaction with the same access key
    and uuid, so however often the form is built (a double click, a reload) the booking is paid at most once.
    `reference_number` is the booking id too, which names the tenant when the callback comes back. With
    `receipt_page`, the signed `override_custom_receipt_page` sends the buyer's browser there instead of the
    profile's Customer Response Page.
    """
    return _form(booking.id, booking.amount, booking.currency, settings, receipt_page)


def _payable(org: Org, booking_id: str) -> Booking:
    """The tenant's pending CyberSource booking that costs money (404, 409, 422 `gateway_mismatch`)."""
    booking = kit.payable_booking(org, booking_id)
    if booking.gateway != NAME:
        raise ApiError(f"This booking is paid through {booking.gateway!r}, not {NAME!r}.", status=422,
                       type="gateway_mismatch")
    return booking


def hosted_checkout(org: Org, target: Booking | PaymentGroup) -> tuple[str, dict[str, str]]:
    """The CyberSource page URL and signed `payment_params` for the tenant's pending `booking` (made with
    `paymentGateway` `cybersource`), or for a `PaymentGroup` of such bookings (one payment of their sum, in
    their one currency, under the group's reference): 422 `gateway_not_enabled`, 409 `gateway_not_configured`,
    `booking_not_pending`, `nothing_to_pay`, 422 `gateway_mismatch` for another gateway's booking, 422
    `currency_mismatch` for a group in several currencies, 400 `invalid_reference` for a bad group reference."""
    gateway = gateways.gateway_for(org, NAME)
    if isinstance(target, Booking):
        return checkout_form(_payable(org, target.id), gateway.settings)
    if not kit.valid_reference(target.reference) or len(target.reference) > 50 or not target.booking_ids:
        raise ApiError("A CyberSource payment group needs a reference of at most 50 letters, digits, _ or - "
                       "and at least one booking.", status=400, type="invalid_reference")
    members = [_payable(org, booking_id) for booking_id in target.booking_ids]
    currencies = {booking.currency for booking in members}
    if len(currencies) != 1:
        raise ApiError("One CyberSource payment is in one currency; these bookings are in "
                       f"{', '.join(sorted(currencies))}.", status=422, type="currency_mismatch")
    return _form(target.reference, sum(booking.amount for booking in members), members[0].currency,
                 gateway.settings)


def callback_org(form: dict, find_group_org: Callable[[str], Org | None] | None = None) -> Org | None:
    """The active tenant a callback is about, from the booking its `req_reference_number` names, else (with
    `find_group_org`) from the caller's payment group of that reference (None if neither): for a callback that
    arrives without an `orgid` header or a tenant's domain. The callback still has to pass `verify_callback`
    under that tenant's secret key before anything is believed."""
    reference = form.get("req_reference_number")
    if not kit.valid_reference(reference):
        return None
    # the one read not scoped to a tenant: the random booking id is what names the tenant here
    row = Booking.select(Booking.org).where((Booking.id == reference) & (Booking.gateway == NAME)).first()
    if row is not None:
        return load_org(row.org_id)
    return find_group_org(reference) if find_group_org is not None else None


GroupFinder = Callable[[Org, str], PaymentGroup | None]
"""The caller's look-up of its payment group by reference (None: it has none of that reference)."""


def verify_callback(org: Org, form: dict, find_group: GroupFinder | None = None) -> PaymentCheck:
    """Check a Secure Acceptance callback (the form CyberSource posts back) and act on it once.

    400 `invalid_signature` unless its signature matches the tenant's secret key over its `signed_field_names`
    (which must cover `decision`, `req_reference_number` and, for a payment, `transaction_id`, `req_amount`,
    `req_currency`); 404 when it names no CyberSource booking of the tenant. Then, by `decision`:
    ACCEPT confirms the booking through the core's confirm path (amount and currency compared with the
    booking's: 402 `payment_mismatch`; a late payment whose seats are gone is refunded: 409 `hold_expired`);
    DECLINE, CANCEL and ERROR release the hold at once, except ERROR 104 (the same form posted twice: the first
    post's own callback decides); REVIEW (and anything else) leaves it held. A replayed callback changes
    nothing. Returns paid=True only for a booking confirmed by this callback's transaction.

    With `find_group`, a reference that names no booking may name a `PaymentGroup` (`_act_group`): the amount
    and currency are compared with the group's sum, then ACCEPT confirms each booking through the core's
    confirm path with its own share (each its own Payment record), DECLINE/CANCEL/ERROR release all of them.
    """
    gateway = gateways.gateway_for(org, NAME)
    return _act(org, gateway.settings, form, find_group)


def _signed_callback(settings: dict, form: dict) -> dict[str, str]:
    """The callback's fields once its signature is checked (400 `invalid_signature` otherwise)."""
    kit.require_settings(NAME, settings, ("secret_key",))
    values = {str(key): str(value) for key, value in form.items()
              if isinstance(value, str) and len(value) <= MAX_FIELD_LENGTH}
    decision = values.get("decision", "")
    required = CALLBACK_FIELDS + (PAID_FIELDS if decision in PAID + ("REVIEW",) else ())
    if not fields_signed(settings["secret_key"], values, required):
        raise kit.invalid_signature(NAME, "its signature does not match this organisation's Secure Acceptance "
                                    "secret key")
    return values


def _act(org: Org, settings: dict, form: dict, find_group: GroupFinder | None = None) -> PaymentCheck:
    values = _signed_callback(settings, form)
    booking = kit.find_booking(org, values["req_reference_number"])
    if booking is None and find_group is not None and kit.valid_reference(values["req_reference_number"]):
        group = find_group(org, values["req_reference_number"])
        if group is not None:
            return _act_group(org, values, group)
    if booking is None or booking.gateway != NAME:
        raise NotFound("The callback names no CyberSource booking of this organisation.", type="not_found")
    decision = values["decision"]
    _record(org, booking, values)
    data = {"decision": decision, "bookingId": booking.id, "reasonCode": values.get("reason_code"),
            "message": values.get("message")}
    if decision in PAID:
        result = bookings.confirm(org, booking.id, payment_ref=values["transaction_id"], gateway=NAME)
        if result.booking.payment_ref != values["transaction_id"]:
            # CyberSource refuses a reused transaction_uuid, so this should not happen; never claim it paid
            log.error("CyberSource transaction %s for booking %s, already paid by %s, was not applied",
                      values["transaction_id"], booking.id, result.booking.payment_ref)
            return PaymentCheck(paid=False, reference=values["transaction_id"],
                                reason="This booking was already paid by another CyberSource transaction; "
                                       "this payment was not applied (staff see it on the booking).",
                                data={**data, "status": result.booking.status, "unmatched": True})
        return PaymentCheck(paid=True, reference=result.booking.payment_ref, amount=result.booking.amount,
                            currency=result.booking.currency, data={**data, "status": result.booking.status})
    if decision in FAILED and values.get("reason_code") != DUPLICATE_SUBMISSION:
        released = _release(org, booking)
        reason = f"CyberSource answered {decision}" + (f": {values['message']}" if values.get("message") else "")
        return PaymentCheck(paid=False, reference=values.get("transaction_id"), reason=reason,
                            data={**data, "released": released, "status": "expired" if released
                                  else bookings.get_booking(org, booking.id).status})
    return PaymentCheck(paid=False, reference=values.get("transaction_id"),
                        reason=f"CyberSource answered {decision}; the seats stay held until the hold expires.",
                        data={**data, "status": booking.status})


def _group_members(org: Org, group: PaymentGroup) -> list[Booking]:
    members = [kit.find_booking(org, booking_id) for booking_id in group.booking_ids]
    if not members or any(booking is None or booking.gateway != NAME for booking in members):
        raise NotFound("The callback names no CyberSource payment of this organisation.", type="not_found")
    return members


def _require_group_total(members: list[Booking], values: dict[str, str]) -> None:
    """402 `payment_mismatch` unless the callback's signed amount and currency are the group's sum."""
    currency = values.get("req_currency", "").upper()
    try:
        paid = to_minor(values.get("req_amount"), currency) if is_currency(currency) else None
    except ValueError:
        paid = None
    if paid != sum(booking.amount for booking in members) or any(b.currency != currency for b in members):
        raise bookings.PaymentNotCompleted("CyberSource reports a different amount or currency than these "
                                           "bookings' total; nothing was issued.", type="payment_mismatch",
                                           bookingIds=[booking.id for booking in members])


def _share(values: dict[str, str], booking: Booking, group: PaymentGroup) -> dict[str, str]:
    """The group's verified callback as it applies to one booking: its own share of the amount (what
    `verify_payment` then reports for that booking), the group's reference and total beside it."""
    return dict(values, req_amount=str(to_major(booking.amount, booking.currency)), req_currency=booking.currency,
                group=group.reference, group_amount=values.get("req_amount", ""))


def _confirm_member(org: Org, booking: Booking, transaction_id: str) -> tuple[str, dict]:
    """Confirm one booking of a paid group through the core: ("confirmed", {}), ("refunded"|"refused", the
    core's refusal) or ("unmatched", {}) for one another transaction paid."""
    try:
        result = bookings.confirm(org, booking.id, payment_ref=transaction_id, gateway=NAME)
    except GatewayUnavailable:
        raise
    except ApiError as exc:
        outcome = "refunded" if exc.extra.get("refunded") else "refused"
        return outcome, {"type": exc.type, "message": exc.message}
    if result.booking.payment_ref != transaction_id:
        log.error("CyberSource transaction %s for booking %s, already paid by %s, was not applied",
                  transaction_id, booking.id, result.booking.payment_ref)
        return "unmatched", {}
    return "confirmed", {}


def _act_group(org: Org, values: dict[str, str], group: PaymentGroup) -> PaymentCheck:
    """A verified callback about a payment group (see `verify_callback`)."""
    members = _group_members(org, group)
    decision = values["decision"]
    data = {"decision": decision, "reference": group.reference, "bookingIds": [b.id for b in members],
            "reasonCode": values.get("reason_code"), "message": values.get("message")}
    if decision in PAID:
        _require_group_total(members, values)
    for booking in members:
        _record(org, booking, _share(values, booking, group) if decision in PAID + ("REVIEW",) else values)
    if decision in PAID:
        outcomes: dict[str, list[str]] = {"confirmed": [], "refunded": [], "refused": [], "unmatched": []}
        refusals = {}
        for booking in members:
            outcome, refusal = _confirm_member(org, booking, values["transaction_id"])
            outcomes[outcome].append(booking.id)
            if refusal:
                refusals[booking.id] = refusal
        confirmed = [b for b in members if b.id in outcomes["confirmed"]]
        reason = "" if not refusals else "Some of these bookings could not be confirmed: " + "; ".join(
            f"{booking_id}: {refusal['message']}" for booking_id, refusal in refusals.items())
        return PaymentCheck(paid=bool(confirmed), reference=values["transaction_id"],
                            amount=sum(b.amount for b in confirmed), currency=members[0].currency, reason=reason,
                            data={**data, **outcomes, "refusals": refusals})
    if decision in FAILED and values.get("reason_code") != DUPLICATE_SUBMISSION:
        released = [b.id for b in members if _release(org, b)]
        reason = f"CyberSource answered {decision}" + (f": {values['message']}" if values.get("message") else "")
        return PaymentCheck(paid=False, reference=values.get("transaction_id"), reason=reason,
                            data={**data, "released": released})
    return PaymentCheck(paid=False, reference=values.get("transaction_id"),
                        reason=f"CyberSource answered {decision}; the seats stay held until the hold expires.",
                        data=data)


def _release(org: Org, booking: Booking) -> bool:
    """Give a pending booking's held seats back at once (the core's `release_now`); True if this call did it."""
    current = bookings.get_booking(org, booking.id)
    return current.status == "pending" and holds.release_now(current)


def _entry(values: dict[str, str]) -> dict:
    entry = {"event": "callback", "decision": values["decision"], "transactionId": values.get("transaction_id"),
             "amount": values.get("req_amount"), "currency": values.get("req_currency"),
             "reasonCode": values.get("reason_code")}
    if values.get("group"):
        entry.update(group=values["group"], groupAmount=values.get("group_amount"))
    return entry


def _record(org: Org, booking: Booking, values: dict[str, str]) -> None:
    """Note the verified callback on the booking (`payment_data["cybersource_events"]`) unless it is a replay:
    `verify_payment` believes only what is noted here."""
    entry = _entry(values)
    if entry not in _callbacks(booking):
        kit.record_gateway_event(org, booking.id, NAME, entry)


def _callbacks(booking: Booking) -> list[dict]:
    return [e for e in (booking.payment_data or {}).get(f"{NAME}_events") or [] if e.get("event") == "callback"]


class CyberSourceProvider(PaymentProvider):
    """CyberSource Secure Acceptance Hosted Checkout with the tenant's own profile; refunds through the REST
    API when the tenant gave REST credentials, else owed and paid out by hand."""

    identifier = NAME
    name = "CyberSource"
    settings_schema = CyberSourceSettings
    capabilities = frozenset({Step.CREATE, Step.VERIFY, Step.REFUND, Step.PARTIAL_REFUND, Step.WEBHOOK,
                              Step.REDIRECT})

    def create_payment(self, org: Org, booking: Booking, settings: dict) -> dict:
        """The signed hosted-checkout form for the new booking: `approval_url` is the page, `data` carries
        `cybersourceUrl` and `paymentParams` (no provider payment exists until the buyer posts the form)."""
        url, params = checkout_form(booking, settings)
        return {"reference": None, "client_secret": None, "approval_url": url,
                "data": {"cybersourceUrl": url, "paymentParams": params}}

    def start_redirect(self, org: Org, booking: Booking, settings: dict, *, return_url: str,
                       callback_url: str) -> dict:
        """The signed form for the core's redirect flow: the buyer's browser posts it to the hosted page, which
        sends the browser back to `callback_url` (the signed `override_custom_receipt_page`)."""
        url, params = checkout_form(booking, settings, receipt_page=callback_url)
        return {"form": {"action": url, "fields": params}, "reference": None}

    def handle_callback(self, org: Org, booking: Booking, settings: dict, params: dict) -> PaymentCheck:
        """The browser came back through the core's return URL with the signed callback: handled like
        `verify_callback` (400 `invalid_signature` for a forged one, or one about another booking); a failed
        payment (its hold released) is 402 `payment_failed`, which the return reports as `failed`."""
        if params.get("req_reference_number") != booking.id:
            raise kit.invalid_signature(NAME, "it is about another booking than this return link's")
        check = _act(org, settings, params)
        if check.data.get("decision") in FAILED and "released" in check.data:
            raise ApiError(check.reason, status=402, type="payment_failed", bookingId=booking.id)
        return check

    def verify_payment(self, org: Org, booking: Booking, payment_ref: str | None, settings: dict) -> PaymentCheck:
        """Paid only when a callback signed with the tenant's secret key accepted a payment for this booking
        (noted on it by `verify_callback`; `payment_ref`, when given, must be its `transaction_id`), with the
        amount and currency CyberSource reported, which the core compares with the booking's."""
        for entry in reversed(_callbacks(booking)):
            if entry.get("decision") not in PAID or payment_ref not in (None, entry.get("transactionId")):
                continue
            currency = str(entry.get("currency") or "").upper()
            try:
                amount = to_minor(entry.get("amount"), currency) if is_currency(currency) else None
            except ValueError:
                amount = None
            if amount is None:
                return PaymentCheck(paid=False, reason="CyberSource reported an amount that cannot be read.")
            return PaymentCheck(paid=True, reference=entry.get("transactionId"), amount=amount, currency=currency,
                                data={"decision": entry.get("decision")})
        return PaymentCheck(paid=False, reason="CyberSource has not reported an accepted payment for this booking.")

    def refund(self, org: Org, booking: Booking, payment_ref: str | None, amount: int,
               settings: dict) -> RefundResult:
        """Through `POST /pts/v2/payments/{transaction_id}/refunds` when the tenant configured REST credentials;
        otherwise accepted as owed, for staff to pay back by hand and record."""
        if not rest.configured(settings):
            return RefundResult(succeeded=True, reference=None, amount=amount, owed=True,
                                reason="No CyberSource REST credentials: to be paid back by hand.")
        reference = payment_ref or booking.payment_ref
        if not kit.valid_reference(reference):
            raise kit.refund_rejected(NAME, "no CyberSource payment is recorded for this booking")
        return rest.refund_payment(settings, org, booking, reference, amount)

    def handle_webhook(self, org: Org, settings: dict, delivery: WebhookDelivery) -> dict:
        """The profile's Merchant POST URL (`/webhooks/cybersource/<orgid>`): the same signed callback form,
        server to server, handled like `verify_callback`: a bad signature is 400, a booking the tenant does not
        have 404; a refusal by the core (a mismatch, a late payment refunded) is reported in a 200, so
        CyberSource does not send it again."""
        try:
            form = dict(parse_qsl(delivery.body.decode(), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise kit.invalid_signature(NAME, "the body is not a form") from exc
        try:
            check = _act(org, settings, form)
        except GatewayUnavailable:
            raise
        except ApiError as exc:
            if exc.type in ("invalid_signature", "gateway_not_configured", "not_found"):
                raise
            return {"received": True, "handled": True, "type": form.get("decision"),
                    "bookingId": form.get("req_reference_number"), "refused": exc.type}
        return {"received": True, "handled": True, "type": check.data["decision"],
                "bookingId": check.data["bookingId"], "status": check.data["status"]}


PROVIDER = CyberSourceProvider()
