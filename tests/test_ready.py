"""`/ready` (the readiness probe) against `/health` (liveness): 200 with every check when the database answers
and every migration is applied; 503 naming the database when it is down, naming the missing migration when one
is not recorded; Redis is checked when configured (a real Redis, and a port nobody listens on).
"""

from __future__ import annotations

from procs import free_port
from test_db_unavailable import bound

from core import db as database
from core.migrations import SchemaMigration, core_migrations

UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/boxoffice"


def test_ready_when_the_database_answers_and_the_schema_is_current(tenant):
    response = tenant.guest.get("/ready")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["ready"] is True and body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations"}  # no Redis configured in the test run
    assert all(check["ok"] for check in body["checks"].values())


def test_503_naming_the_database_when_it_is_down_while_health_stays_200(tenant):
    with bound(database.make_database(UNREACHABLE_PG, connect_timeout=2)):
        response = tenant.guest.get("/ready")
        assert tenant.guest.get("/health").status_code == 200
    assert response.status_code == 503, response.get_json()
    body = response.get_json()
    assert body["ready"] is False and body["failed"] == ["database", "migrations"]
    assert body["checks"]["database"] == {"ok": False, "error": "database unavailable (OperationalError)",
                                          "pending": []}
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no driver text in the answer
    assert tenant.guest.get("/ready").status_code == 200  # back once the database is


def test_503_naming_a_migration_that_is_not_applied(tenant):
    last = core_migrations()[-1]
    with database.db.connection_context():
        row = SchemaMigration.get((SchemaMigration.component == "core") & (SchemaMigration.version == last.version))
        row.delete_instance()
    try:
        response = tenant.guest.get("/ready")
    finally:
        with database.db.connection_context():
            SchemaMigration.create(component=row.component, version=row.version, name=row.name,
                                   applied_at=row.applied_at)
    assert response.status_code == 503, response.get_json()
    body = response.get_json()
    assert body["failed"] == ["migrations"] and body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["pending"] == [f"core {last.version:04d} {last.name}"]
    assert tenant.guest.get("/ready").status_code == 200


def test_redis_is_checked_when_configured(tenant, config, monkeypatch):
    monkeypatch.setattr(config, "redis_url", "redis://127.0.0.1:6379/0")
    answered = tenant.guest.get("/ready")
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["checks"]["redis"]["ok"] is True
    monkeypatch.setattr(config, "redis_url", f"redis://127.0.0.1:{free_port()}/0")
    down = tenant.guest.get("/ready")
    assert down.status_code == 503 and down.get_json()["failed"] == ["redis"]
    assert down.get_json()["checks"]["redis"]["error"] == "redis unavailable (ConnectionError)"
