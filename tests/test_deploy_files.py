"""The deployment files (`docs/deploy/Dockerfile`, `docs/deploy/compose.yaml`) stay in step with what the app
defines: no image can be built or pulled here, so they are read. Their commands are the production commands of
docs/operations.md (named in the README) and parse with the `boxoffice` CLI's own options; every `BOXOFFICE_*`
variable exists in `core.config` and loads; the ports they publish and expose are the ones the commands listen on.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml
from procs import ROOT

from core.cli import cli
from core.config import Config

DEPLOY = ROOT / "docs" / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "api", "worker")
API_PORT, METRICS_PORT = 8000, 9464
INTERPOLATION = re.compile(r"\$\{([A-Z_]+)(?::?[-?][^}]*)?\}")


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile: comments dropped, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in path.read_text().splitlines()
                                         if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in joined.splitlines()
            if line.strip()]


DOCKERFILE = dockerfile_instructions(DEPLOY / "Dockerfile")


def dockerfile(instruction: str) -> list[str]:
    return [arguments for name, arguments in DOCKERFILE if name == instruction]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in dockerfile("ENV"):
        env.update(pair.split("=", 1) for pair in shlex.split(arguments))
    return env


def operations_commands() -> set[tuple[str, ...]]:
    """The production commands of the operations chapter's deployment block, as argv (`.venv/bin/` dropped)."""
    text = (ROOT / "docs" / "operations.md").read_text()
    block = text.split("## Deployment: PostgreSQL, Redis, the server, job consumers", 1)[1].split("```sh\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    return {tuple(shlex.split(line.split("#", 1)[0].removeprefix(".venv/bin/"))) for line in lines
            if line.startswith(".venv/bin/boxoffice ")}


def cli_command(argv: list[str]) -> click.Command:
    """The `boxoffice` (sub)command `argv` names, after click parsed every option (a wrong one fails)."""
    assert argv[0] == "boxoffice"
    command, args, ctx = cli, argv[1:], None
    while isinstance(command, click.Group):  # the groups take no options of their own
        ctx = click.Context(command, info_name=command.name, parent=ctx)
        command, args = command.get_command(ctx, args[0]), args[1:]
        assert command is not None, f"no `boxoffice` command {argv}"
    command.make_context(command.name, list(args), parent=ctx)
    return command


def app_commands() -> dict[str, list[str]]:
    commands = {name: SERVICES[name]["command"] for name in APP_SERVICES}
    [cmd] = dockerfile("CMD")
    commands["Dockerfile CMD"] = json.loads(cmd)
    return commands


@pytest.mark.parametrize("where", ["migrate", "api", "worker", "Dockerfile CMD"])
def test_each_command_is_a_production_command_of_the_docs_and_parses(where):
    argv = app_commands()[where]
    assert tuple(argv) in operations_commands(), f"{where}: {argv} is not in docs/operations.md's deployment block"
    cli_command(argv)
    named = " ".join(argv[:3] if argv[1] == "db" else argv[:2])
    assert f"`{named}`" in (ROOT / "README.md").read_text(), f"the README does not name `{named}`"


def test_the_image_runs_the_api_and_the_compose_file_runs_api_worker_postgres_redis():
    assert json.loads(dockerfile("CMD")[0]) == SERVICES["api"]["command"]
    assert {"api", "worker", "postgres", "redis"} <= set(SERVICES)
    assert [argv[1] for argv in (SERVICES["api"]["command"], SERVICES["worker"]["command"])] == ["serve", "worker"]
    images = {SERVICES[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1 and all(SERVICES[name]["build"]["dockerfile"] == "docs/deploy/Dockerfile"
                                    for name in APP_SERVICES)
    assert (DEPLOY / SERVICES["api"]["build"]["context"] / "setup.cfg").resolve() == ROOT / "setup.cfg"
    assert SERVICES["migrate"]["command"] == ["boxoffice", "db", "upgrade"]
    for name in ("api", "worker"):  # they start once the schema is upgraded
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def _interpolated(value: str) -> str:
    """A compose value with `${VAR...}` replaced by a stand-in (the variable's default when it has one)."""
    def stand_in(match: re.Match) -> str:
        default = re.search(r":-([^}]*)\}$", match.group(0))
        return default.group(1) if default else f"x-{match.group(1).lower()}"
    return INTERPOLATION.sub(stand_in, str(value))


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_variable_exists_in_the_config_and_loads(service):
    env = {**dockerfile_env(), **{k: _interpolated(v) for k, v in SERVICES[service]["environment"].items()}}
    used = {name for name in env if name.startswith("BOXOFFICE_")}
    unknown = used - set(Config.ENV.values())
    assert not unknown, f"{service} sets variables core/config.py does not define: {sorted(unknown)}"
    config = Config.from_env(env)  # checks the values too (log format, metrics address)
    assert {"BOXOFFICE_DATABASE_URL", "BOXOFFICE_REDIS_URL", "BOXOFFICE_SECRET_KEY",
            "BOXOFFICE_OPERATOR_TOKEN", "BOXOFFICE_PUBLIC_URL"} <= used  # the operations checklist
    assert config.effective_database_url.startswith("postgresql://") and "@postgres:5432/" in config.database_url
    assert config.redis_url.startswith("redis://redis:6379/")
    assert config.metrics_listen == ("0.0.0.0", METRICS_PORT) and config.log_format == "json"
    assert config.data_dir == "/var/lib/boxoffice"
    assert SERVICES["postgres"]["environment"]["POSTGRES_USER"] in config.database_url
    assert SERVICES["postgres"]["environment"]["POSTGRES_DB"] == config.database_url.rsplit("/", 1)[1]


def test_ports_are_the_ones_the_commands_listen_on():
    serve = SERVICES["api"]["command"]
    assert int(serve[serve.index("--port") + 1]) == API_PORT and serve[serve.index("--host") + 1] == "0.0.0.0"
    assert SERVICES["api"]["ports"] == [f"{API_PORT}:{API_PORT}"]  # the API is published...
    exposed = {int(port) for arguments in dockerfile("EXPOSE") for port in arguments.split()}
    assert exposed == {API_PORT, METRICS_PORT}
    for name in ("api", "worker"):  # ...metrics only on the compose network, for Prometheus
        assert SERVICES[name]["expose"] == [str(METRICS_PORT)]
    assert "ports" not in SERVICES["worker"] and "ports" not in SERVICES["migrate"]
    assert "5432" in SERVICES["postgres"]["expose"] and "6379" in SERVICES["redis"]["expose"]
    assert "ports" not in SERVICES["postgres"] and "ports" not in SERVICES["redis"]


def test_health_checks_call_routes_the_app_has(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    probes = [dockerfile("HEALTHCHECK")[0], " ".join(SERVICES["api"]["healthcheck"]["test"])]
    urls = [re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe).groups() for probe in probes]
    assert urls == [(str(API_PORT), "/health"), (str(API_PORT), "/ready")]
    assert {"/health", "/ready"} <= rules


def test_readme_and_operations_link_the_files():
    for page in (ROOT / "README.md", ROOT / "docs" / "operations.md"):
        text = page.read_text()
        for name in ("Dockerfile", "compose.yaml"):
            assert f"deploy/{name})" in text, f"{page.name} does not link docs/deploy/{name}"
