"""Assignments and closures of Omnichannel chats, from realtime events and reconciling polls.

An event and a poll may both see the same change, so each is keyed: (room, serving agent) for an
assignment, greeted only when the room's serving agent changes (a chat resumed from on-hold on
Rocket.Chat 6.3 or older is assigned to the same agent again, with a new served time), and
(room, closedAt) for a closure, handled once. A closure is only ever a
room with `closedAt`: queued and on-hold rooms also leave the open list. Watermarks and greeted
markers live in the state store, so closures that happened while the bot was down are found on
start; greeted markers expire by an indexed delete (`StateStore.expire`), never by a scan.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from .omnichannel import LivechatRoom, Omnichannel, OmnichannelEvent
from .store import StateStore
from .times import utc_iso

log = logging.getLogger(__name__)

WM_OPEN = "open"
WM_CLOSED = "closed"
MARGIN = dt.timedelta(seconds=5)
KEEP_ASSIGNED_SECONDS = 3 * 24 * 3600


def assignment_key(room) -> str:
    """`ROOM|AGENT`: the store greets a key once, and forgets the room's other agents when it does."""
    return f"{room.id}|{room.agent_username}"


def greeting_name(room) -> str:
    """The greeting's message name: one per assignment (a transfer back to the same agent is another)."""
    served = utc_iso(room.served_at) if room.served_at else ""
    return f"greeting|{room.id}|{room.agent_username}|{served}"


def closure_key(room) -> str:
    return f"{room.id}|{utc_iso(room.closed_at)}"


class ChatWatch:
    def __init__(
        self,
        store: StateStore,
        omnichannel: Omnichannel,
        on_assigned: Callable[[LivechatRoom], None],
        on_closed: Callable[[LivechatRoom, str], None],
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
    ):
        self._store = store
        self._omni = omnichannel
        self._on_assigned = on_assigned
        self._on_closed = on_closed
        self._now = now
        self._polled_at: dt.datetime | None = None

    def start(self) -> None:
        """First run ever: watch from now on (no greeting storm for chats already under way)."""
        for name in (WM_OPEN, WM_CLOSED):
            self._store.set_watermark(name, utc_iso(self._now()), only_if_absent=True)

    def handle_event(self, event: OmnichannelEvent) -> None:
        room = self._omni.room(event.room_id)
        if room is None:
            return
        if event.kind in ("assigned", "transferred") and room.open and room.agent_username:
            self.assigned(room)
        elif event.kind == "closed" and room.closed_at:
            self.closed(room)

    def reconcile(self) -> None:
        """Catch up with what the stream missed: newly served rooms, then closures."""
        polled_at, previous = self._now(), self._polled_at
        self._polled_at = polled_at
        open_since = self._watermark(WM_OPEN)
        rooms = self._omni.open_rooms(updated_since=self._from(open_since, previous) if open_since else None)
        newest = open_since
        for room in reversed(rooms):  # oldest update first
            if room.agent_username:
                self.assigned(room)
            if room.updated_at and (newest is None or room.updated_at > newest):
                newest = room.updated_at
        if newest != open_since:
            self._set_watermark(WM_OPEN, newest)
        stored = self._watermark(WM_CLOSED)
        closed_since = stored or self._now()
        newest = closed_since
        for room in self._omni.closed_rooms(since=self._from(closed_since, previous)):
            self.closed(room)
            if room.closed_at and room.closed_at > newest:
                newest = room.closed_at
        if newest != stored:
            self._set_watermark(WM_CLOSED, newest)

    @staticmethod
    def _from(watermark: dt.datetime, previous_poll: dt.datetime | None) -> dt.datetime:
        """Where a poll starts: a margin before the watermark while a late-committed room could still
        land behind it (first poll of the process, or the watermark is younger than the margin at
        the previous poll); once a poll has passed that window, the watermark itself, so idle
        polls after a burst do not list the burst again (ties at the watermark are de-duplicated by key)."""
        if previous_poll is None or previous_poll < watermark + MARGIN:
            return watermark - MARGIN
        return watermark

    def assigned(self, room: LivechatRoom) -> None:
        """Greet, then mark: the greeting is a named message (`greeting_name`), so one sent again after
        a crash or by a standby taking over is posted once, and one that failed is tried again."""
        key = assignment_key(room)
        if self._store.greeted(key):
            return
        self._on_assigned(room)
        self._store.mark_greeted(key, time.time())

    def closed(self, room: LivechatRoom) -> None:
        self._on_closed(room, closure_key(room))

    def _watermark(self, name: str) -> dt.datetime | None:
        raw = self._store.watermark(name)
        return dt.datetime.fromisoformat(raw) if raw else None

    def _set_watermark(self, name: str, value: dt.datetime | None) -> None:
        if value is not None:
            self._store.set_watermark(name, utc_iso(value))
