"""The realtime stream's state as the backend knows it: up, or down since when, and the last outage.

Errbot deactivates every plugin while the stream is down and activates them again on reconnect, so
a plugin cannot watch an outage itself: the backend logs one WARNING once the stream has been down
for `warn_after` seconds (a timer; the reconnect loop may be sleeping), and keeps `last_outage` for
the plugins to read once it is back (the Salesforce plugin tells the admins in chat then). The bot
starts "down": not connected within `warn_after` of starting is an outage too.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("errbot.backends.rocketchat")

WARN_AFTER_SECONDS = 120.0


def _clock_text(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%H:%M:%S UTC")


class ConnectionState:
    def __init__(
        self,
        server: str,
        next_attempt: Callable[[], float] = lambda: 0.0,
        warn_after: float = WARN_AFTER_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.server = server
        self._next_attempt = next_attempt  # seconds until the reconnect loop tries again
        self.warn_after = warn_after
        self._clock = clock
        self._lock = threading.Lock()
        self.connected = False
        self.down_since: float | None = clock()
        self.last_outage: tuple[float, float] | None = None  # (went down, came back) of the last outage
        self.outages = 0
        self._timer: threading.Timer | None = None
        self._arm()

    @property
    def down_for(self) -> float:
        """Seconds the stream has been down (0 while up)."""
        since = self.down_since
        return 0.0 if since is None else max(self._clock() - since, 0.0)

    def up(self) -> None:
        with self._lock:
            if self.connected:
                return
            now = self._clock()
            if self.down_since is not None:
                self.last_outage = (self.down_since, now)
                if now - self.down_since >= self.warn_after:
                    log.warning(
                        "Rocket.Chat realtime stream at %s is back after %.0f s down (since %s)",
                        self.server,
                        now - self.down_since,
                        _clock_text(self.down_since),
                    )
            self.connected, self.down_since = True, None
            self._cancel()

    def down(self) -> None:
        with self._lock:
            if not self.connected:
                return
            self.connected, self.down_since = False, self._clock()
            self.outages += 1
            self._arm()

    def close(self) -> None:
        with self._lock:
            self._cancel()

    def _arm(self) -> None:
        self._cancel()
        since = self.down_since
        timer = threading.Timer(self.warn_after, self._still_down, args=(since,))
        timer.daemon = True
        timer.name = "rocketchat-outage"
        self._timer = timer
        timer.start()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _still_down(self, since: float | None) -> None:
        with self._lock:
            if self.connected or self.down_since != since or since is None:
                return
            log.warning(
                "Rocket.Chat realtime stream at %s down for %.0f s (since %s): chat events and commands wait until "
                "it is back; reconnecting (next attempt in %d s)",
                self.server,
                self._clock() - since,
                _clock_text(since),
                max(self._next_attempt(), 0.0),
            )
