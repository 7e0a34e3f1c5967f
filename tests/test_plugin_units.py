"""Unit tests of the Salesforce plugin's helper modules: pure logic, plain fakes, no servers."""
from __future__ import annotations

import datetime as dt
import logging
import shlex
import threading
import time
from types import SimpleNamespace

import pytest

import log_redaction
import plugin_access
import plugin_args
import plugin_cards
import plugin_config
import plugin_status
from crm_errors import CrmUnavailable, CrmValidationError
from crm_metadata import MetadataCache
from plugin_args import UsageError
from plugin_closure import transcript_text
from plugin_context import ChatContext, Subject, explicit_subject
from plugin_outbox import Outbox
from plugin_store import SqliteStateStore
from rc_omnichannel import LivechatRoom, TranscriptLine, Visitor

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

class Clock:
    def __init__(self, t=1_000_000.0):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, seconds):
        self.t += seconds


def lroom(rid, agent=None, served=None, visitor_name="Jane Doe"):
    return LivechatRoom(id=rid, name=visitor_name, open=True, visitor_id=f"v-{rid}", visitor_token=f"tok-{rid}",
                        visitor_name=visitor_name, agent_id=f"id-{agent}" if agent else None, agent_username=agent,
                        served_at=served, created_at=served, updated_at=served, closed_at=None, closer=None)


PEM = (
    "-----BEGIN PRIV" "ATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "-----END PRIVATE KEY-----"
)
BASE64_RUN = ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj" * 4)  # 256 chars, no breaks


# --------------------------------------------------------------------------------------------
# plugin_args
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["create-contact", "create_contact", "CREATE_CONTACT", "createcontact", "Create-Contact"])
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
    parsed = plugin_args.parse("""create-case --subject "Printer jam on floor 3" --description='It says "PC LOAD LETTER"'""")
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
    for name in plugin_args.COMMANDS:
        line = plugin_args.usage(name, prefix="!sf")
        assert line.startswith("Usage: !sf ")
        assert name.split("-")[0] in line
    assert plugin_args.usage("case") == "Usage: !salesforce case NUMBER"


def test_every_alias_points_to_a_real_command():
    assert set(plugin_args.ALIASES.values()) <= set(plugin_args.COMMANDS)


# --------------------------------------------------------------------------------------------
# plugin_config
# --------------------------------------------------------------------------------------------
def test_defaults_without_anything_are_the_builtins():
    assert plugin_config.defaults(None, environ={}) == plugin_config.BUILTIN_DEFAULTS


def test_defaults_precedence_bot_config_over_environment_over_builtins():
    bot = SimpleNamespace(SALESFORCE_POLL_SECONDS=7, SALESFORCE_USERNAME="bot@acme.example")
    env = {"SALESFORCE_POLL_SECONDS": "11", "SALESFORCE_CONSUMER_KEY": "3MVG9env", "SALESFORCE_USERNAME": "env@acme.example"}
    result = plugin_config.defaults(bot, environ=env)
    assert result["POLL_SECONDS"] == 7  # bot config wins
    assert result["USERNAME"] == "bot@acme.example"
    assert result["CONSUMER_KEY"] == "3MVG9env"  # environment where the bot config is silent
    assert result["API_VERSION"] == plugin_config.BUILTIN_DEFAULTS["API_VERSION"]  # built-in otherwise


def test_defaults_coerce_environment_strings():
    env = {"SALESFORCE_SHOW_CONTACT_ON_ASSIGN": "off", "SALESFORCE_METADATA_REFRESH_MINUTES": " 45 ", "SALESFORCE_API_VERSION": "60.0"}
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
    for key in ("POLL_SECONDS", "SESSION_TIMEOUT_MINUTES", "AUTOSAVE_ON_CLOSE", "API_VERSION", "AUTH_URL",
                "CONSUMER_KEY", "LOG_TRANSCRIPT_ON_CLOSE"):
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


@pytest.mark.parametrize(("typo", "meant"), [("POLL_SECOND", "POLL_SECONDS"), ("poll_seconds", "POLL_SECONDS"),
                                             ("CONSUMERKEY", "CONSUMER_KEY"), ("AUTOSAVE_ON_CLOSED", "AUTOSAVE_ON_CLOSE")])
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


@pytest.mark.parametrize("key", ["PRIVATE_KEY", "private_key", "SALESFORCE_PRIVATE_KEY", "CLIENT_SECRET", "ACCESS_TOKEN",
                                 "token", "PASSWORD", "ROCKETCHAT_PASSWORD"])
