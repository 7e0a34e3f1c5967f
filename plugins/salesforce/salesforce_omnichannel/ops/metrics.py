"""Every Prometheus metric of the bot, in a registry of its own (never the library's global one, so
tests and several instances in one process stay apart), rendered in the text format for `/metrics`.

Names follow Prometheus' conventions: one prefix (`rcsf_`), base units (`_seconds`), `_total` on
counters, and no label that names a room, a visitor, an agent or an email: labels take values from
small fixed sets (a command's name, an outcome, a Salesforce operation kind, an HTTP status), so a
scrape's size does not grow with the number of chats.

Counted as things happen: `command`, `greeting`, `closure`, `salesforce_request`, `poll_duration`,
`alert`. Read at each scrape from the health snapshot (the same one `/readyz` answers from): readiness,
stalled loops, the Rocket.Chat connection, the outbox, the API usage and whether the budget guard holds.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.process_collector import ProcessCollector

from .health import Snapshot

PREFIX = "rcsf"
CONTENT_TYPE = CONTENT_TYPE_LATEST
SALESFORCE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
POLL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _label(value: Any) -> str:
    """A label value from a fixed vocabulary; anything long is cut (a bug must not blow up a scrape)."""
    return str(value)[:40] or "none"


class Metrics:
    def __init__(self, snapshot: Callable[[], Snapshot] | None = None, version: str = "", errbot_version: str = ""):
        self.registry = CollectorRegistry()
        r, p = self.registry, PREFIX
        Gauge(
            f"{p}_build_info",
            "The bot's build: plugin version, Errbot and Python versions (always 1).",
            ["version", "errbot_version", "python_version"],
            registry=r,
        ).labels(version or "unknown", errbot_version or "unknown", platform.python_version()).set(1)
        self._commands = Counter(
            f"{p}_commands", "Salesforce commands answered, by command and result.", ["command", "result"], registry=r
        )
        self._greetings = Counter(
            f"{p}_greetings",
            "Greetings of an assigned chat's agent, by result (contact, new, held, error).",
            ["result"],
            registry=r,
        )
        self._closures = Counter(
            f"{p}_closures",
            "Attempts to save a closed chat, by result (saved, partial, retry, waiting, failed, quarantined).",
            ["result"],
            registry=r,
        )
        self._sf_requests = Counter(
            f"{p}_salesforce_requests",
            "HTTP requests to Salesforce, by operation and status (HTTP code, timeout or connection_error).",
            ["operation", "status"],
            registry=r,
        )
        self._sf_duration = Histogram(
            f"{p}_salesforce_request_duration_seconds",
            "Duration of HTTP requests to Salesforce, by operation.",
            ["operation"],
            buckets=SALESFORCE_BUCKETS,
            registry=r,
        )
        self._mints = Counter(
            f"{p}_salesforce_token_mints", "Access tokens minted (JWT bearer flow), by result.", ["result"], registry=r
        )
        self._poll = Histogram(
            f"{p}_poll_duration_seconds",
            "Duration of one reconcile poll (Omnichannel rooms, owners, the outbox).",
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self._alerts = Counter(
            f"{p}_admin_alerts", "Alerts told to the bot admins in chat, by kind.", ["kind"], registry=r
        )
        ProcessCollector(namespace=p, registry=r)
        self._snapshot = snapshot
        if snapshot is not None:
            r.register(_SnapshotCollector(snapshot))

    # -- counted as things happen ----------------------------------------------------------------
    def command(self, command: str, result: str) -> None:
        self._commands.labels(_label(command), _label(result)).inc()

    def greeting(self, result: str) -> None:
        self._greetings.labels(_label(result)).inc()

    def closure(self, result: str) -> None:
        self._closures.labels(_label(result)).inc()

    def salesforce_request(self, operation: str, status: str, seconds: float) -> None:
        operation = _label(operation)
        self._sf_requests.labels(operation, _label(status)).inc()
        self._sf_duration.labels(operation).observe(seconds)
        if operation == "token":
            self._mints.labels("ok" if status == "200" else "error").inc()

    def poll_duration(self, seconds: float) -> None:
        self._poll.observe(seconds)

    def alert(self, kind: str) -> None:
        self._alerts.labels(_label(kind)).inc()

    # -- the scrape ------------------------------------------------------------------------------------
    def render(self) -> bytes:
        return generate_latest(_WithoutCreated(self.registry))


class _WithoutCreated:
    """The registry less the client's `_created` series (one per counter child: a scrape twice the size
    for a value nobody alerts on), without the library's process-wide switch."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            metric.samples = [s for s in metric.samples if not s.name.endswith("_created")]
            yield metric


