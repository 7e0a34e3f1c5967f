"""Salesforce CRM for Rocket.Chat Omnichannel agents: `!salesforce …` / `/salesforce …` commands,
a private greeting when a chat is assigned, and the contact and transcript saved when it closes.

Slow work (Salesforce and Rocket.Chat calls for events and polls) runs on one worker thread of
the plugin's own, so the backend's dispatch thread returns at once and events and polls never
run at the same time. Replies with CRM data always go to the asking agent privately.
"""

from __future__ import annotations

import json
import logging
import shlex
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from errbot import BotPlugin, botcmd, cmdfilter
from errbot.backends.base import Card
from errbot.botplugin import ValidationException
from errbot.core import ErrBot

from salesforce_omnichannel.chat import cards, transient
from salesforce_omnichannel.chat import config as plugin_config
from salesforce_omnichannel.chat import redaction as log_redaction
from salesforce_omnichannel.chat.access import decide, is_admin, username_of
from salesforce_omnichannel.chat.args import UsageError, parse
from salesforce_omnichannel.chat.cards import Reply
from salesforce_omnichannel.chat.closure import ClosureSaver, NotYet
from salesforce_omnichannel.chat.commands import Commands, Invocation
from salesforce_omnichannel.chat.contacts import KEEP_LINK_SECONDS, VisitorContacts
from salesforce_omnichannel.chat.context import ChatContext, ChoiceNeeded, Subject, chat_for, known_visitor
from salesforce_omnichannel.chat.fieldmap import ChatData, FieldMapper
from salesforce_omnichannel.chat.greeting import closure_payload, greeting, held_greeting
from salesforce_omnichannel.chat.logformat import log_context
from salesforce_omnichannel.chat.migration import import_errbot_state
from salesforce_omnichannel.chat.omnichannel import LivechatRoom, Omnichannel, OmnichannelEvent
from salesforce_omnichannel.chat.outbox import KEEP_DONE_SECONDS, Outbox, backoff
from salesforce_omnichannel.chat.probes import PluginProbes, command_label
from salesforce_omnichannel.chat.registry import BY_NAME, canonical
from salesforce_omnichannel.chat.setupcheck import FAIL, Finding, render, run_check, usage_finding
from salesforce_omnichannel.chat.status import status_text
from salesforce_omnichannel.chat.store import QUARANTINED, Fenced, OutboxItem, StateStore, default_path
from salesforce_omnichannel.chat.stores import open_state_store, redact_url
from salesforce_omnichannel.chat.watch import KEEP_ASSIGNED_SECONDS, ChatWatch, greeting_name
from salesforce_omnichannel.chat.watchdog import Watchdog
from salesforce_omnichannel.crm.errors import CrmConfigError, CrmError, CrmUnavailable
from salesforce_omnichannel.crm.fieldmap import FieldMapOrg
from salesforce_omnichannel.crm.operations import Crm
from salesforce_omnichannel.crm.owners import AgentRef
from salesforce_omnichannel.crm.settings import SalesforceSettings
from salesforce_omnichannel.ops import leadership

log = logging.getLogger("errbot.plugins.salesforce")

SHARED_CONFIG = "plugin-configuration"  # a standby pair's last `!plugin config`, in the shared state's meta
EXPIRE_EVERY_SECONDS = 300  # forgetting old state is an indexed delete; no need to run it every poll
UNEXPECTED = "Something went wrong while talking to Salesforce; the bot admins can find the details in the log."


def interrupted_write(command: str) -> str:
    """Said instead of running a create command again that a bot stopped during (it may have created it)."""
    return (
        f"The bot was restarted while your `{command}` was running, so it may or may not have been created. "
        f"Check before typing it again (`!salesforce cases`, `!salesforce contact`)."
    )


