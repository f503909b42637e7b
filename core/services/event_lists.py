"""Event lists (003): each event's guest lists with a sanitised rich-text description and an image, the default
list made with every event, permanent lists, and which list a ticket type or ticket is on.

Knows nothing of HTTP. Never stores a description it did not sanitise, never keeps an image it did not re-encode
through the image kit, and never deletes a default list or a list that ticket types or tickets are on.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode, urlsplit

import nh3
from peewee import fn

from core.config import current_config
from core.db import after_commit, write_transaction
from core.errors import ApiError, Conflict, NotFound, Unprocessable
from core.kits import images
from core.kits.storage import MediaStorage, storage_for
from core.models import Event, EventList, Org, PermanentList, Ticket, TicketType, new_id, utcnow
from core.models.public_id import fill_public_ids
from core.pagination import SortKey, paginate_cursor
from core.tenancy import get_scoped, scoped, tenant_hostname

# Rich text: these tags survive, every attribute is dropped except a link's href (http, https, mailto), and
# <script>/<style> go with their content.
ALLOWED_TAGS = frozenset({"p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "a", "h3", "h4",
                          "blockquote"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_DESCRIPTION = 20000
MAX_NAME = 200
# Image renditions made at upload (JPEG, at most this many pixels on the longer side, never enlarged).
RENDITIONS = {"thumb": 200, "small": 400, "medium": 800, "large": 1600}
IMAGE_FORMATS = ("JPEG", "PNG")
MAX_IMAGE_BYTES = 10 * 1024 * 1024
BACKFILL_BATCH = 500
INSERT_CHUNK = 500
LIST_FIELDS = ("name", "description", "permanent_list_id")


class ImageTooLarge(ApiError):
    """413: the list image is over `MAX_IMAGE_BYTES`."""

    status, type = 413, "file_too_large"


# --- rich text -----------------------------------------------------------------------------------------

def sanitize_description(text: str | None) -> str:
    """The description as safe HTML: `ALLOWED_TAGS` only, no attributes but a link's href, no scripts."""
    if not text:
        return ""
    return nh3.clean(str(text), tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer").strip()


def description_text(description: str | None) -> str:
    """A sanitised description as plain text (for the PDF ticket): tags removed, entities decoded."""
    if not description:
        return ""
    spaced = description.replace("<br>", "\n").replace("</p>", "</p>\n").replace("</li>", "</li>\n")
    text = html.unescape(nh3.clean(spaced, tags=set()))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# --- default lists -------------------------------------------------------------------------------------

def add_default_lists(org_id: str, events: Iterable) -> None:
    """Give each of `events` (Event rows or row dicts with `id` and `name`) its default list, in bulk inserts.
    The one place a default list is made: event create, sessions, generated dates, and the migration."""
    now = utcnow()
    rows = []
    for event in events:
        event_id, name = (event["id"], event["name"]) if isinstance(event, dict) else (event.id, event.name)
        rows.append({"id": new_id(), "org": org_id, "event": event_id, "name": name[:MAX_NAME] or "Guest list",
                     "description": "", "is_default": True, "created_at": now, "updated_at": now})
    fill_public_ids(EventList, rows)
    for start in range(0, len(rows), INSERT_CHUNK):
        EventList.insert_many(rows[start:start + INSERT_CHUNK]).execute()


def backfill_default_lists() -> int:
    """Give every event of every tenant that has no default list one, `BACKFILL_BATCH` events at a time (for
    the migration); returns how many were made."""
    made = 0
    while True:
        has_default = EventList.select(EventList.id).where((EventList.event == Event.id) & EventList.is_default)
        batch = list(Event.select(Event.id, Event.org, Event.name).where(~fn.EXISTS(has_default))
                     .order_by(Event.id).limit(BACKFILL_BATCH))
        if not batch:
            return made
        by_org: dict[str, list] = {}
        for event in batch:
            by_org.setdefault(event.org_id, []).append(event)
        for org_id, events in by_org.items():
            add_default_lists(org_id, events)
        made += len(batch)


def default_lists_for(org: Org | str, event_ids: list[str]) -> dict[str, EventList]:
    """event id -> its default list, for a page of events (one query)."""
    if not event_ids:
        return {}
    rows = scoped(EventList, org).where(EventList.event.in_(list(event_ids)) & EventList.is_default)
    return {row.event_id: row for row in rows}


# --- attendee page links -------------------------------------------------------------------------------

EVENT_PAGE_PATH = "/e/{org}/{slug}"
TENANT_HOST_PAGE_PATH = "/e/{slug}"  # on the tenant's own hostname the org segment is dropped
CHECKOUT_SUFFIX = "/checkout"
ACCOUNT_PAGE_PATH = "/e/{org}/account/{page}"
ACCOUNT_PAGES = ("reset", "verify", "email")  # password reset, e-mail verification, e-mail change


CLAIM_PAGE = "claim"          # `<pages root>/claim?token=...`: where a transfer recipient claims a ticket
TICKET_PAGES = "tickets"      # `<pages root>/tickets/<token>`: one ticket's page (`ticket_links.ticket_page_url`)


def pages_root(org_id: str) -> str:
    """The absolute root of the tenant's attendee pages, without a trailing slash: `https://<hostname>/e` on
    its own hostname when it has one (`core.tenancy.tenant_hostname`; the scheme of `BOXOFFICE_PUBLIC_URL`),
    else `<public_url>/e/<org>`."""
    public_url = current_config().public_url.rstrip("/")
    hostname = tenant_hostname(org_id)
    if hostname:
        return f"{urlsplit(public_url).scheme or 'https'}://{hostname}" + TENANT_HOST_PAGE_PATH.format(slug="")[:-1]
    return public_url + EVENT_PAGE_PATH.format(org=quote(org_id, safe=""), slug="")[:-1]


def claim_page_url(org_id: str, token: str) -> str:
    """The page a transfer recipient opens to claim the ticket: `<pages root>/claim?token=<token>`."""
    return f"{pages_root(org_id)}/{CLAIM_PAGE}?{urlencode({'token': token})}"


def page_links(org_id: str, event_slug: str, list_id: str | None = None) -> dict[str, str]:
    """The attendee pages of an event (and of one of its lists): `event_page` is `<pages root>/<slug>`
    (`pages_root`: `https://<hostname>/e/<slug>` on the tenant's own hostname, else
    `<public_url>/e/<org>/<event-slug>`); `order_page` is `<event_page>/checkout` with `?list=<list id>` for a
    list. The one place these URLs are made; the attendee pages serve them."""
    event_page = f"{pages_root(org_id)}/{quote(event_slug, safe='')}"
    order = event_page + CHECKOUT_SUFFIX
    return {"event_page": event_page,
            "order_page": f"{order}?{urlencode({'list': list_id})}" if list_id else order}


def account_page_link(org_id: str, page: str, token: str) -> str:
    """The attendee page a customer's e-mailed link opens: `<public_url>/e/<org>/account/<page>?token=<token>`,
    `page` one of `ACCOUNT_PAGES` (`reset`: choose a new password, `verify`: confirm the e-mail, `email`: confirm
    a new e-mail). The one place these URLs are made, next to the event pages'; the attendee pages serve them and
    post the token to the `/client/auth/...` routes. Always under `BOXOFFICE_PUBLIC_URL` (the org segment names
    the tenant), also for a tenant with its own hostname."""
    if page not in ACCOUNT_PAGES:
        raise ValueError(f"unknown account page {page!r}; one of {', '.join(ACCOUNT_PAGES)}")
    path = ACCOUNT_PAGE_PATH.format(org=quote(org_id, safe=""), page=page)
    return f"{current_config().public_url.rstrip('/')}{path}?{urlencode({'token': token})}"


# --- reading -------------------------------------------------------------------------------------------

@dataclass
class ListFilters:
    """`filter[...]` of the list listing; None means not filtered."""

    permanent_list_id: str | None = None


def list_sort_keys(descending: bool | None) -> list[SortKey]:
    """Keyset order of an event's lists: by name (`sort[name]`) or, by default, creation order (the default
    list, made with the event, comes first); always ending with the id."""
    if descending is None:
        return [SortKey("created_at", EventList.created_at, "datetime"), SortKey("id", EventList.id)]
    return [SortKey("name", EventList.name, "str", descending), SortKey("id", EventList.id, "str", descending)]


def sells_on_list(ticket_type: TicketType, event_list: EventList) -> bool:
    """True when the ticket type's tickets go on `event_list`: the list it names, or the event's default list
    when it names none (the rule 003's `order_page?list=` checkout follows)."""
    if ticket_type.event_id != event_list.event_id:
        return False
    return ticket_type.list_id == event_list.id if ticket_type.list_id else event_list.is_default


def get_event_list(org: Org, event_id: str, list_id: str) -> EventList:
    """A list of the tenant's event, or 404 (`event_not_found`, `list_not_found`: also for another event's or
    another tenant's list)."""
    event = get_scoped(Event, org, event_id, "event")
    found = get_scoped(EventList, org, list_id, "list")
    if found.event_id != event.id:
        raise NotFound(f"No list with id {list_id!r}.", type="list_not_found")
    found.event = event  # its view's links need the event's slug
    return found


def list_page(org: Org, event_id: str, filters: ListFilters, sort_desc: bool | None, size: int,
              cursor: str | None):
    """A cursor page of the event's lists, filtered by permanent list, by name (`sort_desc` True/False) or in
    the default order (None)."""
    event = get_scoped(Event, org, event_id, "event")
    query = scoped(EventList, org).where(EventList.event == event.id)
    if filters.permanent_list_id is not None:
        query = query.where(EventList.permanent_list == filters.permanent_list_id)
    keys = list_sort_keys(sort_desc)
    page = paginate_cursor(query, keys, size, cursor)
    for row in page.rows:
        row.event = event  # their views' links need the event's slug (read once above)
    return page


def permanent_lists_for(org: Org | str, lists: list[EventList]) -> dict[str, PermanentList]:
    """permanent list id -> row, for the permanent lists a page of lists references (one query)."""
    ids = {row.permanent_list_id for row in lists if row.permanent_list_id}
    if not ids:
        return {}
    return {row.id: row for row in scoped(PermanentList, org).where(PermanentList.id.in_(sorted(ids)))}


# --- writing -------------------------------------------------------------------------------------------

def _invalid(errors: dict) -> Unprocessable:
    return Unprocessable("The list is invalid; see `errors`.", type="invalid_list", errors=errors)


def _values(org: Org, data: dict, *, creating: bool) -> dict:
    """Model values from loaded fields: name checked, description sanitised, permanent list resolved."""
    unknown = sorted(set(data) - set(LIST_FIELDS))
    if unknown:
        raise _invalid({name: ["Unknown field."] for name in unknown})
    values: dict = {}
    if "name" in data or creating:
        name = str(data.get("name") or "").strip()
        if not name:
            raise _invalid({"name": ["Missing data for required field." if creating else "Must not be blank."]})
        values["name"] = name[:MAX_NAME]
    if "description" in data:
        values["description"] = sanitize_description(data["description"])
        if len(values["description"]) > MAX_DESCRIPTION:
            raise _invalid({"description": [f"At most {MAX_DESCRIPTION} characters once sanitised."]})
    if "permanent_list_id" in data:
        values["permanent_list"] = _permanent_list_or_422(org, data["permanent_list_id"])
    return values


def _permanent_list_or_422(org: Org, permanent_list_id) -> str | None:
    if permanent_list_id is None:
        return None
    found = scoped(PermanentList, org, PermanentList.id).where(
        PermanentList.id == str(permanent_list_id)[:64]).first()
    if found is None:
        raise Unprocessable(f"No permanent list with id {permanent_list_id!r} in this organisation.",
                            type="permanent_list_not_found",
                            errors={"permanent_list_id": ["No such permanent list."]})
    return found.id


def create_list(org: Org, event_id: str, data: dict, image: BinaryIO | None = None) -> EventList:
    """A new (non-default) list on the tenant's event, with its image when one is uploaded."""
    event = get_scoped(Event, org, event_id, "event")
    values = _values(org, data, creating=True)
    row = EventList(org=org, event=event, is_default=False, **values)
    return _save_with_image(org, row, image, insert=True)


def update_list(org: Org, event_id: str, list_id: str, data: dict, image: BinaryIO | None = None,
                remove_image: bool = False) -> EventList:
    """Change the fields sent; a new image replaces the old one (whose files go once the change commits),
    `remove_image` drops it."""
    row = get_event_list(org, event_id, list_id)
    for name, value in _values(org, data, creating=False).items():
        setattr(row, name, value)
    old_image = row.image
    if remove_image:
        row.image = None
    saved = _save_with_image(org, row, image, insert=False)
    if old_image and saved.image != old_image:
        _delete_files_after_commit(org.id, [old_image])
    return saved


def delete_list(org: Org, event_id: str, list_id: str) -> None:
    """Delete a list that is not the default and has no ticket type or ticket on it; else 409."""
    row = get_event_list(org, event_id, list_id)
    if row.is_default:
        raise Conflict("The default list of an event cannot be deleted.", type="default_list")
    types_on_it = TicketType.select(TicketType.id).where((TicketType.org == org.id) & (TicketType.list_id == row.id))
    tickets_on_it = Ticket.select(Ticket.id).where((Ticket.org == org.id) & (Ticket.list_id == row.id))
    with write_transaction():
        # One statement decides: a ticket type put on the list meanwhile keeps it.
        deleted = EventList.delete().where((EventList.id == row.id) & (EventList.org == org.id)
                                           & ~fn.EXISTS(types_on_it) & ~fn.EXISTS(tickets_on_it)).execute()
        if not deleted:
            raise Conflict("Ticket types or tickets are on this list; move them to another list first.",
                           type="list_in_use")
        if row.image:
            _delete_files_after_commit(org.id, [row.image])


# --- images --------------------------------------------------------------------------------------------

def list_storage(org_id: str) -> MediaStorage:
    """Where list images are kept: the deployment's default local storage, `<data_dir>/media/<org>/lists/`."""
    return storage_for(org_id, {}, Path(current_config().data_path))


def _image_keys(image: dict) -> list[str]:
    return [image["key"], *(r["key"] for r in (image.get("renditions") or {}).values())]


def delete_files_after_commit(org_id: str, keys: list[str]) -> None:
    """Delete `keys` from the tenant's default media storage (`list_storage`) once the current write
    transaction commits (at once outside one); nothing is deleted if it rolls back."""
    def remove() -> None:
        storage = list_storage(org_id)
        for key in keys:
            storage.delete(key)

    if keys:
        after_commit(remove)


def _delete_files_after_commit(org_id: str, image_records: list[dict]) -> None:
    delete_files_after_commit(org_id, [key for record in image_records for key in _image_keys(record)])


def stream_size(stream: BinaryIO) -> int:
    """The number of bytes in a seekable upload stream (its position is left at the start)."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def refuse_oversized(stream: BinaryIO, limit: int, what: str, field: str) -> None:
    """413 `file_too_large` naming `field` when the upload `stream` holds more than `limit` bytes."""
    if stream_size(stream) > limit:
        raise ImageTooLarge(f"{what} can be at most {limit:,} bytes.", errors={field: [f"max {limit} bytes"]})


def _save_with_image(org: Org, row: EventList, image: BinaryIO | None, *, insert: bool) -> EventList:
    """Save `row`; with an upload: check and clean it (JPEG or non-interlaced PNG), make the renditions in
    staging, commit the row, then move the files into place (none are left behind on any failure)."""
    if image is None:
        with write_transaction():
            row.save(force_insert=insert)
        return row
    refuse_oversized(image, MAX_IMAGE_BYTES, "A list image", "image")
    storage = list_storage(org.id)
    image_id = new_id()
    base = f"lists/{row.id}/{image_id}"
    staged_files: list[tuple[Path, str]] = []
    with storage.staging() as original:
        clean = images.sanitize(image, original, formats=IMAGE_FORMATS, allow_interlaced=False)
        record = {"key": f"{base}.{clean.extension}", "content_type": clean.content_type,
                  "width": clean.width, "height": clean.height, "renditions": {}}
        try:
            for name, max_px in RENDITIONS.items():
                staged = stage_rendition(storage, original,
                                         functools.partial(images.make_thumbnail, max_px=max_px))
                key = f"{base}.{name}.jpg"
                staged_files.append((staged[0], key))
                record["renditions"][name] = {"key": key, "width": staged[1], "height": staged[2]}
            row.image = record
            with write_transaction():
                row.save(force_insert=insert)
            storage.promote(original, record["key"])
            for path, key in staged_files:
                storage.promote(path, key)
        finally:
            for path, _key in staged_files:
                path.unlink(missing_ok=True)
    return row


def stage_rendition(storage: MediaStorage, original: Path,
                    render: Callable[[BinaryIO, BinaryIO], tuple[int, int]]) -> tuple[Path, int, int]:
    """A rendition of the staged original, `render(source, target)` (an image kit function returning the
    pixel size), written to a staged file of its own that the caller promotes or removes."""
    with storage.staging() as staged:
        with original.open("rb") as source, staged.open("wb") as target:
            width, height = render(source, target)
        kept = staged.with_name(staged.name + ".keep")
        staged.rename(kept)
    return kept, width, height


def open_image(org_id: str, list_id: str, rendition: str | None) -> tuple[BinaryIO, str, str]:
    """The bytes of a list's image (or one of its `RENDITIONS`), their content type and storage key (which
    changes with the image); 404 `image_not_found` when the list (of this tenant) has no image."""
    row = None
    if isinstance(list_id, str) and len(list_id) <= 64:
        row = scoped(EventList, org_id).where(EventList.id == list_id).first()
    record = row.image if row is not None else None
    if rendition is not None and record is not None:
        record = (record.get("renditions") or {}).get(rendition)
        content_type = "image/jpeg"
    else:
        content_type = record["content_type"] if record else ""
    if not record:
        raise NotFound(f"No image for list {list_id!r}.", type="image_not_found")
    try:
        return list_storage(org_id).open(record["key"]), content_type, record["key"]
    except FileNotFoundError as exc:
        raise NotFound(f"No image for list {list_id!r}.", type="image_not_found") from exc


def forget_events(org: Org, event_ids: list[str]) -> None:
    """Inside the transaction that deletes `event_ids`: their lists' image files go once it commits (the rows
    go with the events)."""
    records = [row.image for row in scoped(EventList, org, EventList.image).where(
        EventList.event.in_(event_ids) & EventList.image.is_null(False))]
    if records:
        _delete_files_after_commit(org.id, records)


# --- permanent lists -----------------------------------------------------------------------------------

def get_permanent_list(org: Org, permanent_list_id: str) -> PermanentList:
    """The tenant's permanent list, or 404 `permanent_list_not_found`."""
    return get_scoped(PermanentList, org, permanent_list_id, "permanent_list")


