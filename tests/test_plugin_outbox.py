"""The closure outbox on a real SQLite state store: queue once, due order, retry policy, quarantine."""

from __future__ import annotations

import sqlite3

import pytest
from unit_helpers import Clock

from salesforce_omnichannel.chat import outbox as plugin_outbox
from salesforce_omnichannel.chat.outbox import Outbox
from salesforce_omnichannel.chat.store import DONE, FAILED, PENDING, QUARANTINED, SqliteStateStore
from salesforce_omnichannel.crm.errors import CrmAuthError, CrmConfigError, CrmUnavailable, CrmValidationError


@pytest.fixture
def box(tmp_path):
    clock = Clock()
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    yield Outbox(store, clock=clock), store, clock
    store.close()


def due_keys(outbox):
    items, _bad = outbox.due()
    return [i.key for i in items]


def test_add_once_in_any_state(box):
    outbox, store, _ = box
    assert outbox.add("R1|t", "R1", {"room_id": "R1"}) is True
    assert outbox.add("R1|t", "R1", {"room_id": "R1", "other": 1}) is False
    assert [i.payload for i in outbox.pending()] == [{"room_id": "R1"}]
    for key, end in (("done", DONE), ("bad", FAILED), ("odd", QUARANTINED)):
        outbox.add(key, "R", {})
        store.finish(key, end, None, "x", 1.0)
        assert outbox.add(key, "R", {}) is False
    assert [i.key for i in outbox.pending()] == ["R1|t"]


def test_due_respects_next_at_and_orders_by_next_attempt(box):
    outbox, _, clock = box
    outbox.add("a", "Ra", {"n": 1})
    clock.advance(1)
    outbox.add("b", "Rb", {"n": 2})
    assert due_keys(outbox) == ["a", "b"]
    item = outbox.due()[0][0]
    outbox.settle(item, CrmUnavailable("down", "TIMEOUT"))  # next try in 5 s
    assert due_keys(outbox) == ["b"]
    clock.advance(4)
    assert due_keys(outbox) == ["b"]
    clock.advance(1)  # exactly next_at: due
    assert due_keys(outbox) == ["b", "a"]


def test_retryable_failures_back_off_exponentially_up_to_the_cap(box):
    outbox, _, clock = box
    outbox.add("k", "R", {})
    delays = []
    for attempt in range(1, 12):
        item = outbox.due()[0][0]
        outcome = outbox.settle(item, CrmUnavailable(f"outage {attempt}", "HTTP_503"))
        assert outcome.state == PENDING and outcome.final is None
        item = outbox.pending()[0]
        delays.append(item.next_at - clock())
        assert item.attempts == attempt and item.last_error.startswith("HTTP_503")
        clock.advance(delays[-1])
    first = plugin_outbox.FIRST_DELAY
    assert delays[:4] == [first, 2 * first, 4 * first, 8 * first]
    assert max(delays) == plugin_outbox.MAX_DELAY and delays[-1] == plugin_outbox.MAX_DELAY
    assert outbox.failures() == []


@pytest.mark.parametrize(
    "exc", [CrmConfigError("not configured", "NOT_CONFIGURED"), CrmAuthError("bad key", "invalid_grant")]
)
def test_configuration_and_auth_problems_wait_for_the_admin(box, exc):
    outbox, _, _ = box
    outbox.add("k", "R", {})
    assert outbox.settle(outbox.due()[0][0], exc).state == PENDING
    assert outbox.counts() == {"pending": 1, "failed": 0, "quarantined": 0}


def test_a_refusal_fails_for_good_and_returns_the_item_to_report(box):
    outbox, _, clock = box
    outbox.add("k", "R9", {"room_id": "R9"})
    outcome = outbox.settle(outbox.due()[0][0], CrmValidationError("rule", "FIELD_CUSTOM_VALIDATION_EXCEPTION"))
    assert outcome.state == FAILED and outcome.final.room_id == "R9" and outcome.final.payload == {"room_id": "R9"}
    assert outcome.final.finished_at == clock()
    assert outbox.pending() == [] and due_keys(outbox) == []
    assert [i.key for i in outbox.failures()] == ["k"]


def test_unexpected_errors_quarantine_after_a_few_attempts_and_the_rest_flow(box):
    outbox, _, clock = box
    outbox.add("poison", "Rp", {"room_id": "Rp"})
    outbox.add("fine", "Rf", {"room_id": "Rf"})
    outcomes = []
    for _ in range(plugin_outbox.MAX_CRASHES):
        items = outbox.due()[0]
        for item in items:
            if item.key == "poison":
                outcomes.append(outbox.settle(item, KeyError("visitor")))
        clock.advance(plugin_outbox.MAX_DELAY)
    assert [o.state for o in outcomes] == [PENDING] * (plugin_outbox.MAX_CRASHES - 1) + [QUARANTINED]
    assert "KeyError" in outcomes[-1].error
    assert [i.key for i in outbox.quarantined()] == ["poison"]
    assert due_keys(outbox) == ["fine"]


def test_an_unreadable_item_is_quarantined_when_met_and_never_blocks(box, tmp_path):
    outbox, store, _ = box
    outbox.add("a", "Ra", {"room_id": "Ra"})
    outbox.add("b", "Rb", {"room_id": "Rb"})
    with sqlite3.connect(store.path) as db:  # another writer tore item "a"
        db.execute("UPDATE outbox SET payload = '{\"room_id\": \"Ra\", ' WHERE key = 'a'")
    items, quarantined = outbox.due()
    assert [i.key for i in items] == ["b"]
    assert [(q.key, q.room_id) for q in quarantined] == [("a", "Ra")] and "cannot be read" in quarantined[0].last_error
    assert outbox.counts()["quarantined"] == 1
    assert outbox.due() == ([items[0]], [])  # reported once; "b" still due


def test_progress_survives_a_retry(box):
    outbox, _, clock = box
    outbox.add("k", "R1", {"room_id": "R1"})
    item = outbox.due()[0][0]
    item.progress["intent"] = {"at": clock(), "subject": "Chat transcript [R1]"}
    outbox.save_progress(item)
    outbox.settle(item, CrmUnavailable("timeout", "TIMEOUT"))
    clock.advance(plugin_outbox.MAX_DELAY)
    assert outbox.due()[0][0].progress == {
        "intent": {"at": clock() - plugin_outbox.MAX_DELAY, "subject": "Chat transcript [R1]"}
    }


def test_succeeded_keeps_the_result_and_retry_at_does_not_count_an_attempt(box):
    outbox, store, clock = box
    outbox.add("k", "R1", {"room_id": "R1"})
    item = outbox.due()[0][0]
    outbox.retry(item, "waiting", clock() + 7)
    assert due_keys(outbox) == []
    clock.advance(7)
    item = outbox.due()[0][0]
    assert item.attempts == 0 and item.last_error == "waiting"
    item.progress["result"] = {"task_id": "00T1"}
    outbox.succeeded(item)
    assert store.item("k").state == DONE and store.item("k").progress["result"] == {"task_id": "00T1"}


def test_backoff_function():
    assert plugin_outbox.backoff(0) == plugin_outbox.backoff(1) == plugin_outbox.FIRST_DELAY
    assert plugin_outbox.backoff(3) == 4 * plugin_outbox.FIRST_DELAY
    assert plugin_outbox.backoff(1000) == plugin_outbox.MAX_DELAY
