"""The invalidation bus in one process: what `announce` forgets here and when, what it sends (NOTIFY goes with the
transaction on PostgreSQL), how a channel is chosen, the listener's reconnect and fork behaviour, and the memo
guard against a value loaded across a change. The cross-process promise is tested in tests/test_nodes.py.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from core import invalidation
from core.config import Config
from core.db import write_transaction
from core.invalidation_channels import PG_CHANNEL, PostgresChannel, RedisChannel, channel_for
from core.invalidation_listener import Listener, current
from core.memo import TimedMemo

ON_POSTGRES = os.environ.get("BOXOFFICE_DATABASE_URL", "").startswith("postgres")


class Recorder:
    """A registered kind whose forgets are recorded."""

    def __init__(self, kind: str):
        self.calls: list[str | None] = []
        invalidation.on_change(kind, self.calls.append)


@pytest.fixture
def recorder(app):
    return Recorder("test-kind")


def test_a_value_loaded_while_it_is_forgotten_is_returned_but_not_kept():
    memo = TimedMemo(60)
    rows = iter(["old", "new"])

    def load_across_a_change():
        value = next(rows)
        memo.forget("org")  # the change's announcement arrives while this load is running
        return value

    assert memo.get("org", load_across_a_change) == "old"
    assert memo.get("org", lambda: next(rows)) == "new"  # the stale load was not kept
    assert memo.get("org", lambda: "never loaded") == "new"


def test_announce_forgets_here_after_the_commit_and_not_after_a_rollback(recorder, db):
    """(On PostgreSQL this process's own listener hears the NOTIFY too and forgets once more.)"""
    with write_transaction():
        invalidation.announce("test-kind", "k1")
        assert recorder.calls == []  # another thread could still load the old row: forget only once committed
    assert recorder.calls[0] == "k1"

    with pytest.raises(RuntimeError), write_transaction():
        invalidation.announce("test-kind", "k2")
        raise RuntimeError("rolled back")
    time.sleep(0.5)  # what a listener would have heard by now
    assert set(recorder.calls) == {"k1"}

    invalidation.announce("test-kind")  # outside a transaction: at once, every key
    assert None in recorder.calls


def test_an_unknown_kind_is_refused_when_announced_and_ignored_when_received(recorder, caplog):
    time.sleep(0.5)  # on PostgreSQL this process's listener may still deliver the last test's NOTIFY
    recorder.calls.clear()
    with pytest.raises(KeyError):
        invalidation.announce("no-such-cache", "x")
    invalidation.receive("no-such-cache:x")
    assert "unknown cache 'no-such-cache'" in caplog.text
    invalidation.receive("test-kind:k9")
    invalidation.receive("test-kind:")
    invalidation.receive(f"{invalidation.ALL}:")
    assert recorder.calls == ["k9", None, None]


def test_the_core_caches_are_all_registered(app):
    assert set(invalidation.kinds()) >= {"org", "domains", "plugins", "api_key", "account", "origins", "ticket_type"}


@pytest.mark.skipif(not ON_POSTGRES, reason="NOTIFY: the PostgreSQL pass")
def test_on_postgres_the_notification_goes_with_the_commit_and_never_with_a_rollback(recorder, db, config):
    import psycopg

    assert invalidation.channel_name() == "postgres"
    with psycopg.connect(config.effective_database_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{PG_CHANNEL}"')

        def heard() -> list[str]:
            return [n.payload for n in listener.notifies(timeout=0.5) if n.payload.startswith("test-kind:")]

        with write_transaction():
            invalidation.announce("test-kind", "kept")
            assert heard() == []  # not before the commit
        assert heard() == ["test-kind:kept"]
        with pytest.raises(RuntimeError), write_transaction():
            invalidation.announce("test-kind", "dropped")
            raise RuntimeError("rolled back")
        assert heard() == []


def test_the_channel_follows_the_configuration():
    pg, sqlite, redis_url = "postgresql://u@127.0.0.1:5432/x", "sqlite:////tmp/x.db", "redis://127.0.0.1:6379/0"

    def chosen(url, redis="", channel="auto"):
        return channel_for(Config(database_url=url, redis_url=redis, invalidation_channel=channel))

    assert isinstance(chosen(pg), PostgresChannel)
    assert isinstance(chosen(pg, redis_url), PostgresChannel)  # the database's own channel goes with the commit
    assert isinstance(chosen(pg, redis_url, "redis"), RedisChannel)
    assert isinstance(chosen(sqlite, redis_url), RedisChannel)
    assert chosen(sqlite) is None  # one SQLite process: forgetting here is all there is to do
    assert chosen(pg, channel="local") is None
    for url, redis, channel in ((sqlite, "", "postgres"), (pg, "", "redis"), (pg, "", "carrier-pigeon")):
        with pytest.raises(ValueError, match="BOXOFFICE_INVALIDATION_CHANNEL"):
            chosen(url, redis, channel)


class FlakyChannel:
    """A channel that fails its first `failures` connections, then delivers `messages` and waits."""

    name = "flaky"

    def __init__(self, failures: int, messages: list[str]):
        self.failures, self.messages = failures, messages

    def describe(self) -> str:
        return "the flaky channel"

    def publish(self, message: str) -> None:
        raise AssertionError("not used")

    def listen(self, deliver, connected, stop: threading.Event) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("refused")
        connected()
        for message in self.messages:
            deliver(message)
        stop.wait()


def _until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_the_listener_reconnects_logs_both_ways_and_empties_the_caches_when_back(caplog):
    delivered, emptied = [], []
    listener = Listener(FlakyChannel(2, ["a:1", "b:"]), delivered.append, lambda: emptied.append(1)).start()
    try:
        _until(lambda: delivered == ["a:1", "b:"])
        assert listener.failures == 2 and listener.connections == 1 and listener.listening
        assert emptied == [1]  # whatever changed while it was away was not heard: everything is dropped
        assert caplog.text.count("the flaky channel is down (refused)") == 1  # logged once, not per attempt
        assert "the flaky channel is back after" in caplog.text
    finally:
        listener.stop()


def test_a_forked_child_listens_with_a_listener_of_its_own():
    listener = Listener(FlakyChannel(0, []), lambda message: None, lambda: None).start()
    try:
        _until(lambda: listener.listening)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the parent's thread did not come along, a new listener runs
            try:
                child = current()
                ok = child is not None and child is not listener
                deadline = time.monotonic() + 10
                while ok and not child.listening and time.monotonic() < deadline:
                    time.sleep(0.02)
                os.write(write, b"1" if ok and child.listening else b"0")
            finally:
                os._exit(0)
        os.close(write)
        assert os.read(read, 1) == b"1"
        os.waitpid(pid, 0)
        assert current() is listener  # the parent's own is untouched
    finally:
        listener.stop()


def test_on_sqlite_without_redis_only_this_process_forgets(app, config):
    if config.redis_url or ON_POSTGRES:
        pytest.skip("this pass has a channel")
    assert invalidation.channel_name() == "local" and invalidation.listener() is None


class RecordingChannel:
    """Stands in for the process's channel and keeps what would be sent."""

    name = "recording"

    def __init__(self):
        self.sent: list[str] = []

    def publish(self, message: str) -> None:
        self.sent.append(message)


def test_every_change_of_a_cached_row_is_announced(tenant, monkeypatch):
    from test_purchase_support import make_event, make_type

    recording = RecordingChannel()
    monkeypatch.setattr(invalidation, "_channel", recording)
    event = make_event(tenant)
    ticket_type = make_type(tenant, event)
    fan = tenant.customer()
    recording.sent.clear()

    assert tenant.staff.patch(f"/events/ticket-types/{ticket_type}", json={"name": "Renamed"}).status_code == 200
    assert tenant.staff.put(f"/org/officers/{fan.customer_id}").status_code == 200
    assert fan.post("/client/auth/logout-all").status_code == 204
    assert tenant.staff.patch("/org/settings", json={"corsOrigins": ["https://shop.example"]}).status_code == 200
    key = tenant.staff.post("/org/api-keys", json={"name": "door"}).get_json()
    assert tenant.staff.delete(f"/org/api-keys/{key['id']}").status_code == 200
    assert recording.sent == [f"ticket_type:{ticket_type}", f"account:{fan.customer_id}",
                              f"account:{fan.customer_id}", f"org:{tenant.orgid}", "origins:",
                              f"plugins:{tenant.orgid}", f"api_key:{key['id']}"]
