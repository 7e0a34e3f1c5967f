"""Which state store a bot opens: SQLite in its data folder by default, PostgreSQL when STATE_URL
names one (a standby pair shares it). psycopg is imported only then, so the default needs none."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from .store import SqliteStateStore, StateStore

POSTGRES_SCHEMES = ("postgresql", "postgres")
_PASSWORD_PARAMETER = re.compile(r"(?i)(password\s*=\s*)('[^']*'|[^&\s]*)")  # in a query or a key=value string


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme.lower() in POSTGRES_SCHEMES


def open_state_store(
    state_url: str | None, sqlite_path: str | Path, epoch: int | None = None, application_name: str = "rcsf-bot"
) -> StateStore:
    """A PostgresStateStore for a `postgresql://` (or `postgres://`) URL, else SqliteStateStore(SQLITE_PATH)."""
    if not state_url or not state_url.strip():
        return SqliteStateStore(sqlite_path)
    if not is_postgres_url(state_url.strip()):
        raise ValueError(
            f"STATE_URL must be a postgresql:// (or postgres://) URL, or empty for the SQLite file; got {redact_url(state_url)!r}"
        )
    from .pgstore import PostgresStateStore

    return PostgresStateStore(state_url.strip(), epoch=epoch, application_name=application_name)


def redact_url(url: str) -> str:
    """URL with its password shown as `***` (in the user part and in a `password=` parameter): for logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme:  # not a URL: a key=value connection string, perhaps
        return _PASSWORD_PARAMETER.sub(r"\1***", url)
    out = url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        start = url.index(parts.netloc)  # the first occurrence: right after `scheme://`
        out = f"{url[:start]}{userinfo.partition(':')[0]}:***@{hostport}{url[start + len(parts.netloc) :]}"
    head, mark, rest = out.partition("?")
    return head + mark + _PASSWORD_PARAMETER.sub(r"\1***", rest)
