"""OWNER, AGENT_USERS and FALLBACK_OWNER: accepted forms, refusals naming the key and the bad entry,
the environment's text forms, and the CRM core's copy (SalesforceSettings)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from unit_helpers import PEM

from salesforce_omnichannel.chat import config as plugin_config
from salesforce_omnichannel.crm.settings import SalesforceSettings

BASE = plugin_config.BUILTIN_DEFAULTS
USER_18 = "005xx000001Sv6AAAS"
USER_15 = "005xx000001Sv6A"
QUEUE_18 = "00Gxx000000AbCdEAK"


def test_defaults_are_agent_no_map_and_the_integration_user():
    result = plugin_config.defaults(None, environ={})
    assert (result["OWNER"], result["AGENT_USERS"], result["FALLBACK_OWNER"]) == ("agent", {}, "")


def test_the_builtin_map_is_never_shared_with_a_configuration():
    result = plugin_config.defaults(None, environ={})
    result["AGENT_USERS"]["alice"] = "alice@acme.example"
    assert plugin_config.BUILTIN_DEFAULTS["AGENT_USERS"] == {}


@pytest.mark.parametrize(
    ("raw", "expected"), [("agent", "agent"), ("integration", "integration"), (" Agent ", "agent")]
)
def test_owner_accepts_agent_or_integration_in_any_case(raw, expected):
    assert plugin_config.validate({"OWNER": raw}, BASE)["OWNER"] == expected


@pytest.mark.parametrize("raw", ["", "queue", "alice", "user", 1, True, None, {"a": 1}])
def test_owner_refuses_anything_else_naming_the_key(raw):
    with pytest.raises(plugin_config.ConfigError, match="OWNER"):
        plugin_config.validate({"OWNER": raw}, BASE)


@pytest.mark.parametrize("raw", ["", USER_18, USER_15, QUEUE_18, "00Gxx000000AbCd", f" {USER_18} "])
def test_fallback_owner_accepts_empty_a_user_id_or_a_queue_id(raw):
    assert plugin_config.validate({"FALLBACK_OWNER": raw}, BASE)["FALLBACK_OWNER"] == raw.strip()


@pytest.mark.parametrize(
    "raw",
    [
        "001xx000003DGb2AAG",  # an Account
        "00Qxx000001abcdEAA",  # a Lead
        "005xx000001Sv6",  # 14 characters
        "005xx000001Sv6AAASX",  # 19
        "005xx000001Sv6AA",  # 16
        "005xx000001Sv6-AAS",
        "alice@acme.example",  # a username is not accepted here: it must be an id
        "Support Queue",
    ],
)
def test_fallback_owner_refuses_other_ids_and_names(raw):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"FALLBACK_OWNER": raw}, BASE)
    assert "FALLBACK_OWNER must be a Salesforce User Id (005…) or Queue Id (00G…)" in str(err.value)


@pytest.mark.parametrize("raw", [["005xx000001Sv6AAAS"], {"a": 1}, True])
def test_fallback_owner_must_be_text(raw):
    with pytest.raises(plugin_config.ConfigError, match="FALLBACK_OWNER must be text"):
        plugin_config.validate({"FALLBACK_OWNER": raw}, BASE)


def test_agent_users_as_a_dict_of_usernames_and_ids():
    given = {"alice": "alice@acme.example", "bob": USER_18, "@carol": USER_15, " dave ": " dave@acme.example "}
    assert plugin_config.validate({"AGENT_USERS": given}, BASE)["AGENT_USERS"] == {
        "alice": "alice@acme.example",
        "bob": USER_18,
        "carol": USER_15,
        "dave": "dave@acme.example",
    }


def test_agent_users_through_plugin_config_text_replaces_the_map():
    current = plugin_config.validate({"AGENT_USERS": {"alice": "alice@acme.example"}}, BASE)
    merged = plugin_config.merge_request("{'AGENT_USERS': {'bob': 'bob.b@acme.example'}}", current, BASE)
    assert merged["AGENT_USERS"] == {"bob": "bob.b@acme.example"}
    merged = plugin_config.merge_request("{'POLL_SECONDS': 9}", merged, BASE)
    assert merged["AGENT_USERS"] == {"bob": "bob.b@acme.example"}  # other keys changed: the map is kept


@pytest.mark.parametrize(
    "text",
    [
        '{"alice": "alice@acme.example", "bob": "005xx000001Sv6AAAS"}',  # JSON
        "{'alice': 'alice@acme.example', 'bob': '005xx000001Sv6AAAS'}",  # a Python literal
        ' {"alice":"alice@acme.example","bob":"005xx000001Sv6AAAS"} ',
    ],
)
def test_agent_users_from_the_environment_as_json_or_a_literal(text):
    result = plugin_config.defaults(None, environ={"SALESFORCE_AGENT_USERS": text})
    assert result["AGENT_USERS"] == {"alice": "alice@acme.example", "bob": USER_18}
    assert plugin_config.problems(result, None, environ={"SALESFORCE_AGENT_USERS": text}) == []


def test_agent_users_from_the_bot_config_as_a_dict():
    bot = SimpleNamespace(SALESFORCE_AGENT_USERS={"alice": "alice@acme.example"})
    assert plugin_config.defaults(bot, environ={})["AGENT_USERS"] == {"alice": "alice@acme.example"}


@pytest.mark.parametrize("text", ["", "   ", "{}"])
def test_agent_users_blank_or_empty_is_no_map(text):
    assert plugin_config.defaults(None, environ={"SALESFORCE_AGENT_USERS": text})["AGENT_USERS"] == {}


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"alice": "Alice Agent"}, "'alice' maps to 'Alice Agent'"),
        ({"alice": "alice"}, "'alice' maps to 'alice'"),
        ({"alice": "001xx000003DGb2AAG"}, "'alice' maps to '001xx000003DGb2AAG'"),  # an Account id
        ({"alice": "00Gxx000000AbCdEAK"}, "'alice' maps to '00Gxx000000AbCdEAK'"),  # a queue cannot be an agent
        ({"alice": "005xx000001Sv6"}, "'alice' maps to '005xx000001Sv6'"),  # 14 characters
        ({"alice": "a@b@c.example"}, "'alice' maps to 'a@b@c.example'"),
        ({"alice": 5}, "'alice' maps to '5'"),
        ({"alice": None}, "'alice' maps to 'None'"),
        ({"alice": ["alice@acme.example"]}, "'alice' maps to"),
        ({"al ice": "alice@acme.example"}, "'al ice' is not a Rocket.Chat username"),
        ({"": "alice@acme.example"}, "'' is not a Rocket.Chat username"),
        ({7: "alice@acme.example"}, "'7' is not a Rocket.Chat username"),
        ({"alice": "alice@acme.example", "@alice": "bob.b@acme.example"}, "names 'alice' twice"),
    ],
)
def test_agent_users_refuses_a_bad_entry_naming_the_key_and_the_entry(given, named):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"AGENT_USERS": given}, BASE)
    assert str(err.value).startswith("AGENT_USERS") and named in str(err.value)


@pytest.mark.parametrize("given", ["alice=alice@acme.example", "[('alice', 'x@y.z')]", '["alice"]', "{'alice': ", 42])
def test_agent_users_refuses_what_is_not_a_dictionary(given):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"AGENT_USERS": given}, BASE)
    assert "AGENT_USERS must be a dictionary of Rocket.Chat username to Salesforce username or User Id" in str(
        err.value
    )


def test_agent_users_never_echoes_key_material():
    for given in ({"alice": PEM}, PEM, {PEM: "alice@acme.example"}):
        with pytest.raises(plugin_config.ConfigError) as err:
            plugin_config.validate({"AGENT_USERS": given}, BASE)
        assert "PRIVATE_KEY_FILE" in str(err.value) and "BEGIN" not in str(err.value)


def test_a_bad_environment_value_is_skipped_and_named_in_problems():
    env = {
        "SALESFORCE_AGENT_USERS": '{"alice": "Alice"}',
        "SALESFORCE_OWNER": "queue",
        "SALESFORCE_FALLBACK_OWNER": "x",
    }
    result = plugin_config.defaults(None, environ=env)
    assert (result["OWNER"], result["AGENT_USERS"], result["FALLBACK_OWNER"]) == ("agent", {}, "")
    found = plugin_config.problems(result, None, environ=env)
    assert len(found) == 3
    assert any(p.startswith("the environment's SALESFORCE_AGENT_USERS is ignored: AGENT_USERS") for p in found)
    assert any("SALESFORCE_OWNER is ignored" in p for p in found)
    assert any("SALESFORCE_FALLBACK_OWNER is ignored" in p for p in found)


def test_a_typo_of_a_new_key_gets_a_hint():
    with pytest.raises(plugin_config.ConfigError, match="Did you mean AGENT_USERS"):
        plugin_config.validate({"AGENT_USER": {}}, BASE)


def test_the_crm_settings_carry_the_three_keys():
    config = plugin_config.validate(
        {
            "OWNER": "integration",
            "AGENT_USERS": {"bob": USER_18, "alice": "alice@acme.example"},
            "FALLBACK_OWNER": QUEUE_18,
        },
        BASE,
    )
    settings = SalesforceSettings.from_config(config)
    assert settings.owner == "integration" and settings.fallback_owner == QUEUE_18
    assert settings.agent_users == (("alice", "alice@acme.example"), ("bob", USER_18))  # sorted pairs: hashable
    assert settings.agent_user_map == {"alice": "alice@acme.example", "bob": USER_18}
    assert settings == SalesforceSettings.from_config(dict(config))  # equal configurations, equal settings
    hash(settings)
    plain = SalesforceSettings.from_config(BASE)
    assert (plain.owner, plain.agent_users, plain.fallback_owner) == ("agent", (), "")
