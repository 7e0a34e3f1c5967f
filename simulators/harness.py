"""The one place that builds the real bot's environment and starts it against the simulators:
the tests (`tests/bot_fixtures.py`, `tests/plugin_fixtures.Stack`), the demo (`demo/stack.py`) and
the benchmarks all go through here, so an added setting reaches all three at once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from simulators.launch import ROOT, ChildProcess

ERRBOT = str(Path(sys.executable).with_name("errbot"))
CONNECTED = "Connected to Rocket.Chat"


def bot_env(rc_url: str, username: str, password: str, data_dir: str, extra_env: dict | None = None) -> dict[str, str]:
    """This process's environment without any ROCKETCHAT_/SALESFORCE_/BOT_ setting, then the bot's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ROCKETCHAT_", "SALESFORCE_", "BOT_")) and k not in ("STATE_URL", "LEASE_CHECK_SECONDS")
    }
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


def salesforce_env(
    auth_base_url: str,
    consumer_key: str,
    username: str,
    key_path: str,
    ca_bundle: str,
    poll_seconds: int | str = 2,
    **more: str,
) -> dict[str, str]:
    """The plugin's defaults for a loopback org (`SALESFORCE_<KEY>`), as an operator would set them."""
    env = {
        "SALESFORCE_CONSUMER_KEY": consumer_key,
        "SALESFORCE_USERNAME": username,
        "SALESFORCE_AUTH_URL": f"{auth_base_url}/services/oauth2/token",
        "SALESFORCE_AUDIENCE": "https://login.salesforce.com",
        "SALESFORCE_PRIVATE_KEY_FILE": key_path,
        "SALESFORCE_CA_BUNDLE": ca_bundle,
        "SALESFORCE_POLL_SECONDS": str(poll_seconds),
    }
    env.update({f"SALESFORCE_{k}": str(v) for k, v in more.items()})
    return env


def launch_bot(env: dict, wait_for: str | None = CONNECTED, timeout: float = 60.0) -> ChildProcess:
    """`errbot -c config.py` with ENV; returns once it logged WAIT_FOR (stopped again if it never does)."""
    bot = ChildProcess([ERRBOT, "-c", str(ROOT / "config.py")], env=env)
    if wait_for:
        try:
            bot.wait_for_line(wait_for, timeout)
        except BaseException:
            bot.stop()
            raise
    return bot
