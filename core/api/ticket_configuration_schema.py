"""The JSON shape of a ticket configuration (003's reusable "ticket type") in and out, shared by its own routes and
the events' `include=registration_types.ticket_type` and a pass's inline `ticket_type`.

Pure serialisation of a loaded row; never queries or writes.
"""

from __future__ import annotations

from marshmallow import fields, validate

from core.api_schema import Schema
from core.models import TicketConfiguration
from core.models.public_id import PUBLIC_ID_LIMIT
from core.services.ticket_configurations import CONFIGURATION_FIELDS, NAME_MAX
from core.timefmt import iso_utc

_TEMPLATE = "Templates are not built yet: only null is accepted (422 otherwise)."
_WALLET_TEMPLATE = ("The numeric id (`public_id`) of one of the organisation's Apple Wallet templates (422 "
                    "`wallet_template_not_found` otherwise); null: the default template.")


def _flag(default: bool, description: str) -> fields.Boolean:
    return fields.Boolean(metadata={"description": f"{description} Default {str(default).lower()}."})


class ConfigurationBody(Schema):
    """003's ticket type fields."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    display_name = fields.String(allow_none=True, validate=validate.Length(max=NAME_MAX),
                                 metadata={"description": "Shown to attendees on the ticket instead of the tier's "
                                                          "name."})
    pdf_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint", "description": _TEMPLATE})
    wallet_template_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=PUBLIC_ID_LIMIT - 1),
                                        metadata={"column": "bigint", "description": _WALLET_TEMPLATE})
    attachable = _flag(True, "Attach the PDF to the ticket e-mail; false sends a download link instead.")
    transferable = _flag(True, "Holders may transfer their tickets.")
    include_name = _flag(False, "Ask for each ticket's holder name at checkout.")
    require_name = _flag(False, "Require each ticket's holder name (implies include_name).")
    include_email = _flag(False, "Ask for each ticket's holder e-mail at checkout.")
    require_email = _flag(False, "Require each ticket's holder e-mail (implies include_email).")
    enforce_barcode_pool = _flag(False, "Tickets take their codes from the configuration's barcode pool.")

    class Meta:
        ordered = True


class ConfigurationView(Schema):
    """A ticket configuration."""

    id = fields.String()
    public_id = fields.Integer(metadata={"column": "bigint", "description": "Stable numeric id (003 clients)."})
    name = fields.String()
    display_name = fields.String(allow_none=True)
    pdf_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint"})
    wallet_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint"})
    attachable = fields.Boolean()
    transferable = fields.Boolean()
    include_name = fields.Boolean()
    require_name = fields.Boolean()
    include_email = fields.Boolean()
    require_email = fields.Boolean()
    enforce_barcode_pool = fields.Boolean()
    created_at = fields.String()
    updated_at = fields.String()


def configuration_view(configuration: TicketConfiguration) -> dict:
    """The JSON form of a ticket configuration."""
    view = {name: getattr(configuration, name) for name in CONFIGURATION_FIELDS}
    view.update({"id": configuration.id, "public_id": configuration.public_id,
                 "display_name": configuration.display_name or None,
                 "created_at": iso_utc(configuration.created_at), "updated_at": iso_utc(configuration.updated_at)})
    return view
