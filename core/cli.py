"""The `boxoffice` command line: run the server, run workers, upgrade the schema, and operator commands.

Each command builds the app through `create_app`, so the CLI and the server share one wiring.
"""

from __future__ import annotations

import os
import threading

import click

from core import outbox, serving
from core.app import create_app
from core.config import Config
from core.extensions import extensions
from core.metrics_export import serve_worker_metrics


@click.group()
def cli():
    """Boxoffice: multi-tenant event ticketing."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--demo/--no-demo", default=True, show_default=True, help="Seed and print a demo tenant.")
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run the background job consumer in this process.")
def run(host: str, port: int, demo: bool, worker: bool):
    """Serve the API (embedded SQLite by default) with a demo tenant and an in-process job worker."""
    from werkzeug.serving import run_simple

    # The demo's links (the printed pages, e-mails) point where this server listens unless the URL is set.
    app = create_app(Config.from_env(**({} if "BOXOFFICE_PUBLIC_URL" in os.environ
                                        else {"public_url": f"http://{host}:{port}"})))
    if demo:
        extensions().hook.serve_demo(app=app, base_url=f"http://{host}:{port}")
    if worker:
        _start_background_worker(workers=2)
    run_simple(host, port, app, threaded=True, use_reloader=False)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=serving.DEFAULT_THREADS, show_default=True, type=click.IntRange(1, 256),
              help="Worker threads running requests (bodies are read before a thread is taken).")
@click.option("--connection-limit", default=serving.DEFAULT_CONNECTION_LIMIT, show_default=True,
              type=click.IntRange(1, 100000), help="Open client connections at most.")
@click.option("--max-request-body", default=serving.DEFAULT_MAX_REQUEST_BODY, show_default=True,
              type=click.IntRange(1024), help="Bytes; a larger body is refused before the app sees it.")
@click.option("--reuse-port", is_flag=True, help="Share the port with other `boxoffice serve` processes "
                                                 "(Linux SO_REUSEPORT): run one per core.")
def serve(host: str, port: int, threads: int, connection_limit: int, max_request_body: int, reuse_port: bool):
    """Serve the API in production with waitress: a request is read whole before a thread runs it, so slow
    clients cannot tie up workers. Run one process per core with --reuse-port."""
    app = create_app()
    config = app.config["BOXOFFICE"]
    if config.metrics_listen and config.metrics_listen[1] == port:
        raise click.UsageError("BOXOFFICE_METRICS_ADDRESS needs a port of its own, not the API's.")
    serving.serve(app, serving.ServeOptions(host=host, port=port, threads=threads,
                                            connection_limit=connection_limit,
                                            max_request_body=max_request_body, trusted_proxies=config.trusted_proxies,
                                            reuse_port=reuse_port, metrics_listen=config.metrics_listen))


def _start_background_worker(workers: int) -> None:
    """Run a Huey consumer in daemon threads beside the web server (signals stay with the server)."""
    from core.jobs import get_huey

    consumer = get_huey().create_consumer(workers=workers, worker_type="thread", periodic=True,
                                          check_worker_health=True)
    consumer._set_signal_handlers = lambda: None  # only the main thread may install signal handlers
    threading.Thread(target=consumer.run, daemon=True, name="jobs").start()
    outbox.start_sweeper()


@cli.command()
@click.option("--workers", default=2, show_default=True, type=int)
def worker(workers: int):
    """Run a background job consumer (recurrence fan-out, hold expiry, notifications); with
    BOXOFFICE_METRICS_ADDRESS it serves its own metrics there."""
    from core.jobs import run_consumer

    listen = create_app().config["BOXOFFICE"].metrics_listen
    if listen:
        serve_worker_metrics(listen)
    outbox.start_sweeper()
    run_consumer(workers=workers)


@cli.group()
def db():
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade():
    """Apply every pending schema migration (core, then plugins), showing progress."""
    from core import db as database
    from core.migrations import pending
    from core.plugins import get_host
    from core.schema import all_migrations, upgrade_schema

    create_app(migrate=False, listen=False)
    with database.db.connection_context():
        todo = pending(all_migrations(get_host()))
        if not todo:
            click.echo("Schema is up to date.")
            return
        with click.progressbar(length=len(todo), label="Migrating") as bar:
            applied = upgrade_schema(get_host(), progress=lambda m: bar.update(1))
    for migration in applied:
        click.echo(f"applied {migration.component} {migration.version:04d} {migration.name}")


def _register_extensions() -> None:
    extensions().hook.register_commands(cli=cli)


def main():
    """Entry point of the `boxoffice` console script."""
    _register_extensions()
    try:
        from core.plugins import init_host

        host = init_host(Config.from_env().enabled_plugin_names)
        host.pm.hook.register_commands(cli=cli)
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide the core commands
        click.echo(f"warning: plugin commands not loaded: {exc}", err=True)
    cli()
