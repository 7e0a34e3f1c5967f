"""Copy a bot's SQLite state into PostgreSQL, once, when a bot moves onto STATE_URL (a standby pair):
the closures still owed to Salesforce, their progress, the watermarks and the rest go with it.

`python copy_state.py data/salesforce-state.sqlite3` with the target in STATE_URL (so the password
stays off the command line; `--to URL` also works). The copy holds the leadership's advisory lock, so
no bot can start writing while it runs, and refuses while a bot holds it; it refuses a target that
already has outbox items unless `--force` (then rows already there are kept, the others added). One
transaction: the target gets all of it or nothing. Every refusal is one line, without the password.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .schema import LEADER_LOCK_KEY, SCHEMA_VERSION, SchemaTooNew, _sqlite_version, migrate_postgres
from .stores import is_postgres_url, redact_url

# every table of the store, its key first; `meta` without the schema version (the target has its own)
TABLES: dict[str, tuple[str, ...]] = {
    "outbox": (
        "key",
        "room_id",
        "state",
        "payload",
        "progress",
        "attempts",
        "next_at",
        "last_error",
        "created",
        "finished_at",
    ),
    "watermarks": ("name", "value"),
    "greeted": ("key", "at"),
    "room_context": ("room_id", "contact_id", "case_id", "data", "updated"),
    "visitor_contacts": ("visitor_id", "token", "contact_id", "updated"),
    "describes": ("sobject", "fetched_at", "body"),
    "commands": ("message_id", "at", "answered"),
    "meta": ("name", "value"),
}
BATCH = 1000
APPLICATION_NAME = "rcsf-copy-state"


class CopyRefused(Exception):
    """Why the copy did not start; nothing was written."""


def _open_source(sqlite_path: str | Path) -> sqlite3.Connection:
    path = Path(sqlite_path)
    if not path.is_file():
        raise CopyRefused(f"no SQLite state file at {path}")
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        db.execute("BEGIN")  # one snapshot for every table, even if a bot is still writing
        if _sqlite_version(db) == 0 and not _has_table(db, "outbox"):
            raise CopyRefused(f"{path} holds no bot state (no outbox table)")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise CopyRefused(f"{path} cannot be read as SQLite state ({exc})") from None
    except BaseException:
        db.close()
        raise
    return db


def _has_table(db: sqlite3.Connection, table: str) -> bool:
    return bool(db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchall())


def _copy_table(source: sqlite3.Connection, conn: Any, table: str, columns: tuple[str, ...]) -> int:
    """Rows of TABLE added to the target (those whose key is already there are kept as they are)."""
    if not _has_table(source, table):
        return 0  # written by a release before the table existed
    names = ", ".join(columns)
    where = " WHERE name <> 'schema_version'" if table == "meta" else ""
    rows = source.execute(f"SELECT {names} FROM {table}{where}")
    insert = (
        f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        f" ON CONFLICT ({columns[0]}) DO NOTHING"
    )
    added = 0
    with conn.cursor() as cur:
        while batch := rows.fetchmany(BATCH):
            cur.executemany(insert, batch)
            added += max(cur.rowcount, 0)
    return added


def copy_state(sqlite_path: str | Path, state_url: str, force: bool = False) -> dict[str, int]:
    """Copy every table of the SQLite store at SQLITE_PATH into STATE_URL; rows added per table."""
    import psycopg

    source = _open_source(sqlite_path)
    try:
        try:
            conn = psycopg.connect(state_url, autocommit=True, connect_timeout=5, application_name=APPLICATION_NAME)
        except psycopg.Error as exc:
            raise CopyRefused(f"cannot connect to {redact_url(state_url)}: {_first_line(exc)}") from None
        try:
            # held until this connection closes: no bot becomes the leader while the copy runs
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()[0]:
                raise CopyRefused("a bot holding the leadership is running against this database: stop every bot first")
            migrate_postgres(conn)
            with conn.transaction():
                existing = int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
                if existing and not force:
                    raise CopyRefused(
                        f"the target already has {existing} outbox items: a copy was made or a bot ran there;"
                        " --force copies into it anyway (the items already there are kept)"
                    )
                return {table: _copy_table(source, conn, table, columns) for table, columns in TABLES.items()}
        finally:
            conn.close()
    finally:
        source.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _scrub(text: str, url: str) -> str:
    """TEXT without the URL's password, whatever a driver's message quoted of it."""
    text = text.replace(url, redact_url(url))
    secrets = set()
    try:
        parts = urlsplit(url)
        if parts.password:
            secrets |= {parts.password, unquote(parts.password)}
        secrets |= set(parse_qs(parts.query).get("password", []))
    except ValueError:
        pass
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="copy_state.py",
        description="Copy the bot's SQLite state into the PostgreSQL database of STATE_URL (stop every bot first).",
    )
    parser.add_argument("sqlite_path", help="the SQLite state file, e.g. data/salesforce-state.sqlite3")
    parser.add_argument(
        "--to",
        metavar="URL",
        help="the target (default: the STATE_URL environment variable, which keeps the password off the command line)",
    )
    parser.add_argument("--force", action="store_true", help="copy into a target that already has outbox items")
    args = parser.parse_args(argv)
    url = (args.to or os.environ.get("STATE_URL") or "").strip()
    if not url:
        print("copy_state: no target: set STATE_URL to the PostgreSQL URL (or pass --to URL)", file=sys.stderr)
        return 2
    if not is_postgres_url(url):
        print(f"copy_state: the target must be a postgresql:// URL, not {redact_url(url)!r}", file=sys.stderr)
        return 2
    try:
        counts = copy_state(args.sqlite_path, url, force=args.force)
    except (CopyRefused, SchemaTooNew) as exc:
        print(f"copy_state: refused: {_scrub(str(exc), url)}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback that could quote the URL
        print(f"copy_state: failed: {type(exc).__name__}: {_scrub(_first_line(exc), url)}", file=sys.stderr)
        return 1
    kept = " (rows whose key was there already are kept, not counted)" if args.force else ""
    print(f"copied {args.sqlite_path} to {redact_url(url)} (schema version {SCHEMA_VERSION}), rows per table{kept}:")
    for table, n in counts.items():
        print(f"  {table:<17}{n:>8}")
    return 0