def test_keys_named_like_secrets_are_refused_whatever_the_value(key):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({key: "harmless"}, plugin_config.BUILTIN_DEFAULTS)
    assert "refused" in str(err.value) and "harmless" not in str(err.value)


def test_private_key_file_itself_is_an_ordinary_key():
    result = plugin_config.validate({"PRIVATE_KEY_FILE": "/etc/errbot/salesforce.key"}, plugin_config.BUILTIN_DEFAULTS)
    assert result["PRIVATE_KEY_FILE"] == "/etc/errbot/salesforce.key"


@pytest.mark.parametrize(("raw", "expected"), [(True, True), (False, False), ("true", True), ("YES", True), (" on ", True),
                                               ("1", True), (1, True), ("false", False), ("No", False), ("off", False),
                                               ("0", False), (0, False)])
def test_bool_parsing(raw, expected):
    assert plugin_config.validate({"SHOW_CONTACT_ON_ASSIGN": raw}, plugin_config.BUILTIN_DEFAULTS)["SHOW_CONTACT_ON_ASSIGN"] is expected


@pytest.mark.parametrize("raw", ["maybe", "", "2", None, "tru"])
def test_bad_bools_are_refused_naming_the_key(raw):
    with pytest.raises(plugin_config.ConfigError) as err:
        plugin_config.validate({"AUTOSAVE_ON_CLOSE": raw}, plugin_config.BUILTIN_DEFAULTS)
    assert "AUTOSAVE_ON_CLOSE must be true or false" in str(err.value)


@pytest.mark.parametrize(("key", "low", "high"), [("POLL_SECONDS", 1, 3600), ("SESSION_TIMEOUT_MINUTES", 15, 1440),
                                                  ("METADATA_REFRESH_MINUTES", 1, 1440)])
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
    config = plugin_config.validate({"CONSUMER_KEY": "3MVG9x", "USERNAME": "u@x.example", "AUTH_URL": ""},
                                    plugin_config.BUILTIN_DEFAULTS)
    assert plugin_config.missing(config) == ["AUTH_URL", "PRIVATE_KEY_FILE"]
    config["AUTH_URL"], config["PRIVATE_KEY_FILE"] = "https://x.example", "/k.pem"
    assert plugin_config.missing(config) == []
    assert plugin_config.missing({}) == list(plugin_config.REQUIRED)


# --------------------------------------------------------------------------------------------
# plugin_access
# --------------------------------------------------------------------------------------------
class FakeRoles:
    def __init__(self, agents=(), managers=()):
        self.agents, self.managers = set(agents), set(managers)

    def is_agent(self, user):
        return user in self.agents

    def is_manager(self, user):
        return user in self.managers


def person(name):
    return SimpleNamespace(username=name, aclattr=f"@{name}")


ROLES = FakeRoles(agents={"alice", "bob"}, managers={"mia"})
LIVE_ROOM = SimpleNamespace(id="R1", agent_username="alice")
OMNI = {"omnichannel": True, "room_id": "R1"}


@pytest.mark.parametrize("who", ["alice", "admin", "mia", "zed"])
@pytest.mark.parametrize("admin_only", [False, True])
def test_visitor_is_refused_silently_even_with_a_staff_name(who, admin_only):
    decision = plugin_access.decide({"visitor": True, **OMNI}, person(who), ["admin"], ROLES, LIVE_ROOM, admin_only)
    assert decision == plugin_access.Decision(False, None)


@pytest.mark.parametrize(("extras", "room", "omni"), [(OMNI, LIVE_ROOM, ROLES), ({}, None, ROLES), ({}, None, None),
                                                      (OMNI, None, ROLES)])
@pytest.mark.parametrize("admin_only", [False, True])
def test_admin_is_allowed_everywhere(extras, room, omni, admin_only):
    assert plugin_access.decide(extras, person("root"), ["@root"], omni, room, admin_only) == plugin_access.Decision(True)


@pytest.mark.parametrize("who", ["alice", "mia", "zed"])
def test_admin_only_refuses_everyone_else(who):
    decision = plugin_access.decide({}, person(who), ["root"], ROLES, None, admin_only=True)
    assert decision == plugin_access.Decision(False, plugin_access.REFUSE_ADMIN_ONLY)


