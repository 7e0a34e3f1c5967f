"""The `!salesforce` argument parser: aliases, option forms, quoting, usage."""

from __future__ import annotations

import pytest

from salesforce_omnichannel.chat import args as plugin_args
from salesforce_omnichannel.chat import registry
from salesforce_omnichannel.chat.args import UsageError


@pytest.mark.parametrize(
    "name", ["create-contact", "create_contact", "CREATE_CONTACT", "createcontact", "Create-Contact"]
)
def test_create_contact_aliases_all_mean_the_same_command(name):
    assert plugin_args.parse(f"{name} --last-name Doe").command == "create-contact"


@pytest.mark.parametrize("name", ["create-case", "create_case", "createcase"])
def test_create_case_aliases(name):
    parsed = plugin_args.parse(f'{name} --subject "Printer jam"')
    assert parsed.command == "create-case"
    assert parsed.options == {"subject": "Printer jam"}


def test_option_forms_space_equals_and_underscore_are_equivalent():
    a = plugin_args.parse("create-contact --first-name Jane --last-name Doe")
    b = plugin_args.parse("create-contact --first-name=Jane --last_name=Doe")
    c = plugin_args.parse("create-contact --FIRST_NAME Jane --Last-Name=Doe")
    assert a.options == b.options == c.options == {"first-name": "Jane", "last-name": "Doe"}


def test_quoted_values_keep_their_spaces_and_positionals_are_kept_in_order():
    parsed = plugin_args.parse(
        """create-case --subject "Printer jam on floor 3" --description='It says "PC LOAD LETTER"'"""
    )
    assert parsed.options == {"subject": "Printer jam on floor 3", "description": 'It says "PC LOAD LETTER"'}
    parsed = plugin_args.parse("activities calls +1 415 555 0134 --chat 'Jane Doe'")
    assert parsed.command == "activities"
    assert parsed.positional == ["calls", "+1", "415", "555", "0134"]
    assert parsed.options == {"chat": "Jane Doe"}


def test_equals_inside_a_value_is_kept_and_a_lone_double_dash_is_a_word():
    parsed = plugin_args.parse("create-case --subject=a=b --description -- x")
    assert parsed.options == {"subject": "a=b", "description": "--"}
    assert parsed.positional == ["x"]


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_text_is_help(text):
    parsed = plugin_args.parse(text)
    assert parsed.command == "help" and parsed.positional == [] and parsed.options == {}


def test_unknown_command_names_it_and_points_to_help():
    with pytest.raises(UsageError) as err:
        plugin_args.parse("frobnicate now", prefix="!sf")
    assert "'frobnicate'" in str(err.value)
    assert "!sf help" in str(err.value)


def test_unknown_option_names_it_and_shows_the_usage_of_that_command():
    with pytest.raises(UsageError) as err:
        plugin_args.parse("contact jane@example.com --subject x")
    message = str(err.value)
    assert "--subject" in message and "contact" in message
    assert plugin_args.usage("contact") in message


@pytest.mark.parametrize("text", ["create-case --subject", "create-case --subject --priority High", "contact --chat"])
def test_option_missing_its_value(text):
    with pytest.raises(UsageError) as err:
        plugin_args.parse(text)
    assert "needs a value" in str(err.value)
    assert str(err.value).split(" needs")[0] in ("--subject", "--chat")


@pytest.mark.parametrize("text", ['create-case --subject "Printer jam', "create-case --subject 'it's broken'"])
def test_unclosed_quote_is_a_usage_error_not_a_traceback(text):
    with pytest.raises(UsageError) as err:
        plugin_args.parse(text)
    message = str(err.value)
    assert "quote" in message.lower()
    assert "Traceback" not in message and "ValueError" not in message and "No closing" not in message
    assert err.value.__suppress_context__  # the shlex ValueError is not chained into logs either


def test_usage_uses_the_prefix_and_exists_for_every_command():
    for name in registry.BY_NAME:
        line = plugin_args.usage(name, prefix="!sf")
        assert line.startswith("Usage: !sf ")
        assert name.split("-")[0] in line
    assert plugin_args.usage("case") == "Usage: !salesforce case NUMBER"


def test_every_alias_points_to_a_real_command():
    assert set(registry.ALIASES.values()) <= set(registry.BY_NAME)
