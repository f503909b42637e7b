"""Event cover images: staff upload one per event; a background job makes its renditions (`square` 200x200 and
`thumb` 400x300 cropped to fill, `medium` 800 wide); every API shows them as URLs served from the tenant's storage.

Knows nothing of HTTP. Never keeps a file it did not check and re-encode through the image kit (no EXIF), never
shows a cover before its renditions exist, and never lets a late job overwrite a newer upload.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from core import outbox
from core.config import current_config
from core.db import after_commit, write_transaction
from core.errors import ApiError, NotFound
from core.jobs import RetryPolicy, job
from core.kits import images
from core.kits.storage import MediaStorage, storage_for
from core.models import Event, Org, new_id, utcnow
from core.services.event_lists import stream_size
from core.tenancy import get_scoped, scoped

# name -> (width, height): with a height, scaled and cropped to fill exactly; without, that wide in proportion.
RENDITIONS: dict[str, tuple[int, int | None]] = {"square": (200, 200), "thumb": (400, 300), "medium": (800, None)}
SHOWN = ("square", "thumb", "medium", "original")
MAX_COVER_BYTES = 10 * 1024 * 1024
COVER_PATH = "/covers/o/"
RENDITION_POLICY = RetryPolicy(max_attempts=4, delay_seconds=30, backoff=2)


class CoverTooLarge(ApiError):
    """413: the cover image is over `MAX_COVER_BYTES`."""

    status, type = 413, "file_too_large"


def cover_storage(org_id: str) -> MediaStorage:
    """Where covers are kept: the tenant's default storage, `<data_dir>/media/<org>/covers/`."""
    return storage_for(org_id, {}, Path(current_config().data_path))


def _keys(record: dict) -> list[str]:
    return [record["key"], *(r["key"] for r in (record.get("renditions") or {}).values())]


def _forget_after_commit(org_id: str, record: dict | None) -> None:
    if not record:
        return
    keys = _keys(record)

    def remove() -> None:
        storage = cover_storage(org_id)
        for key in keys:
            storage.delete(key)

    after_commit(remove)


def upload_cover(org: Org, event_id: str, stream: BinaryIO) -> Event:
    """Check and clean the upload (JPEG, PNG, WebP; EXIF removed), store it as the event's new cover and queue
    its renditions; the old cover's files go once the change commits. Until the job has made the renditions
    the event shows no cover. 404 `event_not_found`, 413 `file_too_large`, 415/422 from the image kit."""
    event = get_scoped(Event, org, event_id, "event")
    if stream_size(stream) > MAX_COVER_BYTES:
        raise CoverTooLarge(f"A cover image can be at most {MAX_COVER_BYTES:,} bytes.",
                            errors={"image": [f"max {MAX_COVER_BYTES} bytes"]})
    storage = cover_storage(org.id)
    image_id = new_id()
    with storage.staging() as staged:
        clean = images.sanitize(stream, staged)
        record = {"id": image_id, "key": f"covers/{event.id}/{image_id}.{clean.extension}",
                  "content_type": clean.content_type, "width": clean.width, "height": clean.height,
                  "renditions": None}
        storage.promote(staged, record["key"])
    try:
        with write_transaction():
            old = scoped(Event, org, Event.cover).where(event.row_condition()).first()
            Event.update(cover=record, updated_at=utcnow()).where(event.row_condition()).execute()
            outbox.enqueue(make_cover_renditions, org.id, event.id, image_id)
            _forget_after_commit(org.id, old.cover if old is not None else None)
    except Exception:
        storage.delete(record["key"])
        raise
    event.cover = record
    return event


@job(policy=RENDITION_POLICY)
def make_cover_renditions(org_id: str, event_id: str, image_id: str) -> None:
    """Make the renditions of an event's cover and show them (a conditional UPDATE: only if that upload is still
    the event's cover; a newer upload's job does its own, and these files are removed)."""
    event = scoped(Event, org_id, Event.id, Event.cover).where(Event.id == event_id).first()
    record = event.cover if event is not None else None
    if not record or record.get("id") != image_id or record.get("renditions"):
        return
    storage = cover_storage(org_id)
    with storage.open(record["key"]) as source:
        original = source.read()
    renditions = {}
    for name, (width, height) in RENDITIONS.items():
        out = io.BytesIO()
        made = images.make_rendition(io.BytesIO(original), out, width, height)
        out.seek(0)
        key = f"covers/{event_id}/{image_id}.{name}.jpg"
        storage.save(key, out)
        renditions[name] = {"key": key, "width": made[0], "height": made[1]}
    with write_transaction():
        won = (Event.update(cover={**record, "renditions": renditions}, updated_at=utcnow())
               .where((Event.id == event_id) & (Event.org == org_id) & (Event.cover == record)).execute())
    if won != 1:
        for rendition in renditions.values():
            storage.delete(rendition["key"])


def cover_urls(event: Event) -> dict | None:
    """The event's cover as `{square, thumb, medium, original}` URLs under the public URL; None while there is
    none or its renditions are not made yet. Each URL names the upload (`v`), so a new cover has new URLs."""
    record = event.cover
    if not record or not record.get("renditions"):
        return None
    base = f"{current_config().public_url.rstrip('/')}{COVER_PATH}{event.org_id}/{event.id}?v={record['id']}"
    return {name: f"{base}&rendition={name}" for name in SHOWN}


def open_cover(org_id: str, event_id: str, rendition: str, version: str | None) -> tuple[BinaryIO, str, str]:
    """The bytes, content type and storage key of one rendition (or the `original`) of the event's current
    cover (of upload `version` when given); 404 `image_not_found` for anything else (another tenant's event, an
    older upload, renditions not made yet)."""
    missing = NotFound("No such cover image.", type="image_not_found")
    if rendition not in SHOWN or len(event_id) > 64:
        raise missing
    event = scoped(Event, org_id, Event.id, Event.cover).where(Event.id == event_id).first()
    record = event.cover if event is not None else None
    if not record or not record.get("renditions") or version not in (None, record.get("id")):
        raise missing
    chosen = record if rendition == "original" else record["renditions"].get(rendition)
    if not chosen:
        raise missing
    content_type = record["content_type"] if rendition == "original" else "image/jpeg"
    try:
        return cover_storage(org_id).open(chosen["key"]), content_type, chosen["key"]
    except FileNotFoundError as exc:
        raise missing from exc


def forget_events(org: Org, event_ids: list[str]) -> None:
    """Inside the transaction that deletes `event_ids`: their covers' files go once it commits."""
    for row in scoped(Event, org, Event.cover).where(Event.id.in_(event_ids) & Event.cover.is_null(False)):
        _forget_after_commit(org.id, row.cover)
