"""Fixtures that run the real bot process (`errbot -c config.py`) against the simulators.

`start_bot(rc_url, username, password, extra_env=None, data_dir=None)` returns a running
`simulators.launch.ChildProcess` once the bot logged "Connected to Rocket.Chat"; every bot started
through the fixture is stopped at teardown. `bot.output()` is its whole log (stdout).
"""

from __future__ import annotations

import pytest

from simulators.harness import CONNECTED, bot_env, launch_bot  # noqa: F401  (re-exported for the tests)
from simulators.launch import ChildProcess


@pytest.fixture
def start_bot(tmp_path_factory):
    """Factory: start the real bot; all of them are stopped when the test ends."""
    started: list[ChildProcess] = []

    def _start(
        rc_url, username="salesforce-bot", password="bot-pass", extra_env=None, data_dir=None, wait_for=CONNECTED
    ):
        data_dir = data_dir or str(tmp_path_factory.mktemp("bot-data"))
        bot = launch_bot(bot_env(rc_url, username, password, data_dir, extra_env), wait_for)
        started.append(bot)
        return bot

    yield _start
    for bot in started:
        bot.stop()