class _SnapshotCollector:
    """Gauges and counters read from the health snapshot at each scrape."""

    def __init__(self, snapshot: Callable[[], Snapshot]):
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        p = PREFIX
        yield GaugeMetricFamily(f"{p}_ready", "1 when /readyz answers 200, else 0.", value=1 if snap.ready else 0)
        yield GaugeMetricFamily(
            f"{p}_leader",
            "1 while this bot is the active one (a standby says 0).",
            value=1 if snap.role == "leader" else 0,
        )
        if snap.epoch is not None:
            yield GaugeMetricFamily(f"{p}_leader_epoch", "The leadership's epoch (a standby pair).", value=snap.epoch)
        stalled = GaugeMetricFamily(f"{p}_loop_stalled", "1 when a loop has stopped making progress.", labels=["loop"])
        for loop in snap.loops:
            stalled.add_metric([loop.name], 1 if loop.stalled else 0)
        yield stalled
        backend = snap.backend
        if backend is not None:
            yield GaugeMetricFamily(
                f"{p}_rocketchat_connected",
                "1 while logged in to Rocket.Chat with a live realtime stream, else 0.",
                value=1 if backend.get("stream_live") else 0,
            )
            yield CounterMetricFamily(
                f"{p}_rocketchat_reconnects",
                "Realtime connections made after the first one.",
                value=int(backend.get("reconnects") or 0),
            )
            events = CounterMetricFamily(
                f"{p}_rocketchat_realtime_events",
                "Rocket.Chat messages handled, by kind (message, assigned, transferred, closed, other).",
                labels=["kind"],
            )
            for kind, count in sorted((backend.get("events") or {}).items()):
                events.add_metric([_label(kind)], count)
            yield events
        outbox = snap.plugin.outbox
        if outbox is not None:
            for key, name, text in (
                ("pending", "outbox_pending_closures", "Closed chats waiting to be saved to Salesforce."),
                (
                    "failed",
                    "outbox_failed_closures",
                    "Closed chats that failed for good (told to the agent and admins).",
                ),
                ("quarantined", "outbox_quarantined_closures", "Closed chats set aside for an admin."),
                (
                    "oldest_pending_age_seconds",
                    "outbox_oldest_pending_age_seconds",
                    "Age of the oldest closed chat waiting to be saved (0 when none waits).",
                ),
            ):
                yield GaugeMetricFamily(f"{p}_{name}", text, value=outbox[key])
        usage = snap.plugin.api_usage
        if usage is not None:
            yield GaugeMetricFamily(
                f"{p}_salesforce_api_requests_used",
                "The org's API requests in the last 24 hours (Sforce-Limit-Info).",
                value=usage[0],
            )
            yield GaugeMetricFamily(
                f"{p}_salesforce_api_requests_limit",
                "The org's daily API request limit (Sforce-Limit-Info).",
                value=usage[1],
            )
        if snap.plugin.budget_holding is not None:
            yield GaugeMetricFamily(
                f"{p}_salesforce_api_budget_holding",
                "1 while the API budget guard holds what can wait (closed chats, greeting look-ups), else 0.",
                value=1 if snap.plugin.budget_holding else 0,
            )
