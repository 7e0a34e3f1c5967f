"""Keep key material out of the bot's log, whatever the admin pastes.

Errbot logs every command with its parameters ("Processing command … with parameters …") before a
plugin can refuse it, so a PEM block pasted into `!plugin config` would land in the log and in
`!log tail`. A filter on the root logger's handlers (which every propagated record passes) blanks
PEM blocks and long base64 runs before any handler writes them.
"""

from __future__ import annotations

import logging
import re

_PEM = re.compile(r"-----BEGIN[^-]*-----.*?(-----END[^-]*-----|$)", re.DOTALL)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{120,}={0,2}")
REDACTED = "[redacted key material]"


def redact(text: str) -> str:
    return _BASE64_RUN.sub(REDACTED, _PEM.sub(REDACTED, text))


class RedactKeyMaterial(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to fix
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install() -> None:
    """Idempotent: add the filter to every root handler and to Errbot's command logger."""
    targets = [*logging.getLogger().handlers, logging.getLogger("errbot.core")]
    for target in targets:
        if not any(isinstance(f, RedactKeyMaterial) for f in target.filters):
            target.addFilter(RedactKeyMaterial())
