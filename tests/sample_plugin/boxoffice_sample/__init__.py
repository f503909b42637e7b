"""Sample notes: a third-party plugin that keeps a note per tenant event and lists them at /sample/notes.

Only touches its own `sample_notes` table; it runs for a tenant only when that tenant enabled `sample`.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields
from peewee import CharField

from core.api.blueprint import plugin_blueprint
from core.hookspecs import hookimpl
from core.migrations import Migration, ensure_columns
from core.models import TenantModel
from core.tenancy import current_org, scoped


class Note(TenantModel):
    """Something that happened to a tenant, as this plugin saw it."""

    text = CharField(max_length=200)
    kind = CharField(max_length=40, default="note")  # added by migration 2

    class Meta:
        table_name = "sample_notes"


class NoteSchema(Schema):
    kind = fields.String()
    text = fields.String()


blp = plugin_blueprint("sample", "sample", __name__, url_prefix="/sample", description="Sample plugin notes")


@blp.route("/notes")
class Notes(MethodView):
    @blp.response(200, NoteSchema(many=True))
    def get(self):
        """This tenant's notes, oldest first (404 `plugin_not_enabled` unless it enabled `sample`)."""
        return list(scoped(Note, current_org()).order_by(Note.created_at, Note.id))


@hookimpl
def register_routes(api):
    """Add GET /sample/notes."""
    api.register_blueprint(blp)


@hookimpl
def register_models():
    """The plugin's table; its first migration creates it."""
    return [Note]


@hookimpl
def register_migrations():
    """Version 2 added the `kind` column (idempotent, so it also runs after version 1 on a fresh database)."""
    return [Migration("sample", 2, "note_kind", lambda: ensure_columns(Note, "kind"))]


@hookimpl
def tenant_created(org):
    """Welcome every new tenant that enabled this plugin at creation."""
    Note.create(org=org, kind="tenant_created", text=f"welcome {org.name}")


@hookimpl
def ticket_type_saved(org, ticket_type, created):
    """Record each ticket type the tenant creates or changes."""
    Note.create(org=org, kind="ticket_type_saved", text=f"{'created' if created else 'updated'} "
                                                          f"{ticket_type.name}")
