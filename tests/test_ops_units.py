"""The probes and metrics piece by piece: heartbeats, the liveness and readiness decisions, the metrics'
names and labels, the probe server, the figures `status` shares with them, the backend's connection
report, and the Salesforce session's request listeners."""

from __future__ import annotations

import http.server
import threading
import time
from types import SimpleNamespace

import pytest
import requests
from ops_helpers import free_port, samples, value
from prometheus_client.parser import text_string_to_metric_families
from rc_health import ConnectionHealth
from unit_helpers import Clock

from salesforce_omnichannel.chat import config as plugin_config
from salesforce_omnichannel.chat import status as plugin_status
from salesforce_omnichannel.chat.figures import outbox_figures
from salesforce_omnichannel.chat.outbox import Outbox
from salesforce_omnichannel.chat.probes import PluginProbes, command_label
from salesforce_omnichannel.chat.store import SqliteStateStore
from salesforce_omnichannel.crm.endpoints import operation_of
from salesforce_omnichannel.crm.errors import CrmUnavailable
from salesforce_omnichannel.crm.http import SalesforceSession
from salesforce_omnichannel.ops.health import Health, PluginReport
from salesforce_omnichannel.ops.heartbeat import Heartbeat
from salesforce_omnichannel.ops.metrics import Metrics
from salesforce_omnichannel.ops.process import Ops

FIGURES = {"pending": 2, "failed": 1, "quarantined": 0, "oldest_pending_age_seconds": 95.0}
PEOPLE_LABELS = {"room", "room_id", "visitor", "visitor_id", "agent", "user", "username", "email", "contact"}


def live_backend(**over):
    report = {
        "logged_in": True,
        "stream_live": True,
        "reason": None,
        "since_frame_seconds": 1.0,
        "silence_timeout_seconds": 70.0,
        "reconnects": 2,
        "events": {"message": 5, "assigned": 1},
        "loops": {
            "realtime_reader": {"busy": True, "since_progress_seconds": 0.5, "stall_after_seconds": 30.0},
            "rocketchat_dispatch": {"busy": False, "since_progress_seconds": 0.0, "stall_after_seconds": 120.0},
        },
    }
    report.update(over)
    return report


def active(**over) -> PluginReport:
    fields = {
        "active": True,
        "outbox": dict(FIGURES),
        "api_usage": (120, 15000),
        "salesforce": {"reachable": True},
        "budget_holding": True,
    }
    fields.update(over)
    return PluginReport(**fields)


# -- heartbeats ---------------------------------------------------------------------------------------
def test_a_worker_is_stalled_only_while_busy_without_progress():
    clock = Clock()
    beat = Heartbeat("outbox_worker", 40, clock=clock)
    clock.advance(1000)
    assert not beat.state().stalled  # idle for long: waiting for work is not a stall
    beat.busy()
    clock.advance(39)
    assert not beat.state().stalled
    beat.beat()  # a Salesforce answer
    clock.advance(39)
    assert not beat.state().stalled
    clock.advance(2)
    state = beat.state()
    assert state.stalled and state.as_dict() == {
        "busy": True,
        "stalled": True,
        "since_progress_seconds": 41.0,
        "stall_after_seconds": 40.0,
    }
    beat.idle()
    assert not beat.state().stalled


def test_a_periodic_loop_is_stalled_when_it_stops_ticking():
    clock = Clock()
    beat = Heartbeat("poller", 36, periodic=True, clock=clock)
    clock.advance(30)
    beat.beat()
    clock.advance(30)
    assert not beat.state().stalled
    clock.advance(7)
    assert beat.state().stalled


def test_progress_beats_only_the_loop_whose_job_runs_on_this_thread():
    health = Health()
    mine, other = health.loop("outbox_worker", 0.05), health.loop("other_worker", 0.05)
    mine.busy()
    started = threading.Event()
    threading.Thread(target=lambda: (other.busy(), started.set())).start()
    started.wait(5)
    time.sleep(0.1)
    health.progress()
    live, body = health.liveness()
    assert not live and body["stalled"] == ["other_worker"] and body["status"] == "stalled"
    assert body["loops"]["outbox_worker"]["stalled"] is False


# -- readiness and liveness ----------------------------------------------------------------------------
def test_not_ready_until_the_plugin_started_but_alive():
    health = Health()
    ready, body = health.readiness()
    assert not ready and body["reasons"] == ["starting: the Salesforce plugin has not been activated yet"]
    assert body["checks"]["state_store"] == "not open yet"
    assert health.liveness()[0]


