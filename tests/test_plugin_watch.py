"""ChatWatch: assignments and closures from events and polls, each handled once, watermarks and
greeted markers in the SQLite state store."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

import pytest
from rc_omnichannel import LivechatRoom, OmnichannelEvent
from unit_helpers import T0, lroom

from salesforce_omnichannel.chat import watch as plugin_watch
from salesforce_omnichannel.chat.store import SqliteStateStore
from salesforce_omnichannel.chat.watch import ChatWatch


class FakeOmni:
    """Rooms by id; `hidden` rooms are neither open-listed nor closed (queued, on hold, gone)."""

    def __init__(self):
        self.rooms: dict[str, LivechatRoom] = {}
        self.hidden: set[str] = set()
        self.open_calls: list = []
        self.closed_calls: list = []

    def put(self, room):
        self.rooms[room.id] = room

    def room(self, rid):
        return self.rooms.get(rid)

    def open_rooms(self, updated_since=None):
        self.open_calls.append(updated_since)
        rooms = [
            r
            for r in self.rooms.values()
            if r.open and r.id not in self.hidden and (updated_since is None or r.updated_at >= updated_since)
        ]
        return sorted(rooms, key=lambda r: r.updated_at, reverse=True)

    def closed_rooms(self, since):
        self.closed_calls.append(since)
        rooms = [r for r in self.rooms.values() if not r.open and r.closed_at and r.closed_at >= since]
        return sorted(rooms, key=lambda r: r.closed_at)


class Now:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def watch(tmp_path):
    omni, store, now = FakeOmni(), SqliteStateStore(tmp_path / "state.sqlite3"), Now(T0)
    assigned, closed = [], []
    w = ChatWatch(store, omni, assigned.append, lambda room, key: closed.append((room.id, key)), now=now)
    yield SimpleNamespace(w=w, omni=omni, store=store, now=now, assigned=assigned, closed=closed)
    store.close()


def event(kind, rid, agent=None, ts=T0):
    return OmnichannelEvent(
        kind=kind, room_id=rid, agent_id=None, agent_username=agent, ts=ts, message_id=f"m-{rid}-{kind}"
    )


def test_first_start_watches_from_now_no_greeting_storm(watch):
    for i in range(5):  # chats under way and chats closed before the bot ever ran
        watch.omni.put(lroom(f"old{i}", "alice", served=T0 - dt.timedelta(hours=1, minutes=i)))
        watch.omni.put(
            lroom(
                f"gone{i}",
                "alice",
                served=T0 - dt.timedelta(hours=2),
                open=False,
                closed=T0 - dt.timedelta(minutes=30 + i),
            )
        )
    watch.w.start()
    assert (
        watch.store.watermark(plugin_watch.WM_OPEN) == watch.store.watermark(plugin_watch.WM_CLOSED) == T0.isoformat()
    )
    watch.now.t = T0 + dt.timedelta(seconds=30)
    watch.w.reconcile()
    assert watch.assigned == [] and watch.closed == []
    # the first real assignment after start is greeted
    watch.omni.put(lroom("new", "bob", served=T0 + dt.timedelta(seconds=20)))
    watch.w.reconcile()
    assert [r.id for r in watch.assigned] == ["new"]


def test_start_keeps_existing_watermarks_so_closures_while_down_are_found(watch):
    watch.w.start()
    watch.omni.put(
        lroom("R1", "alice", served=T0 - dt.timedelta(minutes=5), open=False, closed=T0 + dt.timedelta(minutes=10))
    )
    # restart an hour later with the same storage
    later = Now(T0 + dt.timedelta(hours=1))
    closed = []
    again = ChatWatch(watch.store, watch.omni, lambda r: None, lambda r, k: closed.append(k), now=later)
    again.start()
    assert watch.store.watermark(plugin_watch.WM_CLOSED) == T0.isoformat()
    again.reconcile()
    assert closed == [plugin_watch.closure_key(watch.omni.rooms["R1"])]
    assert watch.store.watermark(plugin_watch.WM_CLOSED) == (T0 + dt.timedelta(minutes=10)).isoformat()


@pytest.mark.parametrize("order", ["event-then-poll", "poll-then-event"])
def test_assignment_seen_by_event_and_poll_is_handled_once(watch, order):
    watch.w.start()
    room = lroom("R1", "alice", served=T0 + dt.timedelta(seconds=3))
    watch.omni.put(room)
    steps = [lambda: watch.w.handle_event(event("assigned", "R1", "alice")), watch.w.reconcile]
    for step in steps if order == "event-then-poll" else reversed(steps):
        step()
    watch.w.reconcile()  # a later poll with the margin sees it again
    watch.w.handle_event(event("assigned", "R1", "alice"))
    assert watch.assigned == [room]


def test_transfer_to_another_agent_is_a_new_assignment(watch):
    watch.w.start()
    first = lroom("R1", "alice", served=T0 + dt.timedelta(seconds=3))
    watch.omni.put(first)
    watch.w.handle_event(event("assigned", "R1", "alice"))
    transferred = lroom("R1", "bob", served=T0 + dt.timedelta(minutes=2))
    watch.omni.put(transferred)
    watch.w.reconcile()  # the poll sees the transfer first
    watch.w.handle_event(event("transferred", "R1", "bob"))  # then the event: no second greeting
    back = lroom("R1", "alice", served=T0 + dt.timedelta(minutes=9))
    watch.omni.put(back)
    watch.w.handle_event(event("transferred", "R1", "alice"))  # back to alice later: new again
    watch.w.reconcile()
    assert [(r.agent_username, r.served_at) for r in watch.assigned] == [
        ("alice", first.served_at),
        ("bob", transferred.served_at),
        ("alice", back.served_at),
    ]


def test_assignment_keys_differ_by_agent_not_by_served_time():
    a = lroom("R1", "alice", served=T0)
    assert plugin_watch.assignment_key(a) != plugin_watch.assignment_key(lroom("R1", "bob", served=T0))
    assert plugin_watch.assignment_key(a) == plugin_watch.assignment_key(
        lroom("R1", "alice", served=T0 + dt.timedelta(seconds=1))
    )


def test_a_chat_resumed_from_on_hold_by_the_same_agent_is_not_greeted_again(watch):
    """Rocket.Chat 6.3 and older re-assign the agent who resumes an on-hold chat (a new servedBy.ts)."""
    watch.w.start()
    first = lroom("R1", "alice", served=T0 + dt.timedelta(seconds=3))
    watch.omni.put(first)
    watch.w.handle_event(event("assigned", "R1", "alice"))
    watch.omni.put(lroom("R1", "alice", served=T0 + dt.timedelta(minutes=5), updated=T0 + dt.timedelta(minutes=5)))
    watch.w.handle_event(event("assigned", "R1", "alice"))
    watch.w.reconcile()
    assert watch.assigned == [first]


def test_unserved_or_closed_rooms_are_not_assignments(watch):
    watch.w.start()
    watch.omni.put(lroom("Q", None, updated=T0 + dt.timedelta(seconds=1)))  # queued: open, nobody serves it
    watch.omni.put(lroom("C", "alice", served=T0, open=False, closed=T0 + dt.timedelta(seconds=2)))
    watch.w.reconcile()
    watch.w.handle_event(event("assigned", "Q"))
    watch.w.handle_event(event("assigned", "C", "alice"))
    watch.w.handle_event(event("assigned", "missing-room", "alice"))
    assert watch.assigned == []


def test_a_room_that_leaves_the_open_list_without_closed_at_is_never_a_closure(watch):
    watch.w.start()
    watch.omni.put(lroom("R1", "alice", served=T0 + dt.timedelta(seconds=1)))
    watch.w.reconcile()
    assert len(watch.assigned) == 1
    # on hold / back in the queue / transferred to a department: gone from the open list, not closed
    watch.omni.hidden.add("R1")
    watch.now.t = T0 + dt.timedelta(minutes=5)
    watch.w.reconcile()
    watch.omni.put(lroom("R1", None, updated=T0 + dt.timedelta(minutes=5)))  # returned to the queue
    watch.omni.hidden.clear()
    watch.w.reconcile()
    watch.w.handle_event(event("closed", "R1"))  # even a "closed" event without closedAt is no closure
    assert watch.closed == []


def test_closures_come_from_closed_rooms_keyed_by_room_and_closed_at(watch):
    watch.w.start()
    closed_at = T0 + dt.timedelta(minutes=3)
    room = lroom("R1", "alice", served=T0 + dt.timedelta(seconds=1), open=False, closed=closed_at)
    watch.omni.put(room)
    watch.w.handle_event(event("closed", "R1"))
    watch.w.reconcile()
    key = f"R1|{closed_at.isoformat()}"
    assert watch.closed == [("R1", key), ("R1", key)]  # the outbox keeps one: same key from both paths
    assert plugin_watch.closure_key(room) == key
    # reopened and closed again later: a different closure
    reclosed = lroom(
        "R1", "alice", served=T0 + dt.timedelta(minutes=20), open=False, closed=T0 + dt.timedelta(minutes=30)
    )
    assert plugin_watch.closure_key(reclosed) != key


def test_closed_watermark_advances_and_polls_ask_with_a_margin(watch):
    watch.w.start()
    watch.omni.put(lroom("R1", "alice", served=T0, open=False, closed=T0 + dt.timedelta(minutes=3)))
    watch.omni.put(lroom("R2", "bob", served=T0 + dt.timedelta(minutes=1)))
    watch.w.reconcile()
    assert watch.omni.closed_calls[-1] == T0 - plugin_watch.MARGIN
    assert watch.omni.open_calls[-1] == T0 - plugin_watch.MARGIN
    assert watch.store.watermark(plugin_watch.WM_CLOSED) == (T0 + dt.timedelta(minutes=3)).isoformat()
    assert watch.store.watermark(plugin_watch.WM_OPEN) == (T0 + dt.timedelta(minutes=1)).isoformat()
    watch.w.reconcile()
    assert watch.omni.closed_calls[-1] == T0 + dt.timedelta(minutes=3) - plugin_watch.MARGIN
    assert [r.id for r in watch.assigned] == ["R2"]


def test_reconcile_greets_oldest_update_first(watch):
    watch.w.start()
    for i, rid in enumerate(["A", "B", "C"]):
        watch.omni.put(lroom(rid, "alice", served=T0 + dt.timedelta(seconds=10 * (i + 1))))
    watch.w.reconcile()
    assert [r.id for r in watch.assigned] == ["A", "B", "C"]


def test_greeted_markers_live_in_the_store_and_expire_by_age(watch):
    watch.w.start()
    room = lroom("R1", "alice", served=T0 + dt.timedelta(seconds=1))
    watch.omni.put(room)
    watch.w.reconcile()
    assert watch.store.mark_greeted(plugin_watch.assignment_key(room), time.time()) is False  # already marked
    watch.store.expire(0, time.time() + 1, 0)
    watch.w.handle_event(event("assigned", "R1", "alice"))
    assert len(watch.assigned) == 2  # forgotten after expiry, so greeted again


def test_idle_polls_after_a_burst_stop_listing_it_again(watch):
    watch.w.start()
    closed_at = T0 + dt.timedelta(minutes=3)
    for i in range(3):  # a burst closed within the margin
        watch.omni.put(lroom(f"B{i}", "alice", served=T0, open=False, closed=closed_at - dt.timedelta(seconds=i)))
    watch.now.t = closed_at + dt.timedelta(seconds=1)
    watch.w.reconcile()
    assert watch.omni.closed_calls[-1] == T0 - plugin_watch.MARGIN  # first poll of the process: with the margin
    watch.now.t = closed_at + dt.timedelta(seconds=2)
    watch.w.reconcile()  # the previous poll was inside the margin: a late room could still land
    assert watch.omni.closed_calls[-1] == closed_at - plugin_watch.MARGIN
    watch.now.t = closed_at + plugin_watch.MARGIN + dt.timedelta(seconds=3)
    watch.w.reconcile()
    watch.now.t += dt.timedelta(seconds=2)
    watch.w.reconcile()  # the poll before it was past the window: from the watermark itself
    assert watch.omni.closed_calls[-1] == closed_at
    assert len({k for _rid, k in watch.closed}) == 3


def test_a_greeting_that_failed_to_send_is_tried_again_and_marked_only_once_sent(tmp_path):
    omni, store = FakeOmni(), SqliteStateStore(tmp_path / "state.sqlite3")
    sent: list[str] = []

    def on_assigned(room):
        if not sent:
            sent.append("failed")
            raise RuntimeError("Rocket.Chat did not take the message")
        sent.append(room.id)

    w = ChatWatch(store, omni, on_assigned, lambda room, key: None, now=Now(T0))
    room = lroom("R1", "alice", served=T0 + dt.timedelta(seconds=1))
    omni.put(room)
    with pytest.raises(RuntimeError):
        w.handle_event(event("assigned", "R1", "alice"))
    assert not store.greeted(plugin_watch.assignment_key(room))  # not marked: the next look tries again
    w.handle_event(event("assigned", "R1", "alice"))
    w.handle_event(event("assigned", "R1", "alice"))
    assert sent == ["failed", "R1"] and store.greeted(plugin_watch.assignment_key(room))
    store.close()


def test_each_assignment_has_its_own_greeting_name():
    first = lroom("R1", "alice", served=T0)
    again = lroom("R1", "alice", served=T0 + dt.timedelta(minutes=5))  # transferred away and back
    assert plugin_watch.greeting_name(first) == plugin_watch.greeting_name(lroom("R1", "alice", served=T0))
    assert plugin_watch.greeting_name(first) != plugin_watch.greeting_name(again)
    assert plugin_watch.greeting_name(first) != plugin_watch.greeting_name(lroom("R1", "bob", served=T0))