def test_admin_match_is_case_insensitive_and_ignores_the_at():
    assert plugin_access.is_admin(person("Root"), ["@root"])
    assert plugin_access.is_admin(SimpleNamespace(username=None, nick="root"), ["ROOT"])
    assert not plugin_access.is_admin(person("rooted"), ["root"])
    assert not plugin_access.is_admin(person("root"), [])


def test_in_an_omnichannel_room_only_the_serving_agent_or_a_manager():
    decide = plugin_access.decide
    assert decide(OMNI, person("alice"), [], ROLES, LIVE_ROOM).allowed  # serving agent
    assert decide(OMNI, person("mia"), [], ROLES, LIVE_ROOM).allowed  # manager
    other_agent = decide(OMNI, person("bob"), [], ROLES, LIVE_ROOM)
    assert other_agent == plugin_access.Decision(False, plugin_access.REFUSE_NOT_SERVING)
    stranger = decide(OMNI, person("zed"), [], ROLES, LIVE_ROOM)
    assert stranger == plugin_access.Decision(False, plugin_access.REFUSE_NOT_SERVING)
    # the room could not be read: nobody but managers and admins
    assert decide(OMNI, person("alice"), [], ROLES, None).reason == plugin_access.REFUSE_NOT_SERVING
    assert decide(OMNI, person("mia"), [], ROLES, None).allowed


def test_serving_agent_who_lost_the_agent_role_is_refused():
    decision = plugin_access.decide(OMNI, person("alice"), [], FakeRoles(agents=set()), LIVE_ROOM)
    assert decision == plugin_access.Decision(False, plugin_access.REFUSE_NO_ROLE)


def test_elsewhere_agents_and_managers_are_allowed_others_get_the_role_refusal():
    for extras in ({}, {"room_type": "d"}, {"room_type": "c"}):
        assert plugin_access.decide(extras, person("bob"), [], ROLES).allowed
        assert plugin_access.decide(extras, person("mia"), [], ROLES).allowed
        assert plugin_access.decide(extras, person("zed"), [], ROLES) == plugin_access.Decision(False, plugin_access.REFUSE_NO_ROLE)


def test_without_omnichannel_everyone_errbot_lets_through_is_allowed():
    assert plugin_access.decide({}, person("zed"), [], None) == plugin_access.Decision(True)
    assert plugin_access.decide({}, "plainstring", ["root"], None).allowed


def test_refusals_are_plain_sentences():
    for reason in (plugin_access.REFUSE_NOT_SERVING, plugin_access.REFUSE_NO_ROLE, plugin_access.REFUSE_ADMIN_ONLY):
        assert reason.endswith(".") and "{" not in reason


# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# plugin_cards
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "shown"), [
    ("2026-11-24T19:14:18.000+0000", "2026-11-24 19:14 UTC"),
    ("2026-11-24T21:14:18.000+0200", "2026-11-24 19:14 UTC"),
    ("2026-11-24T23:59:59+0000", "2026-11-24 23:59 UTC"),
    ("2026-11-24T20:30:00.000-0500", "2026-11-25 01:30 UTC"),
    ("2026-11-24", "2026-11-24"),  # a date alone stays a date
    ("", ""), (None, ""),
])
def test_when(raw, shown):
    assert plugin_cards.when(raw) == shown


def link(record_id):
    return f"https://acme.my.salesforce.com/{record_id}"


def test_contact_card_leaves_empty_fields_out():
    record = {"Id": "003A", "FirstName": "Jane", "LastName": "Doe", "Email": "jane@example.com", "Phone": None,
              "MobilePhone": "", "Account": None, "Title": None, "MailingCity": "Lyon", "MailingCountry": "France",
              "CreatedDate": "2026-01-02T03:04:05.000+0000"}
    card = plugin_cards.contact_card(record, link, matched_on="email")
    fields = dict(card["fields"])
    assert card["title"] == "Contact: Jane Doe" and card["link"] == "https://acme.my.salesforce.com/003A"
    assert card["body"] == "Matched on email."
    assert fields == {"Name": "Jane Doe", "Email": "jane@example.com", "Location": "Lyon, France",
                      "Created": "2026-01-02 03:04 UTC"}
    assert all(v not in ("None", "") for _, v in card["fields"])


def test_contact_card_account_name_and_no_name():
    card = plugin_cards.contact_card({"Id": "003B", "Account": {"Name": "Acme"}}, link)
    assert card["title"] == "Contact: (no name)"
    assert ("Account", "Acme") in card["fields"] and card["body"] == ""


