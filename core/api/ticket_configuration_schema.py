"""The JSON shape of a ticket configuration (003's reusable "ticket type"), shared by its own routes and the
events' `include=registration_types.ticket_type`.

Pure serialisation of a loaded row; never queries or writes.
"""

from __future__ import annotations

from marshmallow import fields

from core.api_schema import Schema
from core.models import TicketConfiguration
from core.services.ticket_configurations import CONFIGURATION_FIELDS
from core.timefmt import iso_utc


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
