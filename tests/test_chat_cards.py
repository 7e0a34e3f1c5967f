"""Cards and lists: labelled fields, empty ones left out, pasteable create-contact commands."""

from __future__ import annotations

import shlex

import pytest

from salesforce_omnichannel.chat import args as plugin_args
from salesforce_omnichannel.chat import cards as plugin_cards


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("2026-11-24T19:14:18.000+0000", "2026-11-24 19:14 UTC"),
        ("2026-11-24T21:14:18.000+0200", "2026-11-24 19:14 UTC"),
        ("2026-11-24T23:59:59+0000", "2026-11-24 23:59 UTC"),
        ("2026-11-24T20:30:00.000-0500", "2026-11-25 01:30 UTC"),
        ("2026-11-24", "2026-11-24"),  # a date alone stays a date
        ("", ""),
        (None, ""),
    ],
)
def test_when(raw, shown):
    assert plugin_cards.when(raw) == shown


def link(record_id):
    return f"https://acme.my.salesforce.com/{record_id}"


def test_contact_card_leaves_empty_fields_out():
    record = {
        "Id": "003A",
        "FirstName": "Jane",
        "LastName": "Doe",
        "Email": "jane@example.com",
        "Phone": None,
        "MobilePhone": "",
        "Account": None,
        "Title": None,
        "MailingCity": "Lyon",
        "MailingCountry": "France",
        "CreatedDate": "2026-01-02T03:04:05.000+0000",
    }
    card = plugin_cards.contact_card(record, link, matched_on="email")
    fields = dict(card["fields"])
    assert card["title"] == "Contact: Jane Doe" and card["link"] == "https://acme.my.salesforce.com/003A"
    assert card["body"] == "Matched on email."
    assert fields == {
        "Name": "Jane Doe",
        "Email": "jane@example.com",
        "Location": "Lyon, France",
        "Created": "2026-01-02 03:04 UTC",
    }
    assert all(v not in ("None", "") for _, v in card["fields"])


def test_contact_card_account_name_and_no_name():
    card = plugin_cards.contact_card({"Id": "003B", "Account": {"Name": "Acme"}}, link)
    assert card["title"] == "Contact: (no name)"
    assert ("Account", "Acme") in card["fields"] and card["body"] == ""


def test_case_card_and_lists():
    case = {
        "Id": "500A",
        "CaseNumber": "00001026",
        "Subject": "Printer jam",
        "Status": "New",
        "IsClosed": False,
        "Priority": None,
        "Description": "x" * 500,
        "CreatedDate": "2026-01-02T03:04:05.000+0000",
    }
    card = plugin_cards.case_card(case, link)
    fields = dict(card["fields"])
    assert card["title"] == "Case 00001026: Printer jam" and card["color"] == "green"
    assert "Priority" not in fields and len(fields["Description"]) == 300
    assert plugin_cards.case_card({**case, "IsClosed": True}, link)["color"] == "grey"
    assert "has no Case" in plugin_cards.case_list([], link, "Jane")
    text = plugin_cards.case_list([case], link, "Jane")
    assert "[00001026](https://acme.my.salesforce.com/500A)" in text and "2026-01-02 03:04 UTC" in text
    assert plugin_cards.activity_list("calls", [], link, "Jane") == "No calls for Jane."
    line = plugin_cards.activity_list(
        "tasks", [{"Id": "00T1", "Subject": None, "Status": "", "ActivityDate": "2026-02-03"}], link, "Jane"
    ).splitlines()[1]
    assert line == "- [(no subject)](https://acme.my.salesforce.com/00T1) · 2026-02-03"


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("Jane", ("", "Jane")),
        ("Jane Doe", ("Jane", "Doe")),
        ("Mary Ann  van Dyke", ("Mary Ann van", "Dyke")),
        ("", ("", "")),
        ("   ", ("", "")),
        (None, ("", "")),
    ],
)
def test_split_name(name, split):
    assert plugin_cards.split_name(name) == split


@pytest.mark.parametrize(
    ("name", "email", "phone"),
    [
        ("Jane Doe", "jane@example.com", "+1 (415) 555-0134"),
        ("Mary Ann O'Neil", None, "415 555 0134"),
        ('Jean "JJ" Dupont', "jj@example.com", None),
        ("Zoë $(rm -rf) `x`", "a;b@example.com", None),
        ("Prince", None, None),
    ],
)
def test_create_contact_command_quotes_so_it_pastes(name, email, phone):
    command = plugin_cards.create_contact_command("!salesforce", name, email, phone)
    words = shlex.split(command)
    assert words[:2] == ["!salesforce", "create-contact"]
    first, last = plugin_cards.split_name(name)
    expected = {"--first-name": first, "--last-name": last, "--email": email, "--phone": phone}
    got = dict(zip(words[2::2], words[3::2], strict=True))
    assert got == {k: v for k, v in expected.items() if v}
    # and the plugin's own parser reads the pasted command back
    parsed = plugin_args.parse(command[len("!salesforce ") :])
    assert parsed.command == "create-contact" and parsed.positional == []
    assert parsed.options == {k[2:]: v for k, v in expected.items() if v}


def test_create_contact_command_pastes_for_a_name_starting_with_dashes():
    command = plugin_cards.create_contact_command("!salesforce", "Jane --x", "jane@example.com", None)
    parsed = plugin_args.parse(command[len("!salesforce ") :])
    assert parsed.options["last-name"] == "--x"


def test_a_100_kb_name_is_shown_cut_and_prefilled_at_salesforces_lengths():
    huge = "Hugo " + "H" * 100_000
    assert plugin_cards.shown_name(huge) == ("Hugo " + "H" * 74 + "…") and len(plugin_cards.shown_name(huge)) == 80
    assert plugin_cards.shown_name("  Jane \n Doe ") == "Jane Doe"
    command = plugin_cards.create_contact_command("!salesforce", "F" * 50 + " " + "L" * 100, None, None)
    assert command == f"!salesforce create-contact --first-name {'F' * 40} --last-name {'L' * 80}"
    text = plugin_cards.not_a_contact(huge, "hugo@huge.example", command, [], str)
    assert len(text) < 400 and "Hugo HHH" in text
