"""Every `!salesforce` subcommand, declared once: its name, arguments, options, help, whether it is
about a chat's visitor, and whether only bot admins may run it. Usage lines, the help text, the
parser's accepted options and the plugin's access check are all derived from this table, and the
handler is `Commands.cmd_<name>` (a test checks each has one and that the README table matches).
Model: Errbot's `@botcmd(admin_only=True)` metadata."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    name: str
    arguments: str  # what follows the name in the usage line
    help: str
    options: tuple[str, ...] = ()  # accepted --options (without the dashes)
    about_a_chat: bool = True  # False: never needs to know which chat (no chat look-up)
    admin_only: bool = False

    @property
    def handler(self) -> str:
        return "cmd_" + self.name.replace("-", "_")

    @property
    def usage(self) -> str:
        return f"{self.name} {self.arguments}".strip()


CONTACT_FIELDS = ("first-name", "last-name", "email", "phone", "account", "lead-source", "city", "state", "country")
CASE_FIELDS = ("subject", "description", "status", "origin", "priority", "type", "reason")

SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "contact",
        "[EMAIL|PHONE] [--chat VISITOR]",
        "view contact information (the chat's visitor by default)",
        ("chat",),
    ),
    Subcommand(
        "create-contact",
        "[--first-name F] [--last-name L] [--email E] [--phone P] [--account ACCOUNT] "
        "[--lead-source S] [--city C] [--state S] [--country C]",
        "create a new contact, prefilled from the visitor",
        CONTACT_FIELDS + ("chat",),
    ),
    Subcommand(
        "cases",
        "[EMAIL|PHONE] [--contact EMAIL|PHONE|ID] [--chat VISITOR]",
        "view all the contact's cases",
        ("contact", "chat"),
    ),
    Subcommand("case", "NUMBER", "view a case by its Case Number", about_a_chat=False),
    Subcommand(
        "create-case",
        '--subject "…" [--contact EMAIL|PHONE|ID] [--description D] [--status S] [--origin O] [--priority P] '
        "[--type T] [--reason R]",
        "create a new case for the contact (the chat's visitor, or the one --contact names)",
        CASE_FIELDS + ("contact", "chat"),
    ),
    Subcommand(
        "activities",
        "[tasks|events|calls] [EMAIL|PHONE] [--contact EMAIL|PHONE|ID] [--chat VISITOR]",
        "the contact's recent tasks, events or calls",
        ("contact", "chat"),
    ),
    Subcommand("refresh", "", "reload Salesforce picklists and field metadata now", about_a_chat=False),
    Subcommand(
        "status",
        "",
        "Salesforce connection, API usage and pending saves (bot admins)",
        about_a_chat=False,
        admin_only=True,
    ),
    Subcommand("help", "", "this message", about_a_chat=False),
)
BY_NAME = {s.name: s for s in SUBCOMMANDS}
ALIASES = {
    "create_contact": "create-contact",
    "create_case": "create-case",
    "createcontact": "create-contact",
    "createcase": "create-case",
}


def help_text(prefix: str) -> str:
    lines = ["**Salesforce commands** (in a chat, they are about its visitor; replies come to you privately):"]
    lines += [f"- `{prefix} {s.usage}` {s.help}" for s in SUBCOMMANDS]
    return "\n".join(lines)
