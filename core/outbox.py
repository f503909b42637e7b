"""The transactional outbox: every side effect a state change causes is a row written in the same transaction.

`record_hooks` (lifecycle hooks, one row per plugin) and `enqueue` (a declared job) buffer rows in the open
write transaction and write them with one INSERT just before it commits; nothing is written if it rolls back.
Right after the commit each row is handed to the job queue (`run_entry`). If the queue is down, or the process
dies before that, or a worker dies running it, the row stays: `sweep` hands again every row that is not done
`outbox_redispatch_seconds` after it fell due (and whose lease ran out), so every effect of a committed change
happens at least once. A hook row is marked done in the same transaction as the plugin's own writes, so its
database effects happen exactly once; a job row is leased while it runs and retried with the job's policy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from core.config import current_config
from core.db import after_commit, before_commit, db, transaction_value, write_transaction
from core.jobs import RetryPolicy, declared, enqueue_in, job
from core.jobs import enqueue as hand_to_queue
from core.models import OutboxEntry, new_id, utcnow
from core.outbox_payload import decode_arguments, decode_value, encode_arguments, encode_value

log = logging.getLogger(__name__)

HOOK_RETRY = RetryPolicy(max_attempts=5, delay_seconds=30, backoff=2)
"""How a plugin's lifecycle hook that raises is retried (its writes are rolled back each time)."""
SWEEP_BATCH = 500
KEEP_DONE = dt.timedelta(days=7)
"""How long a done entry is kept (to look into) before the periodic sweep deletes it."""

_runners: dict[str, Callable[[OutboxEntry, dict], None]] = {}
_carried: dict[str, ContextVar] = {}


def register_runner(kind: str, runner: Callable[[OutboxEntry, dict], None]) -> None:
    """Run the entries of `kind` with `runner(entry, arguments)`, inside the transaction that marks them done
    (`core.plugins` registers the lifecycle hooks' runner)."""
    _runners[kind] = runner


def carry(var: ContextVar) -> None:
    """Keep `var`'s value with every entry recorded while it is set (not its default) and set it again
    while the entry runs, e.g. a bulk refund's "customers are not e-mailed"."""
    _carried[var.name] = var


def _context() -> dict:
    return {name: encode_value(var.get()) for name, var in _carried.items() if var.get(None) is not None}


@contextlib.contextmanager
def _restored(context: dict | None) -> Iterator[None]:
    tokens = [(var, var.set(decode_value(context[name]))) for name, var in _carried.items()
              if context and name in context]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


# --- recording -----------------------------------------------------------------------------------

class _Batch:
    """The rows recorded in one write transaction, written by one INSERT just before it commits."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def flush(self) -> None:
        ids = _insert(self.rows)
        after_commit(lambda: dispatch(ids))


def _insert(rows: list[dict]) -> list[str]:
    OutboxEntry.insert_many(rows).execute()
    return [row["id"] for row in rows]


def _record(rows: list[dict]) -> None:
    now = utcnow()
    for row in rows:
        row.update(id=new_id(), created_at=now, due_at=now)
    batch = transaction_value("outbox", _Batch)
    if batch is None:  # no write transaction: the row commits on its own, then goes to the queue
        dispatch(_insert(rows))
        return
    if not batch.rows:
        before_commit(batch.flush)
    batch.rows.extend(rows)


def record_hooks(org_id: str | None, hook: str, plugins: list[str], arguments: dict[str, Any]) -> None:
    """Record that each of `plugins` must run its lifecycle `hook` with `arguments` once the current write
    transaction commits (models are kept as snapshots, a claim token sealed)."""
    payload = {"arguments": encode_arguments(arguments), "context": _context()}
    _record([{"org_id": org_id, "kind": "hook", "name": hook, "plugin": plugin, "payload": payload}
             for plugin in plugins])


def enqueue(fn: Callable, *args: Any) -> None:
    """Record a declared job (`core.jobs.job`) to run once the current write transaction commits (at once
    outside one), retried with its policy and swept again if the queue loses it. Arguments are JSON values."""
    org_id = args[0] if args and isinstance(args[0], str) else None
    _record([{"org_id": org_id, "kind": "job", "name": fn.job_name, "plugin": None,
              "payload": {"args": [encode_value(a) for a in args], "context": _context()}}])


# --- dispatching ---------------------------------------------------------------------------------

def dispatch(entry_ids: list[str]) -> None:
    """Hand committed entries to the job queue; a queue that fails leaves them for `sweep`."""
    for entry_id in entry_ids:
        try:
            hand_to_queue(run_entry, entry_id)
        except Exception:  # noqa: BLE001 - the change is committed; the sweep hands the entry over later
            log.warning("outbox entry %s not queued (the sweep will): queue unavailable", entry_id, exc_info=True)
            return


def sweep(now: dt.datetime | None = None) -> int:
    """Hand to the queue again every entry not done `outbox_redispatch_seconds` after it fell due (or after
    the sweep last handed it over) whose lease, if any, ran out; returns how many it handed over."""
    config = current_config()
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=config.outbox_redispatch_seconds)
    stale = (OutboxEntry.done_at.is_null() & (OutboxEntry.due_at <= cutoff)
             & (OutboxEntry.dispatched_at.is_null() | (OutboxEntry.dispatched_at <= cutoff))
             & (OutboxEntry.leased_until.is_null() | (OutboxEntry.leased_until < now)))
    ids = [row.id for row in OutboxEntry.select(OutboxEntry.id).where(stale).order_by(OutboxEntry.due_at)
           .limit(SWEEP_BATCH)]
    if not ids:
        return 0
    with write_transaction():
        OutboxEntry.update(dispatched_at=now).where(OutboxEntry.id.in_(ids)).execute()
    log.info("outbox sweep: %d entries handed to the queue again", len(ids))
    dispatch(ids)
    return len(ids)


def purge_done(now: dt.datetime | None = None) -> int:
    """Delete the entries done more than `KEEP_DONE` ago; returns how many."""
    cutoff = (now or utcnow()) - KEEP_DONE
    return OutboxEntry.delete().where(OutboxEntry.done_at < cutoff).execute()


@job(every_minutes=1)
def sweep_job() -> None:
    """Job: the periodic outbox sweep and purge of old done entries (worker processes also sweep every
    `outbox_sweep_seconds`)."""
    sweep()
    purge_done()


def run_sweeper(stop: threading.Event) -> None:
    """Sweep every `outbox_sweep_seconds` until `stop` is set, each time on a connection of its own; a sweep
    that fails (the database down) is logged and tried again next time. Runs beside a job consumer."""
    while not stop.wait(current_config().outbox_sweep_seconds):
        try:
            with db.connection_context():
                sweep()
        except Exception:  # noqa: BLE001 - keep sweeping once the database is back
            log.warning("outbox sweep failed", exc_info=True)


def start_sweeper() -> threading.Event:
    """Start `run_sweeper` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_sweeper, args=(stop,), daemon=True, name="outbox-sweeper").start()
    return stop


