"""The state store on PostgreSQL, so that a standby bot can take over from the same state.

Same tables and the same semantics as `SqliteStateStore`, call for call. One connection guarded by a
lock, one transaction per call. A paused bot can wake up after its successor took over: with an
`epoch` (the one its leadership began with), every write transaction first reads the current epoch
with a row lock that the successor's bump waits for, and refuses (`Fenced`) when it changed.
The connection gives up on a dead server within seconds (timeouts, TCP keepalives) rather than hang
the bot's loops, and a broken one is replaced on the next call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from .schema import migrate_postgres
from .store import _COLUMNS, DONE, PENDING, Fenced, OutboxItem, Unreadable, _item
from .stores import redact_url

CONNECT_OPTIONS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10000,
}
SESSION_SETTINGS = ("SET idle_in_transaction_session_timeout = '10s'", "SET statement_timeout = '15s'")


class PostgresStateStore:
    """`StateStore` on PostgreSQL (psycopg 3); `path` is the URL without its password."""

    def __init__(self, url: str, epoch: int | None = None, application_name: str = "rcsf-bot"):
        self._url = url
        self.path = redact_url(url)
        self.epoch = epoch
        self.application_name = application_name
        self._lock = threading.Lock()
        self._db: psycopg.Connection | None = None
        with self._lock:
            conn = self._connection()
            try:
                migrate_postgres(conn)
            except BaseException:
                self._drop()
                raise

    def __repr__(self) -> str:
        return f"PostgresStateStore({self.path!r})"

    # -- the connection and transactions -------------------------------------------------------------
    def _connection(self) -> psycopg.Connection:
        """The open connection, or a new one when the last broke (call with the lock held)."""
        if self._db is not None and (self._db.closed or self._db.broken):
            self._drop()
        if self._db is None:
            conn = psycopg.connect(
                self._url, autocommit=False, application_name=self.application_name, **CONNECT_OPTIONS
            )
            try:
                for setting in SESSION_SETTINGS:
                    conn.execute(setting)
                conn.commit()
            except BaseException:
                conn.close()
                raise
            self._db = conn
        return self._db

    def _drop(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    def _abort(self) -> None:
        """After a failed call: roll back, or forget the connection when it is broken."""
        conn = self._db
        if conn is None:
            return
        if conn.closed or conn.broken:
            self._drop()
            return
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.rollback()
        except psycopg.Error:
            self._drop()

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Cursor]:
        """A write transaction, fenced by the epoch when the store has one."""
        with self._lock:
            conn = self._connection()
            try:
                with conn.cursor() as cur:
                    if self.epoch is not None:
                        # FOR SHARE conflicts with the successor's UPDATE of the row: its bump waits for
                        # this transaction, and a write after the bump reads the new epoch
                        row = cur.execute("SELECT epoch FROM leadership WHERE id = 1 FOR SHARE").fetchone()
                        current = None if row is None else int(row[0])
                        if current != self.epoch:
                            raise Fenced(
                                f"this bot's leadership (epoch {self.epoch}) has ended: the database is at epoch {current}"
                            )
                    yield cur
                conn.commit()
            except BaseException:
                self._abort()
                raise

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            conn = self._connection()
            try:
                rows = conn.execute(sql, args).fetchall()
                conn.commit()
            except BaseException:
                self._abort()
                raise
            return rows

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
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO outbox (key, room_id, state, payload, attempts, next_at, last_error, created, finished_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
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
            f"SELECT {_COLUMNS} FROM outbox WHERE state = %s AND next_at <= %s ORDER BY next_at, created LIMIT %s",
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
        rows = self._read(f"SELECT {_COLUMNS} FROM outbox WHERE key = %s", (key,))
        return _item(rows[0]) if rows else None

    def save_progress(self, key: str, progress: dict) -> None:
        with self._tx() as cur:
            cur.execute("UPDATE outbox SET progress = %s WHERE key = %s", (json.dumps(progress), key))

    def finish(self, key: str, state: str, progress: dict | None, error: str | None, now: float) -> None:
        with self._tx() as cur:
            if progress is None:
                cur.execute(
                    "UPDATE outbox SET state = %s, last_error = %s, finished_at = %s WHERE key = %s",
                    (state, error, now, key),
                )
            else:
                cur.execute(
                    "UPDATE outbox SET state = %s, progress = %s, last_error = %s, finished_at = %s WHERE key = %s",
                    (state, json.dumps(progress), error, now, key),
                )

    def retry_at(self, key: str, attempts: int, error: str, next_at: float, progress: dict | None = None) -> None:
        with self._tx() as cur:
            if progress is None:
                cur.execute(
                    "UPDATE outbox SET attempts = %s, last_error = %s, next_at = %s WHERE key = %s",
                    (attempts, error, next_at, key),
                )
            else:
                cur.execute(
                    "UPDATE outbox SET attempts = %s, last_error = %s, next_at = %s, progress = %s WHERE key = %s",
                    (attempts, error, next_at, json.dumps(progress), key),
                )

    def items(self, state: str, limit: int) -> list[OutboxItem]:
        """The newest items in STATE (for `status`); unreadable ones show with empty data."""
        order = "created" if state == PENDING else "finished_at DESC NULLS LAST"  # SQLite's order
        out = []
        for row in self._read(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = %s ORDER BY {order} LIMIT %s", (state, limit)
        ):
            try:
                out.append(_item(row))
            except (ValueError, TypeError):
                out.append(OutboxItem(row[0], row[1], row[2], {}, last_error=row[7], finished_at=row[9]))
        return out

    def count(self, state: str) -> int:
        return int(self._read("SELECT COUNT(*) FROM outbox WHERE state = %s", (state,))[0][0])

    # -- watermarks, greetings, commands, rooms ---------------------------------------------------------
    def watermark(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM watermarks WHERE name = %s", (name,))
        return rows[0][0] if rows else None

    def set_watermark(self, name: str, value: str, only_if_absent: bool = False) -> None:
        action = "NOTHING" if only_if_absent else "UPDATE SET value = EXCLUDED.value"
        with self._tx() as cur:
            cur.execute(
                f"INSERT INTO watermarks (name, value) VALUES (%s, %s) ON CONFLICT (name) DO {action}", (name, value)
            )

    def greeted(self, key: str) -> bool:
        return bool(self._read("SELECT 1 FROM greeted WHERE key = %s", (key,)))

    def mark_greeted(self, key: str, now: float) -> bool:
        """True when KEY (`ROOM|AGENT`) is new: the first agent greeted in ROOM, or another one than the
        last (whose marker goes, so a transfer back greets again); False for the same agent again."""
        room = key.partition("|")[0]
        with self._tx() as cur:
            cur.execute("INSERT INTO greeted (key, at) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING", (key, now))
            if cur.rowcount != 1:
                return False
            # the room's other markers: a range of the primary key ('}' follows '|'; the column sorts bytewise)
            cur.execute("DELETE FROM greeted WHERE key >= %s AND key < %s AND key <> %s", (room + "|", room + "}", key))
            return True

    def claim_command(self, message_id: str, now: float) -> bool:
        """True the first time MESSAGE_ID is claimed: a standby taking over never answers a command twice."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO commands (message_id, at) VALUES (%s, %s) ON CONFLICT (message_id) DO NOTHING",
                (message_id, now),
            )
            return cur.rowcount == 1

    def command_state(self, message_id: str) -> str | None:
        """None (never claimed), "claimed" (claimed, its answer not recorded) or "answered"."""
        rows = self._read("SELECT answered FROM commands WHERE message_id = %s", (message_id,))
        return None if not rows else "claimed" if rows[0][0] is None else "answered"

    def command_answered(self, message_id: str, now: float) -> None:
        with self._tx() as cur:
            cur.execute("UPDATE commands SET answered = %s WHERE message_id = %s", (now, message_id))

    def room_context(self, room_id: str) -> dict:
        """The chat's remembered context: `contact_id`, `case_id` and what `data` held (visitor, contact)."""
        rows = self._read("SELECT contact_id, case_id, data FROM room_context WHERE room_id = %s", (room_id,))
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
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO room_context (room_id, updated) VALUES (%s, %s) ON CONFLICT (room_id) DO NOTHING",
                (room_id, now),
            )
            if "data" in values:
                # FOR UPDATE: the merge reads what it writes over, and no other writer slips in between
                row = cur.execute("SELECT data FROM room_context WHERE room_id = %s FOR UPDATE", (room_id,)).fetchone()
                try:
                    merged = json.loads(row[0] or "{}")
                except ValueError:
                    merged = {}
                if not isinstance(merged, dict):
                    merged = {}
                merged.update(values["data"])
                values = {**values, "data": json.dumps(merged)}
            sets = "".join(f"{name} = %s, " for name in values)  # names checked above
            cur.execute(
                f"UPDATE room_context SET {sets}updated = %s WHERE room_id = %s", (*values.values(), now, room_id)
            )

    def linked_contact(self, visitor_id: str, token: str) -> str | None:
        """The contact this visitor (Rocket.Chat visitor id and widget token) was matched to or saved as."""
        rows = self._read(
            "SELECT contact_id FROM visitor_contacts WHERE visitor_id = %s AND token = %s", (visitor_id, token)
        )
        return rows[0][0] if rows else None

    def link_visitor(self, visitor_id: str, token: str, contact_id: str, now: float) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO visitor_contacts (visitor_id, token, contact_id, updated) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (visitor_id) DO UPDATE SET token = EXCLUDED.token, contact_id = EXCLUDED.contact_id,"
                " updated = EXCLUDED.updated",
                (visitor_id, token, contact_id, now),
            )

    def unlink_visitor(self, visitor_id: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM visitor_contacts WHERE visitor_id = %s", (visitor_id,))

    def expire(self, done_before: float, greeted_before: float, rooms_before: float, links_before: float = 0.0) -> int:
        """Indexed deletes of what is old enough to forget (claimed commands go with the greetings);
        failed and quarantined items are kept."""
        n = 0
        with self._tx() as cur:
            for sql, args in (
                ("DELETE FROM outbox WHERE state = %s AND finished_at < %s", (DONE, done_before)),
                ("DELETE FROM greeted WHERE at < %s", (greeted_before,)),
                ("DELETE FROM commands WHERE at < %s", (greeted_before,)),
                ("DELETE FROM room_context WHERE updated < %s", (rooms_before,)),
                ("DELETE FROM visitor_contacts WHERE updated < %s", (links_before,)),
            ):
                cur.execute(sql, args)
                n += cur.rowcount
        return n

    def load_describe(self, sobject: str) -> tuple[float, dict] | None:
        """A Salesforce describe kept with its fetch time (the metadata cache decides whether it is fresh)."""
        rows = self._read("SELECT fetched_at, body FROM describes WHERE sobject = %s", (sobject,))
        return (float(rows[0][0]), json.loads(rows[0][1])) if rows else None

    def save_describe(self, sobject: str, fetched_at: float, body: dict) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO describes (sobject, fetched_at, body) VALUES (%s, %s, %s)"
                " ON CONFLICT (sobject) DO UPDATE SET fetched_at = EXCLUDED.fetched_at, body = EXCLUDED.body",
                (sobject, fetched_at, json.dumps(body)),
            )

    def meta(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE name = %s", (name,))
        return rows[0][0] if rows else None

    def set_meta(self, name: str, value: str) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO meta (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                (name, value),
            )

    def close(self) -> None:
        with self._lock:
            self._drop()

    def explain(self, sql: str, args: tuple = ()) -> Iterator[str]:
        """The query plan's lines (tests check that the hot queries use an index)."""
        for row in self._read("EXPLAIN " + sql, args):
            yield str(row[0])
