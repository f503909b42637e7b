"""Gallery rules: who may upload or view, guest invite tokens, the storage quota, upload, hide, delete.

Knows nothing of Flask. Never leaves a file without its row or a row without its file: uploads are staged,
checked, committed, and only then moved into place; on any failure the staged file is removed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core import outbox
from core.db import after_commit, write_transaction
from core.errors import ApiError, Conflict, Forbidden, NotFound, Unauthorized
from core.jobs import job
from core.kits import images
from core.kits.links import new_link_token, token_matches
from core.kits.storage import MediaStorage, storage_for
from core.models import Customer, Event, Org, Ticket, new_id, utcnow
from core.plugins import plugin_settings
from core.tenancy import get_scoped, scoped
from plugins.media.models import MediaGuest, MediaItem, MediaUsage

log = logging.getLogger(__name__)

PLUGIN = "media"
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_QUOTA_BYTES = 1024 ** 3
LIVE_TICKET_STATES = ("valid", "checked_in")

_data_path = Path("instance").resolve()


def set_data_path(path: Path) -> None:
    """Where the default local storage keeps tenants' folders (``<data_dir>``); set once at start-up."""
    global _data_path
    _data_path = Path(path)


class FileTooLarge(ApiError):
    """413: the upload is over the tenant's `max_upload_bytes`."""

    status, type = 413, "file_too_large"


@dataclass(frozen=True)
class MediaSettings:
    """A tenant's media settings with defaults applied (raw values stay in `raw` for the storage backend)."""

    max_upload_bytes: int
    quota_bytes: int
    raw: dict


@dataclass(frozen=True)
class Uploader:
    """Who adds or views photos: staff, a customer holding a live ticket, or a token-invited guest."""

    kind: str
    name: str
    customer_id: str | None = None
    guest_id: str | None = None


def _positive_int(settings: dict, key: str, default: int) -> int:
    try:
        value = int(settings.get(key, default))
    except (TypeError, ValueError):
        log.warning("media setting %s=%r is not an integer; using %d", key, settings.get(key), default)
        return default
    return value if value > 0 else default


def media_settings(org: Org | str) -> MediaSettings:
    """The tenant's `max_upload_bytes` (default 10 MB), `quota_bytes` (default 1 GB) and storage settings."""
    raw = plugin_settings(org, PLUGIN)
    return MediaSettings(max_upload_bytes=_positive_int(raw, "max_upload_bytes", DEFAULT_MAX_UPLOAD_BYTES),
                         quota_bytes=_positive_int(raw, "quota_bytes", DEFAULT_QUOTA_BYTES), raw=raw)


def tenant_storage(org: Org | str, settings: MediaSettings | None = None) -> MediaStorage:
    """The storage backend configured for the tenant (`storage`, default local folder)."""
    org_id = org if isinstance(org, str) else org.id
    settings = settings or media_settings(org_id)
    return storage_for(org_id, settings.raw, _data_path)


# --- who may take part ----------------------------------------------------------------------------

def account_uploader(org: Org, event: Event, identity) -> Uploader:
    """Staff, or a customer holding a live ticket (valid or checked in) for `event`; else 401/403."""
    if identity is None:
        raise Unauthorized("Log in (customer or staff token), or use a guest invite link.",
                           type="authentication_required")
    if identity.is_staff:
        return Uploader(kind="staff", name=identity.email or "Staff")
    has_ticket = scoped(Ticket, org).where((Ticket.event == event.id) & (Ticket.customer == identity.sub)
                                           & Ticket.status.in_(LIVE_TICKET_STATES)).exists()
    if not has_ticket:
        raise Forbidden("Only attendees holding a ticket for this event can use its gallery.",
                        type="ticket_required")
    customer = scoped(Customer, org).where(Customer.id == identity.sub).first()
    return Uploader(kind="customer", name=customer.name if customer else "", customer_id=identity.sub)


def create_guest(org: Org, event: Event, *, name: str, email: str = "", expires_at: dt.datetime | None = None,
                 created_by: str = "") -> tuple[MediaGuest, str]:
    """Invite a guest to `event`'s gallery; returns the row and the token (shown once, stored hashed)."""
    token, token_digest = new_link_token()
    with write_transaction():
        guest = MediaGuest.create(org=org, event=event, name=name, email=email or "",
                                  token_hash=token_digest, expires_at=expires_at, created_by=created_by)
    return guest, token


def revoke_guest(org: Org, event: Event, guest_id: str) -> None:
    """End a guest's invite now (their token then gets `guest_token_expired`); 404 for an unknown guest."""
    with write_transaction():
        ended = MediaGuest.update(expires_at=utcnow(), updated_at=utcnow()).where(
            (MediaGuest.org == org.id) & (MediaGuest.event == event.id) & (MediaGuest.id == str(guest_id)[:64])
        ).execute()
    if not ended:
        raise NotFound(f"No guest with id {guest_id!r} for this event.", type="media_guest_not_found")


