"""The plugin's durable state in a transactional store: the closure outbox with each step's
progress, watermarks, greeted-chat markers and per-room context.

Errbot's Shelf storage (dbm.dumb where gdbm is missing) writes its index only on close, so a
crash can leave a value unreadable and every later read failing; state that decides whether a
customer's chat reaches Salesforce needs real transactions. `StateStore` is the interface the
plugin uses; `SqliteStateStore` (standard library, WAL, one transaction per call) is the embedded
default, `pgstore.PostgresStateStore` the same on PostgreSQL for a standby pair (`stores.open_state_store`
picks one from STATE_URL); `schema` holds their versioned migrations. Both run the same calls (`SqlStateStore`). Every query is served by an
index, so its cost follows what changed, not how many chats were ever handled.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .schema import SCHEMA_VERSION as SCHEMA_VERSION  # re-exported: callers knew it from here
from .schema import SchemaTooNew as SchemaTooNew
from .schema import migrate_sqlite

PENDING, DONE, FAILED, QUARANTINED = "pending", "done", "failed", "quarantined"


class Fenced(Exception):
    """A write refused because another bot's leadership began since this one's (its epoch is older):
    a paused bot that wakes up must not write over its successor's work."""


@dataclass
class OutboxItem:
    key: str
    room_id: str
    state: str
    payload: dict
    progress: dict = field(default_factory=dict)
    attempts: int = 0
    next_at: float = 0.0
    last_error: str | None = None
    created: float = 0.0
    finished_at: float | None = None


@dataclass(frozen=True)
class Unreadable:
    """A stored item whose data cannot be decoded: quarantined by whoever meets it."""

    key: str
    room_id: str
    reason: str


class StateStore(Protocol):
    """What the plugin needs from durable state; each call is one transaction."""

    def enqueue(
        self,
        key: str,
        room_id: str,
        payload: dict,
        now: float,
        state: str = PENDING,
        attempts: int = 0,
        last_error: str | None = None,
    ) -> bool: ...
    def due(self, now: float, limit: int) -> tuple[list[OutboxItem], list[Unreadable]]: ...
    def item(self, key: str) -> OutboxItem | None: ...
    def save_progress(self, key: str, progress: dict) -> None: ...
    def finish(self, key: str, state: str, progress: dict | None, error: str | None, now: float) -> None: ...
    def retry_at(self, key: str, attempts: int, error: str, next_at: float, progress: dict | None = None) -> None: ...
    def items(self, state: str, limit: int) -> list[OutboxItem]: ...
    def count(self, state: str) -> int: ...
    def watermark(self, name: str) -> str | None: ...
    def set_watermark(self, name: str, value: str, only_if_absent: bool = False) -> None: ...
    def mark_greeted(self, key: str, now: float) -> bool: ...  # KEY is ROOM|AGENT
    def greeted(self, key: str) -> bool: ...
    def claim_command(self, message_id: str, now: float) -> bool: ...
    def command_state(self, message_id: str) -> str | None: ...  # None, "claimed" or "answered"
    def command_answered(self, message_id: str, now: float) -> None: ...
    def room_context(self, room_id: str) -> dict: ...
    def set_room_context(self, room_id: str, now: float, **values: Any) -> None: ...
    def linked_contact(self, visitor_id: str, token: str) -> str | None: ...
    def link_visitor(self, visitor_id: str, token: str, contact_id: str, now: float) -> None: ...
    def unlink_visitor(self, visitor_id: str) -> None: ...
    def expire(
        self, done_before: float, greeted_before: float, rooms_before: float, links_before: float = 0.0
    ) -> int: ...
    def load_describe(self, sobject: str) -> tuple[float, dict] | None: ...
    def save_describe(self, sobject: str, fetched_at: float, body: dict) -> None: ...
    def meta(self, name: str) -> str | None: ...
    def set_meta(self, name: str, value: str) -> None: ...
    def close(self) -> None: ...


