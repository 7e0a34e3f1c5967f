"""The state store's schema as numbered migrations, one SQL list per database, so that a store made
by an older release upgrades in place with its data, and a store made by a newer one is refused.

Each store applies the pending migrations when it opens, in one transaction, and records the version
in `meta.schema_version`. On PostgreSQL two bots of a standby pair may open the same database at the
same moment: the migrating transaction holds an advisory lock, so one migrates and the other then
finds nothing left to do.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Migration:
    version: int
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


class SchemaTooNew(RuntimeError):
    """The store was written by a newer release: an older bot must not guess at its tables."""


# Advisory-lock keys (bigint) of this application: migrations (held by a transaction) and the
# leadership of a standby pair (held by the active bot's session, and by the copy command).
MIGRATION_LOCK_KEY = 0x5243534D
LEADER_LOCK_KEY = 0x52435346

_V1_SQLITE = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    last_error TEXT,
    created REAL NOT NULL,
    finished_at REAL
)""",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at, created)",
    "CREATE INDEX IF NOT EXISTS outbox_finished ON outbox (state, finished_at)",
    "CREATE TABLE IF NOT EXISTS watermarks (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS greeted (key TEXT PRIMARY KEY, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS greeted_at ON greeted (at)",
    """CREATE TABLE IF NOT EXISTS room_context (
    room_id TEXT PRIMARY KEY,
    contact_id TEXT,
    case_id TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    updated REAL NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS room_context_updated ON room_context (updated)",
    """CREATE TABLE IF NOT EXISTS visitor_contacts (
    visitor_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    updated REAL NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS visitor_contacts_updated ON visitor_contacts (updated)",
    "CREATE TABLE IF NOT EXISTS describes (sobject TEXT PRIMARY KEY, fetched_at REAL NOT NULL, body TEXT NOT NULL)",
)

# The same tables on PostgreSQL. `greeted.key` sorts bytewise (COLLATE "C", as SQLite does): a room's
# markers are deleted as a range of keys from `ROOM|` to `ROOM}`, which a locale's collation (one that
# ignores punctuation) would not keep together. `items` lists finished items newest first with NULLs
# last, as SQLite orders them; the index is built in that order.
_V1_POSTGRES = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at DOUBLE PRECISION NOT NULL,
    last_error TEXT,
    created DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION
)""",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at, created)",
    "CREATE INDEX IF NOT EXISTS outbox_finished ON outbox (state, finished_at DESC NULLS LAST)",
    "CREATE TABLE IF NOT EXISTS watermarks (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    'CREATE TABLE IF NOT EXISTS greeted (key TEXT COLLATE "C" PRIMARY KEY, at DOUBLE PRECISION NOT NULL)',
    "CREATE INDEX IF NOT EXISTS greeted_at ON greeted (at)",
    """CREATE TABLE IF NOT EXISTS room_context (
    room_id TEXT PRIMARY KEY,
    contact_id TEXT,
    case_id TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    updated DOUBLE PRECISION NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS room_context_updated ON room_context (updated)",
    """CREATE TABLE IF NOT EXISTS visitor_contacts (
    visitor_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    updated DOUBLE PRECISION NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS visitor_contacts_updated ON visitor_contacts (updated)",
    "CREATE TABLE IF NOT EXISTS describes (sobject TEXT PRIMARY KEY, fetched_at DOUBLE PRECISION NOT NULL, body TEXT NOT NULL)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, _V1_SQLITE, _V1_POSTGRES),
    # 2: commands claimed by the active bot, and when answered (a standby taking over answers what its
    # predecessor claimed but never answered, and nothing twice); on
    # PostgreSQL, the leader election's epoch (fences a deposed bot's writes) and its lease.
    Migration(
        2,
        (
            "CREATE TABLE IF NOT EXISTS commands (message_id TEXT PRIMARY KEY, at REAL NOT NULL, answered REAL)",
            "CREATE INDEX IF NOT EXISTS commands_at ON commands (at)",
        ),
        (
            "CREATE TABLE IF NOT EXISTS commands (message_id TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL,"
            " answered DOUBLE PRECISION)",
            "CREATE INDEX IF NOT EXISTS commands_at ON commands (at)",
            "CREATE TABLE IF NOT EXISTS leadership (id INTEGER PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL DEFAULT 0)",
            "INSERT INTO leadership (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
            "CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT, holder_pid INTEGER,"
            " renewed_at TIMESTAMPTZ, messages_until TEXT)",
            "INSERT INTO lease (id) VALUES (1) ON CONFLICT (id) DO NOTHING",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
VERSION_KEY = "schema_version"


def _check(found: Any) -> int:
    """The recorded version as a number; a newer one than this code knows is refused."""
    try:
        version = int(found)
    except (TypeError, ValueError):
        raise SchemaTooNew(f"the state store's schema version {found!r} is not a number this bot can read") from None
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the state store is at schema version {version}, newer than this bot knows ({SCHEMA_VERSION}):"
            " it was written by a newer release; run that release (going back to an older one is not supported)"
        )
    return version


# -- SQLite ------------------------------------------------------------------------------------
def _sqlite_version(db: sqlite3.Connection) -> int:
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchall():
        return 0
    row = db.execute("SELECT value FROM meta WHERE name = ?", (VERSION_KEY,)).fetchone()
    return 0 if row is None else _check(row[0])


def migrate_sqlite(db: sqlite3.Connection) -> list[int]:
    """Apply the pending migrations in one transaction (DB in autocommit mode); the versions applied."""
    db.execute("BEGIN IMMEDIATE")
    try:
        current = _sqlite_version(db)
        applied = []
        for migration in MIGRATIONS:
            if migration.version > current:
                for statement in migration.sqlite:
                    db.execute(statement)
                applied.append(migration.version)
        if applied:
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (VERSION_KEY, str(applied[-1])))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied


# -- PostgreSQL ----------------------------------------------------------------------------------
def _postgres_version(conn: Any) -> int:
    # the catalogue is read with the statement's snapshot, not a name cache: after waiting for the
    # migration lock, this sees the tables that the other bot's migration has just committed
    exists = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = 'meta' AND c.relkind = 'r' AND n.nspname = current_schema())"
    ).fetchone()[0]
    if not exists:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE name = %s", (VERSION_KEY,)).fetchone()
    return 0 if row is None else _check(row[0])


def migrate_postgres(conn: Any) -> list[int]:
    """Bring the database of CONN (a psycopg connection with no transaction open) to SCHEMA_VERSION.

    Used by the store when it opens and by the leader election before it competes; the versions
    applied, [] when there was nothing to do (then no lock was taken).
    """
    from psycopg.pq import TransactionStatus

    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ValueError("migrate_postgres needs a connection with no transaction open")
    with conn.transaction():
        if _postgres_version(conn) == SCHEMA_VERSION:
            return []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        current = _postgres_version(conn)
        applied = []
        for migration in MIGRATIONS:
            if migration.version > current:
                for statement in migration.postgres:
                    conn.execute(statement)
                applied.append(migration.version)
        if applied:
            conn.execute(
                "INSERT INTO meta (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                (VERSION_KEY, str(applied[-1])),
            )
    return applied