def permanent_list_query(org: Org):
    """The tenant's permanent lists (for a page)."""
    return scoped(PermanentList, org)


def save_permanent_list(org: Org, data: dict, permanent_list_id: str | None = None) -> PermanentList:
    """Create a permanent list (no id) or change the fields sent of one; the description is sanitised."""
    row = get_permanent_list(org, permanent_list_id) if permanent_list_id else PermanentList(org=org)
    values = _values(org, {k: v for k, v in data.items() if k in ("name", "description")},
                     creating=permanent_list_id is None)
    for name, value in values.items():
        setattr(row, name, value)
    with write_transaction():
        row.save(force_insert=permanent_list_id is None)
    return row


def delete_permanent_list(org: Org, permanent_list_id: str) -> None:
    """Delete a permanent list no event list references; else 409 `permanent_list_in_use`."""
    row = get_permanent_list(org, permanent_list_id)
    if scoped(EventList, org, EventList.id).where(EventList.permanent_list == row.id).exists():
        raise Conflict("Event lists reference this permanent list; point them elsewhere first.",
                       type="permanent_list_in_use")
    with write_transaction():
        row.delete_instance()


# --- which list a ticket type or ticket is on ----------------------------------------------------------

def check_list_for(org: Org | str, event: Event, list_id) -> str | None:
    """The list id a ticket type of `event` may be put on: a list of that event or of its parent event (None:
    the event's default list); 422 otherwise, naming `list_id` (another tenant's list is unknown)."""
    if list_id is None:
        return None
    found = None
    if isinstance(list_id, str) and len(list_id) <= 64:
        found = scoped(EventList, org, EventList.id, EventList.event).where(EventList.id == list_id).first()
    if found is None:
        raise Unprocessable(f"No list with id {list_id!r} in this organisation.", type="list_not_found",
                            errors={"list_id": ["No such list."]})
    if found.event_id not in (event.id, event.parent_event_id):
        raise Unprocessable("The list belongs to another event; use one of this event's lists.",
                            type="list_of_another_event", errors={"list_id": ["A list of another event."]})
    return found.id