class Salesforce(BotPlugin):
    """Salesforce CRM: contacts and cases of Omnichannel visitors, without leaving the chat."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.RLock()
        self._crm: Crm | None = None
        self._crm_settings: SalesforceSettings | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._watch: ChatWatch | None = None
        self._outbox: Outbox | None = None
        self._state: StateStore | None = None
        self._poll_pending = threading.Event()
        self._expired_at = 0.0
        self._followed_open_rooms = False
        self._told_admins: set[str] = set()
        self.check_findings: list[Finding] = []  # the last setup check's problems, for `status`
        self._agents: dict[str, Any] = {}  # Omnichannel agents by username, as the last owner warm listed them
        # /livez, /readyz and /metrics: served once per process from here on, before the first connection
        self._probes = PluginProbes(
            self._bot,
            self.bot_config,
            lambda: self._state,
            lambda: self._outbox,
            lambda: not plugin_config.missing(self.config or {}),
            self.api_usage,
            holding=lambda: self.watchdog.holding,
        )
        # the API budget guard, Salesforce's reachability and the admins' alerts: kept across re-activations
        self.watchdog = Watchdog()
        # a standby pair (STATE_URL on PostgreSQL): the backend waits for the leadership before it connects
        self._leadership = leadership.for_config(self.bot_config)
        if self._leadership is not None:
            if hasattr(self._bot, "leadership"):
                self._bot.leadership = self._leadership
            else:
                log.error("STATE_URL names PostgreSQL but the %s backend cannot wait as a standby", self._bot.mode)
            self._probes.health.set_role(lambda: self._leadership.role, lambda: self._leadership.epoch)

    # -- configuration ---------------------------------------------------------------------
    def _defaults(self) -> dict:
        return plugin_config.defaults(self.bot_config)

    def get_configuration_template(self) -> dict:
        return self._defaults()

    def check_configuration(self, configuration: Any) -> None:
        try:
            plugin_config.validate(configuration, self._defaults())
        except plugin_config.ConfigError as exc:
            # Errbot now drops the refused configuration and leaves the plugin off; come back on the
            # defaults so that a typo in `!plugin config` does not take Salesforce away from the agents.
            threading.Timer(0.3, self._reactivate_on_defaults).start()
            raise ValidationException(f"{exc} The plugin keeps running on its defaults.") from None

    @cmdfilter
    def keep_configuration_whole(self, msg: Any, cmd: str, args: Any, dry_run: bool):
        """`!plugin config Salesforce {…}` from an admin: merged into the current configuration and checked
        before Errbot stores anything, so a partial change keeps the other keys and a refused one (key
        material first) never reaches Errbot's storage."""
        if cmd != "plugin_config" or not isinstance(args, str):
            return msg, cmd, args
        name, _, rest = args.strip().partition(" ")
        if name != self.name or not rest.strip() or not is_admin(msg.frm, self._admins()):
            return msg, cmd, args
        try:
            current = self._bot.plugin_manager.get_plugin_configuration(self.name)
            merged = plugin_config.merge_request(rest, current, self._defaults())
            self._check_against_the_org(merged, current)
        except plugin_config.ConfigError as exc:
            log.warning("Refused a Salesforce configuration before it was stored: %s", exc)
            if not dry_run:
                self.send(self._requester(msg), f"Configuration refused, nothing was stored: {exc}")
            return None, None, None
        if not dry_run:
            self._share_configuration(merged)
            shown = "\n".join(f"{key}: {value!r}" for key, value in merged.items())
            self.send(self._requester(msg), f"Salesforce configuration after this change:\n```\n{shown}\n```")
        return msg, cmd, f"{self.name} {merged!r}"

    def _check_against_the_org(self, merged: dict, current: dict | None) -> None:
        """RECORD_TYPES and FIELD_MAP as changed are checked against the org (describe, the record type's
        picklists): ConfigError naming each entry the org refuses, so the earlier configuration stays.
        When Salesforce cannot be asked, the change is kept and `!salesforce check` will tell."""
        before = current or self._defaults()
        if all(merged.get(k) == before.get(k) for k in ("RECORD_TYPES", "FIELD_MAP")) or plugin_config.missing(merged):
            return
        try:
            crm = Crm(SalesforceSettings.from_config(merged), describes=self._state)
            self._probes.watch_crm(crm)
            problems = crm.record_types.problems() + FieldMapOrg.of(crm).problems(merged.get("FIELD_MAP") or {})
        except CrmError as exc:
            log.warning("RECORD_TYPES / FIELD_MAP could not be checked against Salesforce: %s", exc.admin_detail)
            return
        if problems:
            raise plugin_config.ConfigError(" ".join(problems))

    def _share_configuration(self, config: dict) -> None:
        """A standby pair: an admin's change is kept in the shared state too (Errbot keeps it in this bot's
        own storage only), so that the bot taking over runs on it."""
        if self._leadership is None or self._state is None:
            return
        self._state.set_meta(SHARED_CONFIG, json.dumps({"config": config, "at": time.time()}))

    def _adopt_shared_configuration(self) -> None:
        """At activation, on a standby pair: the configuration an admin last set on any bot of the pair."""
        if self._leadership is None or self._state is None:
            return
        raw = self._state.meta(SHARED_CONFIG)
        if not raw:
            return
        try:
            shared = plugin_config.validate(json.loads(raw)["config"], self._defaults())
        except (ValueError, KeyError, TypeError, plugin_config.ConfigError) as exc:
            log.warning(
                "The standby pair's shared Salesforce configuration is not usable (%s); keeping this bot's", exc
            )
            return
        if shared == self.config:
            return
        self._bot.plugin_manager.set_plugin_configuration(self.name, shared)
        self.configure(shared)
        log.info("Salesforce configuration taken from the standby pair's shared state (an admin's last change)")

    def _reactivate_on_defaults(self) -> None:
        if self.is_activated:
            return
        try:
            self._bot.plugin_manager.activate_plugin(self.name)
            log.info("Salesforce plugin re-activated on its defaults after a refused configuration")
        except Exception as exc:  # noqa: BLE001 - the admin still has `!plugin activate Salesforce`
            log.warning("Could not re-activate the Salesforce plugin: %s", type(exc).__name__)

    def configure(self, configuration: Any) -> None:
        try:
            merged = plugin_config.validate(configuration, self._defaults())
        except plugin_config.ConfigError as exc:
            log.warning("Stored Salesforce configuration ignored: %s", exc)
            merged = self._defaults()
        with self._lock:
            self._crm = None
        self.watchdog.configure(merged)
        super().configure(merged)

    def crm(self) -> Crm:
        """The CRM core for the current configuration (built once per configuration)."""
        missing = plugin_config.missing(self.config or {})
        if missing:
            raise CrmConfigError(
                f"Salesforce is not configured yet: a bot admin must set {', '.join(missing)} "
                f"(`!plugin config Salesforce {{...}}` or SALESFORCE_<KEY> environment variables).",
                "NOT_CONFIGURED",
            )
        settings = SalesforceSettings.from_config(self.config)
        with self._lock:
            if self._crm is None or self._crm_settings != settings:
                self._crm, self._crm_settings = Crm(settings, describes=self._state), settings
                if self._leadership is not None:
                    self._crm.client.http.gates.append(self._leadership.require)  # an ex-leader calls nothing
                self._probes.watch_crm(self._crm)  # its requests counted and timed
                self.watchdog.attach(self._crm)  # every response's API usage, every call's outcome
            return self._crm

    # -- lifecycle ---------------------------------------------------------------------------
    def activate(self) -> None:
        log_redaction.install()
        super().activate()
        lead = self._leadership
        try:
            self._state = open_state_store(
                getattr(self.bot_config, "STATE_URL", None),
                self._state_path(),
                epoch=lead.epoch if lead is not None else None,
                application_name=lead.name if lead is not None else "rcsf-bot",
            )
        except Exception as exc:  # Errbot logs it and leaves the plugin off: /readyz says why
            where = redact_url(str(getattr(self.bot_config, "STATE_URL", "") or "")) or self._state_path()
            self._probes.activation_failed(f"the state store {where} cannot be opened ({type(exc).__name__})")
            raise
        log.info("Salesforce plugin state in %s", self._state.path)
        self._adopt_shared_configuration()
        import_errbot_state(self, self._state)
        self._outbox = Outbox(self._state)
        self.watchdog.restore(self._state)
        self._tell_settings_to_fix()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="salesforce")
        self._probes.activated(self.config, polling=self._omni() is not None)
        omni = self._omni()
        if omni is None:
            log.info("No Omnichannel on this backend: explicit lookups only, no assignment or closure handling")
            return
        self._watch = ChatWatch(self._state, omni, _about_the_room(self._on_assigned), _about_the_room(self._on_closed))
        self._watch.start()
        self.start_poller(self.config["POLL_SECONDS"], self._poll)
        self._submit(self._first_reconcile)  # at start and after every reconnect (plugins are re-activated)

    def deactivate(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True, cancel_futures=True)  # storage closes next: let the running job finish
        self._watch = None
        self._probes.deactivated()  # after the worker stopped (a stalled one still fails /livez), before the store closes
        store, self._state, self._outbox = self._state, None, None
        with self._lock:
            self._crm = None  # its describes were kept in the store that closes now
        if store is not None:
            store.close()
        super().deactivate()

    def api_usage(self) -> tuple[int, int] | None:
        """The org's API usage as Salesforce last said it (the budget guard's figure, fed by every response):
        `status`, `/readyz` and `/metrics` show this one."""
        return self.watchdog.budget.usage

    def standby_status(self) -> str | None:
        """For `status`: which bot of a standby pair answers, and where the shared state is (no password)."""
        lead = self._leadership
        if lead is None:
            return None
        where = self._state.path if self._state is not None else "PostgreSQL"
        return f"Active bot of a standby pair: {lead.name}, epoch {lead.epoch}; state in {where}"

    def settings_to_fix(self) -> list[str]:
        return plugin_config.problems(self.config or {}, self.bot_config) + self._probes.problems()

    def _tell_settings_to_fix(self) -> None:
        """Log every setting to fix at each start; tell the admins once per problem and process."""
        for problem in self.settings_to_fix():
            log.warning("Salesforce setting to fix: %s", problem)
            if problem not in self._told_admins:
                self._told_admins.add(problem)
                self.warn_admins(f"Salesforce setting to fix: {problem}")

    def _state_path(self) -> str:
        configured = str(self.config.get("STATE_FILE") or "") if self.config else ""
        return configured or str(default_path(getattr(self.bot_config, "BOT_DATA_DIR", ".")))

    def _omni(self) -> Omnichannel | None:
        return getattr(self._bot, "omnichannel", None)

    def _submit(self, job: Callable[[], None]) -> None:
        worker = self._worker
        if worker is None:
            return

        def guarded() -> None:
            try:
                job()
            except Fenced as exc:  # a successor's epoch: this bot must stop at once
                self._fenced(exc)
            except leadership.NotLeader as exc:  # stopping: what it refused is its successor's to do
                log.warning("Salesforce background work stopped: %s", exc)
            except Exception as exc:  # noqa: BLE001 - background work must never kill the worker
                detail = transient.describe(exc)  # a timeout, a reset, a refusal: one line; a bug: its traceback
                if detail is None:
                    log.exception("Salesforce background work failed")
                else:
                    log.warning(
                        "Salesforce background work failed: %s; retrying at the next poll, in %s s",
                        detail,
                        (self.config or {}).get("POLL_SECONDS"),
                    )

        try:
            worker.submit(self._probes.on_worker(guarded))
        except RuntimeError:  # shut down meanwhile
            pass

    def _fenced(self, exc: Exception) -> None:
        log.warning("Write refused by the state store: %s", exc)
        if self._leadership is not None:
            self._leadership.lose(f"the state store refused a write ({exc})")

    @cmdfilter
    def answer_once(self, msg: Any, cmd: str, args: Any, dry_run: bool):
        """A standby pair: each command is claimed in the shared store before it runs and marked answered
        after, and its replies are named after it (Rocket.Chat posts a named message once). The bot that
        takes over, catching up from where the last one stood, skips what was answered, answers again what
        was claimed but not answered (a second copy of a reply is refused as already posted), and asks
        before running a create command a second time. Other plugins' commands run at most once."""
        extras = getattr(msg, "extras", None) or {}
        message_id = extras.get("message_id")
        if dry_run or self._leadership is None or self._state is None or not message_id:
            return msg, cmd, args
        try:
            return self._claim(msg, cmd, args, message_id)
        except Fenced as exc:
            self._fenced(exc)
            return None, None, None

    def _claim(self, msg: Any, cmd: str, args: Any, message_id: str):
        store, now, ours = self._state, time.time(), cmd == "salesforce"
        state = store.command_state(message_id)
        if state == "answered" or (state == "claimed" and not ours):
            log.info("Command %s in message %s was handled by the previous leader", cmd, message_id)
            return None, None, None
        if state is None and not store.claim_command(message_id, now):
            return None, None, None  # claimed a moment ago by the other bot
        if not ours:
            store.command_answered(message_id, now)
            return msg, cmd, args
        msg.extras["client_id"] = f"reply|{message_id}"
        words = str(args or "").split(None, 1)
        subcommand = BY_NAME.get(canonical(words[0])) if words else None
        if state == "claimed" and subcommand is not None and subcommand.writes:
            log.warning("Command %s in message %s was interrupted by a change of leader: asking", cmd, message_id)
            self._deliver(self._requester(msg), [interrupted_write(subcommand.name)], f"reply|{message_id}|asked")
            store.command_answered(message_id, now)
            return None, None, None
        return msg, cmd, args

    # -- realtime events and polls ------------------------------------------------------------
    def callback_omnichannel(self, event: OmnichannelEvent) -> None:
        watch = self._watch
        if watch is not None:
            self._submit(lambda: watch.handle_event(event))

    def _poll(self) -> None:
        self._probes.poll_tick()
        if self._poll_pending.is_set():
            return  # the previous poll is still queued behind slow work
        self._poll_pending.set()
        self._submit(self._probes.timed_poll(self._reconcile))

    def _first_reconcile(self) -> None:
        if self.watchdog.holding:
            log.info(
                "Salesforce setup check at start skipped: the API budget guard holds (`!salesforce check` runs it)"
            )
        else:
            self._check_at_start()
        omni = self._omni()
        if omni.follows_needed() and not self._followed_open_rooms:
            # a bot without view-livechat-rooms follows each served room; once per process: the backend
            # re-subscribes what it follows after a reconnect, so a re-activation lists nothing again
            for room in omni.open_rooms():
                if room.agent_username:
                    omni.follow(room.id)
            self._followed_open_rooms = True
        self._reconcile()

    def _reconcile(self) -> None:
        self._poll_pending.clear()
        self._read_usage_if_needed()
        if not self.watchdog.holding:  # the owners can wait while the API budget guard holds
            self._warm_owners()
        if self._watch is not None:
            self._watch.reconcile()
        self._flush_outbox()
        store, now = self._state, time.time()
        if store is not None and now - self._expired_at >= EXPIRE_EVERY_SECONDS:
            self._expired_at = now
            store.expire(
                now - KEEP_DONE_SECONDS, now - KEEP_ASSIGNED_SECONDS, now - KEEP_DONE_SECONDS, now - KEEP_LINK_SECONDS
            )
        self.watchdog.review(self._outbox, getattr(self._bot, "connection", None), self._state, self.warn_admins)

    def _read_usage_if_needed(self) -> None:
        """While the API budget guard holds (or Salesforce does not answer): the usage again, once per poll."""
        try:
            crm = self.crm()
        except CrmError:
            return  # not configured yet
        self.watchdog.read_usage_if_needed(crm)

    # -- the setup check ------------------------------------------------------------------------
    def _setup_check(self) -> str:
        findings = self._run_check()
        return render(findings + [usage_finding(self.crm(), self.watchdog.budget)])

    def _run_check(self) -> list[Finding]:
        omni = self._omni()
        findings = run_check(self.crm(), omni.agents if omni is not None else None)
        self.check_findings = [f for f in findings if f.problem]
        return findings

    def _check_at_start(self) -> None:
        """Before the first chat: what will fail goes to the admins once per problem and process (the
        warnings wait in `status` and `!salesforce check`)."""
        try:
            findings = self._run_check()
        except CrmError as exc:
            log.warning("Salesforce setup check could not run: %s", exc.admin_detail)
            return
        for finding in findings:
            if finding.problem:
                log.warning("Salesforce setup check: %s", finding.line())
            if finding.mark == FAIL and finding.line() not in self._told_admins:
                self._told_admins.add(finding.line())
                self.warn_admins(f"Salesforce setup check: {finding.line()} (`!salesforce check` lists everything)")

    # -- owners (OWNER=agent) ------------------------------------------------------------------
    def _warm_owners(self) -> None:
        """Once per METADATA_REFRESH_MINUTES, from the poller: the Omnichannel agents (one Rocket.Chat call)
        and their Salesforce users (one SOQL query), so that no chat waits for either."""
        omni = self._omni()
        try:
            crm = self.crm()
        except CrmError:
            return  # not configured yet: nothing to own
        if omni is None or not crm.owners.stale():
            return
        agents = omni.agents()
        self._agents = {a.username: a for a in agents}
        crm.owners.warm(agents)

    def _owner_fields(self, sobject: str, username: str | None) -> dict[str, str]:
        """{"OwnerId": …} for a new SOBJECT made for USERNAME's chat or command, or {} (the integration user)."""
        crm = self.crm()
        if crm.owners.owner == "integration":
            return {}
        agent = self._agents.get(username or "")
        omni = self._omni()
        if agent is None and username and omni is not None:
            agent = omni.agent(username)  # an agent added since the last warm: one call, then kept
            if agent is not None:
                self._agents[username] = agent
        if agent is None and username:
            agent = AgentRef(username)  # no Omnichannel: AGENT_USERS and FederationIdentifier still match
        choice = crm.owners.owner_for(sobject, agent)
        if choice.note:
            log.info("Owner of a new %s for %s: %s", sobject, username or "no agent", choice.note)
        return choice.fields()

    # -- FIELD_MAP's chat sources ---------------------------------------------------------------
    def _chat_data(self, payload: dict, visitor: Any) -> ChatData:
        """FIELD_MAP's chat for a closed chat's payload."""
        return self._chat_of(payload["room_id"], payload.get("visitor_id"), payload.get("agent_username"), visitor)

    def _chat_of(self, room_id: str | None, visitor_id: str | None, username: str | None, visitor: Any) -> ChatData:
        """What FIELD_MAP's sources read, from Rocket.Chat only when a source needs it: the room (tags,
        department, custom fields), the visitor afresh (custom fields, username, department: the state
        store keeps none of them) and the agent (name, email; the owner warm lists them)."""
        omni = self._omni()
        # "visitor.custom.x" -> "visitor.custom"; literals ("=…") need nothing
        needs = {
            ".".join(s.split(".")[:2]) for s in self.crm().settings.field_map_dict.values() if not s.startswith("=")
        }
        if omni is None or not needs:
            return ChatData(visitor)
        room = None
        room_sources = {"room.tags", "room.department", "room.custom", "room.id", "room.url", "visitor.custom"}
        if room_id and needs & (room_sources | {"visitor.department"}):
            room = omni.room(room_id)
        if needs & {"visitor.custom", "visitor.username", "visitor.department"} and visitor_id:
            visitor = omni.visitor(visitor_id) or visitor
        agent = None
        if needs & {"agent.username", "agent.name", "agent.email"} and username:
            agent = self._agents.get(username) or omni.agent(username)
        server = str((getattr(self.bot_config, "BOT_IDENTITY", None) or {}).get("server") or "")
        return ChatData(visitor, room, agent, server)

    def _mapped(self, ctx: ChatContext, typist: str, sobject: str) -> dict[str, Any]:
        """FIELD_MAP's values for a record a command creates: about the chat CTX (if any), by TYPIST."""
        crm = self.crm()
        if not crm.settings.field_map:
            return {}
        chat = self._chat_of(ctx.room_id, getattr(ctx.room, "visitor_id", None), typist, ctx.visitor)
        mapper = FieldMapper(crm.settings.field_map_dict, chat, FieldMapOrg.of(crm))
        values = mapper.values_for(sobject)
        for note in mapper.notes:
            log.info("Command by %s: %s", typist, note)
        return values

    def _on_assigned(self, room: LivechatRoom) -> None:
        omni = self._omni()
        omni.follow(room.id)
        if not self.config.get("SHOW_CONTACT_ON_ASSIGN") or not room.agent_username:
            return
        agent = self.build_identifier(f"@{room.agent_username}")
        try:
            visitor = omni.visitor(room.visitor_id) if room.visitor_id else None
            if self.watchdog.holding:  # the API budget guard: who the visitor is by Rocket.Chat alone, and why
                log.info("Greeting for room %s without a Salesforce look-up: the API budget guard holds", room.id)
                replies = held_greeting(ChatContext(room, visitor), "!salesforce", self.watchdog.hold_reason())
                self._probes.greeting("held")
            else:
                replies = greeting(VisitorContacts(self.crm(), self._state), ChatContext(room, visitor), "!salesforce")
                self._probes.greeting("contact" if self._room_context(room.id).get("contact_id") else "new")
        except CrmError as exc:
            log.warning("Greeting for room %s failed: %s", room.id, exc.admin_detail)
            self._probes.greeting("error")
            replies = [
                f"You now serve {cards.shown_name(room.visitor_name) or 'a visitor'}, but Salesforce could not be asked who it is: {exc.message}"
            ]
        self._deliver(agent, replies, greeting_name(room))

    def _on_closed(self, room: LivechatRoom, key: str) -> None:
        self._omni().unfollow(room.id)
        if self._outbox is not None and self._outbox.add(key, room.id, closure_payload(room)):
            log.info("Chat %s closed: saving to Salesforce", room.id)
            self._flush_outbox()

    def _flush_outbox(self) -> None:
        outbox = self._outbox
        if outbox is None:
            return
        items, unreadable = outbox.due()
        for item in unreadable:
            log.error("Closed chat %s quarantined: %s", item.room_id, item.last_error)
            self._probes.closure("quarantined")
            self._report_failure(item, "its saved data cannot be read any more")
        if items and self.watchdog.holding:
            log.debug("%d closed chat(s) held in the outbox by the API budget guard", len(items))
            return  # saved once usage falls below API_BUDGET_PERCENT (read again every poll)
        for item in items:
            with log_context(room_id=item.room_id, outbox_key=item.key):
                self._save_closure(outbox, item)

    def _save_closure(self, outbox: Outbox, item: OutboxItem) -> None:
        try:
            saver = ClosureSaver(
                VisitorContacts(self.crm(), self._state),
                self._omni(),
                bool(self.config.get("AUTOSAVE_ON_CLOSE")),
                bool(self.config.get("LOG_TRANSCRIPT_ON_CLOSE")),
                self._room_context,
                outbox.save_progress,
                float(self.config.get("REQUEST_TIMEOUT_SECONDS") or 20) + 5,
                owner_of=lambda sobject, agent: self._owner_fields(sobject, agent),
                chat_of=self._chat_data,
                forget_owner=self.crm().owners.refused,
            )
            result = saver.run(item)
        except NotYet as wait:
            outbox.retry(item, "waiting to see whether an interrupted attempt reached Salesforce", wait.at)
            self._probes.closure("waiting")
            return
        except Exception as exc:  # noqa: BLE001 - the outbox's policy decides: retry, failed or quarantined
            outcome = outbox.settle(item, exc)
            self._probes.closure({"pending": "retry"}.get(outcome.state, outcome.state))
            detail = exc.admin_detail if isinstance(exc, CrmError) else outcome.error or type(exc).__name__
            said = {"pending": "will retry", "failed": "for good"}.get(outcome.state, outcome.state)
            when = f"; retrying in {backoff(item.attempts + 1):.0f} s" if outcome.state == "pending" else ""
            log.warning("Saving closed chat %s failed (%s): %s%s", item.room_id, said, detail, when)
            if outcome.final is not None:
                if outcome.state == QUARANTINED:
                    log.error("Closed chat %s quarantined: %s", item.room_id, outcome.error)
                self._report_failure(
                    outcome.final,
                    exc.message
                    if isinstance(exc, CrmError)
                    else "it kept failing and is set aside for an admin (see `status`)",
                )
            return
        outbox.succeeded(item)
        self._probes.closure("partial" if result.get("notes") else "saved")
        log.info("Closed chat %s saved to Salesforce", item.room_id)
        if result.get("notes"):
            self._report_partial(item, result["notes"])

    def _report_partial(self, item: OutboxItem, notes: list[str]) -> None:
        agent = item.payload.get("agent_username")
        text = (
            f"The closed chat with {_visitor_label(item.payload)} is saved in Salesforce, but " + "; ".join(notes) + "."
        )
        if agent:
            self._deliver(self.build_identifier(f"@{agent}"), [text])
        else:
            self.warn_admins(text)

    def _report_failure(self, item: OutboxItem, message: str) -> None:
        payload = item.payload
        text = (
            f"The closed chat with {_visitor_label(payload)} ({item.room_id}) "
            f"could not be saved to Salesforce: {message}"
        )
        if payload.get("agent_username"):
            self._deliver(self.build_identifier(f"@{payload['agent_username']}"), [text])
        if item.state != QUARANTINED:  # a quarantine is the admins' alert (chat/alerts.py), once per episode
            self.warn_admins(text)

    def _remember_case(self, room_id: str, case_id: str) -> None:
        if self._state is not None:
            self._state.set_room_context(room_id, time.time(), case_id=case_id)

    def _room_context(self, room_id: str) -> dict:
        return self._state.room_context(room_id) if self._state is not None else {}

    # -- the command ----------------------------------------------------------------------------
    @botcmd
    def salesforce(self, msg, args):
        """Salesforce CRM: contact, create-contact, cases, case NUMBER, create-case, activities, refresh, status, help."""
        extras = msg.extras or {}
        if extras.get("visitor"):
            log.warning("Ignored a Salesforce command typed by a visitor in room %s", extras.get("room_id"))
            return None
        prefix = "/salesforce" if (msg.body or "").lstrip().startswith("/") else "!salesforce"
        named = extras.get("client_id")  # a standby pair: replies named after the command (answer_once)
        try:
            with log_context(room_id=extras.get("room_id")):
                self._deliver(self._requester(msg), self._answer(msg, extras, args or "", prefix), named)
            if named and self._state is not None:
                self._state.command_answered(extras["message_id"], time.time())
        except Fenced as exc:
            self._fenced(exc)
        except leadership.NotLeader as exc:
            log.warning("Salesforce command stopped: %s", exc)
        except Exception as exc:  # noqa: BLE001 - never a traceback in chat
            detail = transient.describe(exc)  # a Rocket.Chat timeout: one line; a bug: its traceback
            if detail is None:
                log.exception("Salesforce command failed")
            else:
                log.warning("Salesforce command failed: %s; the agent was asked to try again", detail)
            self._probes.command(command_label(args or ""), "error")
            self._deliver(self._requester(msg), [UNEXPECTED], f"{named}|failed" if named else None)
        return None

    def _answer(self, msg: Any, extras: dict, args: str, prefix: str) -> list[Reply]:
        try:
            parsed = parse(args, prefix)
            omni = self._omni()
            room = omni.room(extras["room_id"]) if omni is not None and extras.get("omnichannel") else None
            decision = decide(
                extras, msg.frm, self._admins(), omni, room, admin_only=BY_NAME[parsed.command].admin_only
            )
            if not decision.allowed:
                self._probes.command(parsed.command, "refused")
                return [decision.reason] if decision.reason else []
            ctx = ChatContext()
            if BY_NAME[parsed.command].about_a_chat:
                try:
                    ctx = chat_for(
                        omni,
                        extras,
                        username_of(msg.frm),
                        parsed.options.get("chat"),
                        room,
                        agent_id=getattr(msg.frm, "userid", None),
                        context_of=self._context_of,
                    )
                except ChoiceNeeded as choice:
                    self._probes.command(parsed.command, "choose_chat")
                    return [_choose_chat(choice, prefix, parsed.command)]
            typist = username_of(msg.frm)
            invocation = Invocation(
                parsed,
                ctx,
                prefix,
                self._remember_case,
                lambda: status_text(self, self._outbox),
                owner=lambda sobject: self._owner_fields(sobject, typist),
                check=self._setup_check,
                mapped=lambda sobject: self._mapped(ctx, typist, sobject),
                forget_owner=lambda owner_id: self.crm().owners.refused(owner_id),
            )
            if parsed.command in ("help", "status"):
                replies = Commands(None).run(invocation)  # neither needs Salesforce configured first
                self._probes.command(parsed.command, "ok")
                return replies
            crm = self.crm()
            replies = Commands(crm, VisitorContacts(crm, self._state)).run(invocation)
            self._probes.command(parsed.command, "ok")
            return replies
        except UsageError as exc:
            self._probes.command(command_label(args), "usage_error")
            return [str(exc)]
        except CrmError as exc:
            level = logging.WARNING if isinstance(exc, CrmUnavailable) else logging.INFO  # a network failure: warn
            log.log(
                level, "Salesforce command %r answered with %s: %s", args.split(" ", 1)[0], exc.code, exc.admin_detail
            )
            self._probes.command(command_label(args), "salesforce_error")
            return [exc.message]

    def _context_of(self, room: LivechatRoom) -> ChatContext:
        """The chat's context as the state store holds it: the visitor and contact the greeting remembered
        (chat_for reads a visitor it lacks from Rocket.Chat)."""
        known = self._room_context(room.id)
        return ChatContext(room, known_visitor(known, None, room.visitor_id), known)

    def _admins(self) -> Iterable[str]:
        return getattr(self.bot_config, "BOT_ADMINS", ()) or ()

    def _requester(self, msg: Any) -> Any:
        """Where a private reply goes: the asking person's direct message with the bot."""
        if msg.is_direct or self._omni() is None:
            return msg.frm
        return self.build_identifier(f"@{username_of(msg.frm)}")

    def _deliver(self, to: Any, replies: list[Reply], name: str | None = None) -> None:
        """Send REPLIES to TO; with NAME each message is named `NAME|i` (a backend that honours
        `extras["client_id"]` posts a named message once, however often it is sent)."""
        native_cards = type(self._bot).send_card is not ErrBot.send_card  # e.g. Rocket.Chat's attachments
        for i, reply in enumerate(replies):
            client_id = f"{name}|{i}" if name else None
            if isinstance(reply, dict) and native_cards:
                fields = {k: v for k, v in reply.items() if k != "actions"}
                card = Card(frm=self._bot.bot_identifier, to=to, **fields)
                if reply.get("actions"):
                    card.extras["actions"] = reply["actions"]  # buttons, for a backend that draws them
                if client_id:
                    card.extras["client_id"] = client_id
                self._bot.send_card(card)
            elif reply:
                self._send_text(to, cards.as_markdown(reply) if isinstance(reply, dict) else reply, client_id)

    def _send_text(self, to: Any, text: str, client_id: str | None) -> None:
        """What `send(to, text)` does, with the message's name in its extras."""
        message = self._bot.build_message(text)
        message.to, message.frm = to, self._bot.bot_identifier
        if client_id:
            message.extras["client_id"] = client_id
        self._bot.split_and_send_message(message)


