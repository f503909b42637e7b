"""Staff upload of an event's cover image: `PUT /events/{event_id}/cover`, multipart with one `image` part.

Parses the upload and answers the event; checking, cleaning and renditions are `core.services.event_covers`'.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from werkzeug.datastructures import FileStorage

from core.api.blueprint import Blueprint
from core.api.event_schemas import EventEnvelope
from core.api.events import event_body
from core.api.multipart import multipart_fields
from core.auth import require_role
from core.errors import INVALID_INPUT, ApiError, Unprocessable
from core.roles import MANAGERS
from core.services import event_covers, events
from core.services.event_covers import MAX_COVER_BYTES, CoverTooLarge
from core.tenancy import current_org

blp = Blueprint("event_covers", __name__, description="Event cover images (staff upload)")

_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["image"],
    "properties": {"image": {"type": "string", "format": "binary",
                             "description": f"JPEG, PNG or WebP, at most {MAX_COVER_BYTES:,} bytes."}}}}}}}


def _upload() -> FileStorage:
    """The `image` part of a multipart body (`core.api.multipart`: the body refused before it is read when too
    large, any other file a 422), refusing any other body and any text field."""
    if request.mimetype != "multipart/form-data":
        raise ApiError("Send the cover as multipart/form-data with one `image` part.", status=415,
                       type="unsupported_media_type")
    form, upload = multipart_fields("", "image", MAX_COVER_BYTES,
                                    CoverTooLarge(f"A cover image can be at most {MAX_COVER_BYTES:,} bytes."))
    if form or upload is None:
        errors = {key: ["Unknown field."] for key in form}
        if upload is None:
            errors["image"] = ["Missing file part."]
        raise Unprocessable(INVALID_INPUT, type="validation_error", errors={"form": errors})
    return upload


@blp.route("/events/<event_id>/cover")
class EventCover(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.doc(**_BODY)
    @blp.response(200, EventEnvelope)
    @blp.error_responses({404: "`event_not_found`", 413: "`file_too_large`",
                          415: "`not_an_image`, `unsupported_image_format`, `unsupported_media_type`",
                          422: "`corrupt_image`, `image_too_large`, `validation_error`"})
    def put(self, event_id):
        """Upload the event's cover image (replacing any): checked by its content, EXIF removed. Its renditions
        (`square` 200x200 and `thumb` 400x300 cropped to fill, `medium` 800 wide, `original`) are made by a
        background job; the event's `cover` is null until then."""
        org = current_org()
        event_covers.upload_cover(org, event_id, _upload().stream)
        return {"data": event_body(org, events.get_event(org, event_id))}
