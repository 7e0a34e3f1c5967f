"""Each subcommand and each option is declared once (chat/registry.py): the parser, the usage lines,
the help, the handlers, the written fields, the access rule and the README's command table all follow
the one table. Every expectation here is derived from the registry, never from a copy of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesforce_omnichannel.chat import args, registry
from salesforce_omnichannel.chat.commands import Commands

README = Path(__file__).resolve().parents[1] / "README.md"
ALL_OPTIONS = [(sub, option) for sub in registry.SUBCOMMANDS for option in sub.options]


def test_every_subcommand_has_its_handler_and_no_handler_is_undeclared():
    handlers = {name for name in dir(Commands) if name.startswith("cmd_")}
    assert {s.handler for s in registry.SUBCOMMANDS} == handlers


def test_usage_and_help_come_from_the_registry():
    for sub in registry.SUBCOMMANDS:
        assert args.usage(sub.name, "!sf") == f"Usage: !sf {sub.usage}"
        assert f"`!sf {sub.usage}` {sub.help}" in registry.help_text("!sf")


@pytest.mark.parametrize("sub,option", ALL_OPTIONS, ids=[f"{s.name}--{o.name}" for s, o in ALL_OPTIONS])
def test_each_declared_option_is_parsed_shown_in_usage_and_helped(sub, option):
    assert args.parse(f"{sub.name} --{option.name} x").options == {option.name: "x"}
    assert args.parse(f"{sub.name} --{option.name.replace('-', '_').upper()}=x").options == {option.name: "x"}
    assert option.usage in sub.usage
    assert (f"--{option.name} {option.metavar}`" in registry.command_help("!sf", sub)) and option.help
    if option.field:
        assert f"Salesforce field {option.field}" in registry.command_help("!sf", sub)


def test_an_undeclared_option_is_refused_with_the_usage():
    for sub in registry.SUBCOMMANDS:
        with pytest.raises(args.UsageError) as err:
            args.parse(f"{sub.name} --no-such-option x")
        assert "--no-such-option" in str(err.value) and sub.usage in str(err.value)


def test_required_options_are_shown_without_brackets_and_others_with():
    for _, option in ALL_OPTIONS:
        assert option.usage.startswith("[") != option.required


def test_an_option_writes_at_most_one_field_and_no_two_options_of_a_command_write_the_same():
    for sub in registry.SUBCOMMANDS:
        fields = [o.field for o in sub.written()]
        assert len(fields) == len(set(fields)), sub.name
        assert len({o.name for o in sub.options}) == len(sub.options), sub.name
    choosers = [o for _, o in ALL_OPTIONS if o.kind in ("chat", "contact")]
    assert choosers and not any(o.field for o in choosers)


def test_admin_only_commands_are_about_no_chat():
    # a command about the chat's visitor must be usable by its serving agent, so none is admin-only
    for sub in registry.SUBCOMMANDS:
        assert not (sub.admin_only and sub.about_a_chat), sub.name
    assert any(s.admin_only for s in registry.SUBCOMMANDS)


def test_a_command_about_a_chat_accepts_chat_and_one_about_none_does_not():
    for sub in registry.SUBCOMMANDS:
        assert (sub.option("chat") is not None) == sub.about_a_chat, sub.name


def test_aliases_name_declared_commands_in_any_case():
    for alias, name in registry.ALIASES.items():
        assert registry.BY_NAME[registry.canonical(alias.upper())].name == name


def test_the_readme_command_table_matches_the_registry():
    text = README.read_text()
    table = text[text.index("| command | example answer |") :].split("\n\n", 1)[0]
    usages = [m.replace("\\|", "|") for m in re.findall(r"^\| `((?:[^`])+)` \|", table, re.MULTILINE)]
    assert usages == [s.usage for s in registry.SUBCOMMANDS]


def test_the_readme_option_table_matches_the_registry():
    """The README's *Options* table has a row per option of each command, with its Salesforce field."""
    text = README.read_text()
    table = text[text.index("| option | of | Salesforce field | meaning |") :].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `--([a-z-]+) [^`]*` \| ([a-z, -]+) \| ([A-Za-z_]*|—) \| ", table, re.MULTILINE)
    expected: dict[str, tuple[set[str], str]] = {}
    for sub, option in ALL_OPTIONS:
        names, _ = expected.setdefault(option.name, (set(), option.field or "—"))
        names.add(sub.name)
    got = {name: ({c.strip() for c in of.split(",")}, field) for name, of, field in rows}
    assert got == expected
