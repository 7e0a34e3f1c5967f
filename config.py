"""Errbot configuration for this repository's bot, driven entirely by environment variables.

Run with `errbot -c config.py`. See README.md ("Configuration") for every variable.
"""

import logging
import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


# `text` (Errbot's) or `json`: every line the process logs is one JSON object (time, level, logger, message,
# room_id / outbox_key where there is one), Errbot's own included, key material redacted.
BOT_LOG_FORMAT = (os.environ.get("BOT_LOG_FORMAT", "").strip() or "text").lower()


def _fail(message: str) -> None:
    if BOT_LOG_FORMAT == "json":
        sys.path.append(str(_HERE / "plugins" / "salesforce"))
        from salesforce_omnichannel.chat.logformat import json_line

        sys.stderr.write(json_line("CRITICAL", "config", f"config.py: {message}") + "\n")
    else:
        sys.stderr.write(f"config.py: {message}\n")
    raise SystemExit(2)


if BOT_LOG_FORMAT not in ("text", "json"):
    _bad, BOT_LOG_FORMAT = BOT_LOG_FORMAT, "text"
    _fail(f"BOT_LOG_FORMAT must be text or json, not {_bad[:20]!r}")
if BOT_LOG_FORMAT == "json":
    sys.path.append(str(_HERE / "plugins" / "salesforce"))  # the plugin's package (unique name), for its formatter
    from salesforce_omnichannel.chat.logformat import install_json_logging

    BOT_LOG_FORMATTER = install_json_logging()


BACKEND = "RocketChat"
BOT_EXTRA_BACKEND_DIR = str(_HERE / "backends" / "rocketchat" / ".errbot")  # hidden from plugin scans: see its .plug
# `BOT_EXTRA_PLUGIN_DIR` (`:`-separated) replaces the default `plugins/` (the tests load a probe plugin alone).
BOT_EXTRA_PLUGIN_DIR = [
    str(Path(p).resolve()) for p in (_env("BOT_EXTRA_PLUGIN_DIR") or str(_HERE / "plugins")).split(os.pathsep) if p
]

BOT_DATA_DIR = _env("BOT_DATA_DIR", str(_HERE / "data"))
Path(BOT_DATA_DIR).mkdir(parents=True, exist_ok=True)
# A standby pair (README, "A standby that takes over"): bots sharing a PostgreSQL STATE_URL keep their state
# there and elect one active bot; the others wait. Unset: the embedded SQLite store in BOT_DATA_DIR.
STATE_URL = _env("STATE_URL")
if STATE_URL and not STATE_URL.startswith(("postgresql://", "postgres://")):
    _fail("STATE_URL must be a postgresql:// URL (unset it for the embedded SQLite store in BOT_DATA_DIR)")
try:
    LEASE_CHECK_SECONDS = float(_env("LEASE_CHECK_SECONDS", "2") or "2")
except ValueError:
    LEASE_CHECK_SECONDS = 0.0
if not 0.5 <= LEASE_CHECK_SECONDS <= 60:
    _fail("LEASE_CHECK_SECONDS must be a number of seconds from 0.5 to 60 (default 2)")

BOT_LOG_FILE = None  # log to stdout: containers and the tests read it there
BOT_LOG_LEVEL = getattr(logging, (_env("BOT_LOG_LEVEL", "INFO") or "INFO").upper(), logging.INFO)
BOT_LOG_SENTRY = False

_ROCKETCHAT_URL = _env("ROCKETCHAT_URL")
_USER, _PASSWORD = _env("ROCKETCHAT_USER"), _env("ROCKETCHAT_PASSWORD")
_USER_ID, _TOKEN = _env("ROCKETCHAT_USER_ID"), _env("ROCKETCHAT_TOKEN")
if not _ROCKETCHAT_URL:
    _fail("set ROCKETCHAT_URL to your Rocket.Chat server, e.g. https://chat.example.com")