class SqlStateStore:
    """Every `StateStore` call in the SQL that SQLite and PostgreSQL both accept (`?` placeholders, upserts
    with ON CONFLICT): the stores below add only their connection and transactions (`_tx()` yields
    something with `execute(sql, args)`, `_read(sql, args)` returns the rows)."""

    _ROW_LOCK = ""  # what a read that the same transaction writes over adds (SQLite's BEGIN IMMEDIATE needs none)

    def _tx(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    # -- outbox --------------------------------------------------------------------------------------
    def enqueue(
        self,
        key: str,
        room_id: str,
        payload: dict,
        now: float,
        state: str = PENDING,
        attempts: int = 0,
        last_error: str | None = None,
    ) -> bool:
        """Queue work once: False when the key is already known in any state."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO outbox (key, room_id, state, payload, attempts, next_at, last_error, created, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (
                    key,
                    room_id,
                    state,
                    json.dumps(payload),
                    attempts,
                    now,
                    last_error,
                    now,
                    None if state == PENDING else now,
                ),
            )
            return cur.rowcount == 1

    def due(self, now: float, limit: int) -> tuple[list[OutboxItem], list[Unreadable]]:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = ? AND next_at <= ? ORDER BY next_at, created LIMIT ?",
            (PENDING, now, limit),
        )
        items, bad = [], []
        for row in rows:
            try:
                items.append(_item(row))
            except (ValueError, TypeError) as exc:
                bad.append(Unreadable(row[0], row[1], f"stored data cannot be read ({type(exc).__name__})"))
        return items, bad

    def item(self, key: str) -> OutboxItem | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM outbox WHERE key = ?", (key,))
        return _item(rows[0]) if rows else None

    def save_progress(self, key: str, progress: dict) -> None:
        with self._tx() as db:
            db.execute("UPDATE outbox SET progress = ? WHERE key = ?", (json.dumps(progress), key))

    def finish(self, key: str, state: str, progress: dict | None, error: str | None, now: float) -> None:
        with self._tx() as db:
            if progress is None:
                db.execute(
                    "UPDATE outbox SET state = ?, last_error = ?, finished_at = ? WHERE key = ?",
                    (state, error, now, key),
                )
            else:
                db.execute(
                    "UPDATE outbox SET state = ?, progress = ?, last_error = ?, finished_at = ? WHERE key = ?",
                    (state, json.dumps(progress), error, now, key),
                )

    def retry_at(self, key: str, attempts: int, error: str, next_at: float, progress: dict | None = None) -> None:
        with self._tx() as db:
            if progress is None:
                db.execute(
                    "UPDATE outbox SET attempts = ?, last_error = ?, next_at = ? WHERE key = ?",
                    (attempts, error, next_at, key),
                )
            else:
                db.execute(
                    "UPDATE outbox SET attempts = ?, last_error = ?, next_at = ?, progress = ? WHERE key = ?",
                    (attempts, error, next_at, json.dumps(progress), key),
                )

    def items(self, state: str, limit: int) -> list[OutboxItem]:
        """The newest items in STATE (for `status`); unreadable ones show with empty data."""
        order = "created" if state == PENDING else "finished_at DESC NULLS LAST"
        out = []
        for row in self._read(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = ? ORDER BY {order} LIMIT ?", (state, limit)
        ):
            try:
                out.append(_item(row))
            except (ValueError, TypeError):
                out.append(OutboxItem(row[0], row[1], row[2], {}, last_error=row[7], finished_at=row[9]))
        return out

    def count(self, state: str) -> int:
        return int(self._read("SELECT COUNT(*) FROM outbox WHERE state = ?", (state,))[0][0])

    # -- watermarks, greetings, commands, rooms ---------------------------------------------------------
    def watermark(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM watermarks WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def set_watermark(self, name: str, value: str, only_if_absent: bool = False) -> None:
        action = "NOTHING" if only_if_absent else "UPDATE SET value = EXCLUDED.value"
        with self._tx() as db:
            db.execute(
                f"INSERT INTO watermarks (name, value) VALUES (?, ?) ON CONFLICT (name) DO {action}", (name, value)
            )

    def greeted(self, key: str) -> bool:
        return bool(self._read("SELECT 1 FROM greeted WHERE key = ?", (key,)))

    def mark_greeted(self, key: str, now: float) -> bool:
        """True when KEY (`ROOM|AGENT`) is new: the first agent greeted in ROOM, or another one than the
        last (whose marker goes, so a transfer back greets again); False for the same agent again."""
        room = key.partition("|")[0]
        with self._tx() as db:
            cur = db.execute("INSERT INTO greeted (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, now))
            if cur.rowcount != 1:
                return False
            # the room's other markers: a range of the primary key ('}' follows '|'; the column sorts bytewise)
            db.execute("DELETE FROM greeted WHERE key >= ? AND key < ? AND key <> ?", (room + "|", room + "}", key))
            return True

    def claim_command(self, message_id: str, now: float) -> bool:
        """True the first time MESSAGE_ID is claimed: a standby taking over never answers a command twice."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO commands (message_id, at) VALUES (?, ?) ON CONFLICT (message_id) DO NOTHING",
                (message_id, now),
            )
            return cur.rowcount == 1

    def command_state(self, message_id: str) -> str | None:
        """None (never claimed), "claimed" (claimed, its answer not recorded) or "answered"."""
        rows = self._read("SELECT answered FROM commands WHERE message_id = ?", (message_id,))
        return None if not rows else "claimed" if rows[0][0] is None else "answered"

    def command_answered(self, message_id: str, now: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE commands SET answered = ? WHERE message_id = ?", (now, message_id))

    def room_context(self, room_id: str) -> dict:
        """The chat's remembered context: `contact_id`, `case_id` and what `data` held (visitor, contact)."""
        rows = self._read("SELECT contact_id, case_id, data FROM room_context WHERE room_id = ?", (room_id,))
        if not rows:
            return {}
        try:
            data = json.loads(rows[0][2] or "{}")
        except ValueError:
            data = {}  # a context is a cache of what can be read again: unreadable means empty
        return {**(data if isinstance(data, dict) else {}), "contact_id": rows[0][0], "case_id": rows[0][1]}

    def set_room_context(self, room_id: str, now: float, **values: Any) -> None:
        """Set `contact_id`, `case_id`, and `data` (a dict merged key by key into what is there)."""
        unknown = set(values) - {"contact_id", "case_id", "data"}
        if unknown:
            raise ValueError(f"unknown room context fields: {sorted(unknown)}")
        with self._tx() as db:
            db.execute(
                "INSERT INTO room_context (room_id, updated) VALUES (?, ?) ON CONFLICT (room_id) DO NOTHING",
                (room_id, now),
            )
            if "data" in values:
                # the merge reads what it writes over: no other writer may slip in between (_ROW_LOCK)
                row = db.execute(
                    f"SELECT data FROM room_context WHERE room_id = ?{self._ROW_LOCK}", (room_id,)
                ).fetchone()
                try:
                    merged = json.loads(row[0] or "{}")
                except ValueError:
                    merged = {}
                if not isinstance(merged, dict):
                    merged = {}
                merged.update(values["data"])
                values = {**values, "data": json.dumps(merged)}
            sets = "".join(f"{name} = ?, " for name in values)  # names checked above
            db.execute(f"UPDATE room_context SET {sets}updated = ? WHERE room_id = ?", (*values.values(), now, room_id))

    def linked_contact(self, visitor_id: str, token: str) -> str | None:
        """The contact this visitor (Rocket.Chat visitor id and widget token) was matched to or saved as."""
        rows = self._read(
            "SELECT contact_id FROM visitor_contacts WHERE visitor_id = ? AND token = ?", (visitor_id, token)
        )
        return rows[0][0] if rows else None

    def link_visitor(self, visitor_id: str, token: str, contact_id: str, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO visitor_contacts (visitor_id, token, contact_id, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (visitor_id) DO UPDATE SET token = EXCLUDED.token, contact_id = EXCLUDED.contact_id,"
                " updated = EXCLUDED.updated",
                (visitor_id, token, contact_id, now),
            )

    def unlink_visitor(self, visitor_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM visitor_contacts WHERE visitor_id = ?", (visitor_id,))

    def expire(self, done_before: float, greeted_before: float, rooms_before: float, links_before: float = 0.0) -> int:
        """Indexed deletes of what is old enough to forget (claimed commands go with the greetings);
        failed and quarantined items are kept."""
        n = 0
        with self._tx() as db:
            for sql, args in (
                ("DELETE FROM outbox WHERE state = ? AND finished_at < ?", (DONE, done_before)),
                ("DELETE FROM greeted WHERE at < ?", (greeted_before,)),
                ("DELETE FROM commands WHERE at < ?", (greeted_before,)),
                ("DELETE FROM room_context WHERE updated < ?", (rooms_before,)),
                ("DELETE FROM visitor_contacts WHERE updated < ?", (links_before,)),
            ):
                n += db.execute(sql, args).rowcount
        return n

    def load_describe(self, sobject: str) -> tuple[float, dict] | None:
        """A Salesforce describe kept with its fetch time (the metadata cache decides whether it is fresh)."""
        rows = self._read("SELECT fetched_at, body FROM describes WHERE sobject = ?", (sobject,))
        return (float(rows[0][0]), json.loads(rows[0][1])) if rows else None

    def save_describe(self, sobject: str, fetched_at: float, body: dict) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO describes (sobject, fetched_at, body) VALUES (?, ?, ?)"
                " ON CONFLICT (sobject) DO UPDATE SET fetched_at = EXCLUDED.fetched_at, body = EXCLUDED.body",
                (sobject, fetched_at, json.dumps(body)),
            )

    def meta(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def set_meta(self, name: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                (name, value),
            )


class SqliteStateStore(SqlStateStore):
    """SQLite in WAL mode with `synchronous=FULL`: a committed step survives a kill -9 and a power cut."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._lock:
                migrate_sqlite(self._db)
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteStateStore({self.path!r})"

    # -- transactions --------------------------------------------------------------------
    class _Tx:
        def __init__(self, store: SqliteStateStore):
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            try:
                self.store._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.store._lock.release()
                raise
            return self.store._db

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.store._lock.release()

    def _tx(self) -> SqliteStateStore._Tx:
        return SqliteStateStore._Tx(self)

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def explain(self, sql: str, args: tuple = ()) -> Iterator[str]:
        """The query plan's lines (tests check that the hot queries use an index)."""
        for row in self._read("EXPLAIN QUERY PLAN " + sql, args):
            yield str(row[-1])


_COLUMNS = "key, room_id, state, payload, progress, attempts, next_at, last_error, created, finished_at"


def _item(row: tuple) -> OutboxItem:
    payload, progress = json.loads(row[3]), json.loads(row[4] or "{}")
    if not isinstance(payload, dict) or not isinstance(progress, dict):
        raise TypeError("not an object")
    return OutboxItem(
        row[0],
        row[1],
        row[2],
        payload,
        progress,
        int(row[5]),
        float(row[6]),
        row[7],
        float(row[8]),
        None if row[9] is None else float(row[9]),
    )


def default_path(data_dir: str) -> Path:
    return Path(data_dir) / "salesforce-state.sqlite3"
