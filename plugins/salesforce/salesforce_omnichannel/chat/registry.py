"""Every `!salesforce` subcommand and each of its options, declared once: names, help, which
Salesforce field an option writes, whether the command is about a chat's visitor and whether only
bot admins may run it. The parser, the usage lines, `help` and `help COMMAND`, the values a create
command writes, the plugin's access check and the README's command table (a test compares them) all
derive from this table; the handler is `Commands.cmd_<name>`.
Model: Errbot's `@botcmd(admin_only=True)` metadata, argparse's option declarations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OptionKind = Literal["text", "email", "account-name", "chat", "contact"]


@dataclass(frozen=True)
class Option:
    """One `--name VALUE` option. `field`: the Salesforce field its value is written to ("" for none);
    `kind` says what else happens to the value: "email" is checked to be an address, "account-name"
    is looked up as an Account and written as its Id, "chat" and "contact" choose whom the command
    is about and are written nowhere."""

    name: str
    metavar: str
    help: str
    field: str = ""
    kind: OptionKind = "text"
    required: bool = False

    @property
    def usage(self) -> str:
        text = f"--{self.name} {self.metavar}"
        return text if self.required else f"[{text}]"


CHAT = Option(
    "chat", "VISITOR", "which of your chats: part of the visitor's name or email, or the room id", kind="chat"
)
CONTACT = Option("contact", "EMAIL|PHONE|ID", "the contact, outside a chat or instead of its visitor", kind="contact")

CONTACT_OPTIONS: tuple[Option, ...] = (
    Option("first-name", "F", "first name (default: the visitor's)", "FirstName"),
    Option("last-name", "L", "last name (default: the visitor's; required)", "LastName"),
    Option("email", "E", "email (default: the visitor's)", "Email", kind="email"),
    Option("phone", "P", "phone (default: the visitor's)", "Phone"),
    Option("account", "ACCOUNT", "the Account's exact name (or the start of it)", "AccountId", kind="account-name"),
    Option("lead-source", "S", "Lead Source, one of the org's values", "LeadSource"),
    Option("city", "C", "mailing city", "MailingCity"),
    Option("state", "S", "mailing state or province", "MailingState"),
    Option("country", "C", "mailing country", "MailingCountry"),
)
CASE_OPTIONS: tuple[Option, ...] = (
    Option("subject", '"…"', "what the case is about", "Subject", required=True),
    CONTACT,
    Option("description", "D", "the details", "Description"),
    Option("status", "S", "Status (default: the org's default)", "Status"),
    Option("origin", "O", "Case Origin (default: Chat when the org has it)", "Origin"),
    Option("priority", "P", "Priority (default: the org's default)", "Priority"),
    Option("type", "T", "Type, one of the org's values", "Type"),
    Option("reason", "R", "Case Reason, one of the org's values", "Reason"),
)


@dataclass(frozen=True)
class Subcommand:
    name: str
    arguments: str  # the positional part of the usage line
    help: str
    options: tuple[Option, ...] = ()
    about_a_chat: bool = True  # False: never needs to know which chat (no chat look-up)
    admin_only: bool = False
    writes: bool = False  # creates records: never run twice (a standby taking over asks instead)

    @property
    def handler(self) -> str:
        return "cmd_" + self.name.replace("-", "_")

    @property
    def usage(self) -> str:
        return " ".join(p for p in (self.name, self.arguments, *(o.usage for o in self.options)) if p)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def written(self) -> tuple[Option, ...]:
        """The options whose values go into a Salesforce field."""
        return tuple(o for o in self.options if o.field)

    def flag(self, field: str) -> str:
        """`--name` of the option that writes FIELD (the prefilled commands the bot shows use it)."""
        return next(f"--{o.name}" for o in self.options if o.field == field)


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("contact", "[EMAIL|PHONE]", "view contact information (the chat's visitor by default)", (CHAT,)),
    Subcommand(
        "create-contact",
        "",
        "create a new contact, prefilled from the visitor",
        CONTACT_OPTIONS + (CHAT,),
        writes=True,
    ),
    Subcommand("cases", "[EMAIL|PHONE]", "view all the contact's cases", (CONTACT, CHAT)),
    Subcommand("case", "NUMBER", "view a case by its Case Number", about_a_chat=False),
    Subcommand(
        "create-case",
        "",
        "create a new case for the contact (the chat's visitor, or the one --contact names)",
        CASE_OPTIONS + (CHAT,),
        writes=True,
    ),
    Subcommand(
        "activities",
        "[tasks|events|calls] [EMAIL|PHONE]",
        "the contact's recent tasks, events or calls",
        (CONTACT, CHAT),
    ),
    Subcommand("refresh", "", "reload Salesforce picklists and field metadata now", about_a_chat=False),
    Subcommand(
        "status",
        "",
        "Salesforce connection, API usage and pending saves (bot admins)",
        about_a_chat=False,
        admin_only=True,
    ),
    Subcommand(
        "check",
        "",
        "what works in this Salesforce org and what to fix, before the first chat (bot admins)",
        about_a_chat=False,
        admin_only=True,
    ),
    Subcommand("help", "[COMMAND]", "this message, or one command's options", about_a_chat=False),
)
BY_NAME = {s.name: s for s in SUBCOMMANDS}
ALIASES = {
    "create_contact": "create-contact",
    "create_case": "create-case",
    "createcontact": "create-contact",
    "createcase": "create-case",
}


def canonical(word: str) -> str:
    """A subcommand's declared name for WORD (any case, an alias), or WORD lowered."""
    lowered = word.lower()
    return ALIASES.get(lowered, lowered)


def help_text(prefix: str) -> str:
    lines = ["**Salesforce commands** (in a chat, they are about its visitor; replies come to you privately):"]
    lines += [f"- `{prefix} {s.usage}` {s.help}" for s in SUBCOMMANDS]
    return "\n".join(lines)


def command_help(prefix: str, sub: Subcommand) -> str:
    lines = [f"`{prefix} {sub.usage}`: {sub.help}"]
    lines += [
        f"- `--{o.name} {o.metavar}` {o.help}" + (f" (Salesforce field {o.field})" if o.field else "")
        for o in sub.options
    ]
    return "\n".join(lines)
