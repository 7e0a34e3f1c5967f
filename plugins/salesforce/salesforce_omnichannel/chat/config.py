"""The plugin's configuration: keys, defaults, validation, and the refusal of key material.

Defaults come from the bot's config (`SALESFORCE_<KEY>`, which this repository's config.py fills
from the environment), else from the environment itself (an operator's own bot), else built-in
values. `!plugin config Salesforce {...}` may set any subset: it is merged over the defaults,
because Errbot's own check demands every key and breaks stored configs when keys are added.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from . import fieldmap

BOOL_KEYS = (
    "SHOW_CONTACT_ON_ASSIGN",
    "AUTOSAVE_ON_CLOSE",
    "LOG_TRANSCRIPT_ON_CLOSE",
    "CASE_ASSIGNMENT_RULES",
    "ALLOW_DUPLICATES",
)
# key -> (minimum, maximum)
INT_KEYS = {
    "METADATA_REFRESH_MINUTES": (1, 24 * 60),
    "SESSION_TIMEOUT_MINUTES": (15, 24 * 60),
    "POLL_SECONDS": (1, 3600),
    "REQUEST_TIMEOUT_SECONDS": (5, 300),
    "API_BUDGET_PERCENT": (1, 100),
    "API_WARN_PERCENT": (1, 100),
    "ALERT_OUTBOX_AGE_MINUTES": (1, 24 * 60),
    "HEALTH_PORT": (0, 65535),
}
STR_KEYS = (
    "CONSUMER_KEY",
    "USERNAME",
    "AUTH_URL",
    "AUDIENCE",
    "PRIVATE_KEY_FILE",
    "API_VERSION",
    "CA_BUNDLE",
    "STATE_FILE",
    "OWNER",
    "FALLBACK_OWNER",
    "NEW_CONTACT_ACCOUNT",
    "NEW_VISITORS_AS",
    "HEALTH_BIND",
)
# the keys whose value is a dictionary (see `_parse_dict`; each entry is checked by `_DICT_ENTRIES[key]`)
DICT_KEYS = ("AGENT_USERS", "RECORD_TYPES", "FIELD_MAP")
# the objects whose records the bot creates, so whose record type RECORD_TYPES may choose
RECORD_TYPE_OBJECTS = ("Contact", "Case", "Task", "Lead", "Account")
OWNER_CHOICES = ("agent", "integration")
NEW_VISITORS_CHOICES = ("contact", "person-account", "lead")
REQUIRED = ("CONSUMER_KEY", "USERNAME", "AUTH_URL", "AUDIENCE", "PRIVATE_KEY_FILE")

BUILTIN_DEFAULTS: dict[str, Any] = {
    "CONSUMER_KEY": "",
    "USERNAME": "",
    "AUTH_URL": "https://login.salesforce.com/services/oauth2/token",
    "AUDIENCE": "https://login.salesforce.com",
    "PRIVATE_KEY_FILE": "",
    "SHOW_CONTACT_ON_ASSIGN": True,
    "AUTOSAVE_ON_CLOSE": True,
    "LOG_TRANSCRIPT_ON_CLOSE": True,
    "METADATA_REFRESH_MINUTES": 30,
    "SESSION_TIMEOUT_MINUTES": 120,
    "POLL_SECONDS": 30,
    "API_VERSION": "59.0",
    "CA_BUNDLE": "",
    "REQUEST_TIMEOUT_SECONDS": 20,
    "STATE_FILE": "",
    "OWNER": "agent",
    "AGENT_USERS": {},
    "FALLBACK_OWNER": "",
    "NEW_CONTACT_ACCOUNT": "",
    "NEW_VISITORS_AS": "",  # "": person-account in an org with person accounts, else contact
    "CASE_ASSIGNMENT_RULES": False,
    "ALLOW_DUPLICATES": False,
    "RECORD_TYPES": {},
    "FIELD_MAP": {},
    "API_BUDGET_PERCENT": 90,  # at this share of the org's daily API calls the bot holds what can wait
    "API_WARN_PERCENT": 80,  # at this share the admins are told (at most API_BUDGET_PERCENT)
    "ALERT_OUTBOX_AGE_MINUTES": 30,  # a closed chat waiting longer is an alert for the admins
    "HEALTH_PORT": 0,  # the probes' port (/livez, /readyz, /metrics); 0: off. Once per process (ops/process.py)
    "HEALTH_BIND": "127.0.0.1",  # the address the probes listen on (0.0.0.0 in a container)
}
KEYS = tuple(BUILTIN_DEFAULTS)

_KEY_MATERIAL = re.compile(r"-----BEGIN|PRIVATE KEY|^[A-Za-z0-9+/=\s]{200,}$", re.IGNORECASE)
_SECRET_KEY_NAMES = re.compile(r"PRIVATE_KEY$|SECRET|PASSWORD|TOKEN", re.IGNORECASE)
KEY_HOME = (
    "The private key is never typed into chat: put it in a file readable only by the bot and name "
    "that file in PRIVATE_KEY_FILE (or the SALESFORCE_PRIVATE_KEY_FILE environment variable)."
)


class ConfigError(ValueError):
    """A configuration problem, worded for the admin who typed `!plugin config`."""


def _parse_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key} must be true or false, not {str(value)[:40]!r}.")


def _parse_int(key: str, value: Any) -> int:
    low, high = INT_KEYS[key]
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be a whole number from {low} to {high}.")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{key} must be a whole number from {low} to {high}, not {str(value)[:40]!r}.") from None
    if not low <= number <= high:
        raise ConfigError(f"{key} must be from {low} to {high}; {number} is out of range.")
    return number


# a Salesforce User Id (005…) or Queue Id (00G…), 15 or 18 characters
_USER_ID = re.compile(r"005[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?")
_OWNER_ID = re.compile(r"(?:005|00G)[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?")
# a Salesforce username has the form of an email address (no spaces, one @, a dot in the domain)
_SF_USERNAME = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# HEALTH_BIND: an IPv4 or IPv6 address or a host name
_BIND = re.compile(r"[0-9A-Za-z.:-]{1,253}")
_RC_USERNAME = re.compile(r"@?[^\s@]{1,120}")


def _parse_dict(key: str, value: Any) -> dict[str, str]:
    """A dictionary key (DICT_KEYS), given as a dict (`!plugin config`) or as its JSON / Python-literal
    text (SALESFORCE_<KEY>); '' is {}. Each entry is checked, and may be normalised, by the key's own rule
    in `_DICT_ENTRIES`; an entry named twice is refused. Nothing the admin typed is echoed whole."""
    what, example, entry = _DICT_ENTRIES[key]
    if isinstance(value, str):
        text = value.strip()
        if _KEY_MATERIAL.search(text):
            raise ConfigError(f"{key} looks like key material. {KEY_HOME}")
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise ConfigError(f"{key} must be a dictionary of {what}, e.g. {example}.") from None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be a dictionary of {what}, e.g. {example}.")
    result: dict[str, str] = {}
    for raw_name, raw_target in value.items():
        name, target = str(raw_name).strip(), raw_target.strip() if isinstance(raw_target, str) else raw_target
        if _KEY_MATERIAL.search(name) or (isinstance(target, str) and _KEY_MATERIAL.search(target)):
            raise ConfigError(f"{key} looks like key material. {KEY_HOME}")
        name, target = entry(key, raw_name, name, target)
        if name in result:
            raise ConfigError(f"{key} names {name[:40]!r} twice.")
        result[name] = target
    return result


def _agent_user(key: str, raw_name: Any, name: str, target: Any) -> tuple[str, str]:
    """AGENT_USERS: Rocket.Chat username (a leading @ dropped) -> Salesforce username or User Id (005…)."""
    if not isinstance(raw_name, str) or not _RC_USERNAME.fullmatch(name):
        raise ConfigError(f"{key}: {str(raw_name)[:40]!r} is not a Rocket.Chat username.")
    name = name.lstrip("@")
    if not isinstance(target, str) or not (_SF_USERNAME.fullmatch(target) or _USER_ID.fullmatch(target)):
        raise ConfigError(
            f"{key}: {name[:40]!r} maps to {str(target)[:40]!r}, which is neither a Salesforce username "
            "(name@company.com) nor a Salesforce User Id (005…, 15 or 18 characters)."
        )
    return name, target


# a record type's DeveloperName (its "Record Type Name" in Setup): a letter, then letters, digits and
# underscores, never two in a row nor one at the end, at most 80 characters
_DEVELOPER_NAME = re.compile(r"[A-Za-z](?:_?[A-Za-z0-9])*")


def _record_type(key: str, raw_name: Any, name: str, target: Any) -> tuple[str, str]:
    """RECORD_TYPES: object (RECORD_TYPE_OBJECTS, any case) -> the DeveloperName of one of its record types."""
    sobject = next((o for o in RECORD_TYPE_OBJECTS if isinstance(raw_name, str) and o.lower() == name.lower()), None)
    if sobject is None:
        raise ConfigError(
            f"{key}: {str(raw_name)[:40]!r} is not an object the bot creates records of; "
            f"use {', '.join(RECORD_TYPE_OBJECTS[:-1])} or {RECORD_TYPE_OBJECTS[-1]}."
        )
    if not isinstance(target, str) or len(target) > 80 or not _DEVELOPER_NAME.fullmatch(target):
        raise ConfigError(
            f"{key}: {sobject} maps to {str(target)[:40]!r}, which is not a record type's DeveloperName (its "
            "Record Type Name in Setup, not its label: a letter, then letters, digits and single underscores, "
            "e.g. Customer_Support)."
        )
    return sobject, target


def _field_map_entry(key: str, raw_name: Any, name: str, target: Any) -> tuple[str, str]:
    """FIELD_MAP: "Object.Field" -> a source (a =literal or a chat source; chat/fieldmap.py's grammar)."""
    try:
        return fieldmap.entry(key, raw_name, name, target)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# key -> (what it maps, an example, the check of one entry)
_DICT_ENTRIES = {
    "AGENT_USERS": (
        "Rocket.Chat username to Salesforce username or User Id",
        '{"alice": "alice@acme.com", "bob": "005xx000001Sv6AAAS"}',
        _agent_user,
    ),
    "RECORD_TYPES": (
        "object to record type DeveloperName",
        '{"Case": "Support", "Contact": "Customer"}',
        _record_type,
    ),
    "FIELD_MAP": ('"Object.Field" to a source', fieldmap.EXAMPLE, _field_map_entry),
}


def coerce(key: str, value: Any) -> Any:
    """The typed value of one key, or ConfigError naming it."""
    if key in BOOL_KEYS:
        return _parse_bool(key, value)
    if key in INT_KEYS:
        return _parse_int(key, value)
    if key in DICT_KEYS:
        return _parse_dict(key, value)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ConfigError(f"{key} must be text.")
    text = str(value).strip()
    if _KEY_MATERIAL.search(text):
        raise ConfigError(f"{key} looks like key material. {KEY_HOME}")
    if key == "API_VERSION" and not re.fullmatch(r"\d{2,3}\.0", text):
        raise ConfigError(f"API_VERSION must look like 59.0, not {text[:20]!r}.")
    if key in ("AUTH_URL", "AUDIENCE") and text and not re.match(r"https?://", text):
        raise ConfigError(f"{key} must be a URL starting with https://, e.g. {BUILTIN_DEFAULTS[key]}.")
    if key == "NEW_VISITORS_AS":
        if text.lower() not in ("", *NEW_VISITORS_CHOICES):
            raise ConfigError(
                f"NEW_VISITORS_AS must be contact, person-account or lead (empty: person-account where the org has "
                f"person accounts, else contact), not {text[:20]!r}."
            )
        return text.lower()
    if key == "OWNER":
        if text.lower() not in OWNER_CHOICES:
            raise ConfigError(f"OWNER must be agent or integration, not {text[:20]!r}.")
        return text.lower()
    if key == "HEALTH_BIND" and not _BIND.fullmatch(text):
        raise ConfigError(
            f"HEALTH_BIND must be an address of this host to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::, not {text[:40]!r}."
        )
    if key == "FALLBACK_OWNER" and text and not _OWNER_ID.fullmatch(text):
        raise ConfigError(
            "FALLBACK_OWNER must be a Salesforce User Id (005…) or Queue Id (00G…) of 15 or 18 characters, "
            f"or empty for the integration user; not {text[:20]!r}."
        )
    return text


def defaults(bot_config: object | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Built-ins, overridden by the environment, overridden by the bot's SALESFORCE_* settings."""
    environ = os.environ if environ is None else environ
    result = {key: dict(value) if isinstance(value, dict) else value for key, value in BUILTIN_DEFAULTS.items()}
    for key in KEYS:
        candidates = (
            getattr(bot_config, f"SALESFORCE_{key}", None) if bot_config is not None else None,
            environ.get(f"SALESFORCE_{key}"),
        )
        for raw in candidates:
            if raw is None or (isinstance(raw, str) and not raw.strip() and key in BOOL_KEYS + tuple(INT_KEYS)):
                continue
            try:
                result[key] = coerce(key, raw)
                break
            except ConfigError:
                continue  # a bad default is skipped (then `missing()`/`status` tell), never a crash at start
    if result["API_WARN_PERCENT"] > result["API_BUDGET_PERCENT"]:
        result["API_WARN_PERCENT"] = result["API_BUDGET_PERCENT"]  # `problems()` tells; the warning still comes first
    return result


def warn_above_budget(warn: int, budget: int) -> str:
    return (
        f"API_WARN_PERCENT ({warn}) must not be above API_BUDGET_PERCENT ({budget}): the admins are warned before "
        "the bot starts holding closed chats. Lower API_WARN_PERCENT or raise API_BUDGET_PERCENT (both from 1 to 100)."
    )


def problems(
    config: Mapping[str, Any], bot_config: object | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Every setting an admin must fix, in words that say what and how: a SALESFORCE_<KEY> value that
    does not parse (it is ignored, the default used instead), and a file setting (the key, the CA
    bundle) naming a file that is missing or unreadable."""
    environ = os.environ if environ is None else environ
    found = []
    for key in KEYS:
        for origin, raw in (
            (
                f"the bot's SALESFORCE_{key}",
                getattr(bot_config, f"SALESFORCE_{key}", None) if bot_config is not None else None,
            ),
            (f"the environment's SALESFORCE_{key}", environ.get(f"SALESFORCE_{key}")),
        ):
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                coerce(key, raw)
            except ConfigError as exc:
                found.append(f"{origin} is ignored: {exc} Using {BUILTIN_DEFAULTS[key]!r} until it is fixed.")
    given = defaults(bot_config, environ)  # the budget as the defaults set it
    for raw in (getattr(bot_config, "SALESFORCE_API_WARN_PERCENT", None), environ.get("SALESFORCE_API_WARN_PERCENT")):
        try:
            warn = coerce("API_WARN_PERCENT", raw) if raw is not None and str(raw).strip() else None
        except ConfigError:
            continue
        if warn is not None and warn > given["API_BUDGET_PERCENT"]:
            found.append(
                f"SALESFORCE_{warn_above_budget(warn, given['API_BUDGET_PERCENT'])} Warning at "
                f"{given['API_BUDGET_PERCENT']}% until it is fixed."
            )
        if warn is not None:
            break
    for key, what in (
        ("PRIVATE_KEY_FILE", "the Connected App's private key (PEM)"),
        ("CA_BUNDLE", "a PEM certificate bundle"),
    ):
        path = str(
            config.get(key) or (environ.get("SALESFORCE_PRIVATE_KEY_FILE", "") if key == "PRIVATE_KEY_FILE" else "")
        )
        if not path:
            continue
        if not os.path.exists(path):
            found.append(f"{key} names {path}, which does not exist: put {what} there or correct {key}.")
        elif not os.path.isfile(path) or not os.access(path, os.R_OK):
            found.append(f"{key} names {path}, which the bot cannot read: make it a file readable by the bot's user.")
    return found


def validate(given: Mapping[str, Any] | None, base: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `given` over `base`; ConfigError for unknown keys, key material, types and ranges."""
    if given is None:
        return dict(base)
    if not isinstance(given, Mapping):
        raise ConfigError('The configuration must be a dictionary, e.g. {"CONSUMER_KEY": "3MVG9…"}.')
    merged = dict(base)
    for key, value in given.items():
        name = str(key)
        if _SECRET_KEY_NAMES.search(name.upper()) or (isinstance(value, str) and _KEY_MATERIAL.search(value)):
            raise ConfigError(f"{name} is refused: {KEY_HOME}")
        if name not in BUILTIN_DEFAULTS:
            close = difflib.get_close_matches(name.upper(), KEYS, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]}?" if close else f" Valid keys: {', '.join(KEYS)}."
            raise ConfigError(f"Unknown key {name}.{hint}")
        merged[name] = coerce(name, value)
    warn, budget = merged.get("API_WARN_PERCENT"), merged.get("API_BUDGET_PERCENT")
    if isinstance(warn, int) and isinstance(budget, int) and warn > budget:
        raise ConfigError(warn_above_budget(warn, budget))
    return merged


def missing(config: Mapping[str, Any]) -> list[str]:
    """Required keys still empty, for a one-sentence 'not configured' answer."""
    return [key for key in REQUIRED if not config.get(key)]


def merge_request(text: str, current: Mapping[str, Any] | None, base: Mapping[str, Any]) -> dict[str, Any]:
    """What `!plugin config Salesforce {…}` should store: the current configuration with the keys the
    admin named changed (a partial configuration never drops the others); ConfigError otherwise."""
    try:
        given = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ConfigError('That is not a dictionary Errbot can read, e.g. {"POLL_SECONDS": 10}.') from None
    try:
        start = validate(current, base) if current else dict(base)
    except ConfigError:
        start = dict(base)  # what was stored no longer validates: start again from the defaults
    return validate(given, start)
