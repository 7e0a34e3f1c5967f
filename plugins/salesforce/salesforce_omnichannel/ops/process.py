"""The one set of probes per process: the health record, the metrics and the probe server.

Errbot deactivates every plugin when the Rocket.Chat connection drops and activates it again after,
which is exactly when `/livez` must keep answering and `/readyz` must say why it is not ready; so none
of this belongs to an activation. It lives in this module, which the plugin's activations share
(`!plugin reload` re-runs only the plugin's main module), and the server starts once per process.
"""

from __future__ import annotations

import json
import logging
import threading
from importlib import metadata

from .. import __version__
from .health import Health
from .metrics import CONTENT_TYPE, Metrics
from .server import ProbeServer

log = logging.getLogger(__name__)
JSON = "application/json"


class Ops:
    def __init__(self, version: str = __version__, errbot_version: str = ""):
        self.health = Health()
        self.metrics = Metrics(self.health.snapshot, version, errbot_version or _errbot_version())
        self.server: ProbeServer | None = None
        self.problem: str | None = None  # why the probes are not served as configured, for `status`
        self._wanted: tuple[str, int] | None = None
        self._lock = threading.Lock()

    def routes(self) -> dict:
        return {"/livez": self._livez, "/readyz": self._readyz, "/metrics": self._metrics}

    def serve(self, bind: str, port: int) -> None:
        """Serve the probes on BIND:PORT from now on, once per process (PORT 0: off). Asked again for another
        address, the running server stays (it answers the probes of a running deployment) and `problem` says
        that the new one takes effect when the bot restarts."""
        with self._lock:
            if port <= 0:
                return
            if self.server is not None:
                if (bind, port) != self._wanted:
                    self.problem = (
                        f"HEALTH_BIND/HEALTH_PORT {bind}:{port} take effect when the bot restarts; the probes are "
                        f"served on {self.server.bind}:{self.server.port} until then."
                    )
                    log.warning("Probes: %s", self.problem)
                return
            server = ProbeServer(bind, port, self.routes())
            try:
                server.start()
            except OSError as exc:
                self.problem = f"the probes cannot listen on {bind}:{port} ({exc.strerror or type(exc).__name__})."
                log.error("Probes: %s", self.problem)
                return
            self.server, self._wanted, self.problem = server, (bind, port), None

    def stop(self) -> None:
        with self._lock:
            server, self.server, self._wanted = self.server, None, None
        if server is not None:
            server.stop()

    # -- the routes --------------------------------------------------------------------------
    def _livez(self) -> tuple[int, str, bytes]:
        ok, body = self.health.liveness()
        return (200 if ok else 503), JSON, _json(body)

    def _readyz(self) -> tuple[int, str, bytes]:
        ok, body = self.health.readiness()
        return (200 if ok else 503), JSON, _json(body)

    def _metrics(self) -> tuple[int, str, bytes]:
        return 200, CONTENT_TYPE, self.metrics.render()


def _json(body: dict) -> bytes:
    return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()


def _errbot_version() -> str:
    try:
        return metadata.version("errbot")
    except metadata.PackageNotFoundError:
        return ""


_lock = threading.Lock()
_current: Ops | None = None


def ops() -> Ops:
    """This process's probes (made on first use)."""
    global _current
    with _lock:
        if _current is None:
            _current = Ops()
        return _current
