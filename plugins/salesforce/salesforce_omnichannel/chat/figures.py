"""The figures that `!salesforce status`, `/readyz` and `/metrics` all show, read in one place so that
they agree: the outbox's counts and the age of its oldest pending closed chat (the state store), and
the org's API usage (the last `Sforce-Limit-Info` the CRM core's session saw)."""

from __future__ import annotations

import time
from typing import Any

from .store import FAILED, PENDING, QUARANTINED


def outbox_figures(outbox: Any, now: float | None = None) -> dict[str, Any]:
    """{pending, failed, quarantined, oldest_pending_age_seconds (0 when none waits)}: reads that cost what waits, never the history."""
    counts = outbox.counts()
    oldest = outbox.pending(1) if counts[PENDING] else []
    age = max((time.time() if now is None else now) - oldest[0].created, 0.0) if oldest else 0.0
    return {
        "pending": counts[PENDING],
        "failed": counts[FAILED],
        "quarantined": counts[QUARANTINED],
        "oldest_pending_age_seconds": round(age, 1),
    }


def api_usage(crm: Any) -> tuple[int, int] | None:
    """(used, limit) of the org's daily API requests as Salesforce last said, or None before any answer."""
    return None if crm is None else crm.client.api_usage
