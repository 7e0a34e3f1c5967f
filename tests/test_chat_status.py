"""The admins' `status` and the transcript text."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from rc_omnichannel import TranscriptLine
from unit_helpers import UTC

from salesforce_omnichannel.chat import config as plugin_config
from salesforce_omnichannel.chat import status as plugin_status
from salesforce_omnichannel.chat.closure import transcript_text
from salesforce_omnichannel.chat.outbox import Outbox
from salesforce_omnichannel.chat.store import SqliteStateStore
from salesforce_omnichannel.crm.errors import CrmUnavailable, CrmValidationError

CONFIGURED = {
    **plugin_config.BUILTIN_DEFAULTS,
    "CONSUMER_KEY": "3MVG9x",
    "USERNAME": "int@acme.example",
    "PRIVATE_KEY_FILE": "/k.pem",
    "AUTOSAVE_ON_CLOSE": False,
}


def test_status_not_configured_names_the_missing_keys_and_never_calls_salesforce():
    def crm():
        raise AssertionError("must not reach Salesforce when not configured")

    text = plugin_status.status_text(SimpleNamespace(config=dict(plugin_config.BUILTIN_DEFAULTS), crm=crm), None)
    assert "Not configured: set CONSUMER_KEY, USERNAME, PRIVATE_KEY_FILE." in text
    assert "SHOW_CONTACT_ON_ASSIGN=on" in text and "polling every 30 s" in text


def test_status_reachable_and_outbox_summary(tmp_path):
    info = {
        "reachable": True,
        "username": "int@acme.example",
        "display_name": "Integration",
        "token_age_seconds": 300,
        "metadata_age_seconds": {"Contact": 30, "Case": 7200},
        "api_usage": (120, 15000),
    }
    outbox = Outbox(SqliteStateStore(tmp_path / "s.sqlite3"))
    outbox.add("a", "R1", {"room_id": "R1"})
    outbox.settle(outbox.due()[0][0], CrmUnavailable("locked", "UNABLE_TO_LOCK_ROW"))
    outbox.add("b", "R2", {"room_id": "R2", "visitor_name": "Jane"})
    outbox.settle(outbox.due()[0][0], CrmValidationError("missing", "REQUIRED_FIELD_MISSING"))
    outbox.add("c", "R3", {"room_id": "R3"})
    outbox.store.finish("c", "quarantined", None, "stored data cannot be read (JSONDecodeError)", 1.0)
    plugin = SimpleNamespace(config=CONFIGURED, crm=lambda: SimpleNamespace(status=lambda: info))
    text = plugin_status.status_text(plugin, outbox)
    assert "Salesforce reachable as int@acme.example (Integration)" in text
    assert "Access token age: 5 min" in text
    assert "Case 120 min, Contact 30 s" in text
    assert "API usage: 120/15000 today" in text
    assert "waiting to be saved: 1" in text and "R1: 1 attempt(s), last error UNABLE_TO_LOCK_ROW" in text
    assert "failed for good: 1" in text and "R2 (Jane)" in text and "REQUIRED_FIELD_MISSING" in text
    assert (
        "quarantined (set aside, the rest flow): 1" in text
        and "R3 at 1970-01-01 00:00 UTC: stored data cannot be read" in text
    )
    assert "AUTOSAVE_ON_CLOSE=off" in text


def test_status_unreachable_shows_the_error_not_a_traceback():
    def status():
        raise CrmUnavailable("Salesforce is not reachable.", "HTTP_503")

    def crm():
        return SimpleNamespace(status=status)

    text = plugin_status.status_text(SimpleNamespace(config=CONFIGURED, crm=crm), None)
    assert (
        "Salesforce NOT reachable: Salesforce is not reachable. (detail: HTTP_503: Salesforce is not reachable.)"
        in text
    )
    assert "Traceback" not in text and "CrmUnavailable" not in text
    assert "Access token age: none yet" in text and "not fetched yet" in text and "API usage: not known yet" in text


def test_transcript_text_in_utc_and_empty():
    paris = dt.timezone(dt.timedelta(hours=1))
    lines = [
        TranscriptLine(dt.datetime(2026, 3, 2, 10, 0, 5, tzinfo=paris), "Jane", "visitor", "Hi, my printer jams"),
        TranscriptLine(dt.datetime(2026, 3, 2, 9, 0, 9, tzinfo=UTC), "alice", "agent", "Let me look"),
    ]
    assert transcript_text(lines) == (
        "[2026-03-02 09:00:05 UTC] Jane (visitor): Hi, my printer jams\n"
        "[2026-03-02 09:00:09 UTC] alice (agent): Let me look"
    )
    assert transcript_text([]) == "(no messages)"


def test_status_names_the_active_bot_of_a_standby_pair():
    def crm():
        raise AssertionError("not configured: Salesforce is not asked")

    line = "Active bot of a standby pair: rcsf-node1-42, epoch 3; state in postgresql://rcsf:***@db:5432/rcsf"
    plugin = SimpleNamespace(config=dict(plugin_config.BUILTIN_DEFAULTS), crm=crm, standby_status=lambda: line)
    assert f"- {line}" in plugin_status.status_text(plugin, None).splitlines()
    alone = SimpleNamespace(config=dict(plugin_config.BUILTIN_DEFAULTS), crm=crm, standby_status=lambda: None)
    assert "standby" not in plugin_status.status_text(alone, None)
