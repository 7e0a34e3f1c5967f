"""FIELD_MAP: a dictionary of "Object.Field" to a source, from `!plugin config` (a dict) or from
SALESFORCE_FIELD_MAP (JSON or Python-literal text), checked without Salesforce: the object among the
five, the field's API-name shape, the source's grammar (a literal after =, the chat sources,
visitor.custom.<key>); refusals name the key and the entry. What the org says is crm/fieldmap.py's."""

from __future__ import annotations

import pytest
from unit_helpers import PEM

from salesforce_omnichannel.chat import config as plugin_config
from salesforce_omnichannel.chat import fieldmap
from salesforce_omnichannel.crm.settings import SalesforceSettings

BASE = plugin_config.BUILTIN_DEFAULTS


def test_the_default_is_no_map_and_never_shared():
    result = plugin_config.defaults(None, environ={})
    assert result["FIELD_MAP"] == {}
    result["FIELD_MAP"]["Contact.Title"] = "=x"
    assert plugin_config.BUILTIN_DEFAULTS["FIELD_MAP"] == {}


def test_every_source_through_plugin_config():
    given = {f"Contact.F{i}__c": source for i, source in enumerate(fieldmap.SOURCES)}
    given |= {
        "Contact.Customer_Tier__c": "=Gold",
        "Case.Product__c": "visitor.custom.product",
        "Task.Type": "=Other",
        "Lead.LeadSource": "=Web",
        "Account.Description": "room.custom.order-id_2",
        "Case.ns__Region__c": "=EMEA; North",
    }
    assert plugin_config.validate({"FIELD_MAP": given}, BASE)["FIELD_MAP"] == given


def test_objects_and_chat_sources_are_mended_literals_and_custom_keys_kept_as_typed():
    given = {" case.Product__c ": " Visitor.Custom.ProductCode ", "CONTACT.Chat_Source__c": "=  Chat Widget "}
    assert plugin_config.validate({"FIELD_MAP": given}, BASE)["FIELD_MAP"] == {
        "Case.Product__c": "visitor.custom.ProductCode",
        "Contact.Chat_Source__c": "=  Chat Widget",
    }


@pytest.mark.parametrize(
    "text",
    [
        '{"Contact.Customer_Tier__c": "=Gold", "Case.Product__c": "visitor.custom.product"}',
        "{'Contact.Customer_Tier__c': '=Gold', 'Case.Product__c': 'visitor.custom.product'}",
    ],
)
def test_the_environment_gives_json_or_python_literal_text(text):
    result = plugin_config.defaults(None, environ={"SALESFORCE_FIELD_MAP": text})
    assert result["FIELD_MAP"] == {"Contact.Customer_Tier__c": "=Gold", "Case.Product__c": "visitor.custom.product"}
    assert plugin_config.problems(result, None, environ={"SALESFORCE_FIELD_MAP": text}) == []


