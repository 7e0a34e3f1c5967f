"""Fixtures that run the real bot process (`errbot -c config.py`) against the simulators.

`start_bot(rc_url, username, password, extra_env=None, data_dir=None)` returns a running
`simulators.launch.ChildProcess` once the bot logged "Connected to Rocket.Chat"; every bot started
through the fixture is stopped at teardown. `bot.output()` is its whole log (stdout).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from simulators.launch import ROOT, ChildProcess

ERRBOT = str(Path(sys.executable).with_name("errbot"))
CONNECTED = "Connected to Rocket.Chat"


def bot_env(rc_url: str, username: str, password: str, data_dir: str, extra_env: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKETCHAT_", "SALESFORCE_", "BOT_"))}
    env.update(
        ROCKETCHAT_URL=rc_url,
        ROCKETCHAT_USER=username,
        ROCKETCHAT_PASSWORD=password,
        BOT_DATA_DIR=data_dir,
        BOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    return env


def launch_bot(env: dict, wait_for: str | None = CONNECTED, timeout: float = 60.0) -> ChildProcess:
    bot = ChildProcess([ERRBOT, "-c", str(ROOT / "config.py")], env=env)
    if wait_for:
        try:
            bot.wait_for_line(wait_for, timeout)
        except BaseException:
            bot.stop()
            raise
    return bot


@pytest.fixture
def start_bot(tmp_path_factory):
    """Factory: start the real bot; all of them are stopped when the test ends."""
    started: list[ChildProcess] = []

    def _start(rc_url, username="salesforce-bot", password="bot-pass", extra_env=None, data_dir=None, wait_for=CONNECTED):
        data_dir = data_dir or str(tmp_path_factory.mktemp("bot-data"))
        bot = launch_bot(bot_env(rc_url, username, password, data_dir, extra_env), wait_for)
        started.append(bot)
        return bot

    yield _start
    for bot in started:
        bot.stop()
