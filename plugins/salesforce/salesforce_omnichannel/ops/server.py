"""The probe server: a standard-library `ThreadingHTTPServer` in a daemon thread, answering
`GET /livez`, `/readyz` (JSON, 200 or 503) and `/metrics` (Prometheus text). It knows nothing of what
it serves: `routes` maps a path to a function returning (status, content type, body)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)

Route = Callable[[], tuple[int, str, bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        route = self.server.routes.get(self.path.split("?", 1)[0])
        if route is None:
            status, ctype, body = 404, "text/plain; charset=utf-8", b"not found: /livez, /readyz, /metrics\n"
        else:
            try:
                status, ctype, body = route()
            except Exception:  # noqa: BLE001 - a probe answers, whatever broke
                log.exception("Probe %s failed", self.path)
                status, ctype, body = 500, "text/plain; charset=utf-8", b"probe failed; see the bot's log\n"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the standard library's signature
        log.debug("probe %s", format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], routes: dict[str, Route]):
        self.routes = routes
        if ":" in address[0]:
            self.address_family = socket.AF_INET6  # HEALTH_BIND "::" or an IPv6 address
        super().__init__(address, _Handler)


class ProbeServer:
    """`start()` binds BIND:PORT (port 0: a free one) and serves until `stop()` or the process ends."""

    def __init__(self, bind: str, port: int, routes: dict[str, Route]):
        self.bind, self.port, self.routes = bind, port, routes
        self._server: _Server | None = None

    def start(self) -> None:
        """OSError when the address cannot be bound (in use, not an address of this host)."""
        server = _Server((self.bind, self.port), self.routes)
        self._server = server
        self.port = server.server_address[1]
        # no poll interval: the thread sleeps in select() until a request comes (with the standard library's
        # 0.5 s it would wake twice a second, about 0.5 ms of CPU a second for nothing)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": None}, name="health-probes", daemon=True
        ).start()
        log.info("Probes on http://%s:%d (/livez, /readyz, /metrics)", self.bind, self.port)

    def stop(self) -> None:
        """Stop serving (the tests; a running bot keeps its probes until the process ends)."""
        server, self._server = self._server, None
        if server is None:
            return
        stopping = threading.Thread(target=server.shutdown, daemon=True)
        stopping.start()
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.bind, self.bind)
        for _ in range(50):  # a connection wakes the select() so that the loop sees the shutdown
            try:
                socket.create_connection((host, self.port), timeout=1).close()
            except OSError:
                pass
            stopping.join(0.1)
            if not stopping.is_alive():
                break
        server.server_close()
