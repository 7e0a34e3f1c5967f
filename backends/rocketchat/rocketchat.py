"""Errbot backend for Rocket.Chat: REST for logging in and sending, the realtime API for reading.

The realtime reader runs in its own thread and only fills a queue; this backend's thread drains
it, so Errbot's command matching and plugin callbacks never block the socket, and
`connect_callback` is never called from the reader. After a reconnect, what was posted while
away is fetched with `chat.syncMessages`; a bounded memory of message ids makes sure nothing is
handled twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import secrets
import signal
import threading
from typing import Any

from errbot.backends.base import Message, Person, Room, RoomOccupant
from errbot.core import ErrBot
from rc_connection import ConnectionState
from rc_dates import parse_date, rest_iso
from rc_health import ConnectionHealth
from rc_identifiers import RocketChatPerson, RocketChatRoom, RocketChatRoomOccupant, parse_identifier, parse_room
from rc_messages import SeenIds, classify
from rc_omnichannel import Omnichannel
from rc_realtime import CLOSED, RealtimeClient, RealtimeError
from rc_render import card_attachment, split_body, to_rocketchat
from rc_rest import AuthenticationError, RestClient, RestError

LIVECHAT_VIEWERS = {"admin", "livechat-manager"}  # roles with view-livechat-rooms by default
log = logging.getLogger("errbot.backends.rocketchat")

DEFAULT_SIZE_LIMIT = 5000
ALREADY_POSTED = "error-message-already-exists"  # chat.sendMessage with an _id that exists
CATCH_UP_MARGIN = dt.timedelta(seconds=5)
_METEOR_ID_CHARS = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"


def new_message_id() -> str:
    """A Meteor-style 17-character id: chosen by us so that a retried send is not posted twice."""
    return "".join(secrets.choice(_METEOR_ID_CHARS) for _ in range(17))


def derived_message_id(seed: str) -> str:
    """The same Meteor-style id for the same SEED, whichever process sends: a message a plugin names (the
    reply to one command, say) is posted once even when a standby taking over sends it again."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(17):
        number, digit = divmod(number, len(_METEOR_ID_CHARS))
        chars.append(_METEOR_ID_CHARS[digit])
    return "".join(chars)


