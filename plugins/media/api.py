"""HTTP routes of the media plugin: attendee and guest galleries, uploads, staff moderation, file serving.

Thin views: parse, authorise through `plugins.media.service`, serialise. Never reads an upload body before
the caller is authorised and the size guard is set.
"""

from __future__ import annotations

from flask import request, send_file, url_for
from flask.views import MethodView
from marshmallow import fields, validate
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from core.api.blueprint import Blueprint, plugin_blueprint
from core.api.throttle import Guard, path_account, throttled
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.errors import Unprocessable
from core.models import Event, utcnow
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, SortKey, page_body, paginate_cursor
from core.plugins import get_host
from core.roles import MANAGERS, READERS
from core.tenancy import current_org, get_scoped, load_org, tenant_exempt
from core.timefmt import iso_utc, to_utc_naive
from plugins.media import service
from plugins.media.models import MediaItem

blp = plugin_blueprint("media", "media", __name__, description="Event photo galleries (media plugin)")
# Files a browser can load as they are (`<img src>`): the tenant is in the path, so no `orgid` header.
files_blp = tenant_exempt(Blueprint("media_files", __name__, description="Photo files by URL (media plugin)"))

# Wrong or expired invite tokens, counted per address and per invited guest.
GUEST_TOKEN = Guard("guest-token", frozenset({401, 403}), path_account("guest_id"))
MULTIPART_OVERHEAD = 64 * 1024  # room for the multipart headers and the caption around the file
MAX_CAPTION = 2000
_KEYS = [SortKey("createdAt", MediaItem.created_at, kind="datetime", descending=True, attr="created_at"),
         SortKey("id", MediaItem.id, descending=True)]
_UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "JPEG, PNG or WebP (HEIC when pillow-heif is installed)."},
                   "caption": {"type": "string", "maxLength": MAX_CAPTION}}}}}}}
_GUEST_TOKEN_DOC = {"parameters": [
    {"in": "query", "name": "token", "schema": {"type": "string"}, "description": "The guest invite token."},
    {"in": "header", "name": "X-Guest-Token", "schema": {"type": "string"},
     "description": "The guest invite token (instead of `?token=`)."}]}


class MediaView(Schema):
    id = fields.String()
    url = fields.String()
    thumbnailUrl = fields.String(allow_none=True)
    thumbnailReady = fields.Boolean()
    width = fields.Integer()
    height = fields.Integer()
    contentType = fields.String()
    caption = fields.String()
    uploadedBy = fields.String(metadata={"description": "The uploader's name only."})
    createdAt = fields.String()
    hidden = fields.Boolean(metadata={"description": "Staff views only."})
    sizeBytes = fields.Integer(metadata={"description": "Staff views only.", "column": "bigint"})
    uploaderKind = fields.String(metadata={"description": "Staff views only: customer, staff or guest."})


class MediaEnvelope(Schema):
    data = fields.Nested(MediaView)


class MediaList(Schema):
    data = fields.List(fields.Nested(MediaView))
    meta = fields.Dict()


class GuestInput(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=str)  # "" when absent; callable so "" is not documented as an email
    expiresAt = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)


class GuestInvite(Schema):
    guestId = fields.String()
    token = fields.String(metadata={"description": "Shown once; only its SHA-256 is stored."})
    uploadUrl = fields.String()
    galleryUrl = fields.String()
    name = fields.String()
    email = fields.String()
    expiresAt = fields.String(allow_none=True)


def _file_url(item: MediaItem, *, thumbnail: bool) -> str:
    """A photo's file URL: the header-free one a browser can load, or (hidden photos, staff only) the one
    that needs the `orgid` header and a staff token."""
    if item.hidden:
        return url_for("media.MediaThumb" if thumbnail else "media.MediaFile", media_id=item.id)
    return url_for("media_files.PublicMediaThumb" if thumbnail else "media_files.PublicMediaFile",
                   org_id=item.org_id, media_id=item.id)


def media_view(item: MediaItem, *, staff: bool = False) -> dict:
    """The JSON shape of one gallery item; `staff=True` adds hidden, size and uploader kind."""
    view = {
        "id": item.id,
        "url": _file_url(item, thumbnail=False),
        "thumbnailUrl": _file_url(item, thumbnail=True) if item.thumbnail_ready else None,
        "thumbnailReady": item.thumbnail_ready,
        "width": item.width,
        "height": item.height,
        "contentType": item.content_type,
        "caption": item.caption,
        "uploadedBy": item.uploaded_by,
        "createdAt": iso_utc(item.created_at),
    }
    if staff:
        view.update(hidden=item.hidden, sizeBytes=item.size_bytes, uploaderKind=item.uploader_kind)
    return view


