"""Test helpers that run Boxoffice as real processes: the installed `boxoffice` script and HTTP servers.

They inherit the test run's BOXOFFICE_* environment (same database, secret and operator token); they never
touch the test process's own app, so tests using them cannot disturb the session's database binding.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Loaded by every gunicorn the tests start: answers are checked against /openapi.json like in process.
CONTRACT_CHECK = Path(__file__).resolve().parent / "contract_gunicorn.py"


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def boxoffice_env(**overrides: str | None) -> dict:
    """The test environment for a child process; a None override removes the variable."""
    env = dict(os.environ)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def boxoffice_command(*args: str) -> list[str]:
    """Argv for the installed `boxoffice` console script (falls back to `core.cli:main`)."""
    script = BIN / "boxoffice"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from core.cli import main; main()", *args]


def run_cli(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run `boxoffice ARGS...` to completion and capture its output as text."""
    return subprocess.run(boxoffice_command(*args), cwd=ROOT, env=env or boxoffice_env(), capture_output=True,
                          text=True, timeout=timeout)


def gunicorn_command(port: int, workers: int = 2) -> list[str]:
    """Argv for `gunicorn wsgi:app` on a loopback port."""
    return [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--graceful-timeout", "5", "--timeout", "60", "-c", str(CONTRACT_CHECK), "wsgi:app"]


class ServerProcess:
    """A server subprocess: started with `argv`, ready once GET /health answers, stopped on exit."""

    def __init__(self, argv: list[str], port: int, env: dict | None = None, cwd: Path = ROOT):
        self.argv = argv
        self.url = f"http://127.0.0.1:{port}"
        self.env = env or boxoffice_env()
        self.cwd = cwd
        self.log_dir = Path(tempfile.mkdtemp(prefix="boxoffice-proc-"))
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ServerProcess:
        self.stdout = open(self.log_dir / "stdout", "w+")  # noqa: SIM115 - closed in __exit__
        self.stderr = open(self.log_dir / "stderr", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=self.stdout,
                                     stderr=self.stderr, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"server did not answer /health within 60 s:\n{self.output()}")

    def output(self) -> str:
        """Everything the server printed so far (stdout, then stderr)."""
        self.stdout.flush()
        self.stderr.flush()
        return (self.log_dir / "stdout").read_text() + (self.log_dir / "stderr").read_text()

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.stdout.close()
        self.stderr.close()
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """An HTTP request to this server."""
        return requests.request(method, self.url + path, timeout=30, **kwargs)


def operator_headers() -> dict:
    """The operator token of this test run, as a request header."""
    return {"Authorization": f"Bearer {os.environ['BOXOFFICE_OPERATOR_TOKEN']}"}


class OwnRedis:
    """A redis-server on a free loopback port that keeps nothing on disk (a restart loses every queued job)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
