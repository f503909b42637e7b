"""Idempotency keys: the first request with a key claims it (insert first), later ones replay its stored response.

Never runs the operation twice for one (org, endpoint, key), and never replays a response to a different request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from peewee import IntegrityError

from core.db import write_transaction
from core.errors import ApiError, Conflict, Unprocessable
from core.jobs import job
from core.models import IdempotencyRecord, utcnow

MAX_KEY_LENGTH = 255
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
STALE_CLAIM = dt.timedelta(minutes=2)
KEEP_FOR = dt.timedelta(hours=24)


@dataclass
class StoredResponse:
    """A response as replayed: HTTP status and JSON body; `replayed` is False for the first run."""

    status: int
    body: dict
    replayed: bool = False


def request_fingerprint(method: str, path: str, payload, caller: str = "") -> str:
    """A stable hash of what was asked (method, path, canonical JSON body, caller) to spot key reuse."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{caller}\n{canonical}".encode()).hexdigest()


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(f"`Idempotency-Key` must be 1 to {MAX_KEY_LENGTH} characters.",
                            type="invalid_idempotency_key")
    return key


def _claim(org_id: str, endpoint: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the record (status NULL = running); None if the key was already claimed."""
    try:
        with write_transaction():
            return IdempotencyRecord.create(org=org_id, endpoint=endpoint[:200], key=key, request_hash=fingerprint)
    except IntegrityError:
        return None


def _existing(org_id: str, endpoint: str, key: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord
    return record.get_or_none((record.org == org_id) & (record.endpoint == endpoint[:200]) & (record.key == key))


def _take_over_stale(record: IdempotencyRecord) -> bool:
    """A claim left running by a crashed worker may be taken over after STALE_CLAIM (one winner)."""
    now = utcnow()
    with write_transaction():
        won = (IdempotencyRecord.update(updated_at=now)
               .where((IdempotencyRecord.id == record.id) & IdempotencyRecord.status_code.is_null()
                      & (IdempotencyRecord.updated_at < now - STALE_CLAIM)).execute())
    return won == 1


def _wait_for(org_id: str, endpoint: str, key: str, fingerprint: str,
              wait: float) -> StoredResponse | IdempotencyRecord:
    deadline = time.monotonic() + wait
    while True:
        record = _existing(org_id, endpoint, key)
        if record is None:
            claimed = _claim(org_id, endpoint, key, fingerprint)
            if claimed is not None:
                return claimed
            continue
        if record.request_hash != fingerprint:
            raise Unprocessable("This Idempotency-Key was used with a different request; use a new key.",
                                type="idempotency_mismatch")
        if record.status_code is not None:
            return StoredResponse(record.status_code, json.loads(record.response_body or "{}"), replayed=True)
        if _take_over_stale(record):
            return record
        if time.monotonic() >= deadline:
            raise Conflict("A request with this Idempotency-Key is still running; retry in a moment.",
                           type="idempotency_in_progress")
        time.sleep(POLL_SECONDS)


def _store(record: IdempotencyRecord, response: StoredResponse) -> None:
    with write_transaction():
        (IdempotencyRecord.update(status_code=response.status, response_body=json.dumps(response.body, default=str),
                                  updated_at=utcnow())
         .where(IdempotencyRecord.id == record.id).execute())


def _release(record: IdempotencyRecord) -> None:
    with write_transaction():
        IdempotencyRecord.delete().where((IdempotencyRecord.id == record.id)
                                         & IdempotencyRecord.status_code.is_null()).execute()


def run_once(org_id: str, endpoint: str, key: str, fingerprint: str,
             operation: Callable[[], StoredResponse], wait: float = WAIT_SECONDS) -> StoredResponse:
    """Run `operation` once per (org, endpoint, key): claim the key, run, store the response, replay afterwards.

    A client error (ApiError below 500) is stored and replayed like a success; a 5xx or an unexpected
    exception releases the key so the client may retry with it. Same key, other request: 422
    `idempotency_mismatch`; still running after `wait` seconds: 409 `idempotency_in_progress`.
    """
    key = _check_key(key)
    outcome = _claim(org_id, endpoint, key, fingerprint) or _wait_for(org_id, endpoint, key, fingerprint, wait)
    if isinstance(outcome, StoredResponse):
        return outcome
    record = outcome
    try:
        response = operation()
    except ApiError as error:
        if error.status >= 500:
            _release(record)
            raise
        _store(record, StoredResponse(error.status, error.to_dict()))
        raise
    except BaseException:
        _release(record)
        raise
    if response.status >= 500:
        _release(record)
    else:
        _store(record, response)
    return response


@job(every_minutes=60)
def purge_old_keys() -> int:
    """Periodic job: forget keys older than 24 hours (as Stripe does); returns how many were removed."""
    with write_transaction():
        return IdempotencyRecord.delete().where(IdempotencyRecord.created_at < utcnow() - KEEP_FOR).execute()
