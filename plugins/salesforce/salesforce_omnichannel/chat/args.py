"""Parsing of `!salesforce SUBCOMMAND …`: hyphenated names, `--option value`, one clear error.

Errbot's `arg_botcmd` answers a parse error twice (error, then usage) and cannot name
hyphenated commands, so subcommands are parsed here, with shlex, into a small result object.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from .registry import BY_NAME, canonical


class UsageError(ValueError):
    """One line telling the agent what to type instead."""


@dataclass
class Parsed:
    command: str
    positional: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def usage(command: str, prefix: str = "!salesforce") -> str:
    return f"Usage: {prefix} {BY_NAME[command].usage}"


def parse(text: str, prefix: str = "!salesforce") -> Parsed:
    """Split `contact jane@example.com --chat Jane` into its parts; UsageError on bad input."""
    try:
        words = shlex.split(text or "")
    except ValueError:
        raise UsageError(
            'A quote is not closed; put values with spaces in matching quotes, e.g. --subject "Printer jam".'
        ) from None
    if not words:
        return Parsed("help")
    name = canonical(words[0])
    if name not in BY_NAME:
        raise UsageError(f"Unknown command {words[0]!r}. Type {prefix} help for the list.")
    sub = BY_NAME[name]
    parsed = Parsed(name)
    rest = words[1:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("--") and len(word) > 2:
            key, eq, value = word[2:].partition("=")
            key = key.lower().replace("_", "-")
            if sub.option(key) is None:
                raise UsageError(f"{name} has no option --{key}. {usage(name, prefix)}")
            if not eq:
                if i + 1 >= len(rest) or (rest[i + 1].startswith("--") and len(rest[i + 1]) > 2):
                    raise UsageError(f"--{key} needs a value. {usage(name, prefix)}")
                i += 1
                value = rest[i]
            parsed.options[key] = value
        else:
            parsed.positional.append(word)
        i += 1
    return parsed
