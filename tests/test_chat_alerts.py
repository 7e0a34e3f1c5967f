"""The admins' alerts (chat/alerts.py) on a fake clock: each condition told once per episode, with the
fix, and again once it cleared and came back; and the watchdog (chat/watchdog.py) gathering them from a
real outbox and telling the budget's notices."""

from __future__ import annotations

from types import SimpleNamespace

from unit_helpers import Clock

from salesforce_omnichannel.chat.alerts import RC_DOWN_SECONDS, SF_DOWN_SECONDS, Alerts, Facts, Reachability
from salesforce_omnichannel.chat.outbox import Outbox
from salesforce_omnichannel.chat.store import SqliteStateStore
from salesforce_omnichannel.chat.watchdog import Watchdog
from salesforce_omnichannel.crm.errors import CrmUnavailable, CrmValidationError


def test_a_closed_chat_waiting_too_long_is_told_once_per_episode():
    clock = Clock()
    alerts = Alerts(30, clock)
    queued = clock() - 29 * 60
    waiting = Facts(oldest_pending=queued, oldest_room="R1", oldest_error="composite: timeout", pending=2)
    assert alerts.review(waiting) == []  # 29 min: not yet
    clock.advance(60)
    [told] = alerts.review(waiting)
    assert told.startswith("Salesforce bot alert: a closed chat has waited 30 min to be saved to Salesforce (room R1;")
    assert "2 waiting in all" in told and "composite: timeout" in told and "Fix: `!salesforce status`" in told
    clock.advance(600)
    assert alerts.review(waiting) == []  # the same episode
    assert "outbox-age" in alerts.active
    assert alerts.review(Facts()) == []  # saved: the episode ends
    assert "outbox-age" not in alerts.active
    clock.advance(3600)
    assert len(alerts.review(Facts(oldest_pending=clock() - 31 * 60, oldest_room="R2", pending=1))) == 1  # a new one


def test_the_outbox_alert_names_why_the_chat_waits():
    clock = Clock()
    old = clock() - 3600
    held = Alerts(30, clock).review(Facts(oldest_pending=old, oldest_room="R", pending=1, holding=True))[0]
    assert "API budget guard holds closed chats" in held and "raise API_BUDGET_PERCENT" in held
    down = Alerts(30, clock).review(
        Facts(oldest_pending=old, oldest_room="R", pending=1, sf_down_since=old, sf_error="query: timeout")
    )
    assert any("Salesforce cannot be reached (query: timeout)" in text for text in down)


def test_quarantined_chats_are_told_when_their_number_rises_and_again_after_it_cleared():
    clock = Clock()
    alerts = Alerts(30, clock)
    one = Facts(quarantined=1, quarantined_items=(("TORN", "stored data cannot be read (JSONDecodeError)"),))
    [told] = alerts.review(one)
    assert told.startswith(
        "Salesforce bot alert: 1 closed chat(s) could not be saved to Salesforce and are quarantined"
    )
    assert "TORN (stored data cannot be read (JSONDecodeError))" in told and "Fix: `!salesforce status`" in told
    assert alerts.review(one) == []  # still quarantined: nothing new
    two = Facts(quarantined=2, quarantined_items=(("POISON", "TypeError, 5 times in a row"), one.quarantined_items[0]))
    [more] = alerts.review(two)
    assert "1 closed chat(s)" in more and "POISON" in more and "TORN" not in more and "2 quarantined in all" in more
    assert alerts.review(Facts()) == []  # cleared
    assert len(alerts.review(one)) == 1  # the next one is told again


def test_salesforce_unreachable_for_five_minutes_is_told_once_per_outage():
    clock = Clock()
    reach, alerts = Reachability(clock), Alerts(30, clock)
    reach.failed("query: timeout (ReadTimeout) on GET sf.example/services/data/v59.0/query")
    start = reach.down_since
    clock.advance(60)
    reach.failed("composite: ConnectionError")  # a later failure keeps the first moment
    assert reach.down_since == start and reach.last_error == "composite: ConnectionError"

    def facts():
        return Facts(sf_down_since=reach.down_since, sf_error=reach.last_error)

    assert alerts.review(facts()) == []
    clock.advance(SF_DOWN_SECONDS - 60)
    [told] = alerts.review(facts())
    assert told.startswith("Salesforce bot alert: Salesforce has not answered for 5 min")
    assert "composite: ConnectionError" in told and "Fix: check the bot host's network path" in told
    clock.advance(600)
    assert alerts.review(facts()) == []
    reach.answered()
    assert alerts.review(facts()) == [] and not reach.down
    reach.failed("query: timeout")
    clock.advance(SF_DOWN_SECONDS)
    assert len(alerts.review(facts())) == 1