def test_case_card_and_lists():
    case = {"Id": "500A", "CaseNumber": "00001026", "Subject": "Printer jam", "Status": "New", "IsClosed": False,
            "Priority": None, "Description": "x" * 500, "CreatedDate": "2026-01-02T03:04:05.000+0000"}
    card = plugin_cards.case_card(case, link)
    fields = dict(card["fields"])
    assert card["title"] == "Case 00001026: Printer jam" and card["color"] == "green"
    assert "Priority" not in fields and len(fields["Description"]) == 300
    assert plugin_cards.case_card({**case, "IsClosed": True}, link)["color"] == "grey"
    assert "has no Case" in plugin_cards.case_list([], link, "Jane")
    text = plugin_cards.case_list([case], link, "Jane")
    assert "[00001026](https://acme.my.salesforce.com/500A)" in text and "2026-01-02 03:04 UTC" in text
    assert plugin_cards.activity_list("calls", [], link, "Jane") == "No calls for Jane."
    line = plugin_cards.activity_list("tasks", [{"Id": "00T1", "Subject": None, "Status": "",
                                                 "ActivityDate": "2026-02-03"}], link, "Jane").splitlines()[1]
    assert line == "- [(no subject)](https://acme.my.salesforce.com/00T1) · 2026-02-03"


@pytest.mark.parametrize(("name", "split"), [
    ("Jane", ("", "Jane")), ("Jane Doe", ("Jane", "Doe")), ("Mary Ann  van Dyke", ("Mary Ann van", "Dyke")),
    ("", ("", "")), ("   ", ("", "")), (None, ("", "")),
])
def test_split_name(name, split):
    assert plugin_cards.split_name(name) == split


@pytest.mark.parametrize(("name", "email", "phone"), [
    ("Jane Doe", "jane@example.com", "+1 (415) 555-0134"),
    ("Mary Ann O'Neil", None, "415 555 0134"),
    ('Jean "JJ" Dupont', "jj@example.com", None),
    ("Zoë $(rm -rf) `x`", "a;b@example.com", None),
    ("Prince", None, None),
])
def test_create_contact_command_quotes_so_it_pastes(name, email, phone):
    command = plugin_cards.create_contact_command("!salesforce", name, email, phone)
    words = shlex.split(command)
    assert words[:2] == ["!salesforce", "create-contact"]
    first, last = plugin_cards.split_name(name)
    expected = {"--first-name": first, "--last-name": last, "--email": email, "--phone": phone}
    got = dict(zip(words[2::2], words[3::2]))
    assert got == {k: v for k, v in expected.items() if v}
    # and the plugin's own parser reads the pasted command back
    parsed = plugin_args.parse(command[len("!salesforce "):])
    assert parsed.command == "create-contact" and parsed.positional == []
    assert parsed.options == {k[2:]: v for k, v in expected.items() if v}


def test_create_contact_command_pastes_for_a_name_starting_with_dashes():
    command = plugin_cards.create_contact_command("!salesforce", "Jane --x", "jane@example.com", None)
    parsed = plugin_args.parse(command[len("!salesforce "):])
    assert parsed.options["last-name"] == "--x"


# --------------------------------------------------------------------------------------------
# plugin_context
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("words", [["jane@example.com"], ["  jane.doe+chat@sub.example.co.uk "]])
def test_explicit_email(words):
    subject = explicit_subject(words)
    assert subject == Subject(email=words[0].strip())


@pytest.mark.parametrize("words", [["+1", "(415)", "555-0134"], ["415.555.0134"], ["0033", "1", "23", "45", "67", "89"],
                                   ["+44 20 7946 0958"]])
def test_explicit_phone_with_punctuation(words):
    subject = explicit_subject(words)
    assert subject.email is None and subject.phone == " ".join(words).strip()


@pytest.mark.parametrize("words", [["hello"], ["jane", "@example.com"], ["a@b@example.com"], ["555-013"], ["x" * 100 + "@e.com"],
                                   ["Jane", "Doe"], ["1" * 45]])
def test_explicit_garbage_is_a_usage_error(words):
    with pytest.raises(UsageError) as err:
        explicit_subject(words)
    message = str(err.value)
    assert "email" in message
    assert len(message) < 200  # a long paste is cut, not echoed whole


