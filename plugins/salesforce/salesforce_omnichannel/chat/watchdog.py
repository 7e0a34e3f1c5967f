"""The plugin's operational watch, in one object that outlives Errbot's deactivate/activate cycles
(a reconnect): the API budget guard (chat/budget.py), whether Salesforce answers, and the admins'
alerts (chat/alerts.py). The plugin attaches it to each CRM core it builds, asks `holding` before
spending on what can wait, and calls `review` once per poll.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..crm.errors import CrmError, CrmUnavailable
from .alerts import Alerts, Facts, Reachability
from .budget import ApiBudget, usage_text

log = logging.getLogger("errbot.plugins.salesforce")

STATE_KEY = "watchdog"


class Watchdog:
    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self.budget = ApiBudget()
        self.reach = Reachability(clock)
        self.alerts = Alerts(clock=clock)
        self._saved = ""

    # -- set-up ---------------------------------------------------------------------------------
    def configure(self, config: Mapping[str, Any]) -> None:
        self.budget.configure(int(config.get("API_BUDGET_PERCENT") or 90), int(config.get("API_WARN_PERCENT") or 80))
        self.alerts.outbox_age_minutes = int(config.get("ALERT_OUTBOX_AGE_MINUTES") or 30)

    def attach(self, crm: Any) -> None:
        """Hear every response's API usage and every call's outcome of this CRM core."""
        http, client = crm.client.http, crm.client
        if self.budget.observe not in http.usage_listeners:
            http.usage_listeners.append(self.budget.observe)
        if self._outcome not in client.outcome_listeners:
            client.outcome_listeners.append(self._outcome)
        if http.api_usage is not None and self.budget.usage is None:
            self.budget.observe(*http.api_usage)

    def _outcome(self, error: CrmError | None) -> None:
        if isinstance(error, CrmUnavailable):
            self.reach.failed(error.admin_detail)
        else:
            self.reach.answered()

    def restore(self, store: Any) -> None:
        """The episodes and notices already told, as the last process left them."""
        try:
            raw = store.meta(STATE_KEY) if store is not None else None
            state = json.loads(raw) if raw else {}
        except (ValueError, TypeError):
            state = {}
        if isinstance(state, dict):
            self.budget.restore(state.get("budget") or {})
            self.alerts.restore(state.get("alerts") or {})
            self._saved = raw or ""

    def _save(self, store: Any) -> None:
        raw = json.dumps({"budget": self.budget.state(), "alerts": self.alerts.state()}, sort_keys=True)
        if store is not None and raw != self._saved:
            store.set_meta(STATE_KEY, raw)
            self._saved = raw

    # -- the guard ------------------------------------------------------------------------------
    @property
    def holding(self) -> bool:
        return self.budget.holding

    def hold_reason(self) -> str:
        """Why the bot spares Salesforce now, for the agent's greeting."""
        usage = self.budget.usage
        figure = usage_text(*usage) if usage else "an unknown number of calls"
        return (
            f"the org has used {figure} of its daily Salesforce API allocation, past the bot's budget of "
            f"{self.budget.budget_percent}% (API_BUDGET_PERCENT), so the bot keeps its calls for your commands"
        )

    def read_usage_if_needed(self, crm: Any) -> None:
        """Once per poll while holding (to resume within a poll of usage falling) or while Salesforce does
        not answer (to know when it does): one call, the Limits resource."""
        if not (self.budget.holding or self.reach.down):
            return
        try:
            crm.client.read_usage()
        except CrmError as exc:
            log.debug("Salesforce API usage not read this poll: %s", exc.admin_detail)  # the client logged it

    # -- once per poll --------------------------------------------------------------------------
    def review(self, outbox: Any, connection: Any, store: Any, tell: Callable[[str], None]) -> list[str]:
        """Tell the budget's notices and the alerts whose episode starts now; returns what was told."""
        told: list[str] = []
        for notice in self.budget.notices():
            if notice.chat:
                tell(notice.text)  # Errbot's warn_admins logs it as a WARNING too
                told.append(notice.text)
            else:
                log.log(logging.WARNING if notice.kind == "hold" else logging.INFO, notice.text)
        for alert in self.alerts.review(self.facts(outbox, connection)):
            tell(alert)
            told.append(alert)
        self._save(store)
        return told

    def facts(self, outbox: Any, connection: Any) -> Facts:
        oldest = None
        counts = {"pending": 0, "quarantined": 0}
        quarantined: list[tuple[str, str]] = []
        if outbox is not None:
            counts = outbox.counts()
            waiting = outbox.pending(1) if counts.get("pending") else []
            oldest = waiting[0] if waiting else None
            if counts.get("quarantined"):
                quarantined = [(i.room_id, i.last_error or "no reason kept") for i in outbox.quarantined(3)]
        return Facts(
            oldest_pending=oldest.created if oldest else None,
            oldest_room=oldest.room_id if oldest else None,
            oldest_error=oldest.last_error if oldest else None,
            pending=int(counts.get("pending") or 0),
            holding=self.budget.holding,
            quarantined=int(counts.get("quarantined") or 0),
            quarantined_items=tuple(quarantined),
            sf_down_since=self.reach.down_since,
            sf_error=self.reach.last_error,
            rc_outage=getattr(connection, "last_outage", None),
        )

    def describe(self) -> str:
        return self.budget.describe()
