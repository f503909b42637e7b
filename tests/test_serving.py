"""The production server (`boxoffice serve`, waitress) keeps answering while 50 clients trickle request bodies
a byte at a time: bodies are read on the event loop, so no worker thread waits for a slow client."""

from __future__ import annotations

import socket
import threading
import time

import requests
from procs import ServerProcess, boxoffice_command, boxoffice_env, free_port

SLOW_CLIENTS = 50
TRICKLE_SECONDS = 5.0
DECLARED_BODY = 100_000  # bytes each slow client announces; it sends only a few of them
FORWARDED_HTTPS = {"X-Forwarded-Proto": "https"}  # ignored unless BOXOFFICE_TRUSTED_PROXIES says a proxy sends it


class Trickler(threading.Thread):
    """A client that sends a POST's headers, then one byte of its body every 0.25 s, until `stop` or its time
    is up (so the thread always ends by itself); `error` holds what went wrong, if anything."""

    def __init__(self, port: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.stop, self.error, self.sent = port, stop, None, 0
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)

    def run(self):
        head = (f"POST /client/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\norgid: slow-client\r\n"
                f"Content-Type: application/json\r\nContent-Length: {DECLARED_BODY}\r\n\r\n{{").encode()
        deadline = time.monotonic() + TRICKLE_SECONDS
        try:
            self.sock.sendall(head)
            while not self.stop.is_set() and time.monotonic() < deadline:
                self.sock.sendall(b" ")
                self.sent += 1
                self.stop.wait(0.25)
        except OSError as exc:
            self.error = exc

    def close(self):
        self.sock.close()


def test_health_answers_within_a_second_while_50_clients_trickle_bodies():
    port = free_port()
    with ServerProcess(boxoffice_command("serve", "--port", str(port), "--threads", "4"), port) as server:
        stop = threading.Event()
        slow = [Trickler(port, stop) for _ in range(SLOW_CLIENTS)]
        try:
            for client in slow:
                client.start()
            time.sleep(1.0)  # every slow client is connected and mid-body
            timings = []
            for _ in range(5):
                started = time.monotonic()
                response = requests.get(server.url + "/health", timeout=5, headers=FORWARDED_HTTPS)
                timings.append(time.monotonic() - started)
                assert response.status_code == 200 and response.json() == {"ok": True}
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert "Strict-Transport-Security" not in response.headers
                time.sleep(0.3)
            assert max(timings) < 1.0, timings
            assert all(client.is_alive() for client in slow)  # still trickling: nobody was dropped to cope
        finally:
            stop.set()
            for client in slow:
                client.join(timeout=TRICKLE_SECONDS + 2)
                client.close()
        assert not [client.error for client in slow if client.error]
        assert min(client.sent for client in slow) >= 5


def test_serve_processes_share_a_port_with_reuse_port():
    port = free_port()
    argv = boxoffice_command("serve", "--port", str(port), "--threads", "2", "--reuse-port")
    with ServerProcess(argv, port) as first, ServerProcess(argv, port) as second:
        assert first.proc.poll() is None and second.proc.poll() is None
        assert second.request("GET", "/health").status_code == 200


def test_serve_behind_a_trusted_proxy_sends_hsts_for_forwarded_https():
    port = free_port()
    argv = boxoffice_command("serve", "--port", str(port), "--threads", "2")
    with ServerProcess(argv, port, env=boxoffice_env(BOXOFFICE_TRUSTED_PROXIES="1")) as server:
        secure = server.request("GET", "/health", headers=FORWARDED_HTTPS)
        assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
        plain = server.request("GET", "/health", headers={"X-Forwarded-Proto": "http"})
        assert "Strict-Transport-Security" not in plain.headers
