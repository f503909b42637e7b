"""Event cover images by URL: one rendition of an event's cover, with no header needed so any page or partner
site can show it with a bare `<img src>`; what every API's `cover` URLs point at.

Tenant-exempt (the tenant is in the path); serves only bytes the cover service stored, never writes.
"""

from __future__ import annotations

from flask import send_file
from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api_schema import Schema
from core.errors import NotFound
from core.services import event_covers
from core.services.event_covers import SHOWN
from core.tenancy import load_org, tenant_exempt

blp = tenant_exempt(Blueprint("cover_images", __name__, description="Event cover images by URL"))

_BINARY = {"schema": {"type": "string", "format": "binary"}}
IMMUTABLE_SECONDS = 365 * 24 * 3600   # a URL with `v` names one upload, whose bytes never change
CURRENT_SECONDS = 300


class CoverQuery(Schema):
    """Which rendition, of which upload."""

    rendition = fields.String(load_default="original", validate=validate.OneOf(list(SHOWN)), metadata={
        "description": "square (200x200), thumb (400x300), medium (800 wide) or original."})
    v = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "The upload (as in the API's cover URLs): cached for a year. Without it: the current "
                       "cover, cached for 5 minutes."})


@blp.route(event_covers.COVER_PATH + "<org_id>/<event_id>")
class CoverImage(MethodView):
    @blp.arguments(CoverQuery, location="query")
    @blp.doc(responses={"200": {"description": "The image (renditions are JPEG; the original as uploaded: "
                                               "JPEG, PNG or WebP).",
                                "content": {"image/jpeg": _BINARY, "image/png": _BINARY, "image/webp": _BINARY}}})
    @blp.error_responses({404: "`image_not_found`"})
    def get(self, args, org_id, event_id):
        """One rendition of an event's cover; 404 `image_not_found` for an event without one (or whose renditions
        are not made yet, another tenant's, an older upload's `v`)."""
        org = load_org(org_id) if len(org_id) <= 64 else None
        if org is None:
            raise NotFound("No such cover image.", type="image_not_found")
        handle, content_type, key = event_covers.open_cover(org.id, event_id, args["rendition"], args.get("v"))
        max_age = IMMUTABLE_SECONDS if args.get("v") else CURRENT_SECONDS
        response = send_file(handle, mimetype=content_type, conditional=True, max_age=max_age,
                             etag=key.rsplit("/", 1)[-1])
        response.headers["Cache-Control"] = f"public, max-age={max_age}" + (", immutable" if args.get("v") else "")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
