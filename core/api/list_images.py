"""List images by URL (003 "Event lists"): the cleaned image of a list, or one rendition, with no header needed
so a ticket or an order page can show it with a bare `<img src>`.

Tenant-exempt (the tenant is in the path); serves only bytes the list service stored, never lists or writes.
"""

from __future__ import annotations

from flask import send_file
from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api_schema import Schema
from core.errors import NotFound
from core.services import event_lists
from core.services.event_lists import RENDITIONS
from core.tenancy import load_org, tenant_exempt

blp = tenant_exempt(Blueprint("list_images", __name__, description="Event list images by URL"))

_BINARY = {"schema": {"type": "string", "format": "binary"}}


class ImageQuery(Schema):
    """Which rendition to serve (none: the cleaned original)."""

    rendition = fields.String(validate=validate.OneOf(list(RENDITIONS)), metadata={
        "description": "thumb (200 px), small (400), medium (800) or large (1600), as JPEG."})


@blp.route("/lists/o/<org_id>/<list_id>/image")
class ListImage(MethodView):
    @blp.arguments(ImageQuery, location="query")
    @blp.doc(responses={"200": {"description": "The image (JPEG or PNG; renditions are JPEG).",
                                "content": {"image/jpeg": _BINARY, "image/png": _BINARY}}})
    def get(self, args, org_id, list_id):
        """A list's image or one of its renditions; 404 `image_not_found` for a list without one (or another
        tenant's, or an unknown one)."""
        org = load_org(org_id) if len(org_id) <= 64 else None
        if org is None:
            raise NotFound(f"No image for list {list_id!r}.", type="image_not_found")
        rendition = args.get("rendition")
        handle, content_type, key = event_lists.open_image(org.id, list_id, rendition)
        response = send_file(handle, mimetype=content_type, conditional=True, max_age=300,
                             etag=key.rsplit("/", 1)[-1])
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
