"""Staff API of the notifications plugin: the tenant's send log and resending one message.

Staff only; answers 404 `plugin_not_enabled` for tenants without the plugin and never returns email bodies.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import plugin_blueprint
from core.api_schema import Schema
from core.auth import require_role
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, page_body
from core.roles import READERS, SELLERS
from core.tenancy import current_org
from plugins.notifications import service
from plugins.notifications.models import MESSAGE_STATES
from plugins.notifications.render import KINDS

blp = plugin_blueprint("notifications", "notifications", __name__, url_prefix="/notifications",
                       description="Notification emails (staff): send log and resend")


class MessageListQuery(CursorPageQuery):
    kind = fields.String(validate=validate.OneOf(KINDS))
    status = fields.String(validate=validate.OneOf(MESSAGE_STATES))


class MessageView(Schema):
    id = fields.String()
    kind = fields.String()
    to = fields.String()
    subject = fields.String()
    status = fields.String(metadata={"description": "queued, sent or failed"})
    attempts = fields.Integer()
    lastError = fields.String(allow_none=True)
    transport = fields.String(allow_none=True, metadata={"description": "smtp or outbox"})
    ticketIds = fields.List(fields.String())
    resentFrom = fields.String(allow_none=True)
    createdAt = fields.String()
    sentAt = fields.String(allow_none=True)


class MessageList(Schema):
    data = fields.List(fields.Nested(MessageView))
    meta = fields.Dict()


class MessageEnvelope(Schema):
    data = fields.Nested(MessageView)


@blp.route("/messages")
class Messages(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(MessageListQuery, location="query")
    @blp.response(200, MessageList)
    def get(self, args):
        """The tenant's email log, newest first (`page[size]`, `page[cursor]`, `kind`, `status`)."""
        page = service.list_messages(current_org(), size=args.get("page_size", DEFAULT_PAGE_SIZE),
                                     cursor=args.get("page_cursor"), kind=args.get("kind"),
                                     status=args.get("status"))
        return page_body(page, service.message_view)


@blp.route("/messages/<message_id>/resend")
class Resend(MethodView):
    @require_role(SELLERS, scope="orders")
    @blp.response(202, MessageEnvelope)
    def post(self, message_id: str):
        """Send a logged email again (a new log entry, `resentFrom` = this id); 404 `message_not_found`,
        409 `claim_link_not_kept` for a claim e-mail already sent (its token is not kept: send a new claim link)."""
        return {"data": service.message_view(service.resend(current_org(), message_id))}
