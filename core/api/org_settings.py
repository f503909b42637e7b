"""The tenant's own settings over HTTP: staff read them, an admin changes them (`/org/settings`).

Thin views over `core.services.orgs.update_org` (the operator's setter too); never writes an Org here.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from core.api.blueprint import Blueprint
from core.api.cors import CORS_ORIGINS_DOC, EMBED_ORIGINS_DOC, origins_field
from core.api_schema import Schema
from core.auth import require_role
from core.models import Org
from core.roles import ADMINS, READERS
from core.services import email_verification, event_settings, orgs, participation, two_factor
from core.services.gateways import DEFAULT_GATEWAY_SETTING
from core.tenancy import current_org
from core.timefmt import is_timezone
from core.web_origins import cors_origins, embed_origins

TWO_FACTOR_DOC = ("Admins must sign in with a two-factor code; an admin without two-factor then gets only a "
                  "token to enrol it (`two_factor_enrolment_required` at POST /auth/login)")

blp = Blueprint("org_settings", __name__, description="The organisation's own settings (tenant admin)")

REQUIRE_VERIFICATION_DOC = ("Customers who buy while logged in must have verified their account's e-mail "
                            "(others get 403 `email_unverified`); guests are not affected. Default false.")


class OrgSettingsSchema(Schema):
    name = fields.String(metadata={"description": "The organisation's display name"})
    timezone = fields.String(metadata={"description": "IANA time zone, e.g. Europe/Paris"})
    holdMinutes = fields.Integer(allow_none=True,
                                 metadata={"description": "Seat hold TTL; null uses the deployment default"})
    participantsVisibility = fields.String(metadata={
        "description": "Who customers see attending sessions: none | names | full"})
    corsOrigins = origins_field(CORS_ORIGINS_DOC)
    embedOrigins = origins_field(EMBED_ORIGINS_DOC)
    defaultGateway = fields.String(allow_none=True, metadata={
        "description": "The payment gateway a purchase naming none uses; null: the single paying gateway"})
    posProcessing = fields.String(metadata={"enum": list(event_settings.ORG_POS_PROCESSING), "description":
                                            "Box-office sales for events whose `settings.pos_processing` is "
                                            "`inherit` (the default): enabled (default) or disabled"})
    adminsNeedTwoFactor = fields.Boolean(metadata={"description": TWO_FACTOR_DOC})
    requireEmailVerification = fields.Boolean(metadata={"description": REQUIRE_VERIFICATION_DOC})


class OrgSettingsUpdate(Schema):
    """Known keys only: any other key is 422 `validation_error`, and nothing is changed."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    timezone = fields.String(metadata={"description": "IANA name, e.g. Europe/Paris"})
    holdMinutes = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1440),
                                 metadata={"description": "1..1440 minutes; null: the deployment default"})
    participantsVisibility = fields.String(validate=validate.OneOf(participation.VISIBILITIES))
    corsOrigins = origins_field(CORS_ORIGINS_DOC)
    embedOrigins = origins_field(EMBED_ORIGINS_DOC)
    defaultGateway = fields.String(allow_none=True, validate=validate.Length(max=64), metadata={
        "description": "An enabled gateway buyers can use (e.g. stripe); null clears the setting"})
    posProcessing = fields.String(validate=validate.OneOf(event_settings.ORG_POS_PROCESSING), metadata={
        "description": "Box-office sales for events that inherit: enabled or disabled"})
    adminsNeedTwoFactor = fields.Boolean(metadata={"description": TWO_FACTOR_DOC})
    requireEmailVerification = fields.Boolean(metadata={
        "description": REQUIRE_VERIFICATION_DOC + " Turning it on needs an enabled plugin that sends e-mail "
                       "(422 `email_unavailable`)."})

    @validates_schema
    def _check(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one of name, timezone, holdMinutes, participantsVisibility, "
                                  "corsOrigins, embedOrigins, defaultGateway, posProcessing, adminsNeedTwoFactor, "
                                  "requireEmailVerification.")
        if "timezone" in data and not is_timezone(data["timezone"]):
            raise ValidationError({"timezone": ["Unknown time zone; use an IANA name such as Europe/Paris."]})


def settings_view(org: Org) -> dict:
    """The organisation's settings as the API shows them."""
    return {"name": org.name, "timezone": org.timezone, "holdMinutes": org.hold_minutes,
            "participantsVisibility": participation.participants_visibility(org),
            "corsOrigins": cors_origins(org), "embedOrigins": embed_origins(org),
            "defaultGateway": (org.settings or {}).get(DEFAULT_GATEWAY_SETTING),
            "posProcessing": event_settings.org_pos_processing(org),
            "adminsNeedTwoFactor": two_factor.admins_need_it(org),
            "requireEmailVerification": email_verification.verification_required(org)}


@blp.route("/org/settings")
class OrgSettings(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, OrgSettingsSchema)
    def get(self):
        """The organisation's settings (staff and admins may read them)."""
        return settings_view(current_org())

    @require_role(ADMINS, scope="admin")
    @blp.arguments(OrgSettingsUpdate)
    @blp.response(200, OrgSettingsSchema)
    def patch(self, data):
        """Change the organisation's settings (admin only); answers all of them. Takes effect at once."""
        org = orgs.update_org(current_org().id, name=data.get("name"), timezone=data.get("timezone"),
                              hold_minutes=data.get("holdMinutes"),
                              clear_hold_minutes="holdMinutes" in data and data["holdMinutes"] is None,
                              participants_visibility=data.get("participantsVisibility"),
                              cors_origins=data.get("corsOrigins"), embed_origins=data.get("embedOrigins"),
                              default_gateway=None if "defaultGateway" not in data
                              else data["defaultGateway"] or "",
                              pos_processing=data.get("posProcessing"),
                              admins_need_two_factor=data.get("adminsNeedTwoFactor"),
                              require_email_verification=data.get("requireEmailVerification"))
        return settings_view(org)