def test_ready_on_another_backend_is_started_and_store_open():
    health = Health()
    health.plugin_active(active)
    ready, body = health.readiness()
    assert ready and body["status"] == "ready" and body["reasons"] == []
    assert body["checks"] == {
        "started": True,
        "rocketchat": "not used on this backend",
        "plugin_active": True,
        "state_store": "open",
    }
    assert body["outbox"] == FIGURES and body["salesforce"]["api_usage"] == {"used": 120, "limit": 15000}


def test_salesforce_down_shows_but_does_not_make_it_unready():
    health = Health()
    health.set_backend(live_backend)
    health.plugin_active(
        lambda: active(salesforce={"reachable": False, "last_request": {"operation": "composite", "status": "timeout"}})
    )
    ready, body = health.readiness()
    assert ready
    assert body["salesforce"]["reachable"] is False and body["salesforce"]["last_request"]["status"] == "timeout"
    assert body["checks"]["rocketchat"]["stream_live"] is True and body["checks"]["rocketchat"]["reconnects"] == 2


@pytest.mark.parametrize(
    ("backend", "report", "reason"),
    [
        (
            live_backend(stream_live=False, reason="the realtime stream has been silent for 75 s"),
            active(),
            "Rocket.Chat: the realtime stream has been silent for 75 s",
        ),
        (
            live_backend(logged_in=False, stream_live=False, reason="cannot log in to Rocket.Chat: 503"),
            active(),
            "Rocket.Chat: cannot log in to Rocket.Chat: 503",
        ),
        (live_backend(), active(store_problem="unreadable (DatabaseError)"), "state store: unreadable (DatabaseError)"),
    ],
)
def test_each_reason_of_unreadiness_is_named(backend, report, reason):
    health = Health()
    health.set_backend(lambda: backend)
    health.plugin_active(lambda: report)
    ready, body = health.readiness()
    assert not ready and body["status"] == "not ready" and body["reasons"] == [reason]


def test_a_deactivated_plugin_says_why_and_keeps_its_last_figures():
    health = Health()
    health.set_backend(lambda: live_backend(stream_live=False, reason="the realtime connection was lost (X)"))
    health.plugin_active(active)
    health.plugin_inactive("Errbot deactivates it while Rocket.Chat is disconnected", active())
    ready, body = health.readiness()
    assert not ready
    assert body["reasons"] == [
        "Rocket.Chat: the realtime connection was lost (X)",
        "the Salesforce plugin is not active: Errbot deactivates it while Rocket.Chat is disconnected",
    ]
    assert body["checks"]["state_store"] == "closed while the plugin is not active"
    assert body["outbox"] == FIGURES


def test_a_report_that_raises_is_a_reason_not_a_crash():
    health = Health()
    health.plugin_active(lambda: 1 / 0)
    health.set_backend(lambda: {}["missing"])
    ready, body = health.readiness()
    assert not ready
    assert "Rocket.Chat: the backend's report failed (KeyError)" in body["reasons"]
    assert "state store: the plugin's report failed (ZeroDivisionError)" in body["reasons"]


def test_a_stalled_backend_loop_fails_liveness_by_name():
    health = Health()
    health.set_backend(
        lambda: live_backend(
            loops={"realtime_reader": {"busy": True, "since_progress_seconds": 31.0, "stall_after_seconds": 30.0}}
        )
    )
    live, body = health.liveness()
    assert not live and body["stalled"] == ["realtime_reader"]


# -- metrics --------------------------------------------------------------------------------------------
def full_metrics() -> Metrics:
    health = Health()
    health.set_backend(live_backend)
    health.plugin_active(active)
    health.loop("outbox_worker", 40)
    metrics = Metrics(health.snapshot, "1.0.0", "6.2.1")
    metrics.command("contact", "ok")
    metrics.command("create-case", "usage_error")
    metrics.greeting("contact")
    metrics.closure("saved")
    metrics.salesforce_request("query", "200", 0.2)
    metrics.salesforce_request("composite", "timeout", 20.0)
    metrics.salesforce_request("token", "400", 0.1)
    metrics.poll_duration(0.03)
    metrics.alert("outbox_age")
    return metrics