def test_a_rocket_chat_outage_longer_than_two_minutes_is_told_once_it_is_back():
    clock = Clock()
    alerts = Alerts(30, clock)
    short = (clock() - 100, clock() - 10)
    assert alerts.review(Facts(rc_outage=short)) == []
    long = (clock() - 400, clock() - 5)
    [told] = alerts.review(Facts(rc_outage=long))
    assert told.startswith("Salesforce bot alert: Rocket.Chat's realtime stream was down for 6 min")
    assert "and is back" in told and "Fix, if it recurs" in told
    assert alerts.review(Facts(rc_outage=long)) == []  # the same outage, seen again at the next poll
    clock.advance(1000)
    assert len(alerts.review(Facts(rc_outage=(clock() - RC_DOWN_SECONDS, clock())))) == 1  # the next outage


def test_episodes_survive_a_restart():
    clock = Clock()
    alerts = Alerts(30, clock)
    facts = Facts(
        oldest_pending=clock() - 3600, oldest_room="R", pending=1, quarantined=1, quarantined_items=(("Q", "x"),)
    )
    assert len(alerts.review(facts)) == 2
    again = Alerts(30, clock)
    again.restore(alerts.state())
    assert again.review(facts) == []


# -- the watchdog: facts from a real outbox, notices and alerts told, state kept ---------------
def crm_stub():
    http = SimpleNamespace(usage_listeners=[], api_usage=None)
    client = SimpleNamespace(http=http, outcome_listeners=[], read_usage=lambda: None)
    return SimpleNamespace(client=client)


def test_the_watchdog_hears_every_call_and_tells_once(tmp_path):
    clock = Clock()
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    outbox = Outbox(store, clock)
    dog = Watchdog(clock)
    dog.configure({"API_BUDGET_PERCENT": 90, "API_WARN_PERCENT": 80, "ALERT_OUTBOX_AGE_MINUTES": 30})
    crm = crm_stub()
    dog.attach(crm)
    dog.attach(crm)  # a second attach (a rebuilt CRM core keeps one listener each)
    assert len(crm.client.http.usage_listeners) == 1 and len(crm.client.outcome_listeners) == 1
    told: list[str] = []
    outbox.add("k1", "R1", {"room_id": "R1"})
    assert dog.review(outbox, None, store, told.append) == [] and told == []

    crm.client.http.usage_listeners[0](9_500, 10_000)  # a command's response: straight past the budget
    assert dog.holding and "keeps its calls for your commands" in dog.hold_reason()
    [listener] = crm.client.outcome_listeners
    listener(CrmUnavailable("x", "TIMEOUT", "composite: timeout"))
    listener(CrmValidationError("y", "REQUIRED_FIELD_MISSING"))  # an answer: reachable again
    assert not dog.reach.down
    clock.advance(31 * 60)
    sent = dog.review(outbox, SimpleNamespace(last_outage=None), store, told.append)
    assert len(sent) == 2 and "API_BUDGET_PERCENT (90%)" in sent[0] and "has waited 31 min" in sent[1]
    assert "API budget guard holds" in sent[1]
    assert dog.review(outbox, None, store, told.append) == []

    restarted = Watchdog(clock)  # a new process on the same store
    restarted.configure({})
    restarted.restore(store)
    restarted.budget.observe(9_600, 10_000)
    assert restarted.review(outbox, None, store, told.append) == []  # neither repeated
    store.close()


def test_the_watchdog_reads_usage_only_while_holding_or_unreachable():
    reads = []
    crm = crm_stub()
    crm.client.read_usage = lambda: reads.append(1)
    dog = Watchdog(Clock())
    dog.read_usage_if_needed(crm)
    assert reads == []
    dog.budget.observe(9_000, 10_000)
    dog.read_usage_if_needed(crm)
    dog.budget.observe(100, 10_000)
    dog.reach.failed("query: timeout")
    dog.read_usage_if_needed(crm)
    assert reads == [1, 1]
