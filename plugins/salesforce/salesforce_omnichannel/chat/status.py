"""The bot admins' `status`: is Salesforce reachable, as whom, how old the token and metadata
are, the org's API usage, and what closed chats are still waiting to be saved or failed."""

from __future__ import annotations

from typing import Any

from ..crm.errors import CrmError
from . import config as plugin_config
from .figures import outbox_figures
from .times import age, stamp

ALERT_NAMES = {
    "outbox-age": "a closed chat waits longer than ALERT_OUTBOX_AGE_MINUTES to be saved",
    "quarantine": "closed chats are quarantined",
    "salesforce-unreachable": "Salesforce has not answered for more than 5 min",
}


def status_text(plugin: Any, outbox: Any) -> str:
    lines = ["**Salesforce status**"]
    lines += [f"- Setting to fix: {problem}" for problem in getattr(plugin, "settings_to_fix", list)()]
    standby = getattr(plugin, "standby_status", lambda: None)()
    if standby:
        lines.append(f"- {standby}")
    missing = plugin_config.missing(plugin.config or {})
    if missing:
        lines.append(f"- Not configured: set {', '.join(missing)}.")
    else:
        try:
            info = plugin.crm().status()
        except CrmError as exc:
            info = {"reachable": False, "error": exc.message, "error_detail": exc.admin_detail}
        if info.get("reachable"):
            lines.append(
                f"- Salesforce reachable as {info.get('username')}"
                + (f" ({info['display_name']})" if info.get("display_name") else "")
            )
        else:
            lines.append(f"- Salesforce NOT reachable: {info.get('error')} (detail: {info.get('error_detail')})")
        lines.append(
            f"- Access token age: {age(info.get('token_age_seconds'))}; "
            f"session timeout {plugin.config.get('SESSION_TIMEOUT_MINUTES')} min"
        )
        meta = info.get("metadata_age_seconds") or {}
        lines.append(
            "- Metadata age: "
            + (", ".join(f"{k} {age(v)}" for k, v in sorted(meta.items())) or "not fetched yet")
            + f" (refreshed every {plugin.config.get('METADATA_REFRESH_MINUTES')} min)"
        )
        watchdog = getattr(plugin, "watchdog", None)
        # the figure /readyz and /metrics show (the budget guard's, which this status's identity call refreshed)
        usage = plugin.api_usage() if callable(getattr(plugin, "api_usage", None)) else info.get("api_usage")
        if watchdog is not None:  # the figure every response brings, with the budget guard's lines
            lines.append(f"- API usage: {watchdog.describe()}")
        else:
            lines.append(f"- API usage: {usage[0]}/{usage[1]} today" if usage else "- API usage: not known yet")
    watchdog = getattr(plugin, "watchdog", None)
    for name, since in sorted((watchdog.alerts.active if watchdog is not None else {}).items()):
        lines.append(f"- Alert since {stamp(since)}: {ALERT_NAMES.get(name, name)} (told to the bot admins)")
    for finding in getattr(plugin, "check_findings", []):  # the last setup check's problems
        lines.append(f"- Setup: {finding.line()}")
    if outbox is not None:
        counts = outbox_figures(outbox)  # what /readyz and /metrics show
        oldest = counts["oldest_pending_age_seconds"]
        lines.append(
            f"- Closed chats waiting to be saved: {counts['pending']}"
            + (f" (the oldest for {age(oldest)})" if counts["pending"] else "")
        )
        for item in outbox.pending():
            lines.append(f"  - {item.room_id}: {item.attempts} attempt(s), last error {item.last_error or 'none'}")
        lines.append(f"- Closed chats that failed for good: {counts['failed']}")
        for item in outbox.failures():
            lines.append(
                f"  - {item.room_id} ({item.payload.get('visitor_name')}) at {stamp(item.finished_at)}: {item.last_error}"
            )
        lines.append(f"- Closed chats quarantined (set aside, the rest flow): {counts['quarantined']}")
        for item in outbox.quarantined():
            lines.append(f"  - {item.room_id} at {stamp(item.finished_at)}: {item.last_error}")
    flags = ", ".join(f"{k}={'on' if plugin.config.get(k) else 'off'}" for k in plugin_config.BOOL_KEYS)
    lines.append(f"- {flags}; polling every {plugin.config.get('POLL_SECONDS')} s")
    return "\n".join(lines)
