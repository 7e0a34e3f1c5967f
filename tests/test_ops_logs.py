"""Logs an operator can read: the JSON formatter (one object per line, the chat's room id and outbox key,
key material redacted, a traceback as one field), which failures are the network's (one warning, no
traceback) and which are bugs, Salesforce's failure details naming the endpoint but never the query, and
the backend's record of the realtime stream (down for 2 minutes: one warning; the last outage kept)."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests
from rc_connection import ConnectionState
from rc_rest import RestError
from unit_helpers import PEM, Clock

from salesforce_omnichannel.chat import transient
from salesforce_omnichannel.chat.logformat import JsonFormatter, json_line, log_context
from salesforce_omnichannel.crm.client import map_error
from salesforce_omnichannel.crm.errors import CrmUnavailable, CrmValidationError


def record(message: str, *args, level=logging.INFO, exc_info=None, **extra) -> logging.LogRecord:
    rec = logging.LogRecord("errbot.plugins.salesforce", level, __file__, 1, message, args, exc_info)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_a_record_is_one_json_line_with_its_fields():
    line = JsonFormatter().format(record("Chat %s closed: saving to Salesforce", "R1"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "errbot.plugins.salesforce"
    assert entry["message"] == "Chat R1 closed: saving to Salesforce" and entry["time"].endswith("+00:00")
    assert "room_id" not in entry and "traceback" not in entry


def test_the_chat_comes_from_extra_or_from_the_context():
    formatter = JsonFormatter()
    assert json.loads(formatter.format(record("x", room_id="R9")))["room_id"] == "R9"
    with log_context(room_id="R1", outbox_key="R1|2026-03-02T09:00:00+00:00"):
        with log_context(room_id=None):  # an empty value keeps the outer one
            entry = json.loads(formatter.format(record("saving")))
    assert entry["room_id"] == "R1" and entry["outbox_key"] == "R1|2026-03-02T09:00:00+00:00"
    assert "room_id" not in json.loads(formatter.format(record("after")))


def test_key_material_and_line_breaks_never_reach_the_stream():
    formatter = JsonFormatter()
    try:
        raise ValueError(f"bad key {PEM}")
    except ValueError:
        import sys

        rec = record("Processing command with parameters %s", PEM, level=logging.ERROR, exc_info=sys.exc_info())
    line = formatter.format(rec)
    assert "\n" not in line and "BEGIN" not in line and "MIIEvQ" not in line
    entry = json.loads(line)
    assert "[redacted key material]" in entry["message"] and "Traceback" in entry["traceback"]
    assert "\u2028" not in formatter.format(record("odd \u2028 separator"))  # escaped: no other line break
    assert json.loads(json_line("CRITICAL", "config", f"config.py: {PEM}"))["message"].startswith(
        "config.py: [redacted"
    )


def test_network_failures_are_told_apart_from_bugs():
    timeout = requests.ReadTimeout("read timed out")
    timeout.request = requests.Request("GET", "https://chat.example.com/api/v1/livechat/rooms?open=true").prepare()
    assert transient.describe(timeout) == (
        "timeout (ReadTimeout) on GET chat.example.com/api/v1/livechat/rooms"  # never the query string
    )
    assert transient.is_transient(timeout)
    rc = RestError(0, "connection failed: ReadTimeout", "livechat/rooms")
    assert transient.describe(rc) == "Rocket.Chat livechat/rooms: no answer: connection failed: ReadTimeout"
    assert transient.is_transient(rc) and transient.is_transient(RestError(503, "Internal server error", "rooms.info"))
    assert not transient.is_transient(RestError(403, "not allowed", "livechat/rooms"))  # told, but not a retry
    assert transient.describe(RestError(403, "not allowed", "livechat/rooms")) is not None
    unavailable = CrmUnavailable("x", "TIMEOUT", "query: timeout")
    assert transient.describe(unavailable) == "Salesforce query: timeout" and transient.is_transient(unavailable)
    refused = CrmValidationError("y", "REQUIRED_FIELD_MISSING", "create case: HTTP 400 REQUIRED_FIELD_MISSING")
    assert transient.describe(refused).startswith("Salesforce create case") and not transient.is_transient(refused)
    for bug in (TypeError("x"), KeyError("k"), AttributeError("a")):
        assert transient.describe(bug) is None and not transient.is_transient(bug)


def test_a_salesforce_timeout_names_the_endpoint_but_not_the_query():
    exc = requests.ReadTimeout("read timed out")
    exc.request = requests.Request(
        "GET",
        "https://acme.my.salesforce.com/services/data/v59.0/query/?q=SELECT+Id+FROM+Contact+WHERE+Email='j@x.com'",
    ).prepare()
    error = map_error(exc, "find contact")
    assert isinstance(error, CrmUnavailable) and error.code == "TIMEOUT"
    assert error.admin_detail == (
        "find contact: timeout (ReadTimeout) on GET acme.my.salesforce.com/services/data/v59.0/query/"
    )
    reset = requests.ConnectionError("Connection reset by peer")
    assert map_error(reset, "composite").admin_detail == "composite: ConnectionError"  # no request known


def test_the_outbox_retries_a_rocket_chat_timeout_without_quarantining_it(tmp_path):
    from salesforce_omnichannel.chat.outbox import MAX_CRASHES, Outbox
    from salesforce_omnichannel.chat.store import PENDING, SqliteStateStore

    clock = Clock()
    store = SqliteStateStore(tmp_path / "s.sqlite3")
    outbox = Outbox(store, clock)
    outbox.add("k", "R", {"room_id": "R"})
    for _ in range(MAX_CRASHES + 2):
        [item], _ = outbox.due()
        outcome = outbox.settle(item, RestError(0, "connection failed: ReadTimeout", "channels.history"))
        assert outcome.state == PENDING and "Rocket.Chat channels.history: no answer" in outcome.error
        clock.advance(3600)
    store.close()


# -- the backend's record of the realtime stream ---------------------------------------------------
def test_the_stream_state_keeps_the_last_outage():
    clock = Clock()
    state = ConnectionState("https://chat.example.com", warn_after=3600, clock=clock)
    try:
        assert not state.connected and state.down_since == clock()
        clock.advance(5)
        state.up()
        assert state.connected and state.last_outage == (clock() - 5, clock()) and state.down_for == 0
        clock.advance(100)
        state.down()
        assert state.down_for == 0 and state.outages == 1
        clock.advance(200)
        assert state.down_for == 200
        state.up()
        state.up()  # Errbot's connect callbacks come twice: idempotent
        assert state.last_outage == (clock() - 200, clock())
    finally:
        state.close()


def test_a_stream_down_for_longer_than_the_limit_is_one_warning(caplog):
    caplog.set_level(logging.INFO, logger="errbot.backends.rocketchat")
    state = ConnectionState("https://chat.example.com", next_attempt=lambda: 42.0, warn_after=0.2)
    try:
        state.up()
        state.down()
        time.sleep(0.6)
        [warned] = [r for r in caplog.records if "down for" in r.getMessage()]
        assert warned.levelno == logging.WARNING and "next attempt in 42 s" in warned.getMessage()
        assert "chat.example.com" in warned.getMessage() and not warned.exc_info
        state.up()
        assert any("is back after" in r.getMessage() for r in caplog.records)
        caplog.clear()
        state.down()
        state.up()  # back within the limit: nothing
        time.sleep(0.4)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        state.close()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_config_py_refuses_an_unknown_log_format_and_speaks_the_chosen_one(tmp_path, fmt):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {"PATH": "/usr/bin:/bin", "BOT_LOG_FORMAT": fmt, "BOT_DATA_DIR": str(tmp_path)}
    code = f"import runpy; runpy.run_path({str(root / 'config.py')!r})"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "ROCKETCHAT_URL" in done.stderr  # refused: no Rocket.Chat named
    if fmt == "json":
        entry = json.loads(done.stderr.strip().splitlines()[-1])
        assert entry["level"] == "CRITICAL" and entry["message"].startswith("config.py: set ROCKETCHAT_URL")
    else:
        assert done.stderr.strip().splitlines()[-1].startswith("config.py: set ROCKETCHAT_URL")
    bad = subprocess.run(
        [sys.executable, "-c", code], env=env | {"BOT_LOG_FORMAT": "xml"}, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode != 0 and "BOT_LOG_FORMAT must be text or json, not 'xml'" in bad.stderr