def test_explicit_nothing_is_no_subject():
    assert explicit_subject([]) is None


def test_explicit_words_with_enough_digits_are_not_a_phone():
    with pytest.raises(UsageError):
        explicit_subject(["order", "12345678"])


def test_chat_context_subject_from_the_visitor():
    visitor = Visitor(id="v1", token="t", username="guest-1", name="Jane Doe",
                      emails=("jane@example.com", "j@work.example"), phones=("+1 415 555 0134",))
    room = lroom("R1", "alice", served=T0, visitor_name="Jane (widget)")
    ctx = ChatContext(room, visitor)
    assert ctx.room_id == "R1"
    assert ctx.subject() == Subject(email="jane@example.com", phone="+1 415 555 0134", name="Jane Doe", visitor_id="v1", token="t")
    nameless = Visitor(id="v2", token="t", username="", name="")
    assert ChatContext(room, nameless).subject() == Subject(name="Jane (widget)", visitor_id="v2", token="t")
    assert ChatContext(None, nameless).subject() == Subject(visitor_id="v2", token="t")
    assert ChatContext(room, None).subject() is None
    assert ChatContext().room_id is None


def test_subject_describe():
    assert Subject(email="a@b.example", phone="123").describe() == "a@b.example / 123"
    assert Subject(name="Jane").describe() == "Jane"
    assert Subject().describe() == "this visitor"


# --------------------------------------------------------------------------------------------
# log_redaction
# --------------------------------------------------------------------------------------------
def test_redact_pem_block_and_long_base64():
    text = f"config {{'CONSUMER_KEY': '{PEM}'}} done"
    cleaned = log_redaction.redact(text)
    assert "MIIEvQ" not in cleaned and "BEGIN" not in cleaned and "END PRIVATE" not in cleaned
    assert cleaned.startswith("config {'CONSUMER_KEY': '") and cleaned.endswith("'} done")
    assert log_redaction.REDACTED in cleaned
    cleaned = log_redaction.redact(f"key={BASE64_RUN}== tail")
    assert cleaned == f"key={log_redaction.REDACTED} tail"


def test_redact_unterminated_pem_blanks_the_rest():
    cleaned = log_redaction.redact("paste: -----BEGIN RSA PRIV" "ATE KEY-----\nMIIEow\nAAAA")
    assert cleaned == f"paste: {log_redaction.REDACTED}"


@pytest.mark.parametrize("text", [
    "Processing command 'salesforce_contact' with parameters 'jane@example.com'",
    "https://acme.my.salesforce.com/services/data/v59.0/sobjects/Contact/003000000000001AAA",
    "a" * 119, "--- a dashed line ---", "",
])
def test_ordinary_text_is_untouched(text):
    assert log_redaction.redact(text) == text


def test_filter_rewrites_a_record_with_args_and_its_exc_text():
    record = logging.LogRecord("errbot.core", logging.INFO, __file__, 1, "Processing command %s with parameters %r",
                               ("plugin_config", PEM), None)
    record.exc_text = f"Traceback ...\nValueError: {BASE64_RUN}"
    assert log_redaction.RedactKeyMaterial().filter(record) is True
    assert record.args == ()
    assert "MIIEvQ" not in record.getMessage() and log_redaction.REDACTED in record.getMessage()
    assert record.getMessage().startswith("Processing command plugin_config with parameters ")
    assert "MIIEvQ" not in record.exc_text and record.exc_text.startswith("Traceback ...")


def test_filter_leaves_clean_records_and_malformed_ones_alone():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    assert log_redaction.RedactKeyMaterial().filter(record)
    assert record.msg == "hello %s" and record.args == ("world",)
    broken = logging.LogRecord("x", logging.INFO, __file__, 1, "two %s %s", ("one",), None)
    assert log_redaction.RedactKeyMaterial().filter(broken) is True
    assert broken.args == ("one",)


def test_install_is_idempotent_and_redacts_through_a_handler():
    logger = logging.getLogger("errbot.core")
    before = list(logger.filters)
    try:
        log_redaction.install()
        log_redaction.install()
        assert sum(isinstance(f, log_redaction.RedactKeyMaterial) for f in logger.filters) == 1
    finally:
        logger.filters[:] = before
        for handler in logging.getLogger().handlers:
            handler.filters[:] = [f for f in handler.filters if not isinstance(f, log_redaction.RedactKeyMaterial)]


