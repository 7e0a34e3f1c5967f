"""The state store on PostgreSQL, so that a standby bot can take over from the same state.

Same tables and the same semantics as `SqliteStateStore`, call for call. One connection guarded by a
lock, one transaction per call. A paused bot can wake up after its successor took over: with an
`epoch` (the one its leadership began with), every write transaction first reads the current epoch
with a row lock that the successor's bump waits for, and refuses (`Fenced`) when it changed.
The connection gives up on a dead server within seconds (timeouts, TCP keepalives) rather than hang
the bot's loops, and a broken one is replaced on the next call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from .schema import migrate_postgres
from .store import Fenced, SqlStateStore
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


class PostgresStateStore(SqlStateStore):
    """`StateStore` on PostgreSQL (psycopg 3); `path` is the URL without its password. The calls are
    `SqlStateStore`'s; their `?` placeholders become psycopg's `%s` here."""

    _ROW_LOCK = " FOR UPDATE"  # the room context's merge reads what it writes over: no writer slips in between

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
    def _tx(self) -> Iterator[_Qmark]:
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
                    yield _Qmark(cur)
                conn.commit()
            except BaseException:
                self._abort()
                raise

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            conn = self._connection()
            try:
                rows = conn.execute(_qmark(sql), args).fetchall()
                conn.commit()
            except BaseException:
                self._abort()
                raise
            return rows

    def close(self) -> None:
        with self._lock:
            self._drop()

    def explain(self, sql: str, args: tuple = ()) -> Iterator[str]:
        """The query plan's lines (tests check that the hot queries use an index)."""
        for row in self._read("EXPLAIN " + sql, args):
            yield str(row[0])


def _qmark(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (the shared SQL holds no other `?` and no `%`)."""
    return sql.replace("?", "%s")


class _Qmark:
    """A cursor that takes the shared SQL's `?` placeholders."""

    def __init__(self, cur: psycopg.Cursor):
        self._cur = cur

    def execute(self, sql: str, args: tuple = ()) -> psycopg.Cursor:
        return self._cur.execute(_qmark(sql), args)
