"""Background jobs on Huey: SqliteHuey embedded, RedisHuey with BOXOFFICE_REDIS_URL, inline in tests.

Modules declare jobs with `@job` at import (no queue is touched then); `init_jobs` binds them to a queue.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

from core.db import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing job is retried: at most `max_attempts` runs, waiting `delay_seconds * backoff ** (n - 1)`
    after the n-th failure."""

    max_attempts: int
    delay_seconds: int
    backoff: float = 1

    def delay_after(self, attempts: int) -> int:
        """Seconds before the next attempt once `attempts` have failed."""
        return int(self.delay_seconds * self.backoff ** max(attempts - 1, 0))


@dataclass
class JobSpec:
    """A declared job: the function, its retry policy and, for periodic jobs, its crontab."""

    fn: Callable
    retries: int = 0
    retry_delay: int = 0
    retry_backoff: float = 0
    every_minutes: int | None = None
    task: object = field(default=None, repr=False)

    @property
    def policy(self) -> RetryPolicy:
        """The job's retries as a `RetryPolicy` (what the outbox applies when it runs the job)."""
        return RetryPolicy(self.retries + 1, self.retry_delay, self.retry_backoff or 1)


_specs: dict[str, JobSpec] = {}
_huey: Huey | None = None


def _with_connection(fn: Callable) -> Callable:
    """Run a job with a database connection, closing it afterwards only if the job opened it."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        opened = db.is_closed()
        if opened:
            db.connect()
        try:
            return fn(*args, **kwargs)
        finally:
            if opened and not db.is_closed():
                db.close()

    return wrapper


def _bind(name: str, spec: JobSpec) -> None:
    wrapped = _with_connection(spec.fn)
    options = {"retries": spec.retries, "retry_delay": spec.retry_delay, "name": name}
    if spec.retry_backoff:
        options["retry_backoff"] = spec.retry_backoff
    if spec.every_minutes:
        spec.task = _huey.periodic_task(crontab(minute=f"*/{spec.every_minutes}"), **options)(wrapped)
    else:
        spec.task = _huey.task(**options)(wrapped)


def job(retries: int = 0, retry_delay: int = 0, retry_backoff: float = 0, every_minutes: int | None = None,
        policy: RetryPolicy | None = None):
    """Declare a background job. Call `enqueue(fn, ...)` to run it; periodic jobs run every N minutes.

    A `policy` sets the retries, delay and backoff in one value the job's own code can also read.
    """
    if policy is not None:
        retries, retry_delay, retry_backoff = policy.max_attempts - 1, policy.delay_seconds, policy.backoff

    def decorator(fn: Callable) -> Callable:
        name = f"{fn.__module__}.{fn.__qualname__}"
        spec = JobSpec(fn, retries, retry_delay, retry_backoff, every_minutes)
        _specs[name] = spec
        if _huey is not None:
            _bind(name, spec)
        fn.job_name = name
        return fn

    return decorator


def make_huey(config) -> Huey:
    """The queue for this configuration: immediate (tests), Redis, or SQLite in the data folder."""
    if config.jobs_immediate:
        return MemoryHuey(config.queue_name, immediate=True, results=False)
    if config.redis_url:
        return RedisHuey(config.queue_name, url=config.redis_url, results=False)
    config.data_path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(config.queue_name, filename=str(config.data_path / "jobs.db"), results=False)


def init_jobs(config) -> Huey:
    """Create the process's queue and bind every declared job to it."""
    global _huey
    _huey = make_huey(config)
    for name, spec in _specs.items():
        _bind(name, spec)
    return _huey


def get_huey() -> Huey:
    """The process's queue (after `init_jobs`)."""
    if _huey is None:
        raise RuntimeError("Jobs are not initialised; call core.app.create_app() first.")
    return _huey


def declared(name: str) -> JobSpec:
    """The declared job named `name` (`module.function`); KeyError if no module declared it."""
    return _specs[name]


def _task(fn: Callable):
    spec = _specs[fn.job_name]
    if spec.task is None:
        raise RuntimeError("Jobs are not initialised; call core.app.create_app() first.")
    return spec.task


def enqueue(fn: Callable, *args, **kwargs):
    """Hand a declared job to the queue now (runs inline when BOXOFFICE_JOBS_IMMEDIATE is set). Work a
    state change causes goes through `core.outbox.enqueue` instead, which survives a queue outage."""
    return _task(fn)(*args, **kwargs)


def enqueue_in(delay_seconds: int, fn: Callable, *args):
    """Hand a declared job to the queue to run in `delay_seconds` (kept by the queue's schedule)."""
    return _task(fn).schedule(args=args, delay=delay_seconds)


def run_consumer(workers: int = 2, worker_type: str = "thread"):
    """Run a Huey consumer in this process until interrupted (used by `boxoffice worker` and `run`)."""
    consumer = get_huey().create_consumer(workers=workers, worker_type=worker_type, periodic=True,
                                          check_worker_health=True)
    consumer.run()