# --------------------------------------------------------------------------------------------
# plugin_status, plugin_chats.transcript_text
# --------------------------------------------------------------------------------------------
CONFIGURED = {**plugin_config.BUILTIN_DEFAULTS, "CONSUMER_KEY": "3MVG9x", "USERNAME": "int@acme.example",
              "PRIVATE_KEY_FILE": "/k.pem", "AUTOSAVE_ON_CLOSE": False}


def test_status_not_configured_names_the_missing_keys_and_never_calls_salesforce():
    def crm():
        raise AssertionError("must not reach Salesforce when not configured")

    text = plugin_status.status_text(SimpleNamespace(config=dict(plugin_config.BUILTIN_DEFAULTS), crm=crm), None)
    assert "Not configured: set CONSUMER_KEY, USERNAME, PRIVATE_KEY_FILE." in text
    assert "SHOW_CONTACT_ON_ASSIGN=on" in text and "polling every 30 s" in text


def test_status_reachable_and_outbox_summary(tmp_path):
    info = {"reachable": True, "username": "int@acme.example", "display_name": "Integration", "token_age_seconds": 300,
            "metadata_age_seconds": {"Contact": 30, "Case": 7200}, "api_usage": (120, 15000)}
    outbox = Outbox(SqliteStateStore(tmp_path / "s.sqlite3"))
    outbox.add("a", "R1", {"room_id": "R1"})
    outbox.settle(outbox.due()[0][0], CrmUnavailable("locked", "UNABLE_TO_LOCK_ROW"))
    outbox.add("b", "R2", {"room_id": "R2", "visitor_name": "Jane"})
    outbox.settle(outbox.due()[0][0], CrmValidationError("missing", "REQUIRED_FIELD_MISSING"))
    outbox.add("c", "R3", {"room_id": "R3"})
    outbox.store.finish("c", "quarantined", None, "stored data cannot be read (JSONDecodeError)", 1.0)
    plugin = SimpleNamespace(config=CONFIGURED, crm=lambda: SimpleNamespace(status=lambda: info))
    text = plugin_status.status_text(plugin, outbox)
    assert "Salesforce reachable as int@acme.example (Integration)" in text
    assert "Access token age: 5 min" in text
    assert "Case 120 min, Contact 30 s" in text
    assert "API usage: 120/15000 today" in text
    assert "waiting to be saved: 1" in text and "R1: 1 attempt(s), last error UNABLE_TO_LOCK_ROW" in text
    assert "failed for good: 1" in text and "R2 (Jane)" in text and "REQUIRED_FIELD_MISSING" in text
    assert "quarantined (set aside, the rest flow): 1" in text and "R3 at 1970-01-01 00:00 UTC: stored data cannot be read" in text
    assert "AUTOSAVE_ON_CLOSE=off" in text


def test_status_unreachable_shows_the_error_not_a_traceback():
    def status():
        raise CrmUnavailable("Salesforce is not reachable.", "HTTP_503")

    def crm():
        return SimpleNamespace(status=status)

    text = plugin_status.status_text(SimpleNamespace(config=CONFIGURED, crm=crm), None)
    assert "Salesforce NOT reachable: Salesforce is not reachable. (detail: HTTP_503: Salesforce is not reachable.)" in text
    assert "Traceback" not in text and "CrmUnavailable" not in text
    assert "Access token age: none yet" in text and "not fetched yet" in text and "API usage: not known yet" in text


def test_transcript_text_in_utc_and_empty():
    paris = dt.timezone(dt.timedelta(hours=1))
    lines = [TranscriptLine(dt.datetime(2026, 3, 2, 10, 0, 5, tzinfo=paris), "Jane", "visitor", "Hi, my printer jams"),
             TranscriptLine(dt.datetime(2026, 3, 2, 9, 0, 9, tzinfo=UTC), "alice", "agent", "Let me look")]
    assert transcript_text(lines) == ("[2026-03-02 09:00:05 UTC] Jane (visitor): Hi, my printer jams\n"
                                      "[2026-03-02 09:00:09 UTC] alice (agent): Let me look")
    assert transcript_text([]) == "(no messages)"