def effective_lists(org: Org | str, tickets: list[Ticket]) -> dict[str, EventList]:
    """ticket id -> the list it is on: the one staff moved it to, else its ticket type's, else its event's
    default list (two queries for any number of tickets)."""
    chosen = {t.id: (t.list_id or t.ticket_type.list_id) for t in tickets}
    explicit = {lid for lid in chosen.values() if lid}
    rows = {r.id: r for r in scoped(EventList, org).where(EventList.id.in_(sorted(explicit)))} if explicit else {}
    defaults = default_lists_for(org, sorted({t.event_id for t in tickets if not chosen[t.id]}))
    found = {t.id: rows.get(chosen[t.id]) if chosen[t.id] else defaults.get(t.event_id) for t in tickets}
    return {ticket_id: row for ticket_id, row in found.items() if row is not None}


def move_ticket(org: Org, ticket: Ticket, list_id: str | None) -> Ticket:
    """Put a ticket on another list of its event (or its parent event's); None puts it back on its type's."""
    event = get_scoped(Event, org, ticket.event_id, "event")
    try:
        chosen = check_list_for(org, event, list_id)
    except Unprocessable as exc:
        exc.errors = {"listId": exc.errors["list_id"]}
        raise
    with write_transaction():
        Ticket.update(list_id=chosen, updated_at=utcnow()).where(
            (Ticket.id == ticket.id) & (Ticket.org == org.id)).execute()
    ticket.list_id = chosen
    return ticket

