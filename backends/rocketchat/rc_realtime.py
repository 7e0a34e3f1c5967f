"""Rocket.Chat realtime API (DDP over `/websocket`) read in a thread of its own.

The reader never calls into Errbot: it answers `ping`, resolves method/subscription waits and
puts stream events on a queue that the backend's own thread consumes. A socket that is silent
for `silence_timeout` seconds is treated as dead (a half-open TCP connection never errors).
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import websocket

log = logging.getLogger(__name__)

CLOSED = object()  # put on the event queue when the connection ends


class RealtimeError(Exception):
    """The server refused a DDP method or subscription, or the socket died."""


def websocket_url(server_url: str) -> str:
    parts = urlsplit(server_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/websocket"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class RealtimeClient:
    """One DDP connection: `connect()`, `login(token)`, `subscribe_room(id)`, events on `events`."""

    def __init__(
        self,
        server_url: str,
        events: queue.Queue[Any],
        silence_timeout: float = 70.0,
        call_timeout: float = 15.0,
        on_close: Callable[[], None] | None = None,
    ):
        self.url = websocket_url(server_url)
        self.events = events
        self.silence_timeout = silence_timeout
        self.call_timeout = call_timeout
        self._ws: websocket.WebSocket | None = None
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiters: dict[str, tuple[threading.Event, dict]] = {}
        self._subs: dict[str, str] = {}  # stream param (room id or __my_messages__) -> sub id
        self._reader: threading.Thread | None = None
        self._closed = threading.Event()
        self._last_seen = time.monotonic()
        self.loop_at = self._last_seen  # the reader's last turn (at least one a second while it runs)
        self.close_reason = ""  # why the connection ended, in words for a probe
        self.on_close = on_close

    # -- lifecycle -------------------------------------------------------------
    def connect(self) -> None:
        ws = websocket.WebSocket()
        ws.connect(self.url, timeout=self.call_timeout)
        ws.settimeout(1.0)
        self._ws = ws
        self._send({"msg": "connect", "version": "1", "support": ["1"]})
        deadline = time.monotonic() + self.call_timeout
        while time.monotonic() < deadline:
            frame = self._recv_one()
            if frame is None:
                continue
            if frame.get("msg") == "connected":
                break
            if frame.get("msg") == "failed":
                raise RealtimeError("server refused DDP version")
        else:
            raise RealtimeError("no DDP 'connected' answer")
        self._last_seen = time.monotonic()
        self._reader = threading.Thread(target=self._read_loop, name="rocketchat-realtime", daemon=True)
        self._reader.start()

    def close(self) -> None:
        """Say goodbye with a close frame, then wake the reader (which releases the socket)."""
        if self._closed.is_set() and (self._reader is None or not self._reader.is_alive()):
            return
        self._closed.set()
        ws = self._ws
        if ws is None:
            return
        try:
            with self._send_lock:
                ws.send_close()
        except Exception:  # noqa: BLE001 - closing a dead socket may fail in many ways
            pass
        ws.abort()
        if self._reader is None or not self._reader.is_alive():
            ws.shutdown()

    @property
    def last_frame_at(self) -> float:
        """`time.monotonic()` of the last frame the server sent."""
        return self._last_seen

    @property
    def alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive() and not self._closed.is_set()

    # -- DDP calls -------------------------------------------------------------
    def login(self, auth_token: str) -> dict:
        return self.call("login", [{"resume": auth_token}])

    def call(self, method: str, params: list) -> Any:
        msg_id = str(next(self._ids))
        reply = self._request(msg_id, {"msg": "method", "method": method, "id": msg_id, "params": params})
        if "error" in reply:
            err = reply["error"] or {}
            raise RealtimeError(f"{method}: {err.get('reason') or err.get('error') or 'refused'}")
        return reply.get("result")

    def subscribe_room(self, room: str) -> None:
        """Follow `stream-room-messages` for a room id or `__my_messages__`; idempotent."""
        if room in self._subs:
            return
        sub_id = f"s{next(self._ids)}"
        self._subs[room] = sub_id
        reply = self._request(
            sub_id, {"msg": "sub", "id": sub_id, "name": "stream-room-messages", "params": [room, False]}
        )
        if reply.get("msg") == "nosub":
            self._subs.pop(room, None)
            err = reply.get("error") or {}
            raise RealtimeError(f"subscription to {room} refused: {err.get('reason') or err.get('error')}")

    def unsubscribe_room(self, room: str) -> None:
        sub_id = self._subs.pop(room, None)
        if sub_id:
            self._send({"msg": "unsub", "id": sub_id})

    @property
    def subscribed_rooms(self) -> list[str]:
        return list(self._subs)

    # -- internals -------------------------------------------------------------
    def _request(self, key: str, frame: dict) -> dict:
        done = threading.Event()
        holder: dict = {}
        self._waiters[key] = (done, holder)
        try:
            self._send(frame)
            if not done.wait(self.call_timeout):
                raise RealtimeError(f"no answer to {frame.get('msg')} {frame.get('method') or frame.get('name')}")
        finally:
            self._waiters.pop(key, None)
        return holder

    def _send(self, frame: dict) -> None:
        if self._ws is None:
            raise RealtimeError("not connected")
        with self._send_lock:
            try:
                self._ws.send(json.dumps(frame))
            except Exception as exc:  # noqa: BLE001
                raise RealtimeError(f"send failed: {type(exc).__name__}") from None

    def _recv_one(self) -> dict | None:
        assert self._ws is not None
        try:
            raw = self._ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        if raw is None or raw == "":
            raise websocket.WebSocketConnectionClosedException("closed")
        self._last_seen = time.monotonic()
        try:
            frame = json.loads(raw)
        except ValueError:
            return None
        return frame if isinstance(frame, dict) else None

    def _read_loop(self) -> None:
        try:
            while not self._closed.is_set():
                self.loop_at = time.monotonic()
                if self.loop_at - self._last_seen > self.silence_timeout:
                    log.warning(
                        "Realtime socket %s silent for %.0f s; treating it as dead and reconnecting",
                        self.url,
                        self.silence_timeout,
                    )
                    self.close_reason = f"the realtime stream was silent for {self.silence_timeout:.0f} s"
                    break
                frame = self._recv_one()
                if frame is not None:
                    self._handle(frame)
        except Exception as exc:  # noqa: BLE001 - any socket failure ends this connection
            if not self._closed.is_set():
                log.warning("Realtime connection to %s lost (%s); reconnecting", self.url, type(exc).__name__)
                self.close_reason = f"the realtime connection was lost ({type(exc).__name__})"
        finally:
            self.close_reason = self.close_reason or "the realtime connection was closed"
            self._closed.set()
            if self._ws is not None:
                self._ws.shutdown()
            for done, holder in list(self._waiters.values()):
                holder.setdefault("error", {"reason": "connection closed"})
                holder.setdefault("msg", "nosub")
                done.set()
            self.events.put(CLOSED)

    def _handle(self, frame: dict) -> None:
        kind = frame.get("msg")
        if kind == "ping":
            self._send({"msg": "pong", **({"id": frame["id"]} if "id" in frame else {})})
        elif kind == "result":
            self._resolve(str(frame.get("id")), frame)
        elif kind == "ready":
            for sub_id in frame.get("subs", []):
                self._resolve(sub_id, frame)
        elif kind == "nosub":
            self._resolve(str(frame.get("id")), frame)
        elif kind == "changed" and frame.get("collection") == "stream-room-messages":
            args = (frame.get("fields") or {}).get("args") or []
            if args and isinstance(args[0], dict):
                meta = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
                self.events.put(("message", args[0], meta))

    def _resolve(self, key: str, frame: dict) -> None:
        waiter = self._waiters.get(key)
        if waiter:
            done, holder = waiter
            holder.update(frame)
            done.set()
