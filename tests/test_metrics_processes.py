"""Metrics, logs and readiness on real servers: gunicorn with two workers and PROMETHEUS_MULTIPROC_DIR (every
scrape sums both workers; the job queue's depth read from a real Redis), and `boxoffice serve` with
BOXOFFICE_METRICS_ADDRESS (a second socket; `/metrics` there only) and BOXOFFICE_LOG_FORMAT=json (every stderr
line is JSON, one access line per request); plus the JSON formatter in process.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from huey import RedisHuey
from procs import CONTRACT_CHECK, ROOT, ServerProcess, boxoffice_command, boxoffice_env, free_port, operator_headers
from test_metrics import parsed, value
from test_purchase_support import make_event

from core.log_format import JsonFormatter, configure_logging

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def gunicorn_config(tmp_path):
    """A gunicorn config with the project's server hooks (`core.gunicorn_conf`) and the tests' answer check."""
    path = tmp_path / "gunicorn_test_conf.py"
    path.write_text(f"import runpy\nfrom core.gunicorn_conf import child_exit, on_starting  # noqa: F401\n"
                    f"runpy.run_path({str(CONTRACT_CHECK)!r})\n")
    return path


def test_two_gunicorn_workers_add_up_in_every_scrape(tmp_path, gunicorn_config):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left by an earlier run")  # on_starting empties the folder
    queue = f"metrics-test-{secrets.token_hex(4)}"
    port = free_port()
    env = boxoffice_env(PROMETHEUS_MULTIPROC_DIR=str(folder), BOXOFFICE_REDIS_URL=REDIS, BOXOFFICE_QUEUE_NAME=queue,
                        BOXOFFICE_JOBS_IMMEDIATE="0")
    argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5",
            "-c", str(gunicorn_config), "wsgi:app"]
    huey = RedisHuey(queue, url=REDIS)
    try:
        with ServerProcess(argv, port, env=env) as server:
            # Batches of 4 at once, a new connection each (one idle sync worker could take every sequential one),
            # at least 10, and on until both workers have answered (written their own files) or 60 s passed.
            deadline = time.monotonic() + 60
            with ThreadPoolExecutor(max_workers=4) as pool:
                for batch in itertools.count():
                    assert {answer.status_code for answer in pool.map(
                        lambda _i: requests.get(server.url + "/health", headers={"Connection": "close"}, timeout=30),
                        range(4))} == {200}
                    written = {name.rsplit("_", 1)[-1] for name in os.listdir(folder)} - {"999999.db"}
                    if batch >= 9 and (len(written) >= 2 or time.monotonic() > deadline):
                        break
            huey.storage.enqueue(b"a job nobody consumes")
            scrapes = [server.request("GET", "/metrics", headers={**operator_headers(), "Connection": "close"})
                       for _ in range(6)]
            ready = server.request("GET", "/ready").json()
    finally:
        huey.storage.flush_all()
    pids = {name.rsplit("_", 1)[-1] for name in os.listdir(folder)}
    assert "999999.db" not in pids and len(pids) >= 2  # the old file went; both workers wrote their own
    for scrape in scrapes:
        assert scrape.status_code == 200
        samples = parsed(scrape.text)
        # /ready and the health check ServerProcess made while it waited for the server count too; at least 40
        health = value(samples, "boxoffice_http_request_duration_seconds_count", route="/health", method="GET",
                       status="200")
        assert health >= 40, health
        assert value(samples, "boxoffice_job_queue_depth") == 1
    counts = {value(parsed(s.text), "boxoffice_http_request_duration_seconds_count", route="/health", method="GET",
                    status="200") for s in scrapes}
    assert len(counts) == 1  # the same sum whichever worker answered the scrape
    assert ready["ready"] is True and ready["checks"]["redis"]["ok"] is True


@pytest.fixture
def serve_json(tmp_path):
    """`boxoffice serve` with JSON logs, a metrics address, and a Redis nobody listens on (so /ready fails)."""
    port, metrics_port = free_port(), free_port()
    env = boxoffice_env(BOXOFFICE_LOG_FORMAT="json", BOXOFFICE_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}",
                        BOXOFFICE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with ServerProcess(boxoffice_command("serve", "--port", str(port)), port, env=env) as server:
        server.metrics_url = f"http://127.0.0.1:{metrics_port}"
        yield server


def test_serve_answers_metrics_on_its_metrics_address_only(serve_json):
    served = requests.get(serve_json.metrics_url + "/metrics", timeout=10)
    assert served.status_code == 200 and "boxoffice_holds_active" in served.text
    on_api = serve_json.request("GET", "/metrics", headers=operator_headers())
    assert on_api.status_code == 404 and on_api.json()["type"] == "not_found"
    spoofed = serve_json.request("GET", "/metrics", headers={"Host": serve_json.metrics_url.split("//")[1]})
    assert spoofed.status_code == 404


def test_json_logs_one_line_per_request_and_every_line_json(serve_json, tenant):
    event = make_event(tenant)
    answer = serve_json.request("GET", f"/events/{event}", headers={"orgid": tenant.orgid, "X-Request-ID": "trace-7",
                                                                     "Authorization": f"Bearer {tenant.staff_token}"})
    assert answer.status_code == 200
    not_ready = serve_json.request("GET", "/ready", headers={"X-Request-ID": "probe-1"})
    assert not_ready.status_code == 503 and not_ready.json()["failed"] == ["redis"]
    lines = [line for line in serve_json.output().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line the server wrote is one JSON object
    access = {e["request_id"]: e for e in entries if e["logger"] == "boxoffice.access"}
    line = access["trace-7"]
    assert (line["method"], line["route"], line["status"], line["tenant"]) == ("GET", "/events/<event_id>", 200,
                                                                               tenant.orgid)
    assert isinstance(line["duration_ms"], float) and 0 < line["duration_ms"] < 10_000
    assert event not in json.dumps(line)  # the route, never the raw path
    assert (access["probe-1"]["route"], access["probe-1"]["status"], access["probe-1"]["tenant"]) == ("/ready", 503,
                                                                                                      None)
    warning = [e for e in entries if e["logger"] == "core.readiness"]
    assert warning and warning[0]["level"] == "WARNING" and warning[0]["request_id"] == "probe-1"


def test_a_job_worker_serves_its_own_counts_at_the_metrics_address():
    port = free_port()
    env = boxoffice_env(BOXOFFICE_METRICS_ADDRESS=f"127.0.0.1:{port}", BOXOFFICE_REDIS_URL=REDIS,
                        BOXOFFICE_QUEUE_NAME=f"metrics-test-{secrets.token_hex(4)}", BOXOFFICE_JOBS_IMMEDIATE="0")
    worker = subprocess.Popen(boxoffice_command("worker", "--workers", "1"), cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and worker.poll() is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    assert answer is not None and answer.status_code == 200
    assert "# TYPE boxoffice_webhook_delivery_failures_total counter" in answer.text
    assert "boxoffice_holds_active" not in answer.text  # the deployment-wide gauges are the API's


def test_the_json_formatter_writes_one_object_per_record_with_its_exception(monkeypatch):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
    configure_logging("json")
    try:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            logging.getLogger("core.errors").exception("unhandled %s", "error")
        logging.getLogger("boxoffice.access").info("GET /health 200", extra={"fields": {"status": 200}})
    finally:
        configure_logging("text")
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (first["level"], first["logger"], first["message"], first["request_id"]) == ("ERROR", "core.errors",
                                                                                       "unhandled error", "-")
    assert "ValueError: boom" in first["exception"] and first["time"].endswith("Z")
    assert second["status"] == 200 and isinstance(handler.formatter, JsonFormatter)
    assert not logging.getLogger("boxoffice.access").isEnabledFor(logging.INFO)  # text again: no access lines