# --- running -------------------------------------------------------------------------------------

def _free(now: dt.datetime):
    return (OutboxEntry.done_at.is_null()
            & (OutboxEntry.leased_until.is_null() | (OutboxEntry.leased_until < now)))


def _gave_way(entry: OutboxEntry, attempts: int, policy: RetryPolicy, error: BaseException) -> None:
    """After a failed attempt: due again after the policy's delay, or done and failed after the last one."""
    now = utcnow()
    final = attempts >= policy.max_attempts
    delay = policy.delay_after(attempts)
    text = f"{type(error).__name__}: {error}"[:1000]
    OutboxEntry.update(attempts=attempts, leased_until=None, last_error=text, failed=1 if final else 0,
                       done_at=now if final else None, due_at=now + dt.timedelta(seconds=delay)).where(
        OutboxEntry.id == entry.id).execute()
    if final:
        log.error("outbox entry %s (%s %s) failed %d times; giving up: %s", entry.id, entry.kind, entry.name,
                  attempts, text)
        return
    log.warning("outbox entry %s (%s %s) attempt %d failed; again in %d s: %s", entry.id, entry.kind, entry.name,
                attempts, delay, text)
    try:
        enqueue_in(delay, run_entry, entry.id)
    except Exception:  # noqa: BLE001 - the sweep hands it over once it is due
        log.warning("outbox entry %s retry not scheduled (the sweep will)", entry.id)


def _run_transactional(entry: OutboxEntry) -> None:
    """A hook entry: marked done in the transaction that runs the plugin, so its writes happen once."""
    runner = _runners[entry.kind]
    arguments = decode_arguments(entry.payload.get("arguments") or {})
    try:
        with write_transaction():
            now = utcnow()
            won = (OutboxEntry.update(done_at=now, attempts=OutboxEntry.attempts + 1, leased_until=None)
                   .where((OutboxEntry.id == entry.id) & _free(now)).execute())
            if won != 1:
                return
            with _restored(entry.payload.get("context")):
                runner(entry, arguments)
    except Exception as error:  # noqa: BLE001 - rolled back; retried later
        _gave_way(entry, entry.attempts + 1, HOOK_RETRY, error)


def _run_job(entry: OutboxEntry) -> None:
    """A job entry: leased while it runs (a second worker leaves it alone), done when it returns."""
    spec = declared(entry.name)
    now = utcnow()
    lease = now + dt.timedelta(seconds=current_config().outbox_lease_seconds)
    won = (OutboxEntry.update(leased_until=lease, attempts=OutboxEntry.attempts + 1)
           .where((OutboxEntry.id == entry.id) & _free(now)
                  & (OutboxEntry.due_at <= now + dt.timedelta(seconds=1))).execute())  # a queue's eta may be early
    if won != 1:
        return
    try:
        with _restored(entry.payload.get("context")):
            spec.fn(*[decode_value(a) for a in entry.payload.get("args") or []])
    except Exception as error:  # noqa: BLE001 - retried with the job's policy
        _gave_way(entry, entry.attempts + 1, spec.policy, error)
        return
    OutboxEntry.update(done_at=utcnow(), leased_until=None, last_error=None).where(
        OutboxEntry.id == entry.id).execute()


@job()
def run_entry(entry_id: str) -> None:
    """Job: run one outbox entry unless it is done or another worker holds it (so a repeat is harmless)."""
    entry = OutboxEntry.get_or_none(OutboxEntry.id == entry_id)
    if entry is None or entry.done_at is not None:
        return
    if entry.kind == "job":
        _run_job(entry)
    else:
        _run_transactional(entry)


def pending_count() -> int:
    """How many entries are not done yet (for health checks and tests)."""
    return OutboxEntry.select().where(OutboxEntry.done_at.is_null()).count()

