"""Existing installs kept their state in Errbot's storage (one key per item); on the first start
with the state store, it is imported once and the old keys removed.

Errbot's Shelf storage can hold an item it cannot read any more (written over, then the bot was
killed before the shelf's index was saved). Such a closure is not dropped: its key still names
the room, so it is queued again with the room id alone, and the saver reads the rest of it from
Rocket.Chat.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import MutableMapping
from typing import Any

from .store import DONE, FAILED, PENDING, StateStore
from .times import utc_iso

log = logging.getLogger(__name__)

DONE_META = "errbot-storage-imported"
OLD_PREFIXES = ("outbox:", "outbox-failed:", "outbox-done:", "assigned:", "chat-case:", "watch:")
OLD_WATERMARKS = {"watch:open-watermark": "open", "watch:closed-watermark": "closed"}


def import_errbot_state(old: MutableMapping[str, Any], store: StateStore) -> dict[str, int]:
    """Move every old item into STORE (idempotent), then delete the old keys; counts by kind."""
    if store.meta(DONE_META):
        return {}
    counts = {"pending": 0, "failed": 0, "done": 0, "recovered": 0, "greeted": 0, "rooms": 0, "watermarks": 0}
    keys = [k for k in list(old.keys()) if isinstance(k, str) and k.startswith(OLD_PREFIXES)]
    for key in keys:
        try:
            value = old[key]
        except Exception as exc:  # noqa: BLE001 - a torn shelf raises whatever unpickling meets
            value = _Unreadable(type(exc).__name__)
        _import_one(key, value, store, counts)
    for key in keys:
        try:
            del old[key]
        except Exception:  # noqa: BLE001 - the import stands; a key left behind is only clutter
            log.warning("Could not remove the old storage key %s", key.split(":", 1)[0])
    store.set_meta(DONE_META, utc_iso(dt.datetime.now(dt.timezone.utc)))
    if keys:
        log.info(
            "Imported the Salesforce plugin's state from Errbot storage: %s",
            ", ".join(f"{v} {k}" for k, v in counts.items() if v),
        )
    return counts


class _Unreadable:
    def __init__(self, reason: str):
        self.reason = reason


def _import_one(key: str, value: Any, store: StateStore, counts: dict[str, int]) -> None:
    now = time.time()
    prefix, _, rest = key.partition(":")
    if key in OLD_WATERMARKS:
        if isinstance(value, str) and value:
            store.set_watermark(OLD_WATERMARKS[key], value)
            counts["watermarks"] += 1
        return
    if prefix == "assigned":
        room_and_agent = "|".join(rest.split("|")[:2])  # old keys ended with the served time
        store.mark_greeted(room_and_agent, value if isinstance(value, (int, float)) else now)
        counts["greeted"] += 1
        return
    if prefix == "chat-case":
        if isinstance(value, str):
            store.set_room_context(rest, now, case_id=value)
            counts["rooms"] += 1
        return
    room_id = rest.split("|", 1)[0]
    if isinstance(value, _Unreadable) or not isinstance(value, dict):
        if prefix == "outbox-done":
            store.enqueue(rest, room_id, {"room_id": room_id}, now, state=DONE)
            counts["done"] += 1
            return
        closed_at = rest.split("|", 1)[1] if "|" in rest else None
        reason = value.reason if isinstance(value, _Unreadable) else type(value).__name__
        store.enqueue(
            rest,
            room_id,
            {"room_id": room_id, "closed_at": closed_at or None},
            now,
            last_error=f"recovered from unreadable Errbot storage ({reason})",
        )
        counts["recovered"] += 1
        return
    if prefix == "outbox-done":
        store.enqueue(rest, room_id, {"room_id": room_id}, float(value.get("at") or now), state=DONE)
        counts["done"] += 1
        return
    payload = value.get("payload") if isinstance(value.get("payload"), dict) else {"room_id": room_id}
    state = FAILED if prefix == "outbox-failed" else PENDING
    store.enqueue(
        rest,
        payload.get("room_id") or room_id,
        _old_payload(payload),
        now,
        state=state,
        attempts=int(value.get("attempts") or 0),
        last_error=value.get("last_error"),
    )
    if state == PENDING and (payload.get("contact_id") or payload.get("task_id")):
        _carry_progress(store, rest, payload)
    counts["failed" if state == FAILED else "pending"] += 1


def _old_payload(payload: dict) -> dict:
    return {
        k: payload.get(k)
        for k in ("room_id", "visitor_id", "visitor_name", "agent_username", "closed_at")
        if k in payload
    }


def _carry_progress(store: StateStore, key: str, payload: dict) -> None:
    """The old outbox saved each step's id; a Task already logged means the closure was saved."""
    if payload.get("task_id"):
        progress = {"result": {"contact_id": payload.get("contact_id"), "task_id": payload["task_id"], "notes": []}}
        store.finish(key, DONE, progress, None, time.time())