def test_metric_names_follow_prometheus_conventions_and_carry_no_people():
    text = full_metrics().render().decode()
    families = list(text_string_to_metric_families(text))
    assert families
    for family in families:
        assert family.name.startswith("rcsf_"), family.name
        for sample in family.samples:
            assert not sample.name.endswith("_created")
            assert not PEOPLE_LABELS & set(sample.labels), (sample.name, sample.labels)
            if family.type == "counter":
                assert sample.name.endswith("_total"), sample.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds")
    found = samples(text)
    assert value(found, "rcsf_commands_total", command="contact", result="ok") == 1
    assert value(found, "rcsf_salesforce_requests_total", operation="composite", status="timeout") == 1
    assert value(found, "rcsf_salesforce_request_duration_seconds_bucket", operation="composite", le="30.0") == 1
    assert value(found, "rcsf_salesforce_request_duration_seconds_bucket", operation="composite", le="20.0") == 1
    assert value(found, "rcsf_salesforce_token_mints_total", result="error") == 1
    assert value(found, "rcsf_salesforce_api_budget_holding") == 1
    assert value(found, "rcsf_outbox_pending_closures") == 2 and value(found, "rcsf_outbox_failed_closures") == 1
    assert value(found, "rcsf_outbox_oldest_pending_age_seconds") == 95
    assert value(found, "rcsf_salesforce_api_requests_used") == 120
    assert value(found, "rcsf_salesforce_api_requests_limit") == 15000
    assert value(found, "rcsf_rocketchat_connected") == 1 and value(found, "rcsf_rocketchat_reconnects_total") == 2
    assert value(found, "rcsf_rocketchat_realtime_events_total", kind="message") == 5
    assert value(found, "rcsf_ready") == 1 and value(found, "rcsf_loop_stalled", loop="realtime_reader") == 0
    assert value(found, "rcsf_build_info", version="1.0.0", errbot_version="6.2.1", python_version=_python()) == 1
    assert ("rcsf_process_cpu_seconds_total", ()) in found


def _python() -> str:
    import platform

    return platform.python_version()


def test_two_metrics_objects_do_not_share_a_registry():
    first, second = Metrics(), Metrics()
    first.command("contact", "ok")
    assert value(samples(second.render().decode()), "rcsf_commands_total", command="contact", result="ok") == 0


def test_a_label_value_is_cut_so_a_bug_cannot_blow_up_a_scrape():
    metrics = Metrics()
    metrics.command("x" * 500, "ok")
    assert value(samples(metrics.render().decode()), "rcsf_commands_total", command="x" * 40, result="ok") == 1


def test_the_plugin_package_version_is_pyprojects():
    import tomllib
    from pathlib import Path

    import salesforce_omnichannel

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert salesforce_omnichannel.__version__ == project["version"]
    assert any(d.startswith("prometheus-client") for d in project["dependencies"])


@pytest.mark.parametrize(
    ("method", "url", "operation"),
    [
        ("POST", "https://login.salesforce.com/services/oauth2/token", "token"),
        ("GET", "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6AAAS", "identity"),
        ("GET", "https://x.my.salesforce.com/services/data/v59.0/query?q=SELECT+Id+FROM+Contact", "query"),
        ("GET", "https://x.my.salesforce.com/services/data/v59.0/query/01gxx-2000", "query"),
        ("GET", "https://x.my.salesforce.com/services/data/v59.0/search?q=FIND", "search"),
        ("GET", "https://x.my.salesforce.com/services/data/v59.0/sobjects/Contact/describe", "describe"),
        ("POST", "https://x.my.salesforce.com/services/data/v59.0/sobjects/Case", "create"),
        ("GET", "https://x.my.salesforce.com/services/data/v59.0/sobjects/Case/500xx000001Sv6AAAS", "read"),
        ("PATCH", "https://x.my.salesforce.com/services/data/v59.0/sobjects/Contact/003xx000001Sv6A", "update"),
        ("POST", "https://x.my.salesforce.com/services/data/v59.0/composite", "composite"),
        (
            "GET",
            "https://x.my.salesforce.com/services/data/v59.0/ui-api/object-info/Case/picklist-values/012",
            "ui_api",
        ),
        ("GET", "https://x.my.salesforce.com/services/data/v59.0/limits", "limits"),
        ("GET", "https://x.my.salesforce.com/services/data/v59.0/", "resources"),
        ("GET", "https://x.my.salesforce.com/elsewhere", "other"),
    ],
)
def test_a_salesforce_request_is_named_by_its_kind_never_its_data(method, url, operation):
    assert operation_of(method, url) == operation


def test_command_labels_come_from_the_registry():
    assert command_label("create-case --subject x") == "create-case"
    assert command_label("CONTACT jane@example.com") == "contact"
    assert command_label("jane@example.com") == "unknown"
    assert command_label("") == "help"


# -- the probe server ------------------------------------------------------------------------------------
@pytest.fixture
def served_ops():
    ops = Ops("1.0.0", "6.2.1")
    port = free_port()
    ops.serve("127.0.0.1", port)
    yield ops, port
    ops.stop()


