"""How times are written: ISO 8601 in UTC for what is stored and compared, and short readable
forms for people (`2026-11-24 19:14 UTC`, `12 min`)."""

from __future__ import annotations

import datetime as dt


def utc_iso(value: dt.datetime | None) -> str:
    """The one way a moment is stored (watermarks, closure keys, payloads): ISO 8601 in UTC."""
    return value.astimezone(dt.timezone.utc).isoformat() if value else ""


def stamp(epoch: float | None) -> str:
    return dt.datetime.fromtimestamp(epoch or 0, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def age(seconds: float | None) -> str:
    if seconds is None:
        return "none yet"
    seconds = max(0, int(seconds))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"
