"""Idempotency keys in atomic phases: a request's work and its stored answer commit together.

The first request with a key claims it (a tiny insert of its own); its writes are then held in one
transaction (`core.db.held_transaction`) that also stores the answer, so either both commit or neither does.
A path that must call a payment provider first commits what it did as a phase with a recovery point
(`checkpoint`), so no transaction stays open across the call and a retry resumes there (`recovery_point`)
instead of redoing it. A key whose run crashed is taken over after the takeover time (setting
`BOXOFFICE_IDEMPOTENCY_TAKEOVER_SECONDS`); a run that lost its key to a takeover cannot commit any more.
Never runs the work twice for one (org, endpoint, key), and never replays a response to a different request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from peewee import IntegrityError

from core.config import current_config
from core.db import HeldTransaction, held_transaction, write_transaction
from core.errors import ApiError, Conflict, Unprocessable
from core.jobs import job
from core.models import IdempotencyRecord, new_id, utcnow
from core.sealed import seal, unseal
from core.services.statements import insert_rows, update_row

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
KEEP_FOR = dt.timedelta(hours=24)
RERUNNABLE_SINCE = dt.datetime(2000, 1, 1)
"""The `updated_at` of a key released with a recovery point: any takeover time has passed (re-runnable now)."""

_running = threading.local()


@dataclass
class StoredResponse:
    """A response as replayed: HTTP status and JSON body; `replayed` is False for the first run."""

    status: int
    body: dict
    replayed: bool = False


@dataclass
class _Attempt:
    """This thread's run of a claimed key: the record, the run's token, its held transaction and how far it got."""

    record: IdempotencyRecord
    token: str
    held: HeldTransaction | None = None
    point: str | None = None
    data: dict = field(default_factory=dict)


class Superseded(Conflict):
    """409 `idempotency_in_progress`: the key was taken over by a retry while this run was still going."""

    type = "idempotency_in_progress"


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


def _new_attempt(record: IdempotencyRecord) -> _Attempt:
    return _Attempt(record, record.attempt, point=record.recovery_point, data=dict(record.recovery_data or {}))


def _claim(org_id: str, endpoint: str, key: str, fingerprint: str) -> _Attempt | None:
    """Insert the record (status NULL = running) for a new run; None if the key was already claimed."""
    row = {"id": new_id(), "org": org_id, "endpoint": endpoint[:200], "key": key, "request_hash": fingerprint,
           "attempt": secrets.token_hex(8)}
    try:
        with write_transaction():
            insert_rows(IdempotencyRecord, [row])
    except IntegrityError:
        return None
    return _Attempt(IdempotencyRecord(**row), row["attempt"])


def _existing(org_id: str, endpoint: str, key: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord
    return record.get_or_none((record.org == org_id) & (record.endpoint == endpoint[:200]) & (record.key == key))


def takeover_after() -> dt.timedelta:
    """How long a key may stay running before a retry takes it over (`BOXOFFICE_IDEMPOTENCY_TAKEOVER_SECONDS`)."""
    return dt.timedelta(seconds=current_config().idempotency_takeover_seconds)


def _take_over_stale(record: IdempotencyRecord) -> _Attempt | None:
    """A run left going past the takeover time (a crashed worker) is taken over by one retry, which resumes
    at the run's recovery point; the old run, should it still be alive, can no longer commit."""
    now, token = utcnow(), secrets.token_hex(8)
    with write_transaction():
        won = (IdempotencyRecord.update(updated_at=now, attempt=token)
               .where(record.row_condition() & IdempotencyRecord.status_code.is_null()
                      & (IdempotencyRecord.updated_at < now - takeover_after())).execute())
    if won != 1:
        return None
    return _new_attempt(record.reread())


def _wait_for(org_id: str, endpoint: str, key: str, fingerprint: str, wait: float) -> StoredResponse | _Attempt:
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
            return _replay(record)
        taken = _take_over_stale(record)
        if taken is not None:
            return taken
        if time.monotonic() >= deadline:
            raise Conflict("A request with this Idempotency-Key is still running; retry in a moment.",
                           type="idempotency_in_progress")
        time.sleep(POLL_SECONDS)


def _replay(record: IdempotencyRecord) -> StoredResponse:
    """The stored answer, opened: it is kept sealed under the deployment key (it may carry a live secret, such as
    a payment's client secret). One sealed under another key cannot be replayed: 409, the work is not redone."""
    body = unseal(record.response_body or "")
    if body is None:
        raise Conflict("The stored answer of this Idempotency-Key was sealed under another deployment key and "
                       "cannot be replayed; look the result up instead of retrying.",
                       type="idempotency_answer_unreadable")
    return StoredResponse(record.status_code, json.loads(body), replayed=True)


