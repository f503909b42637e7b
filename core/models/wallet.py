"""Apple Wallet: a tenant's pass templates (what a ticket's `.pkpass` shows) and its pass-type certificate.

Columns only; the rules (colours, fields, images, the default template, certificate checks, signing) live in
`core.services.wallet_templates`, `core.services.wallet_certificates` and `core.services.wallet_passes`.
The certificate's private material is kept sealed (`core.sealed`) and is never part of any answer.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, TextField

from core.models.base import DateTimeField, ForeignKeyField, JSONField
from core.models.catalog import PublicIdModel
from core.models.tenant import Org, TenantModel


class WalletTemplate(PublicIdModel):
    """How a ticket's Apple Wallet pass looks: the texts and colours of the pass, which ticket fields go on its
    front and back (names from `core.services.wallet_templates.PASS_FIELDS`, in order), and optional icon and
    logo images (`{"key", "width", "height", "renditions": {"1x": {...}, "2x": {...}}}`, PNG). At most one
    template of a tenant `is_default`: the one a ticket uses when its configuration names none."""

    name = CharField(max_length=200)
    organization_name = CharField(max_length=200, default="")
    description = CharField(max_length=200, default="")
    logo_text = CharField(max_length=100, default="")
    foreground_color = CharField(max_length=7, null=True)
    background_color = CharField(max_length=7, null=True)
    label_color = CharField(max_length=7, null=True)
    front_fields = JSONField(default=list)
    back_fields = JSONField(default=list)
    is_default = BooleanField(default=False)
    icon = JSONField(null=True)
    logo = JSONField(null=True)

    class Meta:
        indexes = ((("org", "name", "id"), False), (("org", "is_default"), False))


class WalletCertificate(TenantModel):
    """A tenant's Apple pass-type certificate (one per tenant): its identifiers and what can be shown about the
    certificate, beside `sealed`, the certificate, private key, key password and Apple WWDR intermediate
    certificate as JSON sealed under the deployment key (`core.sealed.seal`)."""

    org = ForeignKeyField(Org, column_name="org_id", on_delete="CASCADE", unique=True)  # one per tenant
    pass_type_identifier = CharField(max_length=200)
    team_identifier = CharField(max_length=20)
    subject = CharField(max_length=500)
    fingerprint = CharField(max_length=64)
    not_after = DateTimeField()
    wwdr_subject = CharField(max_length=500)
    sealed = TextField()
