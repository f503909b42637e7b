"""What a `/metrics` scrape exports, and the upkeep of prometheus_client's multiprocess folder: with
PROMETHEUS_MULTIPROC_DIR set, every process of the machine (gunicorn or `boxoffice serve` workers, job workers)
writes its counts there and a scrape of any one of them sums them all.

Never wipes the folder under a running process (only a server's master before its first worker starts:
`reset_folder`), and never queries anything except through the scrape-time gauges.
"""

from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from core.metrics_gauges import ScrapeGauges

FOLDER_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_state = {"exit_registered": False}


def multiprocess_folder() -> Path | None:
    """The folder every process writes its metrics to (PROMETHEUS_MULTIPROC_DIR), or None: this process only."""
    value = os.environ.get(FOLDER_VARIABLE)
    return Path(value) if value else None


def prepare_folder() -> None:
    """Create the multiprocess folder if it is set and missing, and have this process's live gauges removed
    from it when the process exits (`mark_process_dead`; its counters and histograms stay, as they should).
    Called by `create_app`, before a metric is first recorded."""
    folder = multiprocess_folder()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    if not _state["exit_registered"]:
        _state["exit_registered"] = True
        atexit.register(lambda: process_exited(os.getpid()))  # the pid at exit: a forked worker marks itself


def process_exited(pid: int) -> None:
    """Bookkeeping for a process of the machine that ended (gunicorn's `child_exit`, or atexit)."""
    folder = multiprocess_folder()
    if folder is not None and folder.is_dir():
        mark_process_dead(pid, str(folder))


def reset_folder() -> None:
    """Empty the multiprocess folder: only where one master starts every process of the machine, before it
    starts them (gunicorn's `on_starting`), since the files of an earlier run would count again."""
    folder = multiprocess_folder()
    if folder is None:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


class _ThisProcess(Collector):
    """The process's own default registry, forwarded into a scrape registry."""

    def collect(self):
        """Everything the default registry collects."""
        return REGISTRY.collect()


def scrape_registry(with_gauges: bool = True) -> CollectorRegistry:
    """A registry for one scrape: every process's metrics (multiprocess) or this process's, plus (`with_gauges`)
    the deployment-wide gauges computed now."""
    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_folder()
    if folder is not None:
        MultiProcessCollector(registry, path=str(folder))
    else:
        registry.register(_ThisProcess())
    if with_gauges:
        registry.register(ScrapeGauges())
    return registry


def serve_worker_metrics(listen: tuple[str, int]) -> bool:
    """`boxoffice worker`: serve this worker's own counts (webhook failures...) at `listen` (BOXOFFICE_METRICS_ADDRESS)
    from a daemon thread, as prometheus_client's HTTP server; the deployment-wide gauges stay the API's. Not with
    a multiprocess folder (False): the worker's counts are in it, so the API's scrape already holds them (and the
    API on the same machine listens at that address)."""
    if multiprocess_folder() is not None:
        return False
    host, port = listen
    start_http_server(port, addr=host, registry=scrape_registry(with_gauges=False))
    return True


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The scrape's body and content type: Prometheus text, or OpenMetrics when the scraper's `Accept` asks."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(scrape_registry()), content_type
