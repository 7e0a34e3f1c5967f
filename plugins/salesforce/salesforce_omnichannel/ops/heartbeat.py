"""One loop's heartbeat: is it at work, and how long since it last made progress.

A worker (`periodic=False`) is stalled when it has been busy on one job without progress for longer
than `stall_after`; an idle worker is never stalled. A periodic loop (a poller, a reader) is expected to
beat by itself and is stalled when it has not for `stall_after`, busy or not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoopState:
    name: str
    busy: bool
    since_progress_seconds: float
    stall_after_seconds: float

    @property
    def stalled(self) -> bool:
        return self.busy and self.since_progress_seconds > self.stall_after_seconds

    def as_dict(self) -> dict:
        return {
            "busy": self.busy,
            "stalled": self.stalled,
            "since_progress_seconds": round(self.since_progress_seconds, 1),
            "stall_after_seconds": self.stall_after_seconds,
        }


class Heartbeat:
    def __init__(
        self,
        name: str,
        stall_after: float,
        periodic: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self.stall_after = float(stall_after)
        self.periodic = periodic
        self._clock = clock
        self._beat = clock()
        self._busy = periodic
        self.thread: int | None = None  # the thread of the job at work (progress made there beats this loop)

    def beat(self) -> None:
        self._beat = self._clock()

    def busy(self) -> None:
        """A job starts (on the calling thread)."""
        self.thread = threading.get_ident()
        self._busy = True
        self.beat()

    def idle(self) -> None:
        """The job ended."""
        self.beat()
        self._busy = self.periodic
        self.thread = None

    def state(self) -> LoopState:
        return LoopState(self.name, self._busy, max(self._clock() - self._beat, 0.0), self.stall_after)
