"""Rocket.Chat's two ways of writing a moment (realtime `{"$date": ms}`, REST ISO strings) read as aware
UTC datetimes, and the ISO form its REST filters take; shared by the message and Omnichannel modules."""

from __future__ import annotations

import datetime as dt
from typing import Any


def parse_date(value: Any) -> dt.datetime | None:
    """Realtime `{"$date": ms}` or REST ISO strings, as aware UTC datetimes."""
    if value is None:
        return None
    if isinstance(value, dict) and "$date" in value:
        value = value["$date"]
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value / 1000.0, tz=dt.timezone.utc)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return None


def rest_iso(when: dt.datetime) -> str:
    """`2026-11-24T19:14:18.123Z`: the form Rocket.Chat's date filters accept."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
