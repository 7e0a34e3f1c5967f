"""Alerts for the bot admins, in chat, before agents notice: each condition is told ONCE per episode,
with the fix; an episode ends when its condition clears, and the next one is told again.

- a closed chat waiting to be saved for longer than ALERT_OUTBOX_AGE_MINUTES;
- quarantined closed chats: an episode is a rise in their number (they stay quarantined for an admin,
  so "any quarantined item" would otherwise be told once for ever); it ends when the number falls;
- Salesforce unreachable for more than SF_DOWN_SECONDS (no answer at all: timeouts, refused or reset
  connections, 5xx; a refusal is an answer);
- Rocket.Chat's realtime stream down for more than RC_DOWN_SECONDS: the plugin is deactivated while the
  stream is down (Errbot re-activates it on reconnect), so this one is told once the stream is back,
  from the backend's record of the last outage; the backend logs it while it lasts.

Pure state: `review(facts)` with the clock given at construction; the plugin gathers the facts once per
poll and sends what `review` returns. `state()`/`restore()` keep the episodes across restarts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .times import age, stamp

RC_DOWN_SECONDS = 120
SF_DOWN_SECONDS = 300
PREFIX = "Salesforce bot alert:"


@dataclass(frozen=True)
class Facts:
    """What the plugin saw this poll."""

    oldest_pending: float | None = None  # when the oldest closed chat still waiting was queued
    oldest_room: str | None = None
    oldest_error: str | None = None
    pending: int = 0
    holding: bool = False  # the API budget guard holds closures
    quarantined: int = 0
    quarantined_items: tuple[tuple[str, str], ...] = ()  # (room id, reason), newest first
    sf_down_since: float | None = None
    sf_error: str | None = None
    rc_outage: tuple[float, float] | None = None  # the last Rocket.Chat stream outage: (went down, back)


class Reachability:
    """Whether Salesforce answers: down since the first transport failure after its last answer.
    Fed by every Salesforce call (worker and command threads alike)."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self.down_since: float | None = None
        self.last_error: str | None = None

    def answered(self) -> None:
        self.down_since = None

    def failed(self, detail: str) -> None:
        self.last_error = detail
        if self.down_since is None:
            self.down_since = self._clock()

    @property
    def down(self) -> bool:
        return self.down_since is not None


class Alerts:
    def __init__(self, outbox_age_minutes: int = 30, clock: Callable[[], float] = time.time):
        self.outbox_age_minutes = outbox_age_minutes
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[str, float] = {}  # condition -> when its episode was told
        self._quarantined_told = 0  # the number of quarantined chats last told
        self._rc_outage_told: float = 0.0  # the start of the last Rocket.Chat outage told

    @property
    def active(self) -> dict[str, float]:
        """The conditions whose episode is on (for status and metrics)."""
        with self._lock:
            return dict(self._active)

    def review(self, facts: Facts) -> list[str]:
        """The alerts to send now: each condition's once per episode."""
        now = self._clock()
        out: list[str] = []
        with self._lock:
            age_limit = self.outbox_age_minutes * 60
            waited = now - facts.oldest_pending if facts.oldest_pending is not None else None
            if self._episode("outbox-age", waited is not None and waited >= age_limit, now):
                out.append(self._outbox_age(facts, waited or 0))
            out += self._quarantine(facts, now)
            down = now - facts.sf_down_since if facts.sf_down_since is not None else None
            if self._episode("salesforce-unreachable", down is not None and down >= SF_DOWN_SECONDS, now):
                out.append(self._salesforce(facts, down or 0))
            outage = facts.rc_outage
            if outage and outage[1] - outage[0] >= RC_DOWN_SECONDS and outage[0] > self._rc_outage_told:
                self._rc_outage_told = outage[0]
                out.append(self._rocketchat(outage))
        return out

    def _episode(self, name: str, on: bool, now: float) -> bool:
        """True when NAME's episode starts now."""
        if not on:
            self._active.pop(name, None)
            return False
        if name in self._active:
            return False
        self._active[name] = now
        return True

    # -- persistence ---------------------------------------------------------------------------
    def state(self) -> dict:
        with self._lock:
            return {"active": dict(self._active), "quarantined": self._quarantined_told, "rc": self._rc_outage_told}

    def restore(self, state: dict) -> None:
        with self._lock:
            active = state.get("active")
            self._active = {str(k): float(v) for k, v in active.items()} if isinstance(active, dict) else {}
            self._quarantined_told = int(state.get("quarantined") or 0)
            self._rc_outage_told = float(state.get("rc") or 0.0)

    # -- each condition ------------------------------------------------------------------------
    def _quarantine(self, facts: Facts, now: float) -> list[str]:
        count = facts.quarantined
        if count <= 0:
            self._active.pop("quarantine", None)
            self._quarantined_told = 0
            return []
        if count <= self._quarantined_told:
            self._quarantined_told = count  # fewer now: the next rise is a new episode
            return []
        new = count - self._quarantined_told
        self._quarantined_told = count
        self._active["quarantine"] = now
        listed = "; ".join(f"{room} ({reason})" for room, reason in facts.quarantined_items[: min(new, 3)])
        more = f" and {new - 3} more" if new > 3 else ""
        return [
            f"{PREFIX} {new} closed chat(s) could not be saved to Salesforce and are quarantined (set aside, the "
            f"others flow): {listed}{more}; {count} quarantined in all. Fix: `!salesforce status` lists them with "
            "their reason; each transcript is still in Rocket.Chat, so log it in Salesforce by hand, and report "
            "the reason (the log has the details) to whoever maintains the bot."
        ]

    def _outbox_age(self, facts: Facts, waited: float) -> str:
        if facts.holding:
            why = "the API budget guard holds closed chats while the org's API usage is at or past API_BUDGET_PERCENT"
            fix = "free API calls in Salesforce (Setup → System Overview) or raise API_BUDGET_PERCENT"
        elif facts.sf_down_since is not None:
            why = f"Salesforce cannot be reached ({facts.sf_error or 'no answer'})"
            fix = "check the network path from the bot to Salesforce and https://status.salesforce.com"
        else:
            why = f"its last attempt failed: {facts.oldest_error or 'not attempted yet'}"
            fix = "`!salesforce status` shows each waiting chat's last error; fix what it names"
        return (
            f"{PREFIX} a closed chat has waited {age(waited)} to be saved to Salesforce (room {facts.oldest_room}; "
            f"{facts.pending} waiting in all): {why}. Fix: {fix}. The bot retries by itself and saves each chat once."
        )

    def _salesforce(self, facts: Facts, down: float) -> str:
        return (
            f"{PREFIX} Salesforce has not answered for {age(down)} (since {stamp(facts.sf_down_since)}; last error: "
            f"{facts.sf_error or 'no answer'}). Closed chats wait in the outbox and are saved once it answers; "
            "agents' look-ups fail meanwhile. Fix: check the bot host's network path to Salesforce (DNS, proxy, "
            "firewall, CA_BUNDLE) and https://status.salesforce.com; the bot keeps trying by itself."
        )

    def _rocketchat(self, outage: tuple[float, float]) -> str:
        start, end = outage
        return (
            f"{PREFIX} Rocket.Chat's realtime stream was down for {age(end - start)} (from {stamp(start)} to "
            f"{stamp(end)}) and is back. Meanwhile the bot saw no chat events and agents' commands waited; it has "
            "caught up on what was posted. Fix, if it recurs: check Rocket.Chat's health and the network path and "
            "proxy between the bot and Rocket.Chat (websocket upgrades allowed, idle timeout above 70 s)."
        )