class RocketChatBackend(ErrBot):
    def __init__(self, config):
        super().__init__(config)
        identity = dict(getattr(config, "BOT_IDENTITY", {}) or {})
        self._server = identity.get("server", "").rstrip("/")
        self._username = identity.get("username")
        self._password = identity.get("password")
        self._pat_user_id = identity.get("user_id")
        self._pat_token = identity.get("token")
        if not self._server or not ((self._username and self._password) or (self._pat_user_id and self._pat_token)):
            raise ValueError("BOT_IDENTITY needs 'server' and either 'username'+'password' or 'user_id'+'token'")
        self._silence_timeout = float(identity.get("silence_timeout", 70))
        self.rest = RestClient(self._server)
        self._realtime: RealtimeClient | None = None
        self._user_id: str | None = None
        self.bot_identifier: RocketChatPerson | None = None
        self._seen = SeenIds()
        self._dm_rooms: dict[str, str] = {}
        self._room_info: dict[str, tuple[str | None, str | None]] = {}  # rid -> (name, type)
        self._followed: set[str] = set()
        self._sees_all_livechat = False  # __my_messages__ carries every Omnichannel room (view-livechat-rooms)
        self._last_ts: dt.datetime | None = None
        self._lock = threading.RLock()
        self._size_limit = DEFAULT_SIZE_LIMIT
        self.probe_health = ConnectionHealth(self._silence_timeout)  # what `health()` tells a plugin's probes
        self.omnichannel = Omnichannel(
            self.rest, self._follow, self._unfollow, lambda: self._user_id, self.follows_needed
        )
        # up / down since / the last outage, for plugins (re-activated after an outage) and health checks
        self.connection = ConnectionState(self._server, lambda: float(getattr(self, "_reconnection_delay", 0)))
        # A standby pair (set by a plugin before the first connection): `wait()` blocks until this process
        # is the active bot and returns where the previous one's handling of messages stood; `require(what)`
        # raises unless it still is; `release()` on SIGTERM; `progress` is told where ours stands.
        self.leadership: Any = None
        self._takeover = False

    # -- Errbot plumbing -----------------------------------------------------------
    @property
    def mode(self) -> str:
        return "rocketchat"

    def set_message_size_limit(self, limit: int = 10000, hard_limit: int = 10000) -> None:
        # Errbot's own splitter cuts mid-word; we split at line breaks in send_message instead.
        super().set_message_size_limit(limit=1_000_000, hard_limit=1_000_000)

    def _install_sigterm(self) -> None:
        """Stop cleanly on SIGTERM (plugins deactivated, storage closed) as on Ctrl-C; an active bot of a
        standby pair hands over first, so that the standby takes over while this one shuts down."""

        def _stop(signum, frame):  # noqa: ARG001
            if self.leadership is not None:
                self.leadership.release()  # a standby's wait() is left alone (it may be using the connection)
            raise KeyboardInterrupt

        try:
            signal.signal(signal.SIGTERM, _stop)
        except ValueError:  # not the main thread (e.g. a test harness): keep the default
            pass

    def serve_forever(self) -> None:
        self._install_sigterm()
        super().serve_forever()

    def build_identifier(self, text_representation: str):
        return parse_identifier(text_representation, backend=self)

    def query_room(self, room: str) -> Room:
        return parse_room(room, backend=self)

    def rooms(self) -> list[Room]:
        subs = self.rest.get("subscriptions.get").get("update", [])
        return [
            RocketChatRoom(s["rid"], s.get("name"), s.get("t"), backend=self) for s in subs if s.get("t") in ("c", "p")
        ]

    def change_presence(self, status: str = "online", message: str = "") -> None:
        log.debug("Presence changes are not supported on Rocket.Chat bots; ignoring %s", status)

    def prefix_groupchat_reply(self, message: Message, identifier) -> None:
        message.body = f"@{identifier.nick} {message.body}"

    def is_from_self(self, msg: Message) -> bool:
        return bool(self._user_id) and getattr(msg.frm, "userid", None) == self._user_id

    def build_reply(self, msg: Message, text: str = None, private: bool = False, threaded: bool = False) -> Message:
        """Replies to a message in an Omnichannel room always go privately to its author: the
        visitor's widget shows every regular message of the room."""
        response = self.build_message(text)
        response.frm = self.bot_identifier
        response.parent = msg
        private = private or bool(msg.extras.get("omnichannel"))
        if msg.is_direct or private:
            person = msg.frm
            response.to = RocketChatPerson(person.username, person.userid, getattr(person, "fullname", None))
        else:
            response.to = msg.frm.room
        response.extras["threaded"] = threaded
        return response

    # -- connection --------------------------------------------------------------
    def _await_leadership(self) -> None:
        """A standby waits here, before logging in; the new leader catches up from where the last one stood."""
        gate = self.leadership
        if gate is None:
            return
        self.rest.gate = gate.require
        gate.progress = lambda: rest_iso(self._last_ts) if self._last_ts else None
        resume = gate.wait()
        if resume and self._last_ts is None:
            self._last_ts = parse_date(resume)
            self._takeover = True  # the catch-up also reads the chats closed since: no bot was there to see them

    def serve_once(self) -> bool:
        self._await_leadership()
        try:
            me = self._login()
        except AuthenticationError:
            who = self._username or self._pat_user_id
            hint = "ROCKETCHAT_USER/ROCKETCHAT_PASSWORD" if self._username else "ROCKETCHAT_USER_ID/ROCKETCHAT_TOKEN"
            log.error(
                "Rocket.Chat refused the bot's credentials for %s at %s: check %s. Not retrying.",
                who,
                self._server,
                hint,
            )
            self.probe_health.login_failed(f"Rocket.Chat refused the bot's credentials (check {hint})")
            return True
        except RestError as exc:
            self.probe_health.login_failed(f"cannot log in to Rocket.Chat: {exc.error}")
            log.warning(
                "Cannot log in to Rocket.Chat at %s: %s; retrying in %d s", self._server, exc.error, self._retry_in()
            )
            return False
        self.probe_health.logged_in()
        self._sees_all_livechat = bool(LIVECHAT_VIEWERS & set(me.get("roles") or []))
        # A queue per connection: a stale end-of-connection marker can never end the next one.
        events: queue.Queue = queue.Queue()
        realtime = RealtimeClient(self._server, events, silence_timeout=self._silence_timeout)
        try:
            realtime.connect()
            realtime.login(self.rest.auth_token or "")
            realtime.subscribe_room("__my_messages__")
            for rid in sorted(self._followed) if not self._sees_all_livechat else ():
                try:
                    realtime.subscribe_room(rid)
                except RealtimeError as exc:
                    log.warning("No longer following room %s: %s", rid, exc)
                    self._followed.discard(rid)
        except (RealtimeError, OSError, Exception) as exc:  # noqa: BLE001 - any failure means retry later
            log.warning("Realtime connection to %s failed: %s; retrying in %d s", self._server, exc, self._retry_in())
            realtime.close()
            self.probe_health.disconnected(f"the realtime connection failed: {exc}")
            return False
        self._realtime = realtime
        self.bot_identifier = RocketChatPerson(me["username"], me["_id"], me.get("name"))
        self._read_size_limit()
        self._remember_subscriptions()
        self.reset_reconnection_count()
        catching_up = self._last_ts is not None
        self.connection.up()  # before the plugins are activated: they read the outage just ended
        self.probe_health.connected(realtime)
        try:
            self.connect_callback()
            log.info("Connected to Rocket.Chat at %s as @%s", self._server, me["username"])
            if catching_up:
                self._catch_up()
            else:
                self._last_ts = dt.datetime.now(dt.timezone.utc)
            self._drain_until_closed(events)
        except KeyboardInterrupt:
            log.info("Interrupt received, shutting down..")
            return True
        finally:
            realtime.close()
            self._realtime = None
            self.probe_health.disconnected(realtime.close_reason or "disconnected from Rocket.Chat")
            self.connection.down()
            self.disconnect_callback()
        log.info("Disconnected from Rocket.Chat; reconnecting")
        return False

    def _login(self) -> dict:
        """Reuse a still-valid session on reconnect (`/login` is rate-limited per IP); else log in."""
        if self._username:
            me = None
            if self.rest.auth_token:
                try:
                    me = self.rest.get("me")
                except AuthenticationError:
                    self.rest.set_credentials(None, None)
            if me is None:
                data = self.rest.login(self._username, self._password)
                me = data.get("me") or self.rest.get("me")
        else:
            self.rest.set_credentials(self._pat_user_id, self._pat_token)
            me = self.rest.get("me")
        self._user_id = me["_id"]
        return me

    def _drain_until_closed(self, events: queue.Queue) -> None:
        while True:
            item = events.get()
            if item is CLOSED:
                return
            _, payload, meta = item
            self.probe_health.dispatching(True)
            try:
                self._handle(payload, meta)
            finally:
                self.probe_health.dispatching(False)

    def _handle(self, payload: dict, meta: dict) -> bool:
        """Dispatch one payload unless already seen; True when it was new."""
        ts = parse_date(payload.get("ts"))
        if not payload.get("_id") or not self._seen.add(payload["_id"]):
            return False
        if ts and (self._last_ts is None or ts > self._last_ts):
            self._last_ts = ts
        if "roomType" not in meta:  # a followed room's stream carries no meta
            rid = payload.get("rid")
            known = self._room_info.get(rid, (None, None))[1]
            meta = {**meta, "roomType": known or ("l" if rid in self._followed else None), "roomParticipant": True}
        try:
            found = classify(payload, meta, self._user_id, backend=self)
        except Exception:  # noqa: BLE001 - one odd payload must not end the connection
            log.exception("Could not read a Rocket.Chat message")
            return True
        self.probe_health.event(
            "other" if found is None else "message" if found.kind == "message" else found.event.kind
        )
        if found is not None:
            try:
                if found.kind == "message":
                    self.callback_message(found.message)
                else:
                    self._dispatch_omnichannel(found.event)
            except Exception:  # noqa: BLE001 - a failing handler must not drop the connection
                log.exception("Handling Rocket.Chat message %s failed", payload["_id"])
        return True

    def health(self) -> dict[str, Any]:
        """For a plugin's probes and metrics (see rc_health.py): logged in, realtime stream live or why not,
        reconnects, realtime events by kind, and the reader's and dispatcher's progress."""
        return self.probe_health.snapshot()

    def _dispatch_omnichannel(self, event) -> None:
        for plugin in self.plugin_manager.get_all_active_plugins():
            handler = getattr(plugin, "callback_omnichannel", None)
            if handler is None:
                continue
            try:
                handler(event)
            except Exception:  # noqa: BLE001
                log.exception("callback_omnichannel on %s crashed", plugin.name)

    def _catch_up(self) -> None:
        """Fetch what was posted while disconnected, oldest first, from the rooms that had activity
        since: the bot's subscriptions updated since (`updatedSince`) and the open Omnichannel rooms
        updated since; the cost follows what happened while away, not how many rooms exist."""
        since = (self._last_ts or dt.datetime.now(dt.timezone.utc)) - CATCH_UP_MARGIN
        iso = since.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        rooms: dict[str, str | None] = {}
        try:
            for sub in self.rest.get("subscriptions.get", {"updatedSince": iso}).get("update", []):
                rooms[sub["rid"]] = sub.get("t")
        except RestError as exc:
            log.warning("Could not list the rooms updated while disconnected: %s", exc.error)
            rooms.update({rid: info[1] for rid, info in self._room_info.items()})
        try:
            active = self.omnichannel.open_rooms(updated_since=since)
            if self._takeover:  # a command typed in a chat that closed before any bot was active
                active += self.omnichannel.closed_rooms(since)
            rooms.update({room.id: "l" for room in active if self._sees_all_livechat or room.id in self._followed})
        except RestError as exc:
            log.warning("Could not list the Omnichannel rooms updated while disconnected: %s", exc.error)
            rooms.update({rid: "l" for rid in self._followed})
        self._takeover = False
        missed: list[tuple[dt.datetime, dict, dict]] = []
        for rid, rtype in rooms.items():
            try:
                body = self.rest.get("chat.syncMessages", {"roomId": rid, "lastUpdate": iso})
            except RestError as exc:
                log.warning("Could not fetch missed messages of %s: %s", rid, exc.error)
                continue
            for m in (body.get("result") or {}).get("updated") or []:
                ts = parse_date(m.get("ts"))
                if ts and ts >= since:
                    missed.append((ts, m, {"roomType": rtype, "roomParticipant": True}))
        missed.sort(key=lambda item: item[0])
        new = sum(self._handle(payload, meta) for _, payload, meta in missed)
        log.info("Caught up after reconnecting: %d message(s) posted while disconnected in %d room(s)", new, len(rooms))

    def _remember_subscriptions(self) -> None:
        try:
            subs = self.rest.get("subscriptions.get").get("update", [])
        except RestError as exc:
            log.warning("Could not list the bot's rooms: %s", exc.error)
            return
        with self._lock:
            for s in subs:
                self._room_info[s["rid"]] = (s.get("name"), s.get("t"))
                if s.get("t") == "d" and s.get("name"):
                    self._dm_rooms.setdefault(s["name"], s["rid"])

    def _read_size_limit(self) -> None:
        # `GET settings.public?_id=A,B` (apps/meteor/app/api/server/v1/settings.ts, RC 6+);
        # `Message_MaxAllowedSize` is a public setting (server/settings/message.ts), 5000 by default.
        try:
            body = self.rest.get("settings.public", {"_id": "Message_MaxAllowedSize"})
            for setting in body.get("settings", []):
                if setting.get("_id") == "Message_MaxAllowedSize" and int(setting.get("value") or 0) > 0:
                    self._size_limit = int(setting["value"])
        except (RestError, ValueError, TypeError):
            log.debug("Message_MaxAllowedSize not readable; using %d", self._size_limit)

    # -- following Omnichannel rooms -------------------------------------------------
    def _follow(self, room_id: str) -> None:
        self._followed.add(room_id)
        realtime = self._realtime
        if realtime is not None and realtime.alive and not self._sees_all_livechat:
            realtime.subscribe_room(room_id)

    def follows_needed(self) -> bool:
        """False when `__my_messages__` already carries every Omnichannel room (a livechat-manager bot)."""
        return not self._sees_all_livechat

    def _unfollow(self, room_id: str) -> None:
        self._followed.discard(room_id)
        realtime = self._realtime
        if realtime is not None and realtime.alive and not self._sees_all_livechat:
            realtime.unsubscribe_room(room_id)

    # -- rooms and names -------------------------------------------------------------
    def room_id_for_name(self, name: str) -> str:
        with self._lock:
            for rid, (rname, _t) in self._room_info.items():
                if rname == name:
                    return rid
        room = self.rest.get("rooms.info", {"roomName": name})["room"]
        with self._lock:
            self._room_info[room["_id"]] = (room.get("name"), room.get("t"))
        return room["_id"]

    def room_name_for_id(self, rid: str) -> str | None:
        with self._lock:
            if rid in self._room_info:
                return self._room_info[rid][0]
        try:
            room = self.rest.get("rooms.info", {"roomId": rid})["room"]
        except (RestError, KeyError):
            return None
        with self._lock:
            self._room_info[rid] = (room.get("name"), room.get("t"))
        return room.get("name")

    def _dm_room(self, username: str) -> str:
        with self._lock:
            rid = self._dm_rooms.get(username)
        if rid:
            return rid
        rid = self.rest.post("im.create", {"username": username})["room"]["_id"]
        with self._lock:
            self._dm_rooms[username] = rid
            self._room_info[rid] = (None, "d")
        return rid

    def _target(self, identifier) -> str:
        """Room id for a send; an occupant of an Omnichannel room is written to privately."""
        if isinstance(identifier, RocketChatRoomOccupant):
            if identifier.room.omnichannel:
                return self._dm_room(identifier.username)
            return identifier.room.resolve_id()
        if isinstance(identifier, RocketChatRoom):
            return identifier.resolve_id()
        if isinstance(identifier, (RocketChatPerson, Person)):
            return self._dm_room(
                identifier.username if isinstance(identifier, RocketChatPerson) else str(identifier).lstrip("@")
            )
        if isinstance(identifier, RoomOccupant):
            return self._target(identifier.room)
        raise ValueError(f"cannot send to {identifier!r}")

    @staticmethod
    def _thread_of(msg: Message, rid: str) -> str | None:
        parent = msg.parent
        if parent is None or parent.extras.get("room_id") != rid:
            return None
        if parent.extras.get("thread_id"):
            return parent.extras["thread_id"]
        if msg.extras.get("threaded"):
            return parent.extras.get("message_id")
        return None

    # -- sending -----------------------------------------------------------------------
    # A plugin may name a message (`extras["client_id"]`): its Rocket.Chat id is derived from that name, so
    # the same message sent again (by a standby that took over, or a retry) is refused as already posted.
    def send_message(self, msg: Message) -> None:
        super().send_message(msg)
        rid = self._target(msg.to)
        tmid = self._thread_of(msg, rid)
        name = msg.extras.get("client_id")
        for i, chunk in enumerate(split_body(to_rocketchat(msg.body), self._size_limit)):
            self._post(rid, {"msg": chunk}, tmid, f"{name}#{i}" if name else None)

    def send_card(self, card) -> None:
        rid = self._target(card.to)
        tmid = self._thread_of(card, rid)
        name = card.extras.get("client_id")
        self._post(rid, {"msg": "", "attachments": [card_attachment(card)]}, tmid, name)

    def _post(self, rid: str, fields: dict[str, Any], tmid: str | None, name: str | None = None) -> dict:
        message = {"_id": derived_message_id(name) if name else new_message_id(), "rid": rid, **fields}
        if tmid:
            message["tmid"] = tmid
        try:
            return self.rest.post("chat.sendMessage", {"message": message}, retry_transient=True)
        except RestError as exc:
            # Rocket.Chat does not insert an _id twice, and its answer to the second try is no clean success
            if name and (exc.error_type == ALREADY_POSTED or self._posted(message["_id"])):
                log.info("Message %s in %s was already posted; not posting it again", message["_id"], rid)
                return {}
            raise

    def _posted(self, msg_id: str) -> bool:
        try:
            return bool(self.rest.get("chat.getMessage", {"msgId": msg_id}).get("message"))
        except RestError:
            return False

    # -- lifecycle --------------------------------------------------------------------
    def _retry_in(self) -> float:
        """Seconds until Errbot's reconnect loop tries again (its back-off before the jitter)."""
        return float(getattr(self, "_reconnection_delay", 0))

    def shutdown(self) -> None:
        self.connection.close()
        realtime = self._realtime
        if realtime is not None:
            realtime.close()
        super().shutdown()
