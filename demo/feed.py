"""One time-ordered feed of everything alice and the visitors can see, printed as it arrives.

Each person has their own realtime stream (rc_people.Stream); a livechat message reaches both the
agent's and the visitor's stream, so the feed keeps the first copy only. Tests and `:wait` search the
feed instead of the screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from demo.render import plain_text, render
from simulators.rocketchat.people import Stream


@dataclass
class Entry:
    message: dict
    meta: dict
    lines: list[str]
    text: str


class Feed:
    def __init__(self, emit: Callable[[list[str]], None], me: str):
        self.emit, self.me = emit, me
        self.entries: list[Entry] = []
        self._streams: list[list] = []  # [stream, next index]
        self._seen: set[tuple] = set()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="demo-feed", daemon=True)
        self._thread.start()

    def watch(self, stream: Stream) -> None:
        with self._cond:
            self._streams.append([stream, len(stream.messages)])

    def _pump(self) -> None:
        while not self._stop.wait(0.1):
            self.poll()

    def poll(self) -> None:
        with self._cond:
            for slot in self._streams:
                stream, start = slot
                fresh = stream.messages[start:]
                slot[1] = start + len(fresh)
                for message, meta in fresh:
                    key = (
                        message.get("_id"),
                        message.get("editedAt") and str(message.get("editedAt")),
                        message.get("msg"),
                    )
                    if key in self._seen:
                        continue
                    self._seen.add(key)
                    entry = Entry(message, meta, render(message, meta, self.me), plain_text(message))
                    self.entries.append(entry)
                    if entry.lines:
                        self.emit(entry.lines)
                    self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.entries)

    def wait_for(self, predicate: Callable[[Entry], bool], since: int, timeout: float) -> Entry | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for entry in self.entries[since:]:
                    if predicate(entry):
                        return entry
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.2))

    def settle(self, quiet: float = 0.8, limit: float = 5.0) -> None:
        """Return once nothing new arrived for QUIET seconds (at most LIMIT seconds in all)."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            count = self.mark()
            if self.wait_for(lambda _e: True, count, min(quiet, max(end - time.monotonic(), 0))) is None:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.poll()
