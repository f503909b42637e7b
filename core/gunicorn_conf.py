"""gunicorn server hooks for Boxoffice under several workers: `gunicorn -c python:core.gunicorn_conf wsgi:app`.
With PROMETHEUS_MULTIPROC_DIR set, the master empties the metrics folder before its first worker starts and
does the bookkeeping of each worker that exits, so every worker's counts add up in one `/metrics` scrape.

Holds server hooks only: no server setting (bind, workers...) and no app wiring.
"""

from __future__ import annotations

from core.metrics_export import process_exited, reset_folder


def on_starting(server) -> None:
    """gunicorn master, before any worker: empty the multiprocess metrics folder of an earlier run."""
    reset_folder()


def child_exit(server, worker) -> None:
    """gunicorn master, a worker exited: drop that process's live gauge files (its counts stay)."""
    process_exited(worker.pid)