def guest_uploader(org: Org, event: Event, guest_id: str, token: str | None) -> Uploader:
    """The guest `guest_id` of `event` if `token` is theirs and unexpired; else 401/403 with a clear type.

    An unknown guest and a wrong token get the same answer, so guest ids cannot be probed.
    """
    if not token:
        raise Unauthorized("Send the invite token as `?token=` or the `X-Guest-Token` header.",
                           type="guest_token_required")
    guest = scoped(MediaGuest, org).where((MediaGuest.id == str(guest_id)[:64])
                                          & (MediaGuest.event == event.id)).first()
    if guest is None or not token_matches(guest.token_hash, token):
        raise Forbidden("This invite link is not valid for this gallery.", type="invalid_guest_token")
    if guest.expires_at is not None and guest.expires_at <= utcnow():
        raise Forbidden("This invite link has expired; ask the organiser for a new one.",
                        type="guest_token_expired")
    return Uploader(kind="guest", name=guest.name, guest_id=guest.id)


# --- quota -----------------------------------------------------------------------------------------

def reserve_bytes(org: Org | str, amount: int, quota: int) -> None:
    """Add `amount` to the tenant's usage if it stays within `quota` (one conditional UPDATE), else 409.

    Call inside the write transaction that creates the row the bytes belong to, so a rollback frees them.
    """
    org_id = org if isinstance(org, str) else org.id
    MediaUsage.insert(org=org_id, used_bytes=0).on_conflict_ignore().execute()
    updated = (MediaUsage.update(used_bytes=MediaUsage.used_bytes + amount, updated_at=utcnow())
               .where((MediaUsage.org == org_id) & (MediaUsage.used_bytes + amount <= quota)).execute())
    if updated != 1:
        raise Conflict(f"This organisation's media storage quota ({quota:,} bytes) is full.",
                       type="quota_exceeded")


def release_bytes(org: Org | str, amount: int) -> None:
    """Give `amount` bytes back to the tenant's usage (inside the transaction that deletes their row)."""
    org_id = org if isinstance(org, str) else org.id
    MediaUsage.update(used_bytes=MediaUsage.used_bytes - amount, updated_at=utcnow()).where(
        MediaUsage.org == org_id).execute()


def used_bytes(org: Org | str) -> int:
    """Bytes of originals the tenant stores now."""
    row = scoped(MediaUsage, org).first()
    return row.used_bytes if row else 0


# --- upload ----------------------------------------------------------------------------------------

def stream_size(stream: BinaryIO) -> int:
    """The size of a seekable upload stream, leaving it at the start."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def check_upload_size(size: int, settings: MediaSettings) -> None:
    """413 `file_too_large` when `size` is over the tenant's `max_upload_bytes`."""
    if size > settings.max_upload_bytes:
        raise FileTooLarge(f"Photos can be at most {settings.max_upload_bytes:,} bytes; this one is {size:,}.",
                           errors={"file": [f"max {settings.max_upload_bytes} bytes"]})


def upload(org: Org, event: Event, uploader: Uploader, stream: BinaryIO, caption: str = "",
           settings: MediaSettings | None = None) -> MediaItem:
    """Check, clean (no EXIF/GPS) and store a photo for `event`, counting it against the tenant's quota.

    Order: stage a clean copy in the storage folder, commit the row and the quota in one transaction, move
    the file into place, then queue the thumbnail job. Any failure leaves no file and no row behind.
    """
    settings = settings or media_settings(org)
    check_upload_size(stream_size(stream), settings)
    storage = tenant_storage(org, settings)
    media_id = new_id()
    with storage.staging() as staged:
        clean = images.sanitize(stream, staged)
        stored = staged.stat().st_size
        key = f"{event.id}/{media_id}.{clean.extension}"
        with write_transaction():
            reserve_bytes(org, stored, settings.quota_bytes)
            item = MediaItem.create(
                id=media_id, org=org, event=event, uploader_kind=uploader.kind, customer=uploader.customer_id,
                guest=uploader.guest_id, uploaded_by=uploader.name, caption=caption or "",
                content_type=clean.content_type, width=clean.width, height=clean.height, size_bytes=stored,
                storage_key=key, thumb_key=f"{event.id}/{media_id}.thumb.jpg")
        try:
            storage.promote(staged, key)
        except Exception:
            _forget(org, item)
            raise
    outbox.enqueue(build_thumbnail, org.id, item.id)
    return item