# --------------------------------------------------------------------------------------------
# crm_metadata.MetadataCache
# --------------------------------------------------------------------------------------------
class SlowDescribeClient:
    """`call(what, fn)` like CrmClient; every sobject's describe sleeps, then counts itself."""

    def __init__(self, delay=0.05, fail_first=0):
        self.delay = delay
        self.calls: dict[str, int] = {}
        self.active = 0
        self.max_active = 0
        self.fail_first = fail_first
        self._lock = threading.Lock()

    def call(self, what, fn):
        return fn(self)

    def __getattr__(self, sobject):
        if sobject.startswith("_"):
            raise AttributeError(sobject)

        def describe():
            with self._lock:
                self.calls[sobject] = self.calls.get(sobject, 0) + 1
                n = self.calls[sobject]
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            try:
                time.sleep(self.delay)
                if n <= self.fail_first:
                    raise CrmUnavailable("Salesforce is not reachable.")
                return {"name": sobject, "n": n, "fields": [{"name": "Subject", "length": 80}]}
            finally:
                with self._lock:
                    self.active -= 1

        return SimpleNamespace(describe=describe)


def run_threads(n, target):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def work(i):
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results, errors


def test_concurrent_describes_of_one_object_share_a_single_call():
    client = SlowDescribeClient()
    cache = MetadataCache(client, refresh_minutes=30)
    results, errors = run_threads(8, lambda i: cache.describe("Contact"))
    assert errors == []
    assert client.calls == {"Contact": 1}
    assert cache.describes == 1
    assert all(r is results[0] for r in results)
    assert set(cache.fetched_at) == {"Contact"}


def test_different_objects_are_described_in_parallel():
    client = SlowDescribeClient(delay=0.2)
    cache = MetadataCache(client, refresh_minutes=30)
    names = ["Contact", "Case", "Task", "Lead"] * 2
    started = time.monotonic()
    results, errors = run_threads(8, lambda i: cache.describe(names[i]))
    assert errors == [] and client.calls == {n: 1 for n in set(names)}
    assert [r["name"] for r in results] == names
    assert client.max_active > 1  # one object's describe does not hold up another's
    assert time.monotonic() - started < 0.2 * 4


def test_metadata_ttl_refresh_and_fetched_at():
    clock = Clock(5000.0)
    client = SlowDescribeClient(delay=0)
    cache = MetadataCache(client, refresh_minutes=1, clock=clock)
    first = cache.describe("Case")
    assert cache.describe("Case") is first and cache.describes == 1
    assert cache.fetched_at == {"Case": 5000.0}
    clock.advance(59)
    assert cache.describe("Case") is first
    clock.advance(1)  # TTL reached: fetched again
    assert cache.describe("Case")["n"] == 2 and cache.describes == 2
    assert cache.fetched_at == {"Case": 5060.0}
    clock.advance(5)
    stamps = cache.refresh(("Contact", "Case"))
    assert stamps == {"Contact": 5065.0, "Case": 5065.0} == cache.fetched_at
    assert client.calls == {"Case": 3, "Contact": 1} and cache.describes == 4
    assert cache.length("Case", "Subject", 255) == 80 and cache.length("Case", "Nope", 255) == 255


def test_a_failed_describe_is_not_cached_and_waiters_retry():
    client = SlowDescribeClient(delay=0.05, fail_first=1)
    cache = MetadataCache(client, refresh_minutes=30)
    results, errors = run_threads(4, lambda i: cache.describe("Task"))
    assert len(errors) == 1 and isinstance(errors[0], CrmUnavailable)
    assert client.calls == {"Task": 2}  # the failure, then one shared retry
    assert sum(r is not None for r in results) == 3 and cache.describes == 1  # successes only
    assert cache.describe("Task")["n"] == 2


def test_refresh_during_an_in_flight_describe_fetches_anew():
    client = SlowDescribeClient(delay=0.2)
    cache = MetadataCache(client, refresh_minutes=30)
    early = threading.Thread(target=cache.describe, args=("Contact",))
    early.start()
    time.sleep(0.05)  # the first describe is under way, with metadata from before the refresh
    cache.refresh(("Contact",))
    early.join(5)
    assert client.calls == {"Contact": 2}
    assert cache.describe("Contact")["n"] == 2  # the refresh's own result is the one kept
    assert client.calls == {"Contact": 2}


def test_config_py_forwards_every_plugin_key_from_the_environment():
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[1] / "config.py").read_text())
    [keys] = [node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
              and any(getattr(t, "id", "") == "_SALESFORCE_KEYS" for t in node.targets)]
    assert set(ast.literal_eval(keys)) == set(plugin_config.KEYS)
