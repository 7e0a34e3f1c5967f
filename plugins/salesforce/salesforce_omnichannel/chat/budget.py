"""The API budget guard: the org's daily API allocation is shared with every other integration, so
the bot stops spending on what can wait when usage reaches API_BUDGET_PERCENT.

Every Salesforce response's `Sforce-Limit-Info: api-usage=N/LIMIT` feeds `observe` (commands'
included), so the figure is at most one call old. While `holding`, closures stay in the outbox and
greetings show the visitor without a look-up; commands still run. The plugin reads the usage again
once per poll while holding (`GET …/limits`), and resumes within a poll of usage falling below the
budget. Crossing API_WARN_PERCENT (or jumping straight past the budget) queues ONE notice for the
admins; reaching the budget after a warning queues one more. Both re-arm only once usage has fallen
`REARM_POINTS` below the warning line, so a usage hovering at a line does not repeat them.

Pure state behind a lock (the figure arrives from the worker and from command threads alike): no
clock, no I/O; `notices()` hands the plugin what to tell, once.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

REARM_POINTS = 1.0  # percentage points below API_WARN_PERCENT that re-arm the notices
FREE_CALLS = (
    "find what else spends the org's API calls (Setup → System Overview → API Usage, or the API Usage "
    "notifications and Event Monitoring), or ask Salesforce for a larger allocation"
)


@dataclass(frozen=True)
class Notice:
    """What the admins and the log are told: `kind` is warn, hold or resume; `chat` False is log-only."""

    kind: str
    text: str
    chat: bool = True


def percent(used: int, limit: int) -> float:
    return used * 100.0 / limit if limit > 0 else 100.0


def shown(pct: float) -> str:
    """A percentage as people read it against a line: 89.99 is 89%, not yet 90%."""
    return f"{math.floor(pct)}%"


def usage_text(used: int, limit: int) -> str:
    """'9,001/10,000 calls in the last 24 hours (90%)'"""
    return f"{used:,}/{limit:,} calls in the last 24 hours ({shown(percent(used, limit))})"


class ApiBudget:
    def __init__(self, budget_percent: int = 90, warn_percent: int = 80):
        self._lock = threading.Lock()
        self.budget_percent = budget_percent
        self.warn_percent = warn_percent
        self.usage: tuple[int, int] | None = None  # (used, limit), the latest figure seen
        self._warned = False  # the warning line was crossed and told
        self._hold_told = False  # "holding" was told in chat
        self._holding = False
        self._notices: list[Notice] = []

    def configure(self, budget_percent: int, warn_percent: int) -> None:
        with self._lock:
            self.budget_percent, self.warn_percent = budget_percent, warn_percent
            if self.usage is not None:
                self._update(*self.usage)

    @property
    def holding(self) -> bool:
        """True while the latest figure is at or past API_BUDGET_PERCENT (False while unknown)."""
        return self._holding

    @property
    def percent(self) -> float | None:
        usage = self.usage
        return percent(*usage) if usage else None

    def observe(self, used: int, limit: int) -> None:
        """A fresh figure (any Salesforce response, or the limits resource)."""
        with self._lock:
            self.usage = (used, limit)
            self._update(used, limit)

    def notices(self) -> list[Notice]:
        """What to tell since the last call, each once."""
        with self._lock:
            out, self._notices = self._notices, []
            return out

    # -- persistence (a restart does not repeat a notice already given) ------------------------
    def state(self) -> dict:
        with self._lock:
            return {"warned": self._warned, "hold_told": self._hold_told}

    def restore(self, state: dict) -> None:
        with self._lock:
            self._warned = bool(state.get("warned"))
            self._hold_told = bool(state.get("hold_told"))

    # -- the lines ----------------------------------------------------------------------------
    def _update(self, used: int, limit: int) -> None:
        pct = percent(used, limit)
        was_holding, self._holding = self._holding, pct >= self.budget_percent
        if self._holding and not was_holding:
            if not self._hold_told:
                self._hold_told = self._warned = True
                self._notices.append(Notice("hold", self._hold_text(used, limit)))
            else:
                self._notices.append(Notice("hold", self._hold_text(used, limit), chat=False))
        elif pct >= self.warn_percent and not self._warned:
            self._warned = True
            self._notices.append(Notice("warn", self._warn_text(used, limit)))
        if was_holding and not self._holding:
            self._notices.append(Notice("resume", self._resume_text(used, limit), chat=False))
        if pct < self.warn_percent - REARM_POINTS:
            self._warned = self._hold_told = False

    def _warn_text(self, used: int, limit: int) -> str:
        return (
            f"Salesforce API usage has reached API_WARN_PERCENT ({self.warn_percent}%): the org has used "
            f"{usage_text(used, limit)}. At API_BUDGET_PERCENT ({self.budget_percent}%) the bot stops saving closed "
            "chats and looking visitors up at assignment until usage falls (agents' commands still run). "
            f"Fix: {FREE_CALLS}."
        )

    def _hold_text(self, used: int, limit: int) -> str:
        return (
            f"Salesforce API usage has reached API_BUDGET_PERCENT ({self.budget_percent}%): the org has used "
            f"{usage_text(used, limit)}. The bot now holds closed chats in its outbox and greets agents without a "
            f"Salesforce look-up until usage falls below {self.budget_percent}%; agents' commands still run. "
            f"Fix: {FREE_CALLS}; or raise API_BUDGET_PERCENT."
        )

    def _resume_text(self, used: int, limit: int) -> str:
        return (
            f"Salesforce API usage is below API_BUDGET_PERCENT ({self.budget_percent}%) again "
            f"({usage_text(used, limit)}): saving the held closed chats and looking visitors up again."
        )

    def describe(self) -> str:
        """For `status`: the figure, the lines, and whether the bot holds."""
        lines = f"warn at {self.warn_percent}% (API_WARN_PERCENT), budget {self.budget_percent}% (API_BUDGET_PERCENT)"
        usage = self.usage
        if usage is None:
            return f"not known yet; {lines}"
        used, limit = usage
        state = (
            f"HOLDING closed chats and greeting look-ups until usage falls below {self.budget_percent}%"
            if self._holding
            else ("past the warning line" if percent(used, limit) >= self.warn_percent else "within budget")
        )
        return f"{used}/{limit} today ({shown(percent(used, limit))}); {lines}: {state}"