def test_the_server_answers_the_three_probes_and_nothing_else(served_ops):
    ops, port = served_ops
    base = f"http://127.0.0.1:{port}"
    live = requests.get(base + "/livez", timeout=5)
    assert live.status_code == 200 and live.headers["Content-Type"] == "application/json"
    assert live.json()["status"] == "alive"
    ready = requests.get(base + "/readyz", timeout=5)
    assert ready.status_code == 503 and ready.json()["reasons"][0].startswith("starting")
    ops.health.plugin_active(active)
    assert requests.get(base + "/readyz?verbose", timeout=5).status_code == 200
    metrics = requests.get(base + "/metrics", timeout=5)
    assert metrics.status_code == 200 and "rcsf_ready 1.0" in metrics.text
    assert metrics.headers["Content-Type"].startswith("text/plain; version=")
    assert requests.get(base + "/", timeout=5).status_code == 404
    head = requests.head(base + "/livez", timeout=5)
    assert head.status_code == 200 and not head.content


def test_the_server_starts_once_and_a_new_address_waits_for_a_restart(served_ops):
    ops, port = served_ops
    server = ops.server
    ops.serve("127.0.0.1", port)
    assert ops.server is server and ops.problem is None
    ops.serve("0.0.0.0", port + 1)
    assert ops.server is server and "take effect when the bot restarts" in ops.problem
    ops.serve("127.0.0.1", 0)  # off: nothing changes while the process runs
    assert ops.server is server


def test_a_port_in_use_is_a_problem_not_a_crash_and_status_names_it(served_ops):
    _, port = served_ops
    other = Ops()
    config = {**plugin_config.BUILTIN_DEFAULTS, "HEALTH_PORT": port}
    probes = PluginProbes(SimpleNamespace(), None, lambda: None, lambda: None, lambda: True, lambda: None, other)
    probes.activated(config, polling=False)
    assert other.server is None and probes.problems() == [
        f"the probes cannot listen on 127.0.0.1:{port} (Address already in use)."
    ]
    plugin = SimpleNamespace(config=dict(plugin_config.BUILTIN_DEFAULTS), settings_to_fix=probes.problems)
    assert f"- Setting to fix: the probes cannot listen on 127.0.0.1:{port}" in plugin_status.status_text(plugin, None)


def test_a_route_that_raises_answers_500():
    ops = Ops()
    ops.health.plugin_active(active)
    ops.health.readiness = lambda: 1 / 0
    port = free_port()
    ops.serve("127.0.0.1", port)
    try:
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 500
        assert requests.get(f"http://127.0.0.1:{port}/livez", timeout=5).status_code == 200
    finally:
        ops.stop()


# -- the figures status shares -----------------------------------------------------------------------------
def test_status_and_the_probes_read_the_same_outbox_figures(tmp_path):
    outbox = Outbox(SqliteStateStore(tmp_path / "s.sqlite3"), clock=lambda: 1000.0)
    outbox.add("a", "R1", {"room_id": "R1"})
    outbox.settle(outbox.due()[0][0], CrmUnavailable("locked", "UNABLE_TO_LOCK_ROW"))
    outbox.add("b", "R2", {"room_id": "R2"})
    figures = outbox_figures(outbox, now=1000.0 + 600)
    assert figures == {"pending": 2, "failed": 0, "quarantined": 0, "oldest_pending_age_seconds": 600.0}
    plugin = SimpleNamespace(
        config={**plugin_config.BUILTIN_DEFAULTS, "CONSUMER_KEY": "k", "USERNAME": "u", "PRIVATE_KEY_FILE": "/k"},
        crm=lambda: SimpleNamespace(status=lambda: {"reachable": True, "username": "u", "api_usage": (1, 2)}),
        api_usage=lambda: (7, 15000),
    )
    text = plugin_status.status_text(plugin, outbox)
    assert "Closed chats waiting to be saved: 2 (the oldest for " in text
    assert "API usage: 7/15000 today" in text  # the plugin's figure, which /readyz and /metrics show


