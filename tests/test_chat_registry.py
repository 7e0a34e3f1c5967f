"""Each subcommand is declared once (chat/registry.py): the parser, the help, the handlers, the access
rule and the README's command table all follow the one table."""

from __future__ import annotations

import re
from pathlib import Path

from salesforce_omnichannel.chat import args, registry
from salesforce_omnichannel.chat.commands import Commands

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_subcommand_has_its_handler_and_no_handler_is_undeclared():
    handlers = {name for name in dir(Commands) if name.startswith("cmd_")}
    assert {s.handler for s in registry.SUBCOMMANDS} == handlers


def test_usage_help_and_options_come_from_the_registry():
    for sub in registry.SUBCOMMANDS:
        assert args.usage(sub.name, "!sf") == f"Usage: !sf {sub.usage}"
        assert f"`!sf {sub.usage}` {sub.help}" in registry.help_text("!sf")
        for option in sub.options:
            assert args.parse(f"{sub.name} --{option} x").options == {option: "x"}


def test_only_status_is_for_admins_and_chatless_commands_are_declared_so():
    assert [s.name for s in registry.SUBCOMMANDS if s.admin_only] == ["status"]
    assert {s.name for s in registry.SUBCOMMANDS if not s.about_a_chat} == {"case", "refresh", "status", "help"}


def test_the_readme_command_table_matches_the_registry():
    text = README.read_text()
    table = text[text.index("| command | example answer |") :].split("\n\n", 1)[0]
    usages = [m.replace("\\|", "|") for m in re.findall(r"^\| `((?:[^`])+)` \|", table, re.MULTILINE)]
    assert usages == [s.usage for s in registry.SUBCOMMANDS]