def _forget(org: Org, item: MediaItem) -> bool:
    """Delete the row and give its bytes back, once (conditional DELETE); True if this call removed it."""
    with write_transaction():
        removed = MediaItem.delete().where((MediaItem.id == item.id) & (MediaItem.org == org.id)).execute()
        if removed:
            release_bytes(org, item.size_bytes)
    return bool(removed)


@job(retries=3, retry_delay=30)
def build_thumbnail(org_id: str, media_id: str) -> None:
    """Job: make the item's thumbnail (at most 400 px) and set `thumbnail_ready`; a deleted item is skipped."""
    item = scoped(MediaItem, org_id).where(MediaItem.id == media_id).first()
    if item is None or item.thumbnail_ready:
        return
    storage = tenant_storage(org_id)
    with storage.staging() as staged:
        try:
            with storage.open(item.storage_key) as source, staged.open("wb") as target:
                images.make_thumbnail(source, target)
        except FileNotFoundError:
            return  # deleted meanwhile
        storage.promote(staged, item.thumb_key)
    with write_transaction():
        marked = (MediaItem.update(thumbnail_ready=True, updated_at=utcnow())
                  .where((MediaItem.id == media_id) & (MediaItem.org == org_id)).execute())
    if not marked:  # the item was deleted while we worked
        storage.delete(item.thumb_key)


# --- reading and moderation ------------------------------------------------------------------------

def gallery_query(org: Org, event: Event, *, include_hidden: bool = False, guest_id: str | None = None):
    """The event's items (visible only unless `include_hidden`), optionally one guest's uploads."""
    query = scoped(MediaItem, org).where(MediaItem.event == event.id)
    if not include_hidden:
        query = query.where(MediaItem.hidden == False)  # noqa: E712
    if guest_id is not None:
        query = query.where(MediaItem.guest == guest_id)
    return query


def media_not_found(media_id: str) -> NotFound:
    """404 `media_not_found` (also for another tenant's photo, or a hidden one asked for by a non-staff)."""
    return NotFound(f"No media with id {media_id!r}.", type="media_not_found")


def event_item(org: Org, event: Event, media_id: str) -> MediaItem:
    """One item of `event`, or 404 `media_not_found` (also for another event's or tenant's)."""
    item = get_scoped(MediaItem, org, media_id, "media")
    if item.event_id != event.id:
        raise media_not_found(media_id)
    return item


def set_hidden(org: Org, event: Event, media_id: str, hidden: bool) -> MediaItem:
    """Hide an item from the gallery (staff still see it) or show it again; repeating is harmless."""
    item = event_item(org, event, media_id)
    with write_transaction():
        MediaItem.update(hidden=hidden, hidden_at=utcnow() if hidden else None, updated_at=utcnow()).where(
            item.row_condition() & (MediaItem.hidden != hidden)).execute()
    return get_scoped(MediaItem, org, item.id, "media")


def delete_item(org: Org, event: Event, media_id: str) -> None:
    """Delete an item: the row and its quota first (once), then its files."""
    item = event_item(org, event, media_id)
    if not _forget(org, item):
        raise media_not_found(media_id)
    storage = tenant_storage(org)
    for key in (item.storage_key, item.thumb_key):
        try:
            storage.delete(key)
        except OSError:
            log.exception("could not delete media file %s of org %s", key, org.id)


def forget_events(org: Org, event_ids: list[str]) -> None:
    """Events are being deleted (inside that transaction): their photos' bytes go back to the quota now,
    and their files leave storage once the deletion commits (the rows go with the events)."""
    items = list(scoped(MediaItem, org).where(MediaItem.event.in_(event_ids)))
    if not items:
        return
    release_bytes(org, sum(item.size_bytes for item in items))
    keys = [key for item in items for key in (item.storage_key, item.thumb_key)]
    storage = tenant_storage(org)

    def remove_files() -> None:
        for key in keys:
            try:
                storage.delete(key)
            except OSError:
                log.exception("could not delete media file %s of org %s", key, org.id)

    after_commit(remove_files)


def open_file(org: Org, media_id: str, *, thumbnail: bool, staff: bool) -> tuple[BinaryIO, str, MediaItem]:
    """The original or thumbnail of an item as (file, content type, item); hidden items only for staff."""
    item = get_scoped(MediaItem, org, media_id, "media")
    if item.hidden and not staff:
        raise media_not_found(media_id)
    if thumbnail and not item.thumbnail_ready:
        raise ApiError("The thumbnail is still being made; try again shortly.", status=404,
                       type="thumbnail_not_ready")
    key, content_type = (item.thumb_key, "image/jpeg") if thumbnail else (item.storage_key, item.content_type)
    try:
        return tenant_storage(org).open(key), content_type, item
    except FileNotFoundError as exc:
        raise ApiError("The file of this photo is missing from storage.", status=404,
                       type="media_file_missing") from exc
