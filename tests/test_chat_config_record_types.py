"""RECORD_TYPES: a dictionary of object to record type DeveloperName, from `!plugin config` (a dict) or
from SALESFORCE_RECORD_TYPES (JSON or Python-literal text); refusals name the key and the entry;
the CRM core's copy (SalesforceSettings). What the org says of each entry is crm/recordtypes.py's."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from unit_helpers import PEM

from salesforce_omnichannel.chat import config as plugin_config
from salesforce_omnichannel.crm.settings import SalesforceSettings

BASE = plugin_config.BUILTIN_DEFAULTS


def test_the_default_is_no_record_type_and_never_shared():
    result = plugin_config.defaults(None, environ={})
    assert result["RECORD_TYPES"] == {}
    result["RECORD_TYPES"]["Case"] = "Support"
    assert plugin_config.BUILTIN_DEFAULTS["RECORD_TYPES"] == {}


def test_a_dict_through_plugin_config():
    given = {"Case": "Support", "Contact": "Customer", "Task": "Chat_Transcript", "Lead": "Web", "Account": "B2C"}
    assert plugin_config.validate({"RECORD_TYPES": given}, BASE)["RECORD_TYPES"] == given


def test_object_names_are_mended_to_salesforces_spelling_and_values_trimmed():
    given = {" case ": " Support ", "CONTACT": "Customer"}
    assert plugin_config.validate({"RECORD_TYPES": given}, BASE)["RECORD_TYPES"] == {
        "Case": "Support",
        "Contact": "Customer",
    }


def test_plugin_config_text_replaces_the_map_and_other_keys_keep_it():
    current = plugin_config.validate({"RECORD_TYPES": {"Case": "Support"}}, BASE)
    merged = plugin_config.merge_request("{'RECORD_TYPES': {'Contact': 'Customer'}}", current, BASE)
    assert merged["RECORD_TYPES"] == {"Contact": "Customer"}
    merged = plugin_config.merge_request("{'POLL_SECONDS': 10}", merged, BASE)
    assert merged["RECORD_TYPES"] == {"Contact": "Customer"}


@pytest.mark.parametrize(
    "text",
    [
        '{"Case": "Support", "Contact": "Customer"}',  # JSON
        "{'Case': 'Support', 'Contact': 'Customer'}",  # a Python literal
        ' {"Case":"Support","Contact":"Customer"} ',
    ],
)
def test_from_the_environment_as_json_or_a_literal(text):
    result = plugin_config.defaults(None, environ={"SALESFORCE_RECORD_TYPES": text})
    assert result["RECORD_TYPES"] == {"Case": "Support", "Contact": "Customer"}
    assert plugin_config.problems(result, None, environ={"SALESFORCE_RECORD_TYPES": text}) == []


def test_from_the_bot_config_as_a_dict():
    bot = SimpleNamespace(SALESFORCE_RECORD_TYPES={"Case": "Support"})
    assert plugin_config.defaults(bot, environ={})["RECORD_TYPES"] == {"Case": "Support"}


@pytest.mark.parametrize("text", ["", "   ", "{}"])
def test_blank_or_empty_is_no_map(text):
    assert plugin_config.defaults(None, environ={"SALESFORCE_RECORD_TYPES": text})["RECORD_TYPES"] == {}


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"Opportunity": "Sales"}, "'Opportunity' is not an object the bot creates records of"),
        ({"Cases": "Support"}, "'Cases' is not an object"),
        ({"": "Support"}, "'' is not an object"),
        ({5: "Support"}, "'5' is not an object"),
        ({"Case": "Customer Support"}, "Case maps to 'Customer Support', which is not a record type's DeveloperName"),
        ({"Case": "012xx0000004CwQAAU"}, "Case maps to '012xx0000004CwQAAU'"),  # an Id, not a DeveloperName
        ({"Case": "_Support"}, "Case maps to '_Support'"),
        ({"Case": "Support_"}, "Case maps to 'Support_'"),
        ({"Case": "Sup__port"}, "Case maps to 'Sup__port'"),
        ({"Case": "Support-Case"}, "Case maps to 'Support-Case'"),
        ({"Case": "A" * 81}, "Case maps to 'AAAA"),
        ({"Case": ""}, "Case maps to ''"),
        ({"Case": None}, "Case maps to 'None'"),
        ({"Case": 7}, "Case maps to '7'"),
        ({"Case": ["Support"]}, "Case maps to"),
        ({"Case": "Support", "case": "Billing"}, "names 'Case' twice"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_key_and_the_entry(given, named):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"RECORD_TYPES": given}, BASE)
    assert str(err.value).startswith("RECORD_TYPES") and named in str(err.value)


def test_the_object_refusal_lists_the_objects():
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"RECORD_TYPES": {"Opportunity": "Sales"}}, BASE)
    assert str(err.value) == (
        "RECORD_TYPES: 'Opportunity' is not an object the bot creates records of; "
        "use Contact, Case, Task, Lead or Account."
    )


def test_the_developer_name_refusal_says_what_one_is():
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"RECORD_TYPES": {"Case": "Customer Support"}}, BASE)
    assert str(err.value) == (
        "RECORD_TYPES: Case maps to 'Customer Support', which is not a record type's DeveloperName (its Record "
        "Type Name in Setup, not its label: a letter, then letters, digits and single underscores, e.g. "
        "Customer_Support)."
    )


def test_the_longest_developer_name_is_accepted():
    longest = "A" + "b" * 79
    assert plugin_config.validate({"RECORD_TYPES": {"Case": longest}}, BASE)["RECORD_TYPES"] == {"Case": longest}


@pytest.mark.parametrize("given", ["Case=Support", "[('Case', 'Support')]", '["Case"]', "{'Case': ", 42, ["Case"]])
def test_what_is_not_a_dictionary_is_refused_with_an_example(given):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"RECORD_TYPES": given}, BASE)
    assert str(err.value) == (
        'RECORD_TYPES must be a dictionary of object to record type DeveloperName, e.g. {"Case": "Support", '
        '"Contact": "Customer"}.'
    )


def test_key_material_is_never_echoed():
    for given in ({"Case": PEM}, PEM, {PEM: "Support"}):
        with pytest.raises(plugin_config.ConfigError) as err:
            plugin_config.validate({"RECORD_TYPES": given}, BASE)
        assert "PRIVATE_KEY_FILE" in str(err.value) and "BEGIN" not in str(err.value)


def test_a_bad_environment_value_is_skipped_and_named_in_problems():
    env = {"SALESFORCE_RECORD_TYPES": '{"Case": "Customer Support"}'}
    result = plugin_config.defaults(None, environ=env)
    assert result["RECORD_TYPES"] == {}
    [problem] = plugin_config.problems(result, None, environ=env)
    assert problem.startswith("the environment's SALESFORCE_RECORD_TYPES is ignored: RECORD_TYPES: Case maps to")
    assert problem.endswith("Using {} until it is fixed.")


def test_a_typo_of_the_key_gets_a_hint():
    with pytest.raises(plugin_config.ConfigError, match="Did you mean RECORD_TYPES"):
        plugin_config.validate({"RECORD_TYPE": {}}, BASE)


def test_agent_users_still_parse_through_the_shared_path():
    result = plugin_config.defaults(None, environ={"SALESFORCE_AGENT_USERS": "{'@alice': 'alice@acme.example'}"})
    assert result["AGENT_USERS"] == {"alice": "alice@acme.example"}
    with pytest.raises(plugin_config.ConfigError, match="AGENT_USERS must be a dictionary of Rocket.Chat username"):
        plugin_config.validate({"AGENT_USERS": "alice"}, BASE)


def test_the_crm_settings_carry_the_record_types():
    config = plugin_config.validate({"RECORD_TYPES": {"Contact": "Customer", "case": "Support"}}, BASE)
    settings = SalesforceSettings.from_config(config)
    assert settings.record_types == (("Case", "Support"), ("Contact", "Customer"))  # sorted pairs: hashable
    assert settings.record_type_map == {"Case": "Support", "Contact": "Customer"}
    assert settings == SalesforceSettings.from_config(dict(config))
    hash(settings)
    assert SalesforceSettings.from_config(BASE).record_types == ()
