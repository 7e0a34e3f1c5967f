"""The whole product for real: both simulators (demo seeds) and the real bot with the Salesforce plugin.

`Stack(sf_keys, data_dir, extra_env, sf_profiles, rc_args)`; `rc_args` are more options of the Rocket.Chat simulator.
`stack` (module): `.rc` (tests.rc_fixtures.RocketChatSim), `.sf` (tests.sf_fixtures.SalesforceSim),
`.bot` (the running `errbot -c config.py`), `.restart_bot()` (same data directory), `.kill_bot()` (SIGKILL)
and `.start_bot()`, `.env`,
and `.ask(user, rid, text, contains)` to read the bot's private answer; `wait_until(check)` polls;
`alice` (module): agent alice, online.
"""

from __future__ import annotations

import time

import pytest

from rc_fixtures import RocketChatSim
from sf_fixtures import SalesforceSim
from simulators.harness import bot_env, launch_bot, salesforce_env
from simulators.rocketchat.people import Agent, User

BOT = "salesforce-bot"


def wait_until(check, timeout: float = 30.0, what: str = "condition"):
    """Poll CHECK until it returns something truthy (what the bot does happens in its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


class Stack:
    def __init__(
        self,
        sf_keys,
        data_dir: str,
        extra_env: dict | None = None,
        sf_profiles: tuple[str, ...] = (),
        rc_args: tuple[str, ...] = (),
    ):
        # Everyone here shares 127.0.0.1, where real people each have an address of their own: the per-IP
        # limiter is off (the bot is exempt anyway; tests/test_rc_sim_fidelity.py covers the limiter).
        self.rc = RocketChatSim("demo", ("--rate-limit", "0", *rc_args))
        try:
            self.sf = SalesforceSim(sf_keys, seed="demo", profiles=sf_profiles)
        except Exception:
            self.rc.stop()
            raise
        self.data_dir = data_dir
        self.env = bot_env(
            self.rc.url,
            BOT,
            "bot-pass",
            data_dir,
            {
                "BOT_ADMINS": "admin",
                **salesforce_env(
                    self.sf.url, self.sf.consumer_key, self.sf.username, str(self.sf.key_path), self.sf.ca_cert
                ),
                **(extra_env or {}),
            },
        )
        try:
            self.bot = launch_bot(self.env, wait_for="Connected to Rocket.Chat")
        except Exception:
            self.rc.stop()
            self.sf.stop()
            raise

    def restart_bot(self) -> None:
        self.bot.stop()
        self.bot = launch_bot(self.env, wait_for="Connected to Rocket.Chat")

    def kill_bot(self) -> None:
        """SIGKILL the bot (no shutdown code runs); `start_bot` brings it back on the same data."""
        self.bot.kill()

    def start_bot(self) -> None:
        self.bot = launch_bot(self.env, wait_for="Connected to Rocket.Chat")

    def ask(self, user: User, rid: str, text: str, contains: str | None = None, timeout: float = 20.0) -> dict:
        """Send TEXT into RID; the bot's first private answer (its DM with USER) containing CONTAINS."""
        mark = user.mark()
        user.send(rid, text)
        try:
            return user.wait_for_reply(user.dm(BOT), BOT, mark, timeout=timeout, contains=contains)
        except TimeoutError as exc:
            tail = "\n".join(self.bot.output().splitlines()[-40:])
            raise TimeoutError(f"{exc}\n--- the bot's last log lines ---\n{tail}") from None

    def stop(self) -> None:
        self.bot.stop()
        self.rc.stop()
        self.sf.stop()


@pytest.fixture(scope="module")
def stack(sf_keys, tmp_path_factory):
    s = Stack(sf_keys, str(tmp_path_factory.mktemp("bot-data")))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def alice(stack):
    """Agent alice, online, on the module's stack."""
    agent = Agent(stack.rc.url, "alice", "agent-pass")
    agent.go_online()
    yield agent
    agent.close()
