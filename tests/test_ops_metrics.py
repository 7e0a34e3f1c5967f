"""The real bot's /metrics (HEALTH_PORT on a free port) on both simulators: counters move as chats are
greeted, commanded and closed; no label and no value names a room, a visitor, an agent or an email;
`!salesforce status`, /readyz and /metrics agree on the outbox's counts and the org's API usage; a scrape
stays small; and deploy/prometheus-rules.yml validates (promtool when installed) and names only metrics
that a real scrape has."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
import yaml
from ops_helpers import free_port, probe, scrape, value

from plugin_fixtures import BOT, Stack, wait_until
from simulators.launch import ROOT
from simulators.rocketchat.people import Admin, Visitor, text_of

JANE = "jane.doe@example.com"
RULES = ROOT / "deploy" / "prometheus-rules.yml"
PEOPLE_LABELS = {"room", "room_id", "rid", "visitor", "visitor_id", "agent", "user", "username", "email", "contact"}


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def stack(sf_keys, tmp_path_factory, port):
    s = Stack(sf_keys, str(tmp_path_factory.mktemp("bot-data")), {"SALESFORCE_HEALTH_PORT": str(port)})
    wait_until(lambda: probe(port, "/readyz")[0] == 200, 30, "ready")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def admin(stack):
    person = Admin(stack.rc.url, "admin", "admin-pass")
    yield person
    person.close()


@pytest.fixture(scope="module")
def people_seen() -> set[str]:
    """Room ids, emails and names the tests used: none may appear in a scrape."""
    return {"alice", "Jane Doe", JANE}


def grows(port: int, name: str, at_least: float, **labels: str) -> bool:
    return value(scrape(port)[1], name, **labels) >= at_least


def test_counters_move_as_chats_are_greeted_commanded_and_closed(stack, port, alice, people_seen):
    _, before = scrape(port)
    email = f"nico{time.time_ns()}@metrics.example"
    people_seen.update({email, "Nico New"})
    known, new = Visitor(stack.rc.url, "Jane Doe", email=JANE), Visitor(stack.rc.url, "Nico New", email=email)
    dm = alice.dm(BOT)
    try:
        rids = []
        for visitor, greeting in ((known, "is already a Salesforce Contact"), (new, "not a Salesforce Contact")):
            rid = visitor.open_chat()
            rids.append(rid)
            mark = alice.mark()
            alice.take(rid)
            alice.wait_for_reply(dm, BOT, mark, contains=greeting)
            visitor.say("hello")
        people_seen.update(rids)
        stack.ask(alice, rids[0], "!salesforce contact", contains="Matched on email")
        stack.ask(alice, dm, "!salesforce frobnicate", contains="frobnicate")
        stack.ask(alice, dm, "!salesforce status", contains="bot admins")
        for rid in rids:
            alice.close_chat(rid)
        for rid in rids:
            wait_until(lambda rid=rid: [t for t in stack.sf.records("Task") if f"[{rid}]" in t["Subject"]], 30, "Task")
    finally:
        known.close()
        new.close()

    def moved(name: str, by: float, **labels: str) -> None:
        wait_until(lambda: grows(port, name, value(before, name, **labels) + by, **labels), 10, f"{name} {labels}")

    moved("rcsf_greetings_total", 1, result="contact")
    moved("rcsf_greetings_total", 1, result="new")
    moved("rcsf_commands_total", 1, command="contact", result="ok")
    moved("rcsf_commands_total", 1, command="unknown", result="usage_error")
    moved("rcsf_commands_total", 1, command="status", result="refused")
    moved("rcsf_closures_total", 2, result="saved")
    moved("rcsf_salesforce_requests_total", 2, operation="composite", status="200")
    moved("rcsf_salesforce_requests_total", 1, operation="query", status="200")
    moved("rcsf_salesforce_request_duration_seconds_count", 2, operation="composite")
    moved("rcsf_rocketchat_realtime_events_total", 2, kind="assigned")
    moved("rcsf_rocketchat_realtime_events_total", 2, kind="closed")
    moved("rcsf_rocketchat_realtime_events_total", 3, kind="message")  # the three commands
    moved("rcsf_poll_duration_seconds_count", 1)
    _, after = scrape(port)
    assert value(after, "rcsf_salesforce_token_mints_total", result="ok") >= 1
    assert value(after, "rcsf_rocketchat_connected") == 1 and value(after, "rcsf_ready") == 1
    assert value(after, "rcsf_outbox_pending_closures") == 0
    used, limit = value(after, "rcsf_salesforce_api_requests_used"), value(after, "rcsf_salesforce_api_requests_limit")
    assert 0 < used < limit


def test_no_label_or_value_names_a_room_a_visitor_an_agent_or_an_email(port, people_seen):
    text, found = scrape(port)
    assert len(people_seen) >= 7
    for label_set in {labels for _, labels in found}:
        assert not PEOPLE_LABELS & {name for name, _ in label_set}, label_set
    for seen in people_seen:
        assert seen not in text, seen


def status_figures(stack, admin) -> dict:
    text = text_of(stack.ask(admin, admin.dm(BOT), "!salesforce status", contains="Salesforce status"))
    usage = re.search(r"API usage: (\d+)/(\d+) today", text)
    return {
        "pending": int(re.search(r"waiting to be saved: (\d+)", text).group(1)),
        "failed": int(re.search(r"failed for good: (\d+)", text).group(1)),
        "quarantined": int(re.search(r"quarantined \(set aside, the rest flow\): (\d+)", text).group(1)),
        "api_usage": (int(usage.group(1)), int(usage.group(2))) if usage else None,
    }


def probe_figures(port: int) -> tuple[dict, dict]:
    _, body = probe(port, "/readyz")
    usage = body["salesforce"]["api_usage"]
    ready = {key: body["outbox"][key] for key in ("pending", "failed", "quarantined")}
    ready["api_usage"] = (usage["used"], usage["limit"]) if usage else None
    _, found = scrape(port)
    metrics = {key: int(value(found, f"rcsf_outbox_{key}_closures")) for key in ("pending", "failed", "quarantined")}
    metrics["api_usage"] = (
        int(value(found, "rcsf_salesforce_api_requests_used")),
        int(value(found, "rcsf_salesforce_api_requests_limit")),
    )
    return ready, metrics


def agree(stack, admin, port) -> dict:
    """The three views once nothing moves between them (a retry may land in between: asked again)."""
    for _ in range(5):
        said = status_figures(stack, admin)
        ready, metrics = probe_figures(port)
        if said == ready == metrics:
            return said
        time.sleep(1)
    raise AssertionError(f"status {said} / readyz {ready} / metrics {metrics}")


def test_status_readyz_and_metrics_agree_on_the_outbox_and_the_api_usage(stack, port, alice, admin):
    stack.sf.fault(status=503, routes=["POST composite"])
    visitor = Visitor(stack.rc.url, "Wanda Wait", email=f"wanda{time.time_ns()}@metrics.example")
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Salesforce Contact")
        alice.close_chat(rid)
        wait_until(lambda: probe_figures(port)[1]["pending"] == 1, 30, "one closed chat waiting")
        figures = agree(stack, admin, port)
        assert figures["pending"] == 1 and figures["api_usage"] is not None
        time.sleep(1.2)
        _, found = scrape(port)
        assert value(found, "rcsf_outbox_oldest_pending_age_seconds") >= 1
        assert value(found, "rcsf_closures_total", result="retry") >= 1
        assert value(found, "rcsf_salesforce_requests_total", operation="composite", status="503") >= 1
        stack.sf.clear_faults()
        wait_until(lambda: probe_figures(port)[1]["pending"] == 0, 60, "the closed chat saved")
        assert agree(stack, admin, port)["pending"] == 0
    finally:
        stack.sf.clear_faults()
        visitor.close()


def test_a_scrape_stays_small(port):
    text, _ = scrape(port)
    assert len(text.encode()) < 20_000


def rule_metrics(rules: dict) -> set[str]:
    return {
        name for group in rules["groups"] for rule in group["rules"] for name in re.findall(r"\brcsf_\w+", rule["expr"])
    }


def test_the_rules_file_validates_and_names_only_metrics_a_scrape_has(port):
    if shutil.which("promtool"):
        done = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    rules = yaml.safe_load(RULES.read_text())
    [group] = rules["groups"]
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"], name
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, name
    exprs = " ".join(rule["expr"] for rule in alerts.values())
    for wanted in (
        "rcsf_ready",
        'sum(rcsf_leader{job="salesforce-bot"}) == 0',
        'sum(rcsf_leader{job="salesforce-bot"}) > 1',
        "rcsf_outbox_oldest_pending_age_seconds > 1800",
        "rcsf_outbox_quarantined_closures > 0",
        "rcsf_salesforce_requests_total",
        "rcsf_salesforce_api_requests_used / rcsf_salesforce_api_requests_limit > 0.8",
    ):
        assert wanted in exprs, wanted
    text, _ = scrape(port)
    scraped = set(re.findall(r"^# TYPE (\w+) ", text, re.M)) | set(re.findall(r"^(\w+)[{ ]", text, re.M))
    named = rule_metrics(rules)
    assert named and named <= scraped, named - scraped
