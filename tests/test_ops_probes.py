"""The probes of the real bot (`errbot -c config.py`, HEALTH_PORT on a free port) on both simulators:
`/readyz` turns 503 within the realtime silence timeout when the Rocket.Chat simulator stops answering
the bot's stream (and says why), and 200 again once the bot has reconnected, while `/livez` answers 200
throughout; `/livez` turns 503 naming the outbox worker when a Salesforce answer trickles in without
end (no read timeout ever fires), and 200 again once it ends; and the plugin on Errbot's Test backend,
where readiness is started + state store open."""

from __future__ import annotations

import os
import sys
import textwrap
import time

import pytest
from ops_helpers import free_port, probe, scrape, value

from plugin_fixtures import BOT, Stack, wait_until
from simulators.launch import ROOT, ChildProcess
from simulators.rocketchat.people import Visitor

SILENCE = 4  # ROCKETCHAT_SILENCE_TIMEOUT: the server pings after 1 s of silence, so a live stream is never this quiet
REQUEST_TIMEOUT = 5  # the worker is stalled after 2 x 5 + 15 s without progress


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def stack(sf_keys, tmp_path_factory, port):
    s = Stack(
        sf_keys,
        str(tmp_path_factory.mktemp("bot-data")),
        {
            "SALESFORCE_HEALTH_PORT": str(port),
            "ROCKETCHAT_SILENCE_TIMEOUT": str(SILENCE),
            "SALESFORCE_REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT),
        },
        rc_args=("--ping-interval", "1", "--ping-timeout", "5"),
    )
    yield s
    s.sf.release()
    s.stop()


def ready(port: int) -> bool:
    return probe(port, "/readyz")[0] == 200


def test_both_probes_answer_200_once_connected(stack, port):
    wait_until(lambda: ready(port), 30, "ready")
    status, live = probe(port, "/livez")
    assert status == 200 and live["status"] == "alive" and live["stalled"] == []
    assert set(live["loops"]) == {"outbox_worker", "poller", "realtime_reader", "rocketchat_dispatch"}
    status, body = probe(port, "/readyz")
    assert body["status"] == "ready" and body["reasons"] == []
    rc = body["checks"]["rocketchat"]
    assert rc["logged_in"] and rc["stream_live"] and rc["silence_timeout_seconds"] == SILENCE
    assert body["checks"]["state_store"] == "open" and body["checks"]["plugin_active"]
    assert body["salesforce"]["configured"] is True
    assert f"Probes on http://127.0.0.1:{port}" in stack.bot.output()


def test_a_silent_stream_makes_it_unready_within_the_silence_timeout_and_a_reconnect_ready_again(stack, port):
    wait_until(lambda: ready(port), 30, "ready")
    _, before = scrape(port)
    stack.rc.stall_websockets(SILENCE + 6)
    stalled_at = time.monotonic()
    reasons_seen: list[str] = []

    def unready() -> bool:
        assert probe(port, "/livez")[0] == 200  # a silent Rocket.Chat never makes the bot unlive
        status, body = probe(port, "/readyz")
        reasons_seen.extend(body["reasons"])
        return status == 503

    wait_until(unready, SILENCE + 5, "/readyz 503")
    assert time.monotonic() - stalled_at <= SILENCE + 2.5
    assert any(r.startswith("Rocket.Chat: ") and "silent" in r for r in reasons_seen), reasons_seen
    _, found = scrape(port)
    assert value(found, "rcsf_rocketchat_connected") == 0 and value(found, "rcsf_ready") == 0
    # the bot drops the dead socket, Errbot deactivates the plugin, and the reasons say so
    wait_until(
        lambda: unready() and any("plugin is not active" in r for r in reasons_seen), 20, "the plugin deactivated"
    )
    status, body = probe(port, "/readyz")
    if status == 503:
        assert body["checks"]["state_store"] == "closed while the plugin is not active"
        assert body["outbox"] is not None  # the last figures stay shown
    wait_until(lambda: ready(port), 60, "ready again after the reconnect")
    assert probe(port, "/livez")[0] == 200
    _, after = scrape(port)
    assert value(after, "rcsf_rocketchat_connected") == 1 and value(after, "rcsf_ready") == 1
    assert value(after, "rcsf_rocketchat_reconnects_total") >= value(before, "rcsf_rocketchat_reconnects_total") + 1


