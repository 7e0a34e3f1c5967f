"""Logs an operator's tools can read: `BOT_LOG_FORMAT=json` (environment only; this repository's
config.py calls `install_json_logging`) makes every line the process logs one JSON object: time
(UTC, ISO 8601), level, logger, message, and `room_id` / `outbox_key` where the work is about one
chat (from `extra=` or from `log_context`, a contextvar the plugin sets around a chat's work), with
a traceback as one escaped field. Whatever the format, what is written passes the key-material
redaction (chat/redaction.py) first: the message, the traceback and the context fields.

An operator's own bot can do the same with `BOT_LOG_FORMATTER = JsonFormatter()` in its config.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from .redaction import RedactKeyMaterial, redact

CONTEXT_FIELDS = ("room_id", "outbox_key")
_CONTEXT: ContextVar[dict[str, str]] = ContextVar("salesforce_log_context", default={})  # noqa: B039 - never mutated


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every record logged inside carries FIELDS (room_id, outbox_key) in JSON output."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: str(v) for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, str]:
    return dict(_CONTEXT.get())


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (non-ASCII escaped, so no character splits a line)."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record whose arguments do not fit its format
            message = f"{record.msg!r} (unformattable arguments)"
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(message),
        }
        context = _CONTEXT.get()
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None) or context.get(key)
            if value:
                out[key] = redact(str(value))
        if record.exc_info:
            out["traceback"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            out["traceback"] = redact(record.exc_text)
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=True)


def install_json_logging() -> JsonFormatter:
    """JSON on Errbot's console handler from now on (Errbot sets the same formatter again from
    `BOT_LOG_FORMATTER`); Python warnings and uncaught exceptions become log records too, so no other
    text reaches the stream. Returns the formatter for `BOT_LOG_FORMATTER`."""
    formatter = JsonFormatter()
    from errbot.logs import console_hdlr, root_logger  # Errbot's one console handler (stderr)

    console_hdlr.setFormatter(formatter)
    if not any(isinstance(f, RedactKeyMaterial) for f in console_hdlr.filters):
        console_hdlr.addFilter(RedactKeyMaterial())
    root_logger.addHandler(console_hdlr)
    logging.captureWarnings(True)
    crashes = logging.getLogger("errbot.crash")

    def uncaught(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        crashes.critical("Uncaught exception", exc_info=(kind, value, tb))

    def uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "a thread"
        crashes.critical("Uncaught exception in %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = uncaught
    threading.excepthook = uncaught_in_thread
    return formatter


def json_line(level: str, logger: str, message: str) -> str:
    """A line in the JSON shape for text written before logging is set up (config.py's refusals)."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    return json.dumps({"time": now, "level": level, "logger": logger, "message": redact(message)}, ensure_ascii=True)