# -- the plugin's side -------------------------------------------------------------------------------------
def test_the_plugin_report_and_its_salesforce_requests(tmp_path):
    store = SqliteStateStore(tmp_path / "s.sqlite3")
    outbox = Outbox(store)
    state = {"store": store}
    ops = Ops()
    session = SalesforceSession(True, 5)
    probes = PluginProbes(
        SimpleNamespace(), None, lambda: state["store"], lambda: outbox, lambda: True, lambda: session.api_usage, ops
    )
    assert ops.server is None  # HEALTH_PORT unset: off
    probes.activated({**plugin_config.BUILTIN_DEFAULTS, "REQUEST_TIMEOUT_SECONDS": 5}, polling=True)
    live, body = ops.health.liveness()
    assert live and body["loops"]["outbox_worker"]["stall_after_seconds"] == 25
    assert body["loops"]["poller"]["stall_after_seconds"] == 3 * 30 + 30
    probes.watch_crm(SimpleNamespace(client=SimpleNamespace(http=session)))
    with _LimitServer() as url:
        session.get(url + "/services/data/v59.0/query?q=x")
    ready, body = ops.health.readiness()
    assert ready and body["salesforce"]["api_usage"] == {"used": 42, "limit": 15000}
    assert body["salesforce"]["last_request"]["operation"] == "query" and body["salesforce"]["reachable"] is True
    assert value(
        samples(ops.metrics.render().decode()), "rcsf_salesforce_requests_total", operation="query", status="200"
    )
    store.close()
    ready, body = ops.health.readiness()
    assert not ready and body["reasons"] == ["state store: unreadable (ProgrammingError)"]
    state["store"] = None
    probes.deactivated()
    ready, body = ops.health.readiness()
    assert body["reasons"] == ["the Salesforce plugin is not active: deactivated"]
    assert set(ops.health.liveness()[1]["loops"]) == set()


def test_a_session_tells_its_listeners_of_timeouts_and_refused_connections():
    session = SalesforceSession(True, 0.3)
    heard = []
    session.request_listeners.append(lambda *told: heard.append(told[:2]))
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"http://127.0.0.1:{free_port()}/services/data/v59.0/composite")
    with _LimitServer(delay=1.0) as url, pytest.raises(requests.exceptions.Timeout):
        session.get(url + "/services/data/v59.0/sobjects/Contact/describe")
    assert heard == [("composite", "connection_error"), ("describe", "timeout")]


class _LimitServer:
    """A loopback HTTP server answering `{}` with Sforce-Limit-Info 42/15000 (after DELAY seconds)."""

    def __init__(self, delay: float = 0.0):
        delay_s = delay

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                time.sleep(delay_s)
                self.send_response(200)
                self.send_header("Sforce-Limit-Info", "api-usage=42/15000")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# -- the backend's connection report -------------------------------------------------------------------------
class FakeRealtime:
    def __init__(self, clock):
        self.last_frame_at = self.loop_at = clock()
        self.alive = True
        self.close_reason = ""


def test_the_backend_reports_a_live_then_silent_then_closed_stream():
    clock = Clock()
    health = ConnectionHealth(silence_timeout=4, clock=clock)
    snap = health.snapshot()
    assert not snap["stream_live"] and snap["reason"] == "connecting to Rocket.Chat"
    health.logged_in()
    realtime = FakeRealtime(clock)
    health.connected(realtime)
    health.event("message")
    health.event("closed")
    clock.advance(3)
    realtime.loop_at = clock()
    snap = health.snapshot()
    assert snap["stream_live"] and snap["reason"] is None and snap["reconnects"] == 0
    assert snap["events"] == {"message": 1, "closed": 1} and snap["since_frame_seconds"] == 3
    clock.advance(2)
    realtime.loop_at = clock()
    snap = health.snapshot()
    assert not snap["stream_live"] and snap["reason"] == "the realtime stream has been silent for 5 s"
    assert not snap["loops"]["realtime_reader"]["since_progress_seconds"]
    realtime.alive, realtime.close_reason = False, "the realtime stream was silent for 4 s"
    assert health.snapshot()["reason"] == "the realtime stream was silent for 4 s"
    health.disconnected(realtime.close_reason)
    snap = health.snapshot()
    assert snap["reason"] == "the realtime stream was silent for 4 s" and "realtime_reader" not in snap["loops"]
    health.connected(FakeRealtime(clock))
    assert health.snapshot()["reconnects"] == 1 and health.snapshot()["stream_live"]


def test_the_backend_reports_a_dispatch_stuck_on_one_message():
    clock = Clock()
    health = ConnectionHealth(silence_timeout=70, clock=clock)
    health.dispatching(True)
    clock.advance(121)
    loop = health.snapshot()["loops"]["rocketchat_dispatch"]
    assert loop["busy"] and loop["since_progress_seconds"] == 121 and loop["stall_after_seconds"] == 120
    health.dispatching(False)
    assert not health.snapshot()["loops"]["rocketchat_dispatch"]["busy"]
