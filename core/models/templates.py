"""Templates and event settings (003's "Update event setting"): the tenant's PDF ticket designs, ticket e-mail
templates and door tally sheets, and the settings record events point at to choose them.

Columns only; the rules (what a layout may hold, placeholders, which template applies) live in
`core.services.templates` and `core.services.event_settings`.
"""

from __future__ import annotations

from peewee import BigIntegerField, CharField, TextField

from core.models.base import JSONField
from core.models.catalog import PublicIdModel

TEMPLATE_KINDS = ("pdf", "email", "tally")


class Template(PublicIdModel):
    """A template of one `kind`: `pdf` (a PDF ticket design: `layout` and an optional `background` image),
    `email` (a ticket e-mail: `subject` and `body` with named placeholders) or `tally` (a door tally sheet:
    `layout`). Referenced everywhere by its numeric `public_id` (ticket configurations' `pdf_template_id`,
    event settings). `background` describes the stored image (`{"key", "content_type", "width", "height"}`)."""

    kind = CharField(max_length=8)
    name = CharField(max_length=200)
    subject = CharField(max_length=300, default="")
    body = TextField(default="")
    layout = JSONField(default=dict)
    background = JSONField(null=True)

    class Meta:
        indexes = ((("org", "kind", "name", "id"), False),)


class EventSetting(PublicIdModel):
    """The templates an event uses (003's event setting), shared by every event whose `setting_id` names it:
    each field is the numeric public id of a template of the tenant (null: the built-in one). The wallet
    template is another component's record (its id is kept as sent)."""

    pdf_template_id = BigIntegerField(null=True)
    wallet_template_id = BigIntegerField(null=True)
    ticket_email_template_id = BigIntegerField(null=True)
    tally_template_id = BigIntegerField(null=True)
