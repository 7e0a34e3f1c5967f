"""Play the other people of a Rocket.Chat workspace through its own API only (REST + realtime):
visitors on the website widget, agents and managers in Omnichannel, admins. Tests and the demo
use this against the simulator; it would work the same against a real server.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
import websocket


class ApiFailure(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


class _Rest:
    """REST with the auth headers, waiting out 429s like a polite client."""

    def __init__(self, server: str):
        self.server = server.rstrip("/")
        self.http = requests.Session()
        self.http.trust_env = False
        self.headers: dict[str, str] = {}

    def call(
        self,
        method: str,
        endpoint: str,
        body: dict | None = None,
        params: dict | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> dict:
        for _ in range(20):
            resp = self.http.request(
                method, f"{self.server}/api/v1/{endpoint}", json=body, params=params, headers=self.headers, timeout=15
            )
            if resp.status_code == 429:
                reset = float(resp.headers.get("X-RateLimit-Reset", time.time() * 1000 + 1000))
                time.sleep(min(max(reset / 1000 - time.time(), 0.05), 61))
                continue
            data = resp.json() if resp.content else {}
            if resp.status_code not in ok:
                raise ApiFailure(resp.status_code, data)
            return data
        raise ApiFailure(429, "still rate-limited")


class Stream:
    """A realtime connection collecting `stream-room-messages` events; answers the server's pings."""

    def __init__(self, server: str):
        self.url = server.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/websocket"
        self.ws = websocket.create_connection(self.url, timeout=15)
        self.ws.settimeout(None)  # the server pings only after 30 s of silence: a read timeout would end the stream
        self.messages: list[tuple[dict, dict]] = []
        self._results: dict[str, dict] = {}
        self._cond = threading.Condition()
        self._ids = 0
        self._send({"msg": "connect", "version": "1", "support": ["1"]})
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _send(self, frame: dict) -> None:
        self.ws.send(json.dumps(frame))

    def _read(self) -> None:
        try:
            while True:
                frame = json.loads(self.ws.recv())
                kind = frame.get("msg")
                if kind == "ping":
                    self._send({"msg": "pong"})
                with self._cond:
                    if kind in ("result", "nosub") or kind == "ready":
                        for key in frame.get("subs", [frame.get("id")]):
                            self._results[str(key)] = frame
                    elif kind == "changed" and frame.get("collection") == "stream-room-messages":
                        args = frame["fields"]["args"]
                        self.messages.append((args[0], args[1] if len(args) > 1 else {}))
                    self._cond.notify_all()
        except Exception:  # noqa: BLE001 - the socket closed
            with self._cond:
                self._cond.notify_all()

    def request(self, frame: dict, timeout: float = 15) -> dict:
        with self._cond:
            self._ids += 1
            key = frame.setdefault("id", f"r{self._ids}")
        self._send(frame)
        with self._cond:
            if not self._cond.wait_for(lambda: key in self._results, timeout):
                raise TimeoutError(f"no answer to {frame.get('method') or frame.get('name')}")
            return self._results.pop(key)

    def login(self, token: str) -> dict:
        return self.request({"msg": "method", "method": "login", "params": [{"resume": token}]})

    def follow(self, room: str = "__my_messages__", visitor_token: str | None = None) -> dict:
        # The livechat widget passes its token as Rocket.Chat's livechat client does.
        params: list = (
            [room, {"useCollection": False, "args": [{"token": visitor_token}]}] if visitor_token else [room, False]
        )
        return self.request({"msg": "sub", "name": "stream-room-messages", "params": params})

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 20.0, since: int = 0) -> dict:
        """The first message (from index `since`) matching `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message, _meta in self.messages[since:]:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no matching message within {timeout} s; saw {[m.get('msg') for m, _ in self.messages[-10:]]}"
                    )
                self._cond.wait(remaining)

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass


class User:
    """A Rocket.Chat user logged in over REST, with a realtime stream of its messages."""

    def __init__(self, server: str, username: str, password: str, stream: bool = True):
        self.rest = _Rest(server)
        data = self.rest.call("POST", "login", {"user": username, "password": password})["data"]
        self.user_id, self.token, self.username = data["userId"], data["authToken"], username
        self.rest.headers = {"X-Auth-Token": self.token, "X-User-Id": self.user_id}
        self.stream: Stream | None = None
        if stream:
            self.stream = Stream(server)
            self.stream.login(self.token)
            self.stream.follow("__my_messages__")
        self._dms: dict[str, str] = {}

    def dm(self, username: str) -> str:
        if username not in self._dms:
            self._dms[username] = self.rest.call("POST", "im.create", {"username": username})["room"]["_id"]
        return self._dms[username]

    def send(self, rid: str, text: str, tmid: str | None = None) -> dict:
        message = {"_id": uuid.uuid4().hex[:17], "rid": rid, "msg": text}
        if tmid:
            message["tmid"] = tmid
        return self.rest.call("POST", "chat.sendMessage", {"message": message})["message"]

    def say_to(self, username: str, text: str) -> dict:
        return self.send(self.dm(username), text)

    def mark(self) -> int:
        """Index to wait from: only messages arriving after this call count."""
        return len(self.stream.messages) if self.stream else 0

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 20.0, since: int = 0) -> dict:
        assert self.stream is not None
        return self.stream.wait_for(predicate, timeout, since)

    def wait_for_reply(
        self, rid: str, from_username: str, since: int, timeout: float = 20.0, contains: str | None = None
    ) -> dict:
        return self.wait_for(
            lambda m: (
                m.get("rid") == rid
                and m.get("u", {}).get("username") == from_username
                and not m.get("t")
                and (contains is None or contains in _text_of(m))
            ),
            timeout,
            since,
        )

    def close(self) -> None:
        if self.stream:
            self.stream.close()


def _text_of(message: dict) -> str:
    parts = [message.get("msg") or ""]
    for att in message.get("attachments") or []:
        parts += [att.get("title") or "", att.get("text") or ""]
        parts += [f"{f.get('title')}: {f.get('value')}" for f in att.get("fields") or []]
    return "\n".join(parts)


text_of = _text_of


class Agent(User):
    """An Omnichannel agent (or manager) who goes online, takes, forwards and closes chats."""

    def go_online(self) -> None:
        self.rest.call("POST", "livechat/agent.status", {"status": "available"})

    def queued(self) -> list[dict]:
        return self.rest.call("GET", "livechat/inquiries.queued")["inquiries"]

    def take(self, rid: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            inquiry = next((i for i in self.queued() if i["rid"] == rid), None)
            if inquiry:
                return self.rest.call("POST", "livechat/inquiries.take", {"inquiryId": inquiry["_id"]})["inquiry"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"room {rid} never queued")
            time.sleep(0.2)

    def forward(self, rid: str, to_user_id: str, comment: str = "") -> None:
        self.rest.call("POST", "livechat/room.forward", {"roomId": rid, "userId": to_user_id, "comment": comment})

    def close_chat(self, rid: str, comment: str = "", tags: list[str] | None = None) -> None:
        body: dict = {"rid": rid, "comment": comment}
        if tags is not None:
            body["tags"] = tags
        self.rest.call("POST", "livechat/room.closeByUser", body)


class Admin(User):
    def create_user(
        self,
        username: str,
        password: str,
        roles: list[str] | None = None,
        name: str | None = None,
        email: str | None = None,
        verified: bool = True,
    ) -> dict:
        return self.rest.call(
            "POST",
            "users.create",
            {
                "username": username,
                "password": password,
                "name": name or username,
                "email": email or f"{username}@example.com",
                "roles": roles or ["user"],
                "verified": verified,
            },
        )["user"]

    def create_department(self, name: str) -> dict:
        body = {"department": {"enabled": True, "name": name, "showOnRegistration": True, "email": ""}}
        return self.rest.call("POST", "livechat/department", body)["department"]

    def create_custom_field(self, key: str, scope: str = "visitor", label: str | None = None) -> dict:
        """An Omnichannel custom field (Omnichannel > Custom Fields); SCOPE "visitor" or "room"."""
        data = {"field": key, "label": label or key, "scope": scope, "visibility": "visible", "regexp": ""}
        return self.rest.call("POST", "livechat/custom-fields.save", {"customFieldId": None, "customFieldData": data})[
            "customField"
        ]

    def make_agent(self, username: str) -> None:
        self.rest.call("POST", "livechat/users/agent", {"username": username})

    def make_manager(self, username: str) -> None:
        self.rest.call("POST", "livechat/users/manager", {"username": username})

    def create_channel(self, name: str, members: list[str]) -> dict:
        return self.rest.call("POST", "channels.create", {"name": name, "members": members})["channel"]

    def token_for(self, username: str) -> dict:
        return self.rest.call("POST", "users.createToken", {"username": username})["data"]


class Visitor:
    """A website visitor using the livechat widget's API (no account, a token)."""

    def __init__(
        self,
        server: str,
        name: str,
        email: str | None = None,
        phone: str | None = None,
        token: str | None = None,
        department: str | None = None,
        custom: dict[str, str] | None = None,
    ):
        """DEPARTMENT: a department's id or name; CUSTOM: custom field key -> value, sent as the widget's
        `customFields` (kept only for keys an admin defined as visitor custom fields)."""
        self.server = server
        self.rest = _Rest(server)
        self.token = token or uuid.uuid4().hex
        body: dict = {"token": self.token, "name": name, "email": email, "phone": phone, "department": department}
        if custom:
            body["customFields"] = [{"key": k, "value": v, "overwrite": True} for k, v in custom.items()]
        self.visitor = self.rest.call("POST", "livechat/visitor", {"visitor": {k: v for k, v in body.items() if v}})[
            "visitor"
        ]
        self.rid: str | None = None
        self.stream: Stream | None = None

    def open_chat(self) -> str:
        self.rid = self.rest.call("GET", "livechat/room", params={"token": self.token})["room"]["_id"]
        self.stream = Stream(self.server)
        self.stream.follow(self.rid, visitor_token=self.token)
        return self.rid

    def set_custom_field(self, key: str, value: str, overwrite: bool = True) -> dict:
        """`livechat/custom.field`: a visitor field on the visitor, a room field on its open chat."""
        body = {"token": self.token, "key": key, "value": value, "overwrite": overwrite}
        return self.rest.call("POST", "livechat/custom.field", body)["field"]

    def say(self, text: str) -> dict:
        return self.rest.call("POST", "livechat/message", {"token": self.token, "rid": self.rid, "msg": text})[
            "message"
        ]

    def history(self) -> list[dict]:
        """Everything the widget shows: every message of the room."""
        return self.rest.call("GET", f"livechat/messages.history/{self.rid}", params={"token": self.token})["messages"]

    def close_chat(self) -> None:
        self.rest.call("POST", "livechat/room.close", {"rid": self.rid, "token": self.token})

    def close(self) -> None:
        if self.stream:
            self.stream.close()