def test_a_worker_stuck_on_a_trickling_answer_fails_liveness_by_name(stack, port, alice):
    wait_until(lambda: ready(port), 60, "ready")
    stack.sf.hold(["POST composite"], phase="trickle")
    visitor = Visitor(stack.rc.url, "Stella Stall", email=f"stella{time.time_ns()}@stall.example")
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Salesforce Contact")
        visitor.say("hello")
        alice.close_chat(rid)
        wait_until(lambda: stack.sf.held() == 1, 20, "the composite held")
        held_at = time.monotonic()

        def stalled() -> dict | None:
            status, body = probe(port, "/livez")
            return body if status == 503 else None

        body = wait_until(stalled, 2 * REQUEST_TIMEOUT + 15 + 10, "/livez 503")
        assert time.monotonic() - held_at >= 2 * REQUEST_TIMEOUT + 15 - 1
        assert body["status"] == "stalled" and body["stalled"] == ["outbox_worker"]
        assert body["loops"]["outbox_worker"]["busy"] and body["loops"]["outbox_worker"]["stalled"]
        assert ready(port)  # a stuck worker is the liveness probe's business, not readiness's
        _, found = scrape(port)
        assert value(found, "rcsf_loop_stalled", loop="outbox_worker") == 1
        stack.sf.release()
        wait_until(lambda: probe(port, "/livez")[0] == 200, 20, "/livez 200 again")
        wait_until(
            lambda: [t for t in stack.sf.records("Task") if f"[{rid}]" in (t.get("Subject") or "")], 30, "the Task"
        )
    finally:
        stack.sf.release()
        visitor.close()


TEST_BACKEND_BOT = textwrap.dedent('''
    """The plugin on Errbot's Test backend with HEALTH_PORT: runs until its stdin closes or 90 s pass."""
    import logging, sys, time
    from errbot.backends.test import TestBot

    bot = TestBot(extra_plugin_dir=sys.argv[1], loglevel=logging.INFO,
                  extra_config={"BOT_PLUGIN_INDEXES": sys.argv[2], "BOT_ADMINS": ("gbin@localhost",)})
    bot.start()
    print("TEST BOT STARTED", flush=True)
    time.sleep(90)
    bot.stop()
''')


def test_on_another_backend_ready_means_started_and_store_open(tmp_path):
    script, index = tmp_path / "test_backend_bot.py", tmp_path / "index.json"
    script.write_text(TEST_BACKEND_BOT)
    index.write_text("{}")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "PYTHONPATH"))}
    env.update(SALESFORCE_HEALTH_PORT=str(port), SALESFORCE_STATE_FILE=str(tmp_path / "state.sqlite3"))
    bot = ChildProcess([sys.executable, str(script), str(ROOT / "plugins"), str(index)], env=env, cwd=tmp_path)
    try:
        bot.wait_for_line("TEST BOT STARTED", 60)
        wait_until(lambda: ready(port), 30, "ready")
        status, body = probe(port, "/readyz")
        assert body["checks"]["rocketchat"] == "not used on this backend"
        assert body["checks"]["state_store"] == "open" and body["salesforce"]["configured"] is False
        status, live = probe(port, "/livez")
        assert status == 200 and set(live["loops"]) == {"outbox_worker"}  # no Omnichannel: no poller
        text, found = scrape(port)
        assert "rcsf_rocketchat_connected" not in text and value(found, "rcsf_ready") == 1
    finally:
        bot.stop()


def test_a_state_store_that_cannot_be_opened_is_the_reason_it_is_not_ready(start_rc_sim, start_bot, tmp_path):
    rc = start_rc_sim()
    broken = tmp_path / "state.sqlite3"
    broken.write_bytes(b"this is not an SQLite database, whatever its name says" * 100)
    port = free_port()
    start_bot(rc.url, extra_env={"SALESFORCE_HEALTH_PORT": str(port), "SALESFORCE_STATE_FILE": str(broken)})
    status, body = wait_until(lambda: (r := probe(port, "/readyz")) and "activation failed" in str(r[1]) and r, 30)
    assert status == 503
    assert body["reasons"] == [
        f"the Salesforce plugin is not active: its activation failed: the state store {broken} cannot be opened "
        "(DatabaseError)"
    ]
    assert body["checks"]["state_store"] == f"the state store {broken} cannot be opened (DatabaseError)"
    assert body["checks"]["rocketchat"]["stream_live"] is True
    assert probe(port, "/livez")[0] == 200
