"""Ticket configurations (003's reusable "ticket types"): create, change, delete, attach to events, and the
rules their settings impose on tickets (holder name/e-mail required, transfers allowed, PDF attached).

Knows nothing of HTTP; never touches another tenant's configuration (every lookup goes through the tenant),
and never deletes one a ticket type still points at (409 `ticket_configuration_in_use`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from peewee import Select

from core.db import write_transaction
from core.errors import Conflict, Unprocessable
from core.models import Event, EventTicketConfiguration, Org, TicketConfiguration, TicketType
from core.services import templates
from core.services.wallet_templates import check_template_id
from core.tenancy import along, get_scoped, scoped

CONFIGURATION_FIELDS = ("name", "display_name", "pdf_template_id", "wallet_template_id", "attachable",
                        "transferable", "include_name", "require_name", "include_email", "require_email",
                        "enforce_barcode_pool")
"""The fields a caller may set (003's names), in the order their errors are reported."""

_FLAGS = ("attachable", "transferable", "include_name", "require_name", "include_email", "require_email",
          "enforce_barcode_pool")
_IMPLIED = (("require_name", "include_name"), ("require_email", "include_email"))
NAME_MAX = 200


def _invalid(errors: dict, message: str = "The ticket configuration is invalid; see `errors`.",
             type_: str = "invalid_ticket_configuration"):
    raise Unprocessable(message, type=type_, errors=errors)


def _text_error(value, *, required: bool) -> str | None:
    if value is None:
        return "Must not be null." if required else None
    if not isinstance(value, str) or "\x00" in value or len(value) > NAME_MAX:
        return f"Must be a string of at most {NAME_MAX} characters, without NUL characters."
    return "Must not be blank." if required and not value.strip() else None


def _field_errors(fields: dict) -> dict:
    """Per-field problems with the fields as sent (unknown names, types, templates that do not exist yet)."""
    errors = {name: ["Unknown field."] for name in sorted(set(fields) - set(CONFIGURATION_FIELDS))}
    for name, required in (("name", True), ("display_name", False)):
        message = _text_error(fields[name], required=required) if name in fields else None
        if message:
            errors[name] = [message]
    for name in _FLAGS:
        if name in fields and not isinstance(fields[name], bool):
            errors[name] = ["Must be true or false."]
    wallet = fields.get("wallet_template_id")
    if wallet is not None and (not isinstance(wallet, int) or isinstance(wallet, bool)):
        errors["wallet_template_id"] = ["Must be a wallet template's numeric id, or null."]
    pdf = fields.get("pdf_template_id")
    if pdf is not None and (not isinstance(pdf, int) or isinstance(pdf, bool)):
        errors["pdf_template_id"] = ["Must be the numeric id of a PDF ticket design, or null."]
    return errors


def _check_design(org: Org, fields: dict, prefix: str) -> None:
    """422 `template_not_found` when `pdf_template_id` (sent) names no PDF ticket design of this tenant."""
    if fields.get("pdf_template_id") is not None:
        templates.templates_by_public_id(org, {prefix + "pdf_template_id": ("pdf", fields["pdf_template_id"])})


def _check_templates(org: Org, changes: dict, prefix: str = "") -> None:
    """The wallet template a configuration names must be the tenant's own (422 `wallet_template_not_found`)."""
    check_template_id(org, changes.get("wallet_template_id"), prefix + "wallet_template_id")


def _merged(current: dict, changes: dict, prefix: str = "") -> dict:
    """`current` with `changes` applied; a required holder field is also offered (require_x implies include_x),
    and sending include_x false beside require_x true is refused. Errors name fields under `prefix`."""
    errors = _field_errors(changes)
    if errors:
        _invalid({prefix + key: value for key, value in errors.items()})
    values = {**current, **changes}
    if "display_name" in changes and changes["display_name"] is None:
        values["display_name"] = ""
    for required, offered in _IMPLIED:
        if values[required] and not values[offered]:
            if offered in changes:
                errors[prefix + offered] = [f"Must be true while `{required}` is true (a required field is offered)."]
            values[offered] = True
    if errors:
        _invalid(errors)
    return values


def _defaults() -> dict:
    values = {}
    for name in CONFIGURATION_FIELDS:
        default = TicketConfiguration._meta.fields[name].default
        values[name] = default() if callable(default) else default
    return values


def get_configuration(org: Org, configuration_id) -> TicketConfiguration:
    """The tenant's configuration, or 404 `ticket_configuration_not_found` (also for another tenant's)."""
    if isinstance(configuration_id, str) and "\x00" in configuration_id:
        configuration_id = None   # names nothing; PostgreSQL refuses NUL in a parameter
    return get_scoped(TicketConfiguration, org, configuration_id, "ticket_configuration")


def list_configurations(org: Org) -> Select:
    """The tenant's configurations (the caller orders and pages them)."""
    return scoped(TicketConfiguration, org)


def create_configuration(org: Org, fields: dict, prefix: str = "") -> TicketConfiguration:
    """A new configuration from 003's fields (`name` required; 422 `invalid_ticket_configuration` per field,
    named under `prefix` such as `ticket_type.` for an inline definition)."""
    values = _merged(_defaults(), {"name": None, **fields}, prefix)
    _check_design(org, fields, prefix)
    _check_templates(org, fields, prefix)
    with write_transaction():
        configuration = TicketConfiguration(org=org, **values)
        configuration.save(force_insert=True)
    return configuration


ROTATING_WITH_POOL = "rotating_qr_with_barcode_pool"
"""422 type: a rotating QR type's tickets cannot take barcode pool codes (a pool code is printed and never changes)."""


def _rotating_with_pool(field: str) -> Unprocessable:
    return Unprocessable("A ticket type with a rotating QR cannot take codes from a barcode pool (a pool code "
                         "never changes); turn one of the two off.", type=ROTATING_WITH_POOL,
                         errors={field: ["Not with a barcode pool: a rotating QR's tickets show no pool code."]})


def check_rotating_qr(org: Org, configuration_id: str | None, rotating: bool) -> None:
    """422 `rotating_qr_with_barcode_pool` (naming `rotating_qr`) when a rotating QR type would use a
    configuration that enforces a barcode pool. Call inside the write that links them."""
    if rotating and configuration_id is not None and scoped(TicketConfiguration, org).where(
            (TicketConfiguration.id == configuration_id) & TicketConfiguration.enforce_barcode_pool).exists():
        raise _rotating_with_pool("rotating_qr")


def update_configuration(org: Org, configuration_id: str, fields: dict) -> TicketConfiguration:
    """Change some fields of a configuration; its ticket types (and their future tickets) follow. A barcode
    pool cannot be enforced while a rotating QR type uses it (422 `rotating_qr_with_barcode_pool`)."""
    configuration = get_configuration(org, configuration_id)
    values = _merged({name: getattr(configuration, name) for name in CONFIGURATION_FIELDS}, fields)
    _check_design(org, fields, "")
    _check_templates(org, fields)
    with write_transaction():
        if values["enforce_barcode_pool"] and scoped(TicketType, org).where(
                (TicketType.configuration == configuration.id) & TicketType.rotating_qr).exists():
            raise _rotating_with_pool("enforce_barcode_pool")
        for name, value in values.items():
            setattr(configuration, name, value)
        configuration.save()
    return configuration


def delete_configuration(org: Org, configuration_id: str) -> None:
    """Delete a configuration no ticket type points at (its event attachments go with it); 409
    `ticket_configuration_in_use` otherwise."""
    configuration = get_configuration(org, configuration_id)
    with write_transaction():
        users = scoped(TicketType, org).where(TicketType.configuration == configuration.id).count()
        if users:
            raise Conflict(f"{users} ticket type(s) use this configuration; point them at another one (or none) "
                           "first.", type="ticket_configuration_in_use", ticketTypes=users)
        EventTicketConfiguration.delete().where(
            (EventTicketConfiguration.org == org.id)
            & (EventTicketConfiguration.configuration == configuration.id)).execute()
        configuration.delete_instance()


# --- events --------------------------------------------------------------------------------------------


def attach(org: Org, event: Event, configuration_id) -> tuple[TicketConfiguration, bool]:
    """Attach the tenant's configuration to `event` (idempotent); returns it and whether it was newly attached.
    404 `ticket_configuration_not_found` for an unknown or another tenant's id."""
    configuration = get_configuration(org, configuration_id)
    with write_transaction():
        created = attach_id(org, event.id, configuration.id)
    return configuration, created


def attach_id(org: Org | str, event_id: str, configuration_id: str) -> bool:
    """Attach a configuration already known to be the tenant's to an event, once; True if it was not yet.
    For services that link a tier to a configuration (inside their own transaction)."""
    org_id = org if isinstance(org, str) else org.id
    exists = EventTicketConfiguration.select().where(
        (EventTicketConfiguration.org == org_id) & (EventTicketConfiguration.event == event_id)
        & (EventTicketConfiguration.configuration == configuration_id)).exists()
    if exists:
        return False
    with write_transaction():
        EventTicketConfiguration.insert(org=org_id, event=event_id, configuration=configuration_id) \
            .on_conflict_ignore().execute()
    return True


def create_and_attach(org: Org, event: Event, fields: dict) -> TicketConfiguration:
    """003 `POST /events/{id}/ticket_types`: a new configuration attached to `event`, in one transaction."""
    with write_transaction():
        configuration = create_configuration(org, fields, prefix="ticket_type.")
        attach_id(org, event.id, configuration.id)
    return configuration


def event_configurations(org: Org, event: Event) -> list[TicketConfiguration]:
    """The configurations attached to `event`, by name."""
    return list(scoped(TicketConfiguration, org).join(
        EventTicketConfiguration, on=along(EventTicketConfiguration.configuration, TicketConfiguration))
        .where(EventTicketConfiguration.event == event.id)
        .order_by(TicketConfiguration.name, TicketConfiguration.id))


def require_id(org: Org, value, field: str) -> str | None:
    """The id of the tenant's configuration that a body's `field` names (None stays None); 422
    `ticket_configuration_not_found` naming `field` for an unknown or another tenant's id."""
    if value is None:
        return None
    found = None
    if isinstance(value, str) and "\x00" not in value and len(value) <= 64:
        found = scoped(TicketConfiguration, org, TicketConfiguration.id).where(
            TicketConfiguration.id == value).scalar()
    if found is None:
        _invalid({field: [f"No ticket configuration {value!r} in this organisation."]},
                 message="No such ticket configuration; see `errors`.", type_="ticket_configuration_not_found")
    return found


# --- what a configuration means for a tier's tickets ---------------------------------------------------


def configuration_of(ticket_type: TicketType) -> TicketConfiguration | None:
    """The configuration a tier points at, or None (read once per tier object)."""
    if ticket_type.ticket_configuration_id is None:
        return None
    return ticket_type.configuration


def configurations_by_id(org_id: str, ids: Iterable[str | None]) -> dict[str, TicketConfiguration]:
    """The configurations with these ids (None ignored), in one query; {} when none are asked for."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {c.id: c for c in scoped(TicketConfiguration, org_id).where(TicketConfiguration.id.in_(wanted))}


def allows_transfer(ticket_type: TicketType) -> bool:
    """Whether tickets of this tier may be transferred: the tier allows it and so does its configuration."""
    configuration = configuration_of(ticket_type)
    return ticket_type.transferable and (configuration is None or configuration.transferable)


def attaches_pdf(ticket_type: TicketType) -> bool:
    """Whether the ticket e-mail attaches the PDF (else it links to it): the configuration's `attachable`."""
    configuration = configuration_of(ticket_type)
    return configuration is None or configuration.attachable


def shown_name(ticket_type: TicketType) -> str:
    """The name a ticket shows for its type: the configuration's `display_name` when set, else the tier's."""
    configuration = configuration_of(ticket_type)
    return (configuration.display_name if configuration is not None else "") or ticket_type.name


@dataclass
class HolderFields:
    """Which holder fields a tier's tickets ask for (`include_*`) and which they require (`require_*`)."""

    include_name: bool = False
    require_name: bool = False
    include_email: bool = False
    require_email: bool = False


def holder_fields(configuration: TicketConfiguration | None) -> HolderFields:
    """What a configuration asks of each ticket's holder (nothing without one)."""
    if configuration is None:
        return HolderFields()
    return HolderFields(configuration.include_name, configuration.require_name, configuration.include_email,
                        configuration.require_email)


def required_holder_fields(configuration: TicketConfiguration | None) -> list[str]:
    """The holder fields (`name`, `email`) every ticket of a tier with this configuration must carry."""
    wanted = holder_fields(configuration)
    return [name for name, needed in (("name", wanted.require_name), ("email", wanted.require_email)) if needed]


def missing_holder_fields(configuration: TicketConfiguration | None, holder) -> list[str]:
    """The required holder fields that `holder` (an object with `name`/`email`, or None) leaves blank."""
    return [name for name in required_holder_fields(configuration)
            if not str(getattr(holder, name, "") or "").strip()]


def holder_errors(configuration: TicketConfiguration | None, holders: Sequence | None, tickets: int,
                  path: str) -> dict:
    """Problems with the per-ticket `holders` (objects with `name`/`email`) of `tickets` tickets, keyed by
    field path under `path`: more holders than tickets, or a required name or e-mail missing. {} when fine."""
    holders = list(holders or [])
    if len(holders) > tickets:
        return {path: [f"At most one holder per ticket: {tickets} ticket(s), {len(holders)} holders sent."]}
    required = required_holder_fields(configuration)
    if required and len(holders) < tickets:
        return {path: [f"Each of the {tickets} ticket(s) needs a holder with {' and '.join(required)} "
                       f"({len(holders)} sent)."]}
    return {f"{path}[{index}].{name}": ["Required for this ticket type."]
            for index, holder in enumerate(holders) for name in missing_holder_fields(configuration, holder)}


def require_holders(configuration: TicketConfiguration | None, holders: Sequence | None, tickets: int,
                    path: str) -> None:
    """422 `holder_details_required` naming each field `holder_errors` finds; nothing when all is well."""
    errors = holder_errors(configuration, holders, tickets, path)
    if errors:
        raise_holder_errors(errors)


def require_holder(configuration: TicketConfiguration | None, holder, prefix: str) -> None:
    """422 `holder_details_required` when the one `holder` of a ticket leaves a required field blank, naming it
    as a body does for a single holder: `<prefix>Name` / `<prefix>Email` (`holderName`, `toEmail`)."""
    missing = missing_holder_fields(configuration, holder)
    if missing:
        raise_holder_errors({f"{prefix}{name.title()}": ["Required for this ticket type."] for name in missing})


def raise_holder_errors(errors: dict) -> None:
    """Raise the one 422 for holder problems (`holder_details_required`, `errors` by field path)."""
    raise Unprocessable("Some tickets need their holder's details; see `errors`.",
                        type="holder_details_required", errors=errors)
