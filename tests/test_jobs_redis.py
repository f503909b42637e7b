"""Background jobs through a real Redis: a recurring event's fan-out waits in the queue until a
`boxoffice worker` process (RedisHuey) picks it up, and the sync-job endpoint reports it done.
"""

from __future__ import annotations

import secrets
import subprocess
import time

import pytest
import redis
from procs import ServerProcess, boxoffice_command, boxoffice_env, free_port, gunicorn_command, operator_headers

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_env():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:  # CI starts Redis; a developer machine must too
        pytest.fail(f"Redis is not running at {REDIS_URL}: {exc}")
    queue = f"boxoffice-test-{secrets.token_hex(4)}"
    yield boxoffice_env(BOXOFFICE_REDIS_URL=REDIS_URL, BOXOFFICE_QUEUE_NAME=queue, BOXOFFICE_JOBS_IMMEDIATE=None)
    for key in client.scan_iter(f"*{queue}*"):
        client.delete(key)


def _staff(server: ServerProcess) -> dict:
    created = server.request("POST", "/operator/tenants", json={"name": "Queue Org"}, headers=operator_headers())
    assert created.status_code == 201, created.text
    org = created.json()["orgid"]
    token = server.request("POST", "/auth/token", json={"apiKey": created.json()["adminApiKey"]},
                           headers={"orgid": org}).json()["token"]
    return {"orgid": org, "Authorization": f"Bearer {token}"}


def _job(server, headers, event_id, job_id) -> dict:
    return server.request("GET", f"/events/{event_id}/sync_jobs/{job_id}", headers=headers).json()["data"]


def test_recurrence_fan_out_runs_in_a_redis_worker(redis_env):
    from huey import RedisHuey

    port = free_port()
    with ServerProcess(gunicorn_command(port, workers=1), port, env=redis_env) as server:
        headers = _staff(server)
        created = server.request("POST", "/events", headers=headers, json={"event": {
            "type": "recurring", "name": "Weekly Jam", "tz": "Europe/Paris",
            "starts_at": "2031-03-03T18:00:00Z", "ends_at": "2031-03-03T20:00:00Z",
            "recurrences": [{"starts_at": "2031-03-03T18:00:00Z", "ends": "after_occurrences",
                             "max_occurrences": 4, "repeat_unit": "week", "repeat_value": 1, "duration": 2,
                             "days": ["monday"]}]}})
        assert created.status_code == 201, created.text
        event_id, job_id = created.json()["data"]["id"], created.headers["X-Event-Sync-Job-ID"]

        # No worker yet: the job waits in Redis and the event cannot be edited.
        queue = RedisHuey(redis_env["BOXOFFICE_QUEUE_NAME"], url=REDIS_URL)
        assert queue.pending_count() == 1
        fan_out = queue.storage.enqueued_items()[0]  # the raw message: this process cannot load the task
        assert _job(server, headers, event_id, job_id)["status"] == "queued"
        blocked = server.request("PATCH", f"/events/{event_id}", headers=headers, json={"event": {"name": "X"}})
        assert blocked.status_code == 409 and blocked.json()["type"] == "uneditable"

        worker = subprocess.Popen(boxoffice_command("worker", "--workers", "1"), env=redis_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job = _job(server, headers, event_id, job_id)
                if job["status"] in ("succeeded", "failed"):
                    break
                time.sleep(0.3)
        finally:
            worker.terminate()
            worker.wait(timeout=15)
        assert job["status"] == "succeeded", job
        assert job["progress"] == {"done": 4, "total": 4}
        dates = server.request("GET", f"/events?filter[parent_event_id]={event_id}&page[size]=10",
                               headers=headers).json()["data"]
        assert [d["start"]["local"][:16] for d in dates] == ["2031-03-03T19:00", "2031-03-10T19:00",
                                                             "2031-03-17T19:00", "2031-03-24T19:00"]
        # The fan-out left the queue (the worker's periodic jobs may have queued others meanwhile).
        assert fan_out not in queue.storage.enqueued_items()