def _event(event_id: str) -> Event:
    return get_scoped(Event, current_org(), event_id, "event")


def _guest_token() -> str | None:
    return request.headers.get("X-Guest-Token") or request.args.get("token")


def _page(query, args: dict, *, staff: bool = False) -> dict:
    page = paginate_cursor(query, _KEYS, args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
    return page_body(page, lambda item: media_view(item, staff=staff))


def _read_upload(settings: service.MediaSettings) -> tuple[FileStorage, str]:
    """The multipart `file` and `caption`, refusing a body over the tenant's limit before reading it."""
    limit = settings.max_upload_bytes + MULTIPART_OVERHEAD
    too_large = service.FileTooLarge(f"Photos can be at most {settings.max_upload_bytes:,} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    request.max_content_length = limit
    try:
        upload, caption = request.files.get("file"), request.form.get("caption", "")
    except RequestEntityTooLarge as exc:
        raise too_large from exc
    if upload is None:
        raise Unprocessable("Send the photo as the multipart/form-data field `file`.", type="file_required",
                            errors={"file": ["Missing data for required field."]})
    if len(caption) > MAX_CAPTION:
        raise Unprocessable(f"A caption is at most {MAX_CAPTION} characters.", type="validation_error",
                            errors={"caption": [f"Longer than maximum length {MAX_CAPTION}."]})
    return upload, caption


def _upload_as(event: Event, uploader: service.Uploader) -> dict:
    org = current_org()
    settings = service.media_settings(org)
    upload, caption = _read_upload(settings)
    item = service.upload(org, event, uploader, upload.stream, caption, settings=settings)
    return {"data": media_view(item)}


@blp.route("/client/events/<event_id>/media")
class Gallery(MethodView):
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, MediaList)
    def get(self, args, event_id):
        """The event's visible photos, newest first (attendees holding a ticket, and staff)."""
        event = _event(event_id)
        service.account_uploader(current_org(), event, current_identity())
        return _page(service.gallery_query(current_org(), event), args)


@blp.route("/client/events/<event_id>/media/upload")
class Upload(MethodView):
    @blp.doc(**_UPLOAD_DOC)
    @blp.response(201, MediaEnvelope)
    def post(self, event_id):
        """Upload a photo (customer holding a live ticket, or staff); EXIF/GPS is stripped."""
        event = _event(event_id)
        return _upload_as(event, service.account_uploader(current_org(), event, current_identity()))


@blp.route("/client/events/<event_id>/media/guest/<guest_id>")
@throttled(blp, GUEST_TOKEN)
class GuestGallery(MethodView):
    @blp.doc(**_GUEST_TOKEN_DOC)
    @blp.arguments(CursorPageQuery, location="query", unknown="exclude")
    @blp.response(200, MediaList)
    def get(self, args, event_id, guest_id):
        """The visible photos this invited guest uploaded (needs the guest's token)."""
        event = _event(event_id)
        uploader = service.guest_uploader(current_org(), event, guest_id, _guest_token())
        return _page(service.gallery_query(current_org(), event, guest_id=uploader.guest_id), args)


@blp.route("/client/events/<event_id>/media/upload/<guest_id>")
@throttled(blp, GUEST_TOKEN)
class GuestUpload(MethodView):
    @blp.doc(**_UPLOAD_DOC, **_GUEST_TOKEN_DOC)
    @blp.response(201, MediaEnvelope)
    def post(self, event_id, guest_id):
        """Upload a photo as an invited guest without an account (token as `?token=` or `X-Guest-Token`)."""
        event = _event(event_id)
        return _upload_as(event, service.guest_uploader(current_org(), event, guest_id, _guest_token()))


@blp.route("/events/<event_id>/media")
class StaffGallery(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, MediaList)
    def get(self, args, event_id):
        """Every photo of the event, hidden ones included, newest first (staff)."""
        return _page(service.gallery_query(current_org(), _event(event_id), include_hidden=True), args,
                     staff=True)


@blp.route("/events/<event_id>/media/guests")
class GuestInvites(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.arguments(GuestInput)
    @blp.response(201, GuestInvite)
    def post(self, data, event_id):
        """Invite a guest without an account to upload; the token is in this response only."""
        event = _event(event_id)
        expires_at = to_utc_naive(data["expiresAt"]) if data.get("expiresAt") else None
        if expires_at is not None and expires_at <= utcnow():
            raise Unprocessable("expiresAt must be in the future.", type="validation_error",
                                errors={"json": {"expiresAt": ["Must be in the future."]}})
        guest, token = service.create_guest(current_org(), event, name=data["name"], email=data["email"],
                                            expires_at=expires_at, created_by=current_identity().email)
        return {"guestId": guest.id, "token": token, "name": guest.name, "email": guest.email,
                "expiresAt": iso_utc(guest.expires_at),
                "uploadUrl": url_for("media.GuestUpload", event_id=event.id, guest_id=guest.id),
                "galleryUrl": url_for("media.GuestGallery", event_id=event.id, guest_id=guest.id)}


@blp.route("/events/<event_id>/media/guests/<guest_id>")
class GuestInviteItem(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, event_id, guest_id):
        """Revoke a guest's invite: their token stops working at once (their photos stay)."""
        service.revoke_guest(current_org(), _event(event_id), guest_id)


@blp.route("/events/<event_id>/media/<media_id>")
class StaffMediaItem(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, event_id, media_id):
        """Delete a photo and its files; its bytes go back to the tenant's quota."""
        service.delete_item(current_org(), _event(event_id), media_id)


@blp.route("/events/<event_id>/media/<media_id>/<any(hide, unhide):action>")
class MediaVisibility(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.response(200, MediaEnvelope)
    def post(self, event_id, media_id, action):
        """`hide` a photo from the gallery (and its file from non-staff), or `unhide` it; repeating is harmless."""
        item = service.set_hidden(current_org(), _event(event_id), media_id, action == "hide")
        return {"data": media_view(item, staff=True)}


def _binary(description: str, *content_types: str) -> dict:
    """An OpenAPI response of raw image bytes."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"description": description, "content": {ct: binary for ct in content_types}}


def _send(media_id: str, thumbnail: bool, org=None, *, staff: bool | None = None):
    identity = current_identity()
    staff = bool(identity and identity.is_staff) if staff is None else staff
    handle, content_type, item = service.open_file(org or current_org(), media_id, thumbnail=thumbnail,
                                                   staff=staff)
    response = send_file(handle, mimetype=content_type, conditional=True, etag=f"{item.id}-{int(thumbnail)}",
                         max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/media/files/<media_id>")
class MediaFile(MethodView):
    @blp.doc(responses={"200": _binary("The metadata-free photo.", "image/jpeg", "image/png", "image/webp")})
    def get(self, media_id):
        """A photo's file; its unguessable id is the key (hidden photos: staff only)."""
        return _send(media_id, thumbnail=False)


@blp.route("/media/files/<media_id>/thumb")
class MediaThumb(MethodView):
    @blp.doc(responses={"200": _binary("The JPEG thumbnail.", "image/jpeg")})
    def get(self, media_id):
        """A photo's JPEG thumbnail (at most 400 px); 404 `thumbnail_not_ready` until the job made it."""
        return _send(media_id, thumbnail=True)



def _public_org(org_id: str, media_id: str):
    """The tenant named in a file URL, if it is active and uses the media plugin (else 404, as for a photo
    that does not exist)."""
    org = load_org(org_id) if len(org_id) <= 64 else None
    if org is None or not get_host().is_enabled(org.id, "media"):
        raise service.media_not_found(media_id)
    return org


@files_blp.route("/media/o/<org_id>/<media_id>")
class PublicMediaFile(MethodView):
    @files_blp.doc(responses={"200": _binary("The metadata-free photo.", "image/jpeg", "image/png", "image/webp")})
    def get(self, org_id, media_id):
        """A visible photo's file with no header needed (the gallery's `url`); hidden photos are 404 here."""
        return _send(media_id, thumbnail=False, org=_public_org(org_id, media_id), staff=False)


@files_blp.route("/media/o/<org_id>/<media_id>/thumb")
class PublicMediaThumb(MethodView):
    @files_blp.doc(responses={"200": _binary("The JPEG thumbnail.", "image/jpeg")})
    def get(self, org_id, media_id):
        """A visible photo's thumbnail with no header needed (the gallery's `thumbnailUrl`)."""
        return _send(media_id, thumbnail=True, org=_public_org(org_id, media_id), staff=False)