def _write_record(run: _Attempt, values: dict) -> None:
    """Update the key's record inside the held transaction, only while this run still holds the key."""
    run.held.join()
    if update_row(IdempotencyRecord, run.record.id, values, attempt=run.token, org=run.record.org_id) != 1:
        raise Superseded("A retry took this Idempotency-Key over while the request was running; retry in a "
                         "moment for its answer.")


def _store(attempt: _Attempt, response: StoredResponse) -> None:
    """The last phase: the answer joins the work's held transaction, and both commit."""
    body = seal(json.dumps(response.body, default=str))
    _write_record(attempt, {"status_code": response.status, "response_body": body})
    attempt.held.commit()


def _release(attempt: _Attempt) -> None:
    """Roll back what the run holds; leave the key re-runnable at once: forgotten if the stored record has no
    recovery point, else kept at it (for the retry to resume). A failure here is logged (the takeover time covers
    it), never raised over the run's own error."""
    attempt.held.rollback()
    record = IdempotencyRecord
    mine = attempt.record.row_condition() & (record.attempt == attempt.token) & record.status_code.is_null()
    try:
        attempt.held.join()
        if not record.delete().where(mine & record.recovery_point.is_null()).execute():
            record.update(attempt=None, updated_at=RERUNNABLE_SINCE).where(mine).execute()
        attempt.held.commit()
    except Exception:  # noqa: BLE001 - the request's own error is the one to report
        attempt.held.rollback()
        log.exception("could not release Idempotency-Key record %s", attempt.record.id)


def _current() -> _Attempt | None:
    return getattr(_running, "attempt", None)


def recovery_point() -> tuple[str | None, dict]:
    """The recovery point this request's run resumes from, with its data: (None, {}) for a fresh run or a
    request sent without a key."""
    attempt = _current()
    return (attempt.point, dict(attempt.data)) if attempt else (None, {})


def checkpoint(point: str | None = None, **data) -> None:
    """End a phase: record `point` (None: start again from the beginning) and `data` on the key with the work
    written so far, and commit both; call it before calling a payment provider. Without a key, or with
    nothing written and the point unchanged, it does nothing (no round trip)."""
    attempt = _current()
    if attempt is None or (not attempt.held.open and point == attempt.point and data == attempt.data):
        return
    _write_record(attempt, {"recovery_point": point, "recovery_data": data or None})
    attempt.held.commit()
    attempt.point, attempt.data = point, dict(data)


def _run(attempt: _Attempt, operation: Callable[[], StoredResponse]) -> StoredResponse:
    try:
        response = operation()
    except Superseded:
        _release(attempt)
        raise
    except ApiError as error:
        if error.status >= 500:
            _release(attempt)
            raise
        _finish(attempt, StoredResponse(error.status, error.to_dict()))
        raise
    except BaseException:
        _release(attempt)
        raise
    if response.status >= 500:
        _release(attempt)
    else:
        _finish(attempt, response)
    return response


def _finish(attempt: _Attempt, response: StoredResponse) -> None:
    try:
        _store(attempt, response)
    except BaseException:
        _release(attempt)
        raise


def run_once(org_id: str, endpoint: str, key: str, fingerprint: str,
             operation: Callable[[], StoredResponse], wait: float = WAIT_SECONDS) -> StoredResponse:
    """Run `operation` once per (org, endpoint, key): claim the key, run it with its writes held, store the
    response in the same transaction, replay it afterwards.

    A client error (ApiError below 500) is stored and replayed like a success; a 5xx or an unexpected
    exception rolls back what was held and leaves the key re-runnable (from its recovery point, if a phase
    committed). Same key, other request: 422 `idempotency_mismatch`; still running after `wait` seconds:
    409 `idempotency_in_progress`.
    """
    key = _check_key(key)
    outcome = _claim(org_id, endpoint, key, fingerprint) or _wait_for(org_id, endpoint, key, fingerprint, wait)
    if isinstance(outcome, StoredResponse):
        return outcome
    with held_transaction() as held:
        outcome.held, _running.attempt = held, outcome
        try:
            return _run(outcome, operation)
        finally:
            _running.attempt = None


def stored_answer(org_id: str, endpoint: str, key: str) -> StoredResponse | None:
    """The answer stored for a key whatever request it was used with (None while it runs, or for an unknown,
    forgotten or unreadable key): what a page shows when a form is sent again with other choices."""
    record = _existing(org_id, endpoint, (key or "").strip()[:MAX_KEY_LENGTH])
    if record is None or record.status_code is None:
        return None
    try:
        return _replay(record)
    except Conflict:
        return None


@job(every_minutes=60)
def purge_old_keys() -> int:
    """Periodic job: forget keys older than 24 hours (as Stripe does); returns how many were removed."""
    with write_transaction():
        return IdempotencyRecord.delete().where(IdempotencyRecord.created_at < utcnow() - KEEP_FOR).execute()
