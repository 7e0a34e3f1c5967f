"""Start the demo's processes (Salesforce simulator, Rocket.Chat simulator, the real bot) and stop them.

Everything runs as real child processes, as in production: the bot is `errbot -c config.py`
configured only through environment variables, exactly as an operator would run it. Every child
carries DEMO_RUN_DIR in its environment, so a leftover could always be found by that marker.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import requests

from simulators.certs import make_key_and_certificate
from simulators.harness import bot_env, salesforce_env
from simulators.launch import ROOT, ChildProcess

CONSUMER_KEY = "3MVG9DemoConsumerKeyMadeOnTheSpot"
SF_USERNAME = "integration@demo.example"
RC_ADMIN = ("admin", "admin-pass")
BOT_USER, BOT_PASSWORD = "salesforce-bot", "bot-pass"
BOT_ADMINS = "alice,maria"  # alice, the demo's user, may see `!salesforce status`
CONNECTED = "Connected to Rocket.Chat"


class LoggedChild(ChildProcess):
    """A ChildProcess whose output also goes to a log file, so the console stays readable."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name, self.log_path = name, log_path
        self._log: TextIO = open(log_path, "a", encoding="utf-8", buffering=1)
        super().__init__(argv, env=env, cwd=ROOT)

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._log.write(line)
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def stop(self, timeout: float = 10.0) -> int | None:
        code = super().stop(timeout)
        self._log.close()
        return code


@dataclass
class Stack:
    """The running demo: URLs, paths and the children, stopped in reverse order by `stop()`."""

    run_dir: Path
    say: Callable[[str], None] = print
    guard: Callable[[], AbstractContextManager] = nullcontext  # holds Ctrl-C while a child is being spawned
    children: list[LoggedChild] = field(default_factory=list)
    rc_url: str = ""
    sf_url: str = ""
    sf_ca: str = ""
    key_path: Path | None = None
    bot: LoggedChild | None = None

    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKETCHAT_", "SALESFORCE_", "BOT_"))}
        env.update(PYTHONUNBUFFERED="1", DEMO_RUN_DIR=str(self.run_dir))
        env.update(extra or {})
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], log_name: str) -> LoggedChild:
        with self.guard():
            child = LoggedChild(name, argv, env, self.run_dir / log_name)
            self.children.append(child)
        self.say(f"  started {name}: pid {child.proc.pid}, log {child.log_path}")
        return child

    def start(self) -> None:
        """Keys, then both simulators side by side, then the bot once they listen."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.say(f"Demo files in {self.run_dir}")
        self.say("  making a 2048-bit key pair and certificate for the Connected App ...")
        self.key_path, cert_path = make_key_and_certificate(
            self.run_dir / "keys", "connected-app", "rocketchat-salesforce"
        )
        py = [sys.executable, "-u", "-m"]
        sf = self._spawn(
            "Salesforce simulator",
            py
            + [
                "simulators.salesforce",
                "--port",
                "0",
                "--consumer-key",
                CONSUMER_KEY,
                "--certificate",
                str(cert_path),
                "--username",
                SF_USERNAME,
                "--seed",
                "demo",
            ],
            self._env(),
            "salesforce-sim.log",
        )
        # Every demo person shares 127.0.0.1 (real users each have their own address), so the
        # per-address limit is roomier than Rocket.Chat's 10 calls a minute; the bot is exempt anyway.
        rc = self._spawn(
            "Rocket.Chat simulator",
            py
            + [
                "simulators.rocketchat",
                "--port",
                "0",
                "--admin",
                ":".join(RC_ADMIN),
                "--seed",
                "demo",
                "--rate-limit",
                "200",
            ],
            self._env(),
            "rocketchat-sim.log",
        )
        self.sf_url = sf.wait_for_line("listening on ", 60).split("listening on ", 1)[1].strip()
        self.sf_ca = sf.wait_for_line("certificate ", 30).split(" ", 1)[1].strip()
        self.rc_url = rc.wait_for_line("listening on ", 60).split("listening on ", 1)[1].strip()
        self._allow_slash_commands()
        self.bot = self._spawn(
            "bot (errbot -c config.py)",
            [str(Path(sys.executable).with_name("errbot")), "-c", str(ROOT / "config.py")],
            self._env(self.bot_settings()),
            "bot.log",
        )
        self.say("  waiting for the bot to connect ...")
        self.bot.wait_for_line(CONNECTED, 120)

    def bot_settings(self) -> dict[str, str]:
        """What an operator would set: Rocket.Chat login, admins, data dir, the plugin's defaults."""
        data_dir = self.run_dir / "bot-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = bot_env(self.rc_url, BOT_USER, BOT_PASSWORD, str(data_dir), {"BOT_ADMINS": BOT_ADMINS})
        env.update(
            salesforce_env(self.sf_url, CONSUMER_KEY, SF_USERNAME, str(self.key_path), self.sf_ca, poll_seconds=5)
        )
        return env

    def _allow_slash_commands(self) -> None:
        """What the README asks the admin to do, so `/salesforce …` reaches the bot."""
        http = requests.Session()
        http.trust_env = False
        http.post(
            f"{self.rc_url}/_sim/settings",
            json={"_id": "Message_AllowUnrecognizedSlashCommand", "value": True},
            timeout=10,
        ).raise_for_status()

    def bot_log_tail(self, lines: int = 40) -> str:
        return "\n".join(list(self.bot.lines)[-lines:]) if self.bot else ""

    def stop(self) -> None:
        """Bot first (it logs off cleanly while the servers still answer), then the simulators."""
        while self.children:
            child = self.children.pop()
            code = child.stop()
            try:
                self.say(f"  stopped {child.name} (pid {child.proc.pid}, exit {code})")
            except Exception:  # noqa: BLE001 - telling must never keep the next child running
                pass


def default_run_dir() -> Path:
    return ROOT / "demo-run" / time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}")
