"""The API shape of an event list (003 "Event lists"): its input (JSON or multipart with `list[...]` keys), its
JSON view with the `setting` and `permanent_list` includes, image URLs and renditions.

Parses and renders already-loaded rows only; never queries and never writes.
"""

from __future__ import annotations

from marshmallow import fields, pre_load, validate

from core.api_schema import Schema
from core.models import EventList, PermanentList
from core.services.event_lists import MAX_DESCRIPTION, MAX_NAME, RENDITIONS, page_links
from core.timefmt import iso_utc

INCLUDES = ("permanent_list", "setting")
IMAGE_FIELD = "list[image]"
_IMAGE_JSON = ("A list image is uploaded as the multipart/form-data field `list[image]` (JPEG or non-interlaced "
               "PNG); in JSON only `null` is accepted, which removes the image.")


# --- input ---------------------------------------------------------------------------------------------

class ListBody(Schema):
    """003 list fields, bare or wrapped as `{"list": {...}}` (multipart: `list[name]`, `list[description]`...)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME))
    description = fields.String(allow_none=True, validate=validate.Length(max=MAX_DESCRIPTION), metadata={
        "description": "Rich text (HTML): p, br, strong, b, em, i, u, s, ul, ol, li, a (href only), h3, h4 and "
                       "blockquote are kept; every other tag, attribute and script is removed."})
    permanent_list_id = fields.String(allow_none=True, validate=validate.Length(max=64), metadata={
        "description": "A permanent list of the organisation this list belongs to (null: none)."})
    image = fields.Raw(allow_none=True, validate=validate.Equal(None, error=_IMAGE_JSON),
                       metadata={"description": _IMAGE_JSON})

    @pre_load
    def _unwrap(self, data, **kwargs):
        if isinstance(data, dict) and set(data) == {"list"} and isinstance(data["list"], dict):
            return data["list"]
        return data


class ListPatch(ListBody):
    """Any subset of the list fields ("pass only what's changed")."""

    name = fields.String(validate=validate.Length(min=1, max=MAX_NAME))


class PermanentListBody(Schema):
    """A permanent list: a name and a rich-text description."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME))
    description = fields.String(allow_none=True, validate=validate.Length(max=MAX_DESCRIPTION),
                                metadata={"description": "Rich text, sanitised like a list's."})


class PermanentListPatch(PermanentListBody):
    """Any subset of the permanent list fields."""

    name = fields.String(validate=validate.Length(min=1, max=MAX_NAME))


def multipart_doc(required: bool) -> dict:
    """The OpenAPI `multipart/form-data` body of a list create (`required`) or update."""
    text = {"type": "string"}
    schema = {"type": "object", "properties": {
        "list[name]": {**text, "minLength": 1, "maxLength": MAX_NAME},
        "list[description]": {**text, "maxLength": MAX_DESCRIPTION},
        "list[permanent_list_id]": {**text, "maxLength": 64, "description": "Empty: none."},
        IMAGE_FIELD: {"type": "string", "format": "binary", "description": "JPEG or non-interlaced PNG."}}}
    return {"schema": {**schema, "required": ["list[name]"]} if required else schema}


# --- output --------------------------------------------------------------------------------------------

def image_url(row: EventList, rendition: str | None = None) -> str:
    """The header-free URL of a list's image (or one rendition), fit for `<img src>`."""
    url = f"/lists/o/{row.org_id}/{row.id}/image"
    return f"{url}?rendition={rendition}" if rendition else url


def image_view(row: EventList, renditions: set[str] | None = None) -> dict | None:
    """A list's image: URL, type, pixel size and its renditions (`renditions`: only these; None: all)."""
    record = row.image
    if not record:
        return None
    made = record.get("renditions") or {}
    return {"url": image_url(row), "content_type": record["content_type"], "width": record["width"],
            "height": record["height"],
            "renditions": {name: {"url": image_url(row, name), "width": made[name]["width"],
                                  "height": made[name]["height"]}
                           for name in RENDITIONS if name in made and (renditions is None or name in renditions)}}


def permanent_list_view(row: PermanentList) -> dict:
    """The JSON form of a permanent list."""
    return {"id": row.id, "name": row.name, "description": row.description,
            "created_at": iso_utc(row.created_at), "updated_at": iso_utc(row.updated_at)}


def list_view(row: EventList, include: set[str] | frozenset = frozenset(), *, renditions: set[str] | None = None,
              permanent_lists: dict | None = None) -> dict:
    """The JSON form of an event list; `include` adds `setting` (description and image) and `permanent_list`
    (from `permanent_lists`, preloaded for the page). `links` are the attendee pages of the list's event
    (`core.services.event_lists.page_links`; the row's event should be loaded with it, else it is read)."""
    view = {"id": row.id, "event_id": row.event_id, "name": row.name, "default": row.is_default,
            "permanent_list_id": row.permanent_list_id,
            "links": page_links(row.org_id, row.event.slug, row.id),
            "created_at": iso_utc(row.created_at), "updated_at": iso_utc(row.updated_at)}
    if "setting" in include:
        view["setting"] = {"description": row.description, "image": image_view(row, renditions)}
    if "permanent_list" in include:
        found = (permanent_lists or {}).get(row.permanent_list_id)
        view["permanent_list"] = permanent_list_view(found) if found else None
    return view


class RenditionView(Schema):
    """One rendition of a list image (JPEG)."""

    url = fields.String()
    width = fields.Integer()
    height = fields.Integer()


class ImageView(Schema):
    """A list image: the cleaned original and its renditions."""

    url = fields.String()
    content_type = fields.String(metadata={"enum": ["image/jpeg", "image/png"]})
    width = fields.Integer()
    height = fields.Integer()
    renditions = fields.Dict(keys=fields.String(metadata={"enum": list(RENDITIONS)}),
                             values=fields.Nested(RenditionView),
                             metadata={"description": "thumb (200 px), small (400), medium (800), large (1600): "
                                                      "the longer side at most, never enlarged."})


class ListSettingView(Schema):
    """003's list setting: the description and the image."""

    description = fields.String()
    image = fields.Nested(ImageView, allow_none=True)


class ListLinksView(Schema):
    """The attendee pages of the list's event under `BOXOFFICE_PUBLIC_URL`."""

    event_page = fields.String(metadata={"description": "`<public_url>/e/<org>/<event-slug>`"})
    order_page = fields.String(metadata={"description": "`<public_url>/e/<org>/<event-slug>/checkout?list=<list id>`"})


class PermanentListView(Schema):
    """A permanent list (tenant-wide, reused across events)."""

    id = fields.String()
    name = fields.String()
    description = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


class EventListView(Schema):
    """An event list (003)."""

    id = fields.String()
    event_id = fields.String()
    name = fields.String()
    default = fields.Boolean(metadata={"description": "The list made with the event (cannot be deleted)."})
    permanent_list_id = fields.String(allow_none=True)
    links = fields.Nested(ListLinksView)
    created_at = fields.String()
    updated_at = fields.String()
    setting = fields.Nested(ListSettingView, metadata={"description": "With `include=setting`."})
    permanent_list = fields.Nested(PermanentListView, allow_none=True,
                                   metadata={"description": "With `include=permanent_list`."})
