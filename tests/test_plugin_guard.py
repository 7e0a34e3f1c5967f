"""What must never happen, tried for real against the bot: visitors, other agents and users without
the agent role running commands; the key in chat, logs or `!plugin config`; a closed chat lost to
a Salesforce outage and a bot restart; injection strings reaching SOQL or SOSL unescaped."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from unit_helpers import BEGIN_KEY, BEGIN_RSA_KEY

from plugin_fixtures import BOT, wait_until
from simulators.rocketchat.people import Admin, Agent, User, Visitor, text_of


@pytest.fixture(scope="module")
def people(stack):
    alice = Agent(stack.rc.url, "alice", "agent-pass")
    alice.go_online()
    bob = Agent(stack.rc.url, "bob", "agent-pass")
    maria = Agent(stack.rc.url, "maria", "manager-pass")
    carol = User(stack.rc.url, "carol", "user-pass")
    admin = Admin(stack.rc.url, "admin", "admin-pass")
    yield {"alice": alice, "bob": bob, "maria": maria, "carol": carol, "admin": admin}
    for person in (alice, bob, maria, carol, admin):
        person.close()


def bot_said(stack, rid: str) -> list[dict]:
    return [m for m in stack.rc.room_messages(rid) if m["u"]["username"] == BOT and not m.get("t")]


def test_visitors_other_agents_and_plain_users_are_refused(stack, people):
    alice, bob, maria, carol = people["alice"], people["bob"], people["maria"], people["carol"]
    visitor = Visitor(stack.rc.url, "Jane Doe", email="jane.doe@example.com")
    try:
        rid = visitor.open_chat()
        alice.take(rid)
        visitor.say("!salesforce contact jane.doe@example.com")
        visitor.say("/salesforce cases")
        # a manager may act in any chat; the answer goes to her privately
        managed = stack.ask(maria, rid, "!salesforce contact", contains="Contact: Jane Doe")
        assert managed["rid"] == maria.dm(BOT)
        # another agent cannot reach alice's chat from his direct message
        other = stack.ask(bob, bob.dm(BOT), f"!salesforce contact --chat {rid}", contains="No open chat of yours")
        assert "Jane" not in text_of(other)
        # a user without an Omnichannel role reads nothing, even with an explicit email
        plain = stack.ask(carol, carol.dm(BOT), "!salesforce contact jane.doe@example.com", contains="livechat-agent")
        assert "Salesforce commands are for Omnichannel agents and managers" in plain["msg"]
        # only bot admins see the status
        assert "Only bot admins" in stack.ask(alice, alice.dm(BOT), "!salesforce status", contains="admins")["msg"]
        history = visitor.history()
        alice.close_chat(rid)
    finally:
        visitor.close()
    assert bot_said(stack, rid) == [] and not [m for m in history if m["u"]["username"] == BOT]
    out = stack.bot.output()
    assert 'contact jane.doe@example.com" from' not in out.split("Processing command")[-1]


def test_status_for_admins(stack, people):
    admin = people["admin"]
    reply = stack.ask(admin, admin.dm(BOT), "!salesforce status", contains="Salesforce status")
    assert f"Salesforce reachable as {stack.sf.username}" in reply["msg"]
    assert re.search(r"API usage: \d+/\d+ today", reply["msg"]) and re.search(
        r"Closed chats waiting to be saved: \d+", reply["msg"]
    )


@pytest.mark.parametrize(
    "config, expected",
    [
        (f"{{'PRIVATE_KEY': '{BEGIN_KEY}MIIEvQIBADANBg'}}", "PRIVATE_KEY is refused"),
        (f"{{'CONSUMER_KEY': '{BEGIN_RSA_KEY}MIIEvQ'}}", "refused"),
        ("{'POLL_SECOND': 5}", "Unknown key POLL_SECOND. Did you mean POLL_SECONDS?"),
        ("{'POLL_SECONDS': 0}", "POLL_SECONDS must be from 1 to 3600"),
        ("{'SHOW_CONTACT_ON_ASSIGN': 'maybe'}", "SHOW_CONTACT_ON_ASSIGN must be true or false"),
    ],
)
def test_bad_configuration_is_refused_with_the_key_named_and_never_stored(stack, people, config, expected):
    admin = people["admin"]
    reply = stack.ask(admin, admin.dm(BOT), f"!plugin config Salesforce {config}", contains="refused")
    assert "nothing was stored" in reply["msg"] and expected in reply["msg"] and "BEGIN" not in reply["msg"]
    if "KEY" in expected or "refused" in expected:
        assert "PRIVATE_KEY_FILE" in reply["msg"]
    stored = b"".join(p.read_bytes() for p in Path(stack.data_dir).iterdir() if p.is_file())
    assert b"MIIEvQ" not in stored and b"BEGIN RSA" not in stored  # Errbot's storage never saw it
    # the plugin was never switched off: it answers at once
    assert "contact" in stack.ask(admin, admin.dm(BOT), "!salesforce help", contains="Salesforce commands")["msg"]


def test_a_partial_configuration_keeps_every_other_key(stack, people):
    admin = people["admin"]
    first = stack.ask(
        admin, admin.dm(BOT), "!plugin config Salesforce {'METADATA_REFRESH_MINUTES': 45}", contains="after this change"
    )
    assert "METADATA_REFRESH_MINUTES: 45" in first["msg"] and f"USERNAME: '{stack.sf.username}'" in first["msg"]
    second = stack.ask(
        admin, admin.dm(BOT), "!plugin config Salesforce {'POLL_SECONDS': 3}", contains="after this change"
    )
    assert "POLL_SECONDS: 3" in second["msg"] and "METADATA_REFRESH_MINUTES: 45" in second["msg"]
    assert "BEGIN" not in second["msg"]
    wait_until(
        lambda: "Plugin configuration done" in " ".join(m["msg"] for m in stack.rc.room_messages(admin.dm(BOT))),
        20,
        "Errbot to store it",
    )
    found = stack.ask(admin, admin.dm(BOT), "!salesforce contact jane.doe@example.com", contains="Jane Doe", timeout=30)
    assert "not configured" not in found["msg"]
    stack.ask(
        admin,
        admin.dm(BOT),
        "!plugin config Salesforce {'POLL_SECONDS': 2, 'METADATA_REFRESH_MINUTES': 30}",
        contains="after this change",
    )


def test_plugin_config_shows_nothing_secret(stack, people):
    admin = people["admin"]
    shown = stack.ask(admin, admin.dm(BOT), "!plugin config Salesforce", contains="plugin config Salesforce")
    key = stack.sf.key_path.read_text()
    assert "PRIVATE_KEY_FILE" in shown["msg"] and "BEGIN" not in shown["msg"]
    assert not any(line in shown["msg"] for line in key.splitlines()[1:-1])
    assert not any(line in stack.bot.output() for line in key.splitlines()[1:-1])


def test_injection_strings_are_harmless(stack, people):
    alice = people["alice"]
    dm = alice.dm(BOT)
    for text, expected in (
        ("!salesforce contact \"x' OR Name LIKE '%\"", "neither an email address nor a phone number"),
        ('!salesforce contact "o\'hara\\\\{x}@example.com"', "This is not a Salesforce Contact"),
        ("!salesforce contact 'ana.obrien@example.com'", "Contact: Ana O'Brien"),
        ("!salesforce contact '+1 (415) 555-0134'", "Contact: Jane Doe"),
        ("!salesforce case \"1001' OR CaseNumber != '\"", "is not one"),
        (
            '!salesforce create-contact --last-name "Tables\'); DELETE FROM Contact; --" --email "bobby\'}{@example.com"',
            "Contact created",
        ),
        ('!salesforce contact "' + "9" * 30 + '"', "This is not a Salesforce Contact"),
    ):
        reply = stack.ask(alice, dm, text, contains=expected.split(" ")[0] if expected.startswith("Contact") else None)
        got = "\n".join(text_of(m) for m in [reply])
        if expected not in got:  # cards come after a first line: read everything from the bot since
            got = text_of(alice.wait_for_reply(dm, BOT, alice.mark() - 3, contains=expected))
        assert expected in got
    assert [r["LastName"] for r in stack.sf.records("Contact") if r.get("Email") == "bobby'}{@example.com"] == [
        "Tables'); DELETE FROM Contact; --"
    ]
    assert len(stack.sf.records("Contact")) > 5  # nothing was deleted


def test_a_closure_during_an_outage_and_a_restart_is_saved_once(stack, people):
    alice = people["alice"]
    visitor = Visitor(stack.rc.url, "Olga Outage", email="olga@outage.example")
    stack.sf.fault(status=503)  # every Salesforce route, the token endpoint included
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        sorry = alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="could not be asked")
        assert "Traceback" not in sorry["msg"]
        visitor.say("my order never arrived")
        alice.close_chat(rid)
        stack.bot.wait_for_line("failed (will retry)", 30)
        stack.restart_bot()  # the pending save lives in the plugin's storage
    finally:
        stack.sf.clear_faults()
        visitor.close()
    [olga] = wait_until(
        lambda: [r for r in stack.sf.records("Contact") if r.get("Email") == "olga@outage.example"],
        60,
        "the saved contact",
    )
    [task] = wait_until(
        lambda: [t for t in stack.sf.records("Task") if t.get("WhoId") == olga["Id"]], 60, "the transcript Task"
    )
    assert "my order never arrived" in task["Description"]
    time.sleep(5)  # two more polls: nothing is saved twice
    assert len([t for t in stack.sf.records("Task") if t.get("WhoId") == olga["Id"]]) == 1
    assert len([r for r in stack.sf.records("Contact") if r.get("Email") == "olga@outage.example"]) == 1


def test_hostile_visitor_data_is_stored_as_data(stack, people):
    alice = people["alice"]
    before = len(stack.sf.records("Contact"))
    name, email = "Robert'); DELETE FROM Contact; --", "o'hara+{x}@example.com"
    visitor = Visitor(stack.rc.url, name, email=email, phone="+1 (555) 010-9999 OR 1=1")
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        greeting = alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="This is not a Salesforce Contact")
        assert "--email 'o'\"'\"'hara+{x}@example.com'" in text_of(greeting)  # pastes back as the same value
        visitor.say("hello")
        alice.close_chat(rid)
        [saved] = wait_until(
            lambda: [r for r in stack.sf.records("Contact") if r.get("Email") == email], 30, "the saved contact"
        )
    finally:
        visitor.close()
    assert saved["FirstName"] + " " + saved["LastName"] == name
    assert len(stack.sf.records("Contact")) == before + 1
