"""Plugin configuration: defaults from the bot config and environment, validation, key material refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from unit_helpers import PEM

from salesforce_omnichannel.chat import config as plugin_config


def test_defaults_without_anything_are_the_builtins():
    assert plugin_config.defaults(None, environ={}) == plugin_config.BUILTIN_DEFAULTS


def test_defaults_precedence_bot_config_over_environment_over_builtins():
    bot = SimpleNamespace(SALESFORCE_POLL_SECONDS=7, SALESFORCE_USERNAME="bot@acme.example")
    env = {
        "SALESFORCE_POLL_SECONDS": "11",
        "SALESFORCE_CONSUMER_KEY": "3MVG9env",
        "SALESFORCE_USERNAME": "env@acme.example",
    }
    result = plugin_config.defaults(bot, environ=env)
    assert result["POLL_SECONDS"] == 7  # bot config wins
    assert result["USERNAME"] == "bot@acme.example"
    assert result["CONSUMER_KEY"] == "3MVG9env"  # environment where the bot config is silent
    assert result["API_VERSION"] == plugin_config.BUILTIN_DEFAULTS["API_VERSION"]  # built-in otherwise


def test_defaults_coerce_environment_strings():
    env = {
        "SALESFORCE_SHOW_CONTACT_ON_ASSIGN": "off",
        "SALESFORCE_METADATA_REFRESH_MINUTES": " 45 ",
        "SALESFORCE_API_VERSION": "60.0",
    }
    result = plugin_config.defaults(None, environ=env)
    assert result["SHOW_CONTACT_ON_ASSIGN"] is False
    assert result["METADATA_REFRESH_MINUTES"] == 45
    assert result["API_VERSION"] == "60.0"


def test_bad_environment_values_are_skipped_not_a_crash():
    env = {
        "SALESFORCE_POLL_SECONDS": "often",
        "SALESFORCE_SESSION_TIMEOUT_MINUTES": "1",  # below the minimum of 15
        "SALESFORCE_AUTOSAVE_ON_CLOSE": "maybe",
        "SALESFORCE_API_VERSION": "v59",
        "SALESFORCE_AUTH_URL": "login.salesforce.com",
        "SALESFORCE_CONSUMER_KEY": PEM,
        "SALESFORCE_LOG_TRANSCRIPT_ON_CLOSE": "  ",  # blank: not set
        "SALESFORCE_USERNAME": "ops@acme.example",  # a good one next to the bad ones still counts
    }
    result = plugin_config.defaults(None, environ=env)
    for key in (
        "POLL_SECONDS",
        "SESSION_TIMEOUT_MINUTES",
        "AUTOSAVE_ON_CLOSE",
        "API_VERSION",
        "AUTH_URL",
        "CONSUMER_KEY",
        "LOG_TRANSCRIPT_ON_CLOSE",
    ):
        assert result[key] == plugin_config.BUILTIN_DEFAULTS[key], key
    assert result["USERNAME"] == "ops@acme.example"


def test_defaults_read_os_environ_when_none_given(monkeypatch):
    monkeypatch.setenv("SALESFORCE_POLL_SECONDS", "13")
    assert plugin_config.defaults(None)["POLL_SECONDS"] == 13


def test_validate_none_returns_a_copy_of_base():
    base = plugin_config.defaults(None, environ={})
    result = plugin_config.validate(None, base)
    assert result == base and result is not base


def test_validate_merges_a_partial_config_over_the_defaults():
    base = plugin_config.defaults(None, environ={"SALESFORCE_USERNAME": "ops@acme.example"})
    result = plugin_config.validate({"POLL_SECONDS": "10", "AUTOSAVE_ON_CLOSE": "no"}, base)
    assert result["POLL_SECONDS"] == 10 and result["AUTOSAVE_ON_CLOSE"] is False
    assert result["USERNAME"] == "ops@acme.example"  # untouched keys keep their defaults
    assert set(result) == set(plugin_config.KEYS)
    assert base["POLL_SECONDS"] == 30  # base not mutated


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("POLL_SECOND", "POLL_SECONDS"),
        ("poll_seconds", "POLL_SECONDS"),
        ("CONSUMERKEY", "CONSUMER_KEY"),
        ("AUTOSAVE_ON_CLOSED", "AUTOSAVE_ON_CLOSE"),
    ],
)
def test_unknown_key_with_a_close_match_hint(typo, meant):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({typo: "1"}, plugin_config.BUILTIN_DEFAULTS)
    assert f"Unknown key {typo}." in str(err.value)
    assert f"Did you mean {meant}?" in str(err.value)


def test_unknown_key_without_a_close_match_lists_the_valid_keys():
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"XYZZY": 1}, plugin_config.BUILTIN_DEFAULTS)
    assert "Did you mean" not in str(err.value)
    assert "CONSUMER_KEY" in str(err.value) and "CA_BUNDLE" in str(err.value)


@pytest.mark.parametrize("key", ["CONSUMER_KEY", "USERNAME", "PRIVATE_KEY_FILE", "CA_BUNDLE", "AUDIENCE", "NOT_A_KEY"])
@pytest.mark.parametrize("material", [PEM, "MIIEvQIBADANBgkqhkiG9w0BAQEFAAS " * 10, "my PRIVATE KEY is here"])
def test_key_material_is_refused_in_any_key_and_never_echoed(key, material):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({key: material}, plugin_config.BUILTIN_DEFAULTS)
    message = str(err.value)
    assert "PRIVATE_KEY_FILE" in message  # tells where the key belongs
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAAS" not in message and "BEGIN" not in message


@pytest.mark.parametrize(
    "key",
    [
        "PRIVATE_KEY",
        "private_key",
        "SALESFORCE_PRIVATE_KEY",
        "CLIENT_SECRET",
        "ACCESS_TOKEN",
        "token",
        "PASSWORD",
        "ROCKETCHAT_PASSWORD",
    ],
)
def test_keys_named_like_secrets_are_refused_whatever_the_value(key):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({key: "harmless"}, plugin_config.BUILTIN_DEFAULTS)
    assert "refused" in str(err.value) and "harmless" not in str(err.value)


def test_private_key_file_itself_is_an_ordinary_key():
    result = plugin_config.validate({"PRIVATE_KEY_FILE": "/etc/errbot/salesforce.key"}, plugin_config.BUILTIN_DEFAULTS)
    assert result["PRIVATE_KEY_FILE"] == "/etc/errbot/salesforce.key"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("1", True),
        (1, True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
        (0, False),
    ],
)
def test_bool_parsing(raw, expected):
    assert (
        plugin_config.validate({"SHOW_CONTACT_ON_ASSIGN": raw}, plugin_config.BUILTIN_DEFAULTS)[
            "SHOW_CONTACT_ON_ASSIGN"
        ]
        is expected
    )


@pytest.mark.parametrize("raw", ["maybe", "", "2", None, "tru"])
def test_bad_bools_are_refused_naming_the_key(raw):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"AUTOSAVE_ON_CLOSE": raw}, plugin_config.BUILTIN_DEFAULTS)
    assert "AUTOSAVE_ON_CLOSE must be true or false" in str(err.value)


@pytest.mark.parametrize(
    ("key", "low", "high"),
    [("POLL_SECONDS", 1, 3600), ("SESSION_TIMEOUT_MINUTES", 15, 1440), ("METADATA_REFRESH_MINUTES", 1, 1440)],
)
def test_int_ranges_are_inclusive_and_enforced(key, low, high):
    base = plugin_config.BUILTIN_DEFAULTS
    assert plugin_config.validate({key: low}, base)[key] == low
    assert plugin_config.validate({key: str(high)}, base)[key] == high
    for bad in (low - 1, high + 1):
        with pytest.raises(plugin_config.ConfigError) as err:
            plugin_config.validate({key: bad}, base)
        assert key in str(err.value) and "out of range" in str(err.value)


@pytest.mark.parametrize("raw", ["ten", "1.5", True, "", None])
def test_non_integers_are_refused(raw):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"POLL_SECONDS": raw}, plugin_config.BUILTIN_DEFAULTS)
    assert "POLL_SECONDS must be a whole number from 1 to 3600" in str(err.value)


@pytest.mark.parametrize("good", ["59.0", "60.0", "100.0", " 61.0 "])
def test_api_version_accepted(good):
    assert plugin_config.validate({"API_VERSION": good}, plugin_config.BUILTIN_DEFAULTS)["API_VERSION"] == good.strip()


@pytest.mark.parametrize("bad", ["59", "v59.0", "59.1", "5.0", "latest", "59.0.0"])
def test_api_version_format_refused(bad):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"API_VERSION": bad}, plugin_config.BUILTIN_DEFAULTS)
    assert "API_VERSION must look like 59.0" in str(err.value)


@pytest.mark.parametrize("key", ["AUTH_URL", "AUDIENCE"])
def test_auth_url_and_audience_must_be_urls(key):
    base = plugin_config.BUILTIN_DEFAULTS
    assert plugin_config.validate({key: "https://test.salesforce.com"}, base)[key] == "https://test.salesforce.com"
    for bad in ("test.salesforce.com", "ftp://test.salesforce.com", "javascript:alert(1)"):
        with pytest.raises(plugin_config.ConfigError) as err:
            plugin_config.validate({key: bad}, base)
        assert f"{key} must be a URL" in str(err.value)


@pytest.mark.parametrize("value", [["a"], {"a": 1}, True])
def test_text_keys_must_be_text(value):
    with pytest.raises(plugin_config.ConfigError, match="USERNAME must be text"):
        plugin_config.validate({"USERNAME": value}, plugin_config.BUILTIN_DEFAULTS)


def test_validate_refuses_a_non_dictionary():
    with pytest.raises(plugin_config.ConfigError, match="must be a dictionary"):
        plugin_config.validate(["CONSUMER_KEY", "x"], plugin_config.BUILTIN_DEFAULTS)


def test_missing_lists_required_keys_still_empty_in_order():
    assert plugin_config.missing(plugin_config.BUILTIN_DEFAULTS) == ["CONSUMER_KEY", "USERNAME", "PRIVATE_KEY_FILE"]
    config = plugin_config.validate(
        {"CONSUMER_KEY": "3MVG9x", "USERNAME": "u@x.example", "AUTH_URL": ""}, plugin_config.BUILTIN_DEFAULTS
    )
    assert plugin_config.missing(config) == ["AUTH_URL", "PRIVATE_KEY_FILE"]
    config["AUTH_URL"], config["PRIVATE_KEY_FILE"] = "https://x.example", "/k.pem"
    assert plugin_config.missing(config) == []
    assert plugin_config.missing({}) == list(plugin_config.REQUIRED)


def test_config_py_forwards_every_plugin_key_from_the_environment():
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[1] / "config.py").read_text())
    [keys] = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_SALESFORCE_KEYS" for t in node.targets)
    ]
    assert set(ast.literal_eval(keys)) == set(plugin_config.KEYS)


def test_every_org_fit_setting_reaches_the_crm_settings():
    from salesforce_omnichannel.crm.settings import SalesforceSettings

    config = plugin_config.validate(
        {"NEW_CONTACT_ACCOUNT": "Web Visitors", "CASE_ASSIGNMENT_RULES": "true", "ALLOW_DUPLICATES": True},
        plugin_config.BUILTIN_DEFAULTS,
    )
    settings = SalesforceSettings.from_config(config)
    assert (settings.new_contact_account, settings.case_assignment_rules, settings.allow_duplicates) == (
        "Web Visitors",
        True,
        True,
    )
    assert SalesforceSettings.from_config(plugin_config.BUILTIN_DEFAULTS).case_assignment_rules is False
