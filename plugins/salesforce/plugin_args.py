"""Parsing of `!salesforce SUBCOMMAND …`: hyphenated names, `--option value`, one clear error.

Errbot's `arg_botcmd` answers a parse error twice (error, then usage) and cannot name
hyphenated commands, so subcommands are parsed here, with shlex, into a small result object.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

# subcommand -> (accepted --options, usage line)
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "help": ((), "help"),
    "contact": (("chat",), "contact [EMAIL|PHONE] [--chat VISITOR]"),
    "create-contact": (
        ("first-name", "last-name", "email", "phone", "account", "lead-source", "city", "state", "country", "chat"),
        "create-contact [--first-name F] [--last-name L] [--email E] [--phone P] [--account ACCOUNT] "
        "[--lead-source S] [--city C] [--state S] [--country C]",
    ),
    "cases": (("chat",), "cases [EMAIL|PHONE] [--chat VISITOR]"),
    "case": ((), "case NUMBER"),
    "create-case": (
        ("subject", "description", "status", "origin", "priority", "type", "reason", "chat"),
        'create-case --subject "…" [--description D] [--status S] [--origin O] [--priority P] [--type T] [--reason R]',
    ),
    "activities": (("chat",), "activities [tasks|events|calls] [EMAIL|PHONE] [--chat VISITOR]"),
    "refresh": ((), "refresh"),
    "status": ((), "status"),
}
ALIASES = {"create_contact": "create-contact", "create_case": "create-case", "createcontact": "create-contact", "createcase": "create-case"}


class UsageError(ValueError):
    """One line telling the agent what to type instead."""


@dataclass
class Parsed:
    command: str
    positional: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def usage(command: str, prefix: str = "!salesforce") -> str:
    return f"Usage: {prefix} {COMMANDS[command][1]}"


def parse(text: str, prefix: str = "!salesforce") -> Parsed:
    """Split `contact jane@example.com --chat Jane` into its parts; UsageError on bad input."""
    try:
        words = shlex.split(text or "")
    except ValueError:
        raise UsageError("A quote is not closed; put values with spaces in matching quotes, e.g. --subject \"Printer jam\".") from None
    if not words:
        return Parsed("help")
    name = ALIASES.get(words[0].lower(), words[0].lower())
    if name not in COMMANDS:
        raise UsageError(f"Unknown command {words[0]!r}. Type {prefix} help for the list.")
    allowed, _ = COMMANDS[name]
    parsed = Parsed(name)
    rest = words[1:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("--") and len(word) > 2:
            key, eq, value = word[2:].partition("=")
            key = key.lower().replace("_", "-")
            if key not in allowed:
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
