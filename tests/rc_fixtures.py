"""Rocket.Chat-side fixtures: the loopback server and the people who use it.

- `start_rc_sim(seed="demo", extra_args=())` (factory): a running `python -m simulators.rocketchat`,
  stopped at teardown; `rc_sim` (module): one demo-seeded server.
- A handle has `.url`, `.admin` (user, password), `.calls()`, `.reset_calls()`, `.drop_websockets()`,
  `.stall_websockets(seconds)`, `.fail(route, status, count=None, seconds=None, user=None)`, `.clear_faults()`, `.refuse_logins(seconds)`,
  `.room_messages(rid)`, `.set_setting(id, value)`, `.stop()`, and `.user(name)`, `.agent(name)`,
  `.admin_user()`, `.visitor(name, email, phone, department, custom)` that build `simulators.rocketchat.people` actors (closed at teardown).
Demo passwords: agents alice/bob `agent-pass`, manager maria `manager-pass`, carol `user-pass`,
bot salesforce-bot `bot-pass`.
"""

from __future__ import annotations

import pytest
import requests

from simulators.launch import Simulator
from simulators.rocketchat import people as rc_people

ADMIN = ("admin", "admin-pass")
PASSWORDS = {
    "alice": "agent-pass",
    "bob": "agent-pass",
    "maria": "manager-pass",
    "carol": "user-pass",
    "salesforce-bot": "bot-pass",
    "admin": "admin-pass",
}


class RocketChatSim:
    def __init__(self, seed: str = "demo", extra_args: tuple[str, ...] = ()):
        self.process = Simulator(
            "simulators.rocketchat", ["--port", "0", "--admin", ":".join(ADMIN), "--seed", seed, *extra_args]
        )
        self.url = self.process.url
        self.admin = ADMIN
        self.http = requests.Session()
        self.http.trust_env = False
        self._actors: list = []

    def _post(self, path: str, body: dict | None = None) -> dict:
        resp = self.http.post(self.url + path, json=body or {}, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def calls(self) -> dict[str, int]:
        return self.http.get(self.url + "/_sim/calls", timeout=10).json()["calls"]

    def reset_calls(self) -> None:
        self._post("/_sim/calls")

    def open_chats(self, count: int, agent: str, age_seconds: float = 0) -> list[str]:
        """COUNT open chats already served by AGENT, made without system messages, last updated AGE_SECONDS ago."""
        return self._post("/_sim/open-chats", {"count": count, "agent": agent, "age_seconds": age_seconds})["rooms"]

    def drop_websockets(self) -> int:
        return self._post("/_sim/drop-websockets")["dropped"]

    def stall_websockets(self, seconds: float) -> None:
        """The realtime streams go silent both ways, and new websockets are refused (503), for SECONDS."""
        self._post("/_sim/stall-websockets", {"seconds": seconds})

    def fail(
        self, route: str, status: int, count: int | None = None, seconds: float | None = None, user: str | None = None
    ) -> None:
        self._post("/_sim/fail", {"route": route, "status": status, "count": count, "seconds": seconds, "user": user})

    def clear_faults(self) -> None:
        self.http.delete(self.url + "/_sim/fail", timeout=10).raise_for_status()

    def refuse_logins(self, seconds: float) -> None:
        self._post("/_sim/refuse-logins", {"seconds": seconds})

    def room_messages(self, rid: str) -> list[dict]:
        return self.http.get(self.url + f"/_sim/rooms/{rid}/messages", timeout=10).json()["messages"]

    def set_setting(self, setting_id: str, value) -> None:
        self._post("/_sim/settings", {"_id": setting_id, "value": value})

    def _keep(self, actor):
        self._actors.append(actor)
        return actor

    def user(self, name: str, stream: bool = True) -> rc_people.User:
        return self._keep(rc_people.User(self.url, name, PASSWORDS[name], stream))

    def agent(self, name: str) -> rc_people.Agent:
        agent = self._keep(rc_people.Agent(self.url, name, PASSWORDS[name]))
        agent.go_online()
        return agent

    def admin_user(self) -> rc_people.Admin:
        return self._keep(rc_people.Admin(self.url, *ADMIN))

    def visitor(
        self,
        name: str,
        email: str | None = None,
        phone: str | None = None,
        department: str | None = None,
        custom: dict[str, str] | None = None,
    ) -> rc_people.Visitor:
        return self._keep(rc_people.Visitor(self.url, name, email, phone, department=department, custom=custom))

    def close_actors(self) -> None:
        for actor in self._actors:
            actor.close()
        self._actors.clear()

    def stop(self) -> None:
        self.close_actors()
        self.process.stop()


@pytest.fixture
def start_rc_sim():
    started: list[RocketChatSim] = []

    def _start(seed: str = "demo", extra_args: tuple[str, ...] = ()) -> RocketChatSim:
        sim = RocketChatSim(seed, extra_args)
        started.append(sim)
        return sim

    yield _start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="module")
def rc_sim():
    sim = RocketChatSim("demo")
    yield sim
    sim.stop()