def test_plugin_config_text_replaces_the_map_and_other_keys_keep_it():
    current = plugin_config.validate({"FIELD_MAP": {"Contact.Chat_Source__c": "=Chat"}}, BASE)
    merged = plugin_config.merge_request("{'FIELD_MAP': {'Case.Product__c': '=Widget'}}", current, BASE)
    assert merged["FIELD_MAP"] == {"Case.Product__c": "=Widget"}
    merged = plugin_config.merge_request("{'POLL_SECONDS': 10}", merged, BASE)
    assert merged["FIELD_MAP"] == {"Case.Product__c": "=Widget"}


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"Opportunity.Name": "=x"}, "'Opportunity.Name' names 'Opportunity': FIELD_MAP fills fields of Contact"),
        ({"Contact": "=x"}, "'Contact' is not Object.Field"),
        ({".Email": "=x"}, "'.Email' is not Object.Field"),
        ({"Contact.": "=x"}, "'Contact.' is not Object.Field"),
        ({7: "=x"}, "'7' is not Object.Field"),
        ({"Contact.Tier c": "=x"}, "'Contact.Tier c' has 'Tier c', which is no Salesforce field API name"),
        ({"Contact.Tier__c_": "=x"}, "which is no Salesforce field API name"),
        ({"Contact.1Tier": "=x"}, "which is no Salesforce field API name"),
        ({"Contact.A___b": "=x"}, "which is no Salesforce field API name"),
        ({"Contact." + "A" * 81: "=x"}, "which is no Salesforce field API name"),
        ({"Case.OwnerId": "agent.username"}, "'Case.OwnerId' names OwnerId, which is set by OWNER and FALLBACK_OWNER"),
        ({"Case.RecordTypeId": "=012000000000000AAA"}, "which is set by RECORD_TYPES"),
        ({"Contact.Id": "room.id"}, "which is the record's own Id"),
        (
            {"Contact.Email": "visitor.mail"},
            "'Contact.Email' maps to 'visitor.mail', which is not a source. Did you mean visitor.email?",
        ),
        ({"Contact.Email": "email"}, "'Contact.Email' maps to 'email', which is not a source."),
        ({"Contact.Email": "visitor.custom."}, "but '' is no Rocket.Chat custom field key"),
        ({"Contact.Email": "visitor.custom.a b"}, "but 'a b' is no Rocket.Chat custom field key"),
        ({"Contact.Email": "room.custom.a.b"}, "but 'a.b' is no Rocket.Chat custom field key"),
        ({"Contact.Email": "="}, "'Contact.Email' maps to '=', an empty literal"),
        ({"Contact.Email": "=   "}, "an empty literal"),
        ({"Contact.Email": "=" + "ab, " * 251}, "a literal longer than 1000 characters"),
        ({"Contact.Email": 5}, "'Contact.Email' maps to '5', which is not a source"),
        ({"Contact.Email": None}, "'Contact.Email' maps to 'None', which is not a source"),
        ({"Contact.Email": ["visitor.email"]}, "which is not a source"),
        ({"Contact.Email": "visitor.email", "contact.Email": "=x"}, "FIELD_MAP names 'Contact.Email' twice"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_key_and_the_entry(given, named):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"FIELD_MAP": given}, BASE)
    assert str(err.value).startswith("FIELD_MAP") and named in str(err.value)


@pytest.mark.parametrize("given", ["Contact.Email=visitor.email", "[('Contact.Email', 'visitor.email')]", "{'a': ", 42])
def test_what_is_not_a_dictionary_is_refused_with_an_example(given):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"FIELD_MAP": given}, BASE)
    assert str(err.value).startswith('FIELD_MAP must be a dictionary of "Object.Field" to a source, e.g. {')


def test_key_material_is_never_echoed():
    for given in ({"Contact.Description": "=" + PEM}, PEM):
        with pytest.raises(plugin_config.ConfigError) as err:
            plugin_config.validate({"FIELD_MAP": given}, BASE)
        assert "PRIVATE_KEY_FILE" in str(err.value) and "BEGIN" not in str(err.value)


def test_a_bad_environment_value_is_skipped_and_named_in_problems():
    env = {"SALESFORCE_FIELD_MAP": '{"Contact.Email": "visitor.mail"}'}
    result = plugin_config.defaults(None, environ=env)
    assert result["FIELD_MAP"] == {}
    [problem] = plugin_config.problems(result, None, environ=env)
    assert problem.startswith("the environment's SALESFORCE_FIELD_MAP is ignored: FIELD_MAP: 'Contact.Email' maps to")


def test_the_crm_settings_carry_the_map_as_sorted_pairs():
    config = plugin_config.validate({"FIELD_MAP": {"Case.Product__c": "=W", "Contact.Chat_Source__c": "=Chat"}}, BASE)
    settings = SalesforceSettings.from_config(config)
    assert settings.field_map == (("Case.Product__c", "=W"), ("Contact.Chat_Source__c", "=Chat"))
    assert settings.field_map_dict == {"Case.Product__c": "=W", "Contact.Chat_Source__c": "=Chat"}
    assert SalesforceSettings.from_config({}).field_map == ()