if _USER and _PASSWORD:
    BOT_IDENTITY = {"server": _ROCKETCHAT_URL, "username": _USER, "password": _PASSWORD}
elif _USER_ID and _TOKEN:
    BOT_IDENTITY = {"server": _ROCKETCHAT_URL, "user_id": _USER_ID, "token": _TOKEN}
else:
    _fail("set ROCKETCHAT_USER + ROCKETCHAT_PASSWORD, or ROCKETCHAT_USER_ID + ROCKETCHAT_TOKEN (personal access token)")
if _env("ROCKETCHAT_SILENCE_TIMEOUT"):
    BOT_IDENTITY["silence_timeout"] = float(_env("ROCKETCHAT_SILENCE_TIMEOUT"))

BOT_ADMINS = tuple(
    name if name.startswith("@") else f"@{name}"
    for name in (n.strip() for n in (_env("BOT_ADMINS") or "").split(","))
    if name
)
BOT_ADMINS_NOTIFICATIONS = BOT_ADMINS

BOT_PREFIX = "!"
# `/salesforce …` (with "Allow unrecognized slash commands" on) and `@bot …` mentions.
_BOT_NAME = _env("ROCKETCHAT_BOT_NAME", _USER)
BOT_ALT_PREFIXES = ("/",) + ((f"@{_BOT_NAME}",) if _BOT_NAME else ())
BOT_ALT_PREFIX_SEPARATORS = (":", ",", ";")
BOT_ALT_PREFIX_CASEINSENSITIVE = True
BOT_PREFIX_OPTIONAL_ON_CHAT = False
BOT_ASYNC = True
BOT_ASYNC_POOLSIZE = 10
HIDE_RESTRICTED_COMMANDS = True
SUPPRESS_CMD_NOT_FOUND = False

# VersionChecker calls the internet and Webserver opens a port: neither belongs here.
CORE_PLUGINS = ("ACLs", "Backup", "ChatRoom", "CommandNotFoundFilter", "Flows", "Health", "Help", "Plugins", "Utils")
# requirements.txt installs every plugin dependency; Errbot then only checks them instead of running pip at start.
AUTOINSTALL_DEPS = False
BOT_PLUGIN_INDEXES = _env("BOT_PLUGIN_INDEXES", str(_HERE / "plugins" / "index.json"))

# Defaults for the Salesforce plugin's configuration (`!plugin config Salesforce {...}` overrides).
_SALESFORCE_KEYS = (
    "CONSUMER_KEY",
    "USERNAME",
    "AUTH_URL",
    "AUDIENCE",
    "PRIVATE_KEY_FILE",
    "SHOW_CONTACT_ON_ASSIGN",
    "AUTOSAVE_ON_CLOSE",
    "LOG_TRANSCRIPT_ON_CLOSE",
    "METADATA_REFRESH_MINUTES",
    "SESSION_TIMEOUT_MINUTES",
    "POLL_SECONDS",
    "API_VERSION",
    "CA_BUNDLE",
    "REQUEST_TIMEOUT_SECONDS",
    "STATE_FILE",
    "OWNER",
    "AGENT_USERS",
    "FALLBACK_OWNER",
    "NEW_CONTACT_ACCOUNT",
    "NEW_VISITORS_AS",
    "CASE_ASSIGNMENT_RULES",
    "ALLOW_DUPLICATES",
    "RECORD_TYPES",
    "FIELD_MAP",
    "API_BUDGET_PERCENT",
    "API_WARN_PERCENT",
    "ALERT_OUTBOX_AGE_MINUTES",
    "HEALTH_PORT",
    "HEALTH_BIND",
)
for _key in _SALESFORCE_KEYS:
    if os.environ.get(f"SALESFORCE_{_key}") is not None:
        globals()[f"SALESFORCE_{_key}"] = os.environ[f"SALESFORCE_{_key}"]