def _about_the_room(handler: Callable[..., None]) -> Callable[..., None]:
    """HANDLER(room, …) with the room's id on every log record it makes (JSON logs' room_id)."""

    def handle(room: LivechatRoom, *args: Any) -> None:
        with log_context(room_id=room.id):
            handler(room, *args)

    return handle


def _visitor_label(payload: dict) -> str:
    return cards.shown_name(str(payload.get("visitor_name") or "")) or "a visitor"


def _choose_chat(choice: ChoiceNeeded, prefix: str, command: str) -> str:
    """Each chat by its visitor's name and email, with the `--chat` that picks it (the email when the
    visitor left one, else the room id); the first MAX_LISTED of many."""
    lines = [f"{choice.total} open chats of yours match; say which one with `--chat`:"]
    for ctx in choice.chats:
        subject = ctx.subject() or Subject(name=ctx.room.visitor_name or ctx.room.name)
        handle = subject.email or ctx.room.id
        name = cards.shown_name(subject.name or ctx.room.visitor_name)
        who = " · ".join(p for p in (name, subject.email, subject.phone) if p)
        lines.append(f"- {who}: `{prefix} {command} --chat {shlex.quote(handle)}`")
    if choice.total > len(choice.chats):
        lines.append(f"… and {choice.total - len(choice.chats)} more: name the chat more closely.")
    return "\n".join(lines)
