"""Who owns the records the bot creates for a chat (OWNER, AGENT_USERS, FALLBACK_OWNER).

With OWNER=agent the serving agent's Salesforce user owns the Contact, Case, transcript Task (and the
Lead or Account where one is created). The agent's user is, in this order:
1. the user AGENT_USERS names for the agent's Rocket.Chat username (a Salesforce username or User Id);
   an explicit entry is final: if it names no user, or an inactive one, the fallback owns the record;
2. the one active User whose FederationIdentifier equals the Rocket.Chat username;
3. the one active User whose Email equals the agent's *verified* Rocket.Chat email.
No match (or an inactive user, or several active users with that email): FALLBACK_OWNER owns the
record, with a note saying why. A Queue (00G…) can own Cases and Leads only; a Contact or a Task then
goes to the integration user (OwnerId left out). FALLBACK_OWNER empty is the integration user.

Salesforce is asked in bulk and rarely: one SOQL query resolves any number of agents (`warm`), its
answer (rows found and values asked that found nothing) is kept for METADATA_REFRESH_MINUTES, and a
look-up within that window costs no call. A value never asked (an agent not warmed) costs one query
the first time. A stale cache is refreshed in one query for everything asked so far. A Salesforce error
never leaves this module: the look-up falls back (stale rows still answer) and the note says why; a
failed query is not repeated for RETRY_SECONDS. An owner a write was refused for (`refused(id)`: the
user deactivated, the queue changed since the cache was filled) owns nothing more until the refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .errors import CrmError
from .settings import SalesforceSettings
from .soql import quote

log = logging.getLogger(__name__)

USER_SELECT = ("Id", "Username", "Email", "FederationIdentifier", "IsActive", "Name")
QUEUE_OBJECTS = frozenset({"Case", "Lead"})  # what a queue can own here; never a Contact or a Task
BY_AGENT_USERS, BY_FEDERATION, BY_EMAIL, BY_FALLBACK, BY_INTEGRATION = (
    "AGENT_USERS",
    "FederationIdentifier",
    "Email",
    "fallback",
    "integration",
)
RETRY_SECONDS = 60.0  # a failed query is not tried again sooner
MAX_LITERALS_CHARS = 6000  # per query: a GET URL stays well under the 16 kB servers accept
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class QueryClient(Protocol):
    def query(self, soql: str, what: str = "query") -> list[dict]: ...


def id18(record_id: str) -> str:
    """The 18-character, case-safe form of a 15- or 18-character Salesforce id."""
    if len(record_id) != 15:
        return record_id
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(record_id[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _ID_CHARS[bits]
    return record_id + suffix


@dataclass(frozen=True)
class AgentRef:
    """The agent who served a chat or typed a command: Rocket.Chat username, display name, and the
    agent's email only if Rocket.Chat marks it verified (else None: an unverified address is never
    matched, anyone could have typed it)."""

    username: str
    name: str = ""
    email: str | None = None

    @classmethod
    def of(cls, agent: Any) -> AgentRef | None:
        """From anything with `username`, `name`, `email` (the backend's Omnichannel `Agent`)."""
        if agent is None or isinstance(agent, AgentRef):
            return agent
        username = str(getattr(agent, "username", "") or "")
        if not username:
            return None
        return cls(username, str(getattr(agent, "name", "") or ""), getattr(agent, "email", None) or None)

    @property
    def shown(self) -> str:
        return f"{self.name} ({self.username})" if self.name and self.name != self.username else self.username


@dataclass(frozen=True)
class SalesforceUser:
    id: str  # 18 characters
    username: str
    name: str
    email: str
    federation_id: str
    active: bool

    @classmethod
    def from_row(cls, row: dict) -> SalesforceUser:
        return cls(
            id18(str(row.get("Id") or "")),
            str(row.get("Username") or ""),
            str(row.get("Name") or ""),
            str(row.get("Email") or ""),
            str(row.get("FederationIdentifier") or ""),
            bool(row.get("IsActive")),
        )

    @property
    def shown(self) -> str:
        return f"{self.name or self.username} ({self.id})"


@dataclass(frozen=True)
class OwnerChoice:
    """Who owns one record. `owner_id` None: leave OwnerId out (the integration user owns it).
    `matched_by`: 'AGENT_USERS' | 'FederationIdentifier' | 'Email' (the agent's user), 'fallback'
    (FALLBACK_OWNER or the integration user, `note` says why, for the admins) or 'integration'
    (OWNER=integration)."""

    owner_id: str | None
    matched_by: str
    note: str = ""
    user: SalesforceUser | None = None  # the agent's Salesforce user when matched

    @property
    def is_agent(self) -> bool:
        return self.matched_by in (BY_AGENT_USERS, BY_FEDERATION, BY_EMAIL)

    def fields(self) -> dict[str, str]:
        """What to add to a record's values: {"OwnerId": …} or nothing."""
        return {"OwnerId": self.owner_id} if self.owner_id else {}


@dataclass(frozen=True)
class Match:
    """An agent's Salesforce user, or why there is none (independent of the object to own)."""

    user: SalesforceUser | None
    matched_by: str | None  # BY_AGENT_USERS | BY_FEDERATION | BY_EMAIL when user is set
    reason: str = ""  # why not, when user is None


@dataclass(frozen=True)
class Explanation:
    """One line of the setup check: what records made for AGENT's chats get as owner."""

    agent: str
    match: Match
    text: str

    def __str__(self) -> str:
        return self.text


def _need_key(field: str, value: str) -> tuple[str, str]:
    return (field, id18(value) if field == "Id" else value.strip().lower())


class OwnerDirectory:
    """Resolves agents to Salesforce owners from a cache filled by bulk SOQL (see the module doc).
    Thread-safe; `owner_for`, `explain` and `warm` never raise a Salesforce error."""

    def __init__(
        self,
        client: QueryClient,
        settings: SalesforceSettings,
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = RETRY_SECONDS,
    ):
        self._client = client
        self.owner = (settings.owner or "agent").lower()
        self.agent_users = {name.lower(): target.strip() for name, target in settings.agent_users}
        self.fallback_owner = (settings.fallback_owner or "").strip()
        self._ttl = max(int(settings.metadata_refresh_minutes or 30), 1) * 60
        self._clock = clock
        self._retry = retry_seconds
        self._lock = threading.Lock()  # guards the cache below
        self._query_lock = threading.Lock()  # one query in flight: concurrent callers wait for its answer
        self._rows: dict[str, SalesforceUser] = {}  # 18-char id -> user
        self._asked: set[tuple[str, str]] = set()  # (field, normalised value) asked, found or not
        self._fetched_at: float | None = None  # when the last full (re)fetch began
        self._failed_at: float | None = None
        self._failed_keys: set[tuple[str, str]] = set()  # what the failed query was for
        self._refused: set[str] = set()  # 18-char ids Salesforce refused as owners, until the next refresh
        self.last_error: CrmError | None = None
        self.federation_readable = True  # False once Salesforce refused FederationIdentifier (field security)
        self.queries = 0  # SOQL queries made (tests, benchmarks)

    # -- public ------------------------------------------------------------------------
    def owner_for(self, sobject: str, agent: AgentRef | Any | None) -> OwnerChoice:
        """The owner of a new SOBJECT record made for AGENT's chat (or command); never raises."""
        if self.owner == "integration":
            return OwnerChoice(None, BY_INTEGRATION)
        ref = AgentRef.of(agent)
        try:
            if ref is None:
                return self._fallback(sobject, "no agent served this chat")
            self._ensure(self._needs([ref]))
            match = self._match(ref)
        except Exception as exc:  # noqa: BLE001 - an owner never breaks a closure: fall back and say why
            log.warning("Owner of a %s for %s could not be resolved: %s", sobject, ref, type(exc).__name__)
            return self._fallback(sobject, f"the owner could not be resolved ({type(exc).__name__})")
        if match.user is not None and match.matched_by:
            return OwnerChoice(match.user.id, match.matched_by, "", match.user)
        return self._fallback(sobject, match.reason)

    def warm(self, agents: Iterable[AgentRef | Any]) -> None:
        """Resolve AGENTS now, in one query for all of them (more only past MAX_LITERALS_CHARS), so that
        chats find their owners in the cache; no query when every one is cached and fresh. Call it at
        start and from a poller (it refreshes a stale cache there rather than in a chat)."""
        if self.owner == "integration":
            return
        refs = [r for r in (AgentRef.of(a) for a in agents) if r is not None]
        try:
            self._ensure(self._needs(refs))
        except Exception as exc:  # noqa: BLE001
            log.warning("Warming the agents' Salesforce users failed: %s", type(exc).__name__)

    def explain(self, agents: Iterable[AgentRef | Any]) -> list[Explanation]:
        """For the setup check, one line per agent: "alice → Alice Agent (005…) by Email",
        "carol → no match (…): FALLBACK_OWNER …". Warms the cache first (one query)."""
        refs = [r for r in (AgentRef.of(a) for a in agents) if r is not None]
        if self.owner == "integration":
            return [
                Explanation(
                    r.username,
                    Match(None, None, "OWNER=integration"),
                    f"{r.username} → the integration user (OWNER=integration)",
                )
                for r in refs
            ]
        self.warm(refs)
        lines = []
        for ref in refs:
            try:
                match = self._match(ref)
            except Exception as exc:  # noqa: BLE001
                match = Match(None, None, f"the owner could not be resolved ({type(exc).__name__})")
            if match.user is not None:
                text = f"{ref.username} → {match.user.shown} by {match.matched_by}"
            else:
                text = f"{ref.username} → no match ({match.reason}): {self._fallback_words()}"
            lines.append(Explanation(ref.username, match, text))
        return lines

    def fallback_problems(self) -> list[str]:
        """What is wrong with FALLBACK_OWNER, for the setup check (a User it names must exist and be
        active; a Queue must exist and take Cases and Leads). At most two queries; never raises."""
        target = self.fallback_owner
        if not target or self.owner == "integration":
            return []
        try:
            if target.startswith("005"):
                self._ensure({_need_key("Id", target)})
                user = self._rows.get(id18(target))
                if self._never_answered({_need_key("Id", target)}):
                    return [f"FALLBACK_OWNER {target} could not be checked: {self._error_words()}."]
                if user is None:
                    return [
                        f"FALLBACK_OWNER {target} is no Salesforce user: the integration user owns the records of "
                        "agents without a Salesforce user instead. Name an active user or a queue."
                    ]
                if not user.active:
                    return [
                        f"FALLBACK_OWNER {user.shown} is inactive, and Salesforce refuses an inactive owner: the "
                        "integration user owns the records of agents without a Salesforce user instead."
                    ]
                return []
            groups = self._client.query(
                f"SELECT Id, Name, Type FROM Group WHERE Id = {quote(target)}", "check FALLBACK_OWNER queue"
            )
            self.queries += 1
            if not groups or groups[0].get("Type") != "Queue":
                return [
                    f"FALLBACK_OWNER {target} is no Salesforce queue: Salesforce will refuse it as the owner of "
                    "Cases and Leads of agents without a Salesforce user."
                ]
            rows = self._client.query(
                f"SELECT SobjectType FROM QueueSobject WHERE QueueId = {quote(id18(target))}",
                "check FALLBACK_OWNER queue objects",
            )
            self.queries += 1
            takes = {str(r.get("SobjectType")) for r in rows}
            lacking = sorted(QUEUE_OBJECTS - takes)
            if lacking:
                name = groups[0].get("Name") or target
                return [
                    f"FALLBACK_OWNER queue {name} ({target}) does not take {' or '.join(lacking)}: add "
                    f"{', '.join(lacking)} to its Supported Objects in Setup."
                ]
            return []
        except CrmError as exc:
            return [f"FALLBACK_OWNER {target} could not be checked: {exc.message}"]

    def refresh(self) -> None:
        """Forget everything: the next look-up or warm asks Salesforce again (`!salesforce refresh`)."""
        with self._lock:
            self._rows.clear()
            self._asked.clear()
            self._fetched_at = self._failed_at = None
            self._failed_keys.clear()
            self._refused.clear()

    def refused(self, owner_id: str) -> None:
        """Salesforce refused OWNER_ID as an owner (INACTIVE_OWNER_OR_USER, INVALID_CROSS_REFERENCE_KEY or
        FIELD_INTEGRITY_EXCEPTION on OwnerId: deactivated, deleted, a queue without that object since the
        cache was filled). Until the next refresh it owns nothing more: a look-up falls back, a refused
        FALLBACK_OWNER gives way to the integration user. Retry the refused write without OwnerId."""
        if owner_id:
            with self._lock:
                self._refused.add(id18(owner_id))

    def stale(self) -> bool:
        """True when a warm would ask Salesforce: never filled, or older than METADATA_REFRESH_MINUTES (the
        poller then lists the agents and warms; otherwise it asks Rocket.Chat nothing)."""
        if self.owner == "integration":
            return False
        with self._lock:
            return self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl

    @property
    def fetched_at(self) -> float | None:
        """When the cache was last filled in full (this directory's clock), None before."""
        return self._fetched_at

    # -- resolution ----------------------------------------------------------------------
    def _target(self, username: str) -> str | None:
        return self.agent_users.get(username.lstrip("@").lower())

    def _needs(self, refs: Iterable[AgentRef]) -> set[tuple[str, str]]:
        needs: set[tuple[str, str]] = set()
        if self.fallback_owner.startswith("005"):
            needs.add(_need_key("Id", self.fallback_owner))
        for ref in refs:
            target = self._target(ref.username)
            if target:
                needs.add(_need_key("Id" if target.startswith("005") and "@" not in target else "Username", target))
                continue
            if self.federation_readable:
                needs.add(_need_key("FederationIdentifier", ref.username))
            if ref.email:
                needs.add(_need_key("Email", ref.email))
        return needs

    def _why_not(self, user: SalesforceUser) -> str:
        return "was refused as an owner by Salesforce" if user.id in self._refused else "is inactive"

    def _match(self, ref: AgentRef) -> Match:
        with self._lock:
            rows = [replace(u, active=False) if u.id in self._refused else u for u in self._rows.values()]
        target = self._target(ref.username)
        if target:
            by_id = target.startswith("005") and "@" not in target
            key = _need_key("Id" if by_id else "Username", target)
            found = [u for u in rows if (u.id == key[1] if by_id else u.username.lower() == key[1])]
            if not found:
                if self._never_answered({key}):
                    return Match(None, None, f"Salesforce could not be asked who {target} is: {self._error_words()}")
                return Match(None, None, f"AGENT_USERS maps {ref.username} to {target}, which is no Salesforce user")
            if not found[0].active:
                return Match(
                    None, None, f"AGENT_USERS maps {ref.username} to {found[0].shown}, who {self._why_not(found[0])}"
                )
            return Match(found[0], BY_AGENT_USERS)
        inactive: list[SalesforceUser] = []
        asked: set[tuple[str, str]] = set()
        for field, value, attr in (
            (BY_FEDERATION, ref.username if self.federation_readable else None, "federation_id"),
            (BY_EMAIL, ref.email, "email"),
        ):
            if not value:
                continue
            key = _need_key(field, value)
            asked.add(key)
            found = [u for u in rows if getattr(u, attr).strip().lower() == key[1]]
            active = [u for u in found if u.active]
            inactive += [u for u in found if not u.active]
            if len(active) == 1:
                return Match(active[0], field)
            if len(active) > 1:
                return Match(
                    None,
                    None,
                    f"{len(active)} active Salesforce users have {field} {value}: name the right one in AGENT_USERS",
                )
        if asked and self._never_answered(asked):
            return Match(None, None, f"Salesforce could not be asked who {ref.username} is: {self._error_words()}")
        if inactive:
            return Match(
                None, None, f"{ref.username}'s Salesforce user {inactive[0].shown} {self._why_not(inactive[0])}"
            )
        looked = [f"FederationIdentifier {ref.username}"] if self.federation_readable else []
        if ref.email:
            looked.append(f"Email {ref.email}")
        reason = f"no active Salesforce user has {' or '.join(looked)}" if looked else "nothing to match the agent by"
        return Match(None, None, reason if ref.email else f"{reason} (no verified email in Rocket.Chat)")

    def _fallback(self, sobject: str, reason: str) -> OwnerChoice:
        target = self.fallback_owner
        if not target:
            return OwnerChoice(None, BY_FALLBACK, f"{reason}; the integration user owns the {sobject}")
        with self._lock:
            known = _need_key("Id", target) in self._asked
            user = self._rows.get(id18(target))
            refused = id18(target) in self._refused
        if refused:
            return OwnerChoice(
                None,
                BY_FALLBACK,
                f"{reason}; Salesforce refused FALLBACK_OWNER {target} as an owner, the integration user owns the {sobject}",
            )
        if target.startswith("00G"):
            if sobject in QUEUE_OBJECTS:
                return OwnerChoice(
                    id18(target), BY_FALLBACK, f"{reason}; FALLBACK_OWNER queue {target} owns the {sobject}"
                )
            return OwnerChoice(
                None,
                BY_FALLBACK,
                f"{reason}; a queue cannot own a {sobject}, so the integration user owns it",
            )
        if known and user is None:
            return OwnerChoice(
                None,
                BY_FALLBACK,
                f"{reason}; FALLBACK_OWNER {target} is no Salesforce user, the integration user owns the {sobject}",
            )
        if user is not None and not user.active:
            return OwnerChoice(
                None,
                BY_FALLBACK,
                f"{reason}; FALLBACK_OWNER {user.shown} is inactive, the integration user owns the {sobject}",
            )
        shown = user.shown if user else target
        return OwnerChoice(id18(target), BY_FALLBACK, f"{reason}; FALLBACK_OWNER {shown} owns the {sobject}")

    def _fallback_words(self) -> str:
        target = self.fallback_owner
        if not target:
            return "the integration user (FALLBACK_OWNER empty)"
        if target.startswith("00G"):
            return f"FALLBACK_OWNER queue {target} for Cases and Leads, the integration user for Contacts and Tasks"
        return f"FALLBACK_OWNER {target}"

    # -- the cache -----------------------------------------------------------------------
    def _never_answered(self, keys: set[tuple[str, str]]) -> bool:
        """True when some of KEYS were never answered by Salesforce (the query for them failed)."""
        with self._lock:
            return not keys <= self._asked

    def _error_words(self) -> str:
        error = self.last_error
        return f"{error.message} ({error.code})" if error and error.code else (error.message if error else "no answer")

    def _plan(self, needs: set[tuple[str, str]]) -> tuple[set[tuple[str, str]], bool, float] | None:
        """(values to ask, whether it is a full refresh, now), or None when the cache answers NEEDS."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._ttl
            wanted = (self._asked | needs) if stale else (needs - self._asked)
            if not wanted:
                return None
            if self._failed_at is not None and now - self._failed_at < self._retry and wanted <= self._failed_keys:
                return None  # Salesforce failed on these a moment ago: answer from what is cached
            return wanted, stale, now

    def _ensure(self, needs: set[tuple[str, str]]) -> None:
        """Make the cache answer NEEDS: nothing when fresh and asked before; else the values never asked in
        one query; or, when stale, everything asked so far and NEEDS in one query that replaces the cache.
        A failed query leaves the cache as it was (stale rows still answer)."""
        if not needs or self._plan(needs) is None:
            return
        with self._query_lock:
            plan = self._plan(needs)  # another caller may have asked meanwhile
            if plan is None:
                return
            wanted, stale, now = plan
            try:
                rows = self._fetch(wanted)
            except CrmError as exc:
                self.last_error = exc
                with self._lock:
                    self._failed_at, self._failed_keys = now, set(wanted)
                log.warning("Salesforce users for owner matching not read: %s", exc.admin_detail)
                return
            with self._lock:
                if stale:
                    self._rows, self._asked, self._fetched_at = {}, set(), now
                    self._refused.clear()
                for user in rows:
                    self._rows[user.id] = user
                self._asked |= wanted
                self._failed_at, self._failed_keys = None, set()

    def _fetch(self, wanted: set[tuple[str, str]]) -> list[SalesforceUser]:
        """The User rows matching WANTED, in as few queries as the length bound allows."""
        users: list[SalesforceUser] = []
        for chunk in _chunks(sorted(wanted)):
            users += self._query(chunk)
        return users

    def _query(self, chunk: list[tuple[str, str]]) -> list[SalesforceUser]:
        try:
            return self._run(chunk)
        except CrmError as exc:
            if exc.code != "INVALID_FIELD" or not self.federation_readable:
                raise
            # field-level security may hide User.FederationIdentifier from the integration user
            log.warning("FederationIdentifier is not readable by the integration user: matching by it is off")
            self.federation_readable = False
            return self._run([k for k in chunk if k[0] != BY_FEDERATION])

    def _run(self, chunk: list[tuple[str, str]]) -> list[SalesforceUser]:
        by_field: dict[str, list[str]] = {}
        for field, value in chunk:
            by_field.setdefault(field, []).append(value)
        if not by_field:
            return []
        select = [f for f in USER_SELECT if self.federation_readable or f != BY_FEDERATION]
        where = " OR ".join(
            f"{field} IN ({', '.join(quote(v) for v in values)})" for field, values in sorted(by_field.items())
        )
        self.queries += 1
        rows = self._client.query(f"SELECT {', '.join(select)} FROM User WHERE {where}", "agents' Salesforce users")
        return [SalesforceUser.from_row(r) for r in rows]


def _chunks(keys: list[tuple[str, str]]) -> Iterable[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    size = 0
    for key in keys:
        cost = len(quote(key[1])) + 2
        if chunk and size + cost > MAX_LITERALS_CHARS:
            yield chunk
            chunk, size = [], 0
        chunk.append(key)
        size += cost
    if chunk:
        yield chunk
