"""Each command's branches, run against a fake CRM and the real state store: no bot, no server. The
end-to-end tests (test_plugin_*.py) keep the wiring; these pin what each answer holds and which
Salesforce calls it costs."""

from __future__ import annotations

import pytest
from fake_crm import FakeCrm
from unit_helpers import lroom

from salesforce_omnichannel.chat import args, registry
from salesforce_omnichannel.chat.args import UsageError
from salesforce_omnichannel.chat.commands import Commands, Invocation
from salesforce_omnichannel.chat.contacts import VisitorContacts
from salesforce_omnichannel.chat.context import ChatContext, RememberedVisitor, Subject
from salesforce_omnichannel.chat.greeting import greeting
from salesforce_omnichannel.chat.store import SqliteStateStore
from salesforce_omnichannel.crm.errors import CrmError, CrmNotFound, CrmValidationError

PREFIX = "!salesforce"


@pytest.fixture
def crm():
    return FakeCrm()


@pytest.fixture
def store(tmp_path):
    return SqliteStateStore(tmp_path / "state.sqlite3")


@pytest.fixture
def commands(crm, store):
    return Commands(crm, VisitorContacts(crm, store))


def chat(name="Jane Doe", email="jane@example.com", phone=None, rid="R1", known=None) -> ChatContext:
    subject = Subject(email=email, phone=phone, name=name, visitor_id=f"v-{rid}", token=f"tok-{rid}")
    return ChatContext(lroom(rid, agent="alice", visitor_name=name), RememberedVisitor.of(subject), known)


class Run:
    """One command as the plugin runs it; remembered cases are kept for the assertions."""

    def __init__(self, commands: Commands):
        self.commands = commands
        self.cases: list[tuple[str, str]] = []

    def __call__(self, text: str, ctx: ChatContext | None = None) -> list:
        inv = Invocation(args.parse(text, PREFIX), ctx or ChatContext(), PREFIX, lambda r, c: self.cases.append((r, c)))
        return self.commands.run(inv)


@pytest.fixture
def run(commands):
    return Run(commands)


def texts(replies) -> str:
    return "\n".join(r if isinstance(r, str) else f"{r.get('title')}\n{r.get('body') or ''}" for r in replies)


# -- contact -----------------------------------------------------------------------------
def test_contact_by_email_is_a_card_with_next_steps_about_that_contact(run, crm):
    jane = crm.add_contact("Jane", "Doe", "jane@example.com")
    [card] = run("contact jane@example.com")
    assert card["title"] == "Contact: Jane Doe"
    assert all(f"--contact {jane['Id']}" in button["msg"] for button in card["actions"])


def test_contact_several_matches_are_announced_and_all_shown(run, crm):
    for first in ("Jane", "Janet"):
        crm.add_contact(first, "Doe", phone="+1 415 555 0134")
    replies = run("contact +1 (415) 555-0134")
    assert replies[0] == "2 Salesforce contacts match +1 (415) 555-0134:" and len(replies) == 3


def test_contact_none_found_offers_the_create_command_and_the_lead(run, crm):
    crm.add_lead("Nina", "Lead", "nina@example.com")
    [reply] = run("contact nina@example.com")
    assert "This is not a Salesforce Contact" in reply and "create-contact --email nina@example.com" in reply
    assert "A Lead matches this visitor: [Nina Lead]" in reply


def test_contact_in_a_chat_reuses_what_the_greeting_found_without_asking_salesforce(run, crm):
    jane = crm.add_contact("Jane", "Doe", "jane@example.com")
    [card] = run("contact", chat(known={"contact": jane, "looked_up": True}))
    assert card["title"] == "Contact: Jane Doe" and sum(crm.calls.values()) == 0


def test_contact_of_a_visitor_without_email_or_phone_asks_for_one(run):
    with pytest.raises(UsageError) as err:
        run("contact", chat(name="Anon Ymous", email=None))
    assert "Anon Ymous left no email or phone" in str(err.value)


def test_contact_outside_a_chat_without_a_person_shows_the_usage(run):
    with pytest.raises(UsageError) as err:
        run("contact")
    assert registry.BY_NAME["contact"].usage in str(err.value)


# -- create-contact ----------------------------------------------------------------------
def test_create_contact_is_prefilled_from_the_visitor_and_remembered_for_the_chat(run, crm, store):
    replies = run("create-contact --lead-source Web", chat(name="Jane Q Doe", phone="+49 30 1234567"))
    assert replies[0] == "Contact created."
    [record] = crm.contacts.values()
    assert (record["FirstName"], record["LastName"], record["Email"], record["Phone"], record["LeadSource"]) == (
        "Jane Q",
        "Doe",
        "jane@example.com",
        "+49 30 1234567",
        "Web",
    )
    assert store.room_context("R1")["contact_id"] == record["Id"]
    assert store.linked_contact("v-R1", "tok-R1") == record["Id"]


def test_create_contact_writes_each_given_option_to_its_declared_field(run, crm):
    crm.add_account("Initech")
    sub = registry.BY_NAME["create-contact"]
    values = {o.name: f"v-{o.name}" for o in sub.written()}
    values.update({"email": "x@example.com", "account": "Initech", "lead-source": "Other"})
    run("create-contact " + " ".join(f"--{name} {value}" for name, value in values.items()))
    [record] = crm.contacts.values()
    for option in sub.written():
        expected = crm.find_account("Initech")["Id"] if option.kind == "account-name" else values[option.name]
        stored = record.get(option.field)
        assert stored == expected, option.name


def test_create_contact_shows_the_existing_contact_instead_of_a_duplicate(run, crm):
    crm.add_contact("Jane", "Doe", "jane@example.com")
    replies = run("create-contact", chat())
    assert "already exists; nothing was created" in replies[0] and len(crm.contacts) == 1
    assert crm.calls["create_contact"] == 0


def test_create_contact_refuses_positionals_a_missing_last_name_and_a_bad_email(run, crm):
    for text, ctx in (
        ("create-contact jane@example.com", None),
        ("create-contact --first-name Jane", None),
        ("create-contact --last-name Doe --email not-an-address", None),
        ("create-contact", chat(name="Jane Doe", email="not an@address")),
    ):
        with pytest.raises(UsageError):
            run(text, ctx)
    assert not crm.contacts and crm.calls["create_contact"] == 0


def test_create_contact_with_a_picklist_value_the_org_lacks_names_the_valid_ones(run, crm):
    with pytest.raises(CrmValidationError) as err:
        run("create-contact --last-name Doe --lead-source Billboard")
    assert "Choose one of: Web, Phone Inquiry, Other" in err.value.message


def test_an_option_value_over_32000_characters_is_refused_before_salesforce_is_asked(run, crm):
    with pytest.raises(CrmValidationError) as err:
        run("create-contact --last-name " + "x" * 32001)
    assert err.value.code == "STRING_TOO_LONG" and sum(crm.calls.values()) == 0


# -- cases, case, activities -------------------------------------------------------------
def test_cases_by_contact_id_lists_them(run, crm):
    jane = crm.add_contact("Jane", "Doe", "jane@example.com")
    crm.create_case(jane["Id"], {"Subject": "Printer jam"})
    [reply] = run(f"cases --contact {jane['Id']}")
    assert "Cases of Jane Doe" in reply and "Printer jam" in reply


def test_cases_of_a_person_without_a_contact_says_so_and_lists_nothing(run, crm):
    [reply] = run("cases nobody@example.com")
    assert "This is not a Salesforce Contact" in reply and crm.calls["contact_cases"] == 0


def test_cases_with_several_contacts_uses_the_newest_and_says_so(run, crm):
    crm.add_contact("Old", "Doe", "jane@example.com")
    crm.add_contact("New", "Doe", "jane@example.com")
    replies = run("cases jane@example.com")
    assert replies[0].startswith("2 contacts match jane@example.com; using the newest, Old Doe")


def test_case_needs_exactly_one_number(run, crm):
    jane = crm.add_contact("Jane", "Doe")
    crm.create_case(jane["Id"], {"Subject": "Printer jam"})
    assert run("case 1001")[0]["title"].startswith("Case 00001001")
    with pytest.raises(UsageError):
        run("case")
    with pytest.raises(CrmNotFound):
        run("case 4242")


def test_activities_takes_the_kind_before_the_person(run, crm):
    jane = crm.add_contact("Jane", "Doe", "jane@example.com")
    crm.tasks.append({"Id": "00T000000000001", "WhoId": jane["Id"], "kind": "calls", "Subject": "Rang back"})
    [reply] = run("activities calls jane@example.com")
    assert "Calls of Jane Doe" in reply and "Rang back" in reply and crm.calls["activities calls"] == 1
    run("activities jane@example.com")
    assert crm.calls["activities tasks"] == 1


# -- create-case -------------------------------------------------------------------------
def test_create_case_writes_each_option_to_its_field_and_is_remembered_for_the_chat(run, crm):
    jane = crm.add_contact("Jane", "Doe", "jane@example.com")
    replies = run(
        'create-case --subject "Printer jam" --priority High --type Problem --description "tray 2"',
        chat(known={"contact": jane, "looked_up": True}),
    )
    [case] = crm.cases.values()
    assert (case["Subject"], case["Priority"], case["Type"], case["Description"]) == (
        "Printer jam",
        "High",
        "Problem",
        "tray 2",
    )
    assert case["ContactId"] == jane["Id"] and run.cases == [("R1", case["Id"])]
    assert replies[0] == "Case 00001001 created for Jane Doe."


def test_create_case_needs_a_subject_and_a_contact(run, crm):
    with pytest.raises(UsageError) as err:
        run("create-case --priority High", chat())
    assert registry.BY_NAME["create-case"].usage in str(err.value)
    replies = run('create-case --subject "Printer jam"', chat())
    assert replies[-1] == "Create the contact first, then the case." and not crm.cases


def test_create_case_with_a_value_the_org_lacks_names_the_valid_ones(run, crm):
    crm.add_contact("Jane", "Doe", "jane@example.com")
    with pytest.raises(CrmValidationError) as err:
        run("create-case --subject x --priority urgent --contact jane@example.com")
    assert "Choose one of: High, Medium, Low" in err.value.message and not crm.cases


# -- help, refresh, status, retry --------------------------------------------------------
def test_help_lists_every_command_and_help_command_its_options(run):
    [listing] = run("help")
    for sub in registry.SUBCOMMANDS:
        assert f"`{PREFIX} {sub.usage}`" in listing
    for sub in registry.SUBCOMMANDS:
        [one] = run(f"help {sub.name}")
        assert all(f"--{o.name} {o.metavar}" in one for o in sub.options)
    with pytest.raises(UsageError):
        run("help frobnicate")


def test_refresh_says_when_metadata_was_fetched_before(run, crm):
    assert "not fetched before" in run("refresh")[0]
    assert "last fetched" in run("refresh")[0] and crm.metadata.refreshes == 2


def test_status_answers_what_the_plugin_reports(commands):
    inv = Invocation(args.parse("status"), ChatContext(), PREFIX, lambda r, c: None, status=lambda: "all is well")
    assert commands.run(inv) == ["all is well"]


def test_a_contact_deleted_during_the_chat_is_looked_up_again_once(run, crm, store):
    gone = {"Id": "003000000000999", "Name": "Gone Doe", "LastName": "Doe"}
    fresh = crm.add_contact("Jane", "Doe", "jane@example.com")
    ctx = chat(known={"contact": gone, "looked_up": True})
    original = crm.contact_cases

    asked = []

    def cases_of(contact_id, limit=20):
        asked.append(contact_id)
        if contact_id == gone["Id"]:
            raise CrmError("entity is deleted", "ENTITY_IS_DELETED")
        return original(contact_id, limit)

    crm.contact_cases = cases_of
    [reply] = run("cases", ctx)
    assert "(Jane Doe)" in reply and "Gone" not in reply and crm.calls["lookup"] == 1
    assert store.room_context("R1")["contact"] is None  # forgotten: the closure looks the visitor up again
    assert asked == [gone["Id"], fresh["Id"]]


def test_a_second_refusal_is_not_retried_again(run, crm):
    crm.add_contact("Jane", "Doe", "jane@example.com")
    crm.contact_cases = lambda contact_id, limit=20: (_ for _ in ()).throw(CrmError("gone", "ENTITY_IS_DELETED"))
    with pytest.raises(CrmError):
        run("cases", chat())


# -- greeting ----------------------------------------------------------------------------
def test_greeting_of_a_known_visitor_is_one_card_and_remembered_for_the_chat(crm, store):
    crm.add_contact("Jane", "Doe", "jane@example.com")
    contacts = VisitorContacts(crm, store)
    [card] = greeting(contacts, chat(), PREFIX)
    assert card["body"].startswith("**Jane Doe is already a Salesforce Contact.**")
    assert all("--chat R1" in b["msg"] for b in card["actions"])
    assert store.room_context("R1")["contact"]["Email"] == "jane@example.com" and crm.calls["lookup"] == 1


def test_greeting_of_a_new_visitor_offers_the_prefilled_create_button(crm, store):
    [card] = greeting(VisitorContacts(crm, store), chat(name="Neu Kunde", email="neu@example.com"), PREFIX)
    assert "This is not a Salesforce Contact" in card["body"]
    [button] = card["actions"]
    parsed = args.parse(button["msg"][len(PREFIX) + 1 :])
    assert parsed.command == "create-contact" and parsed.options["chat"] == "R1"
    assert (parsed.options["first-name"], parsed.options["last-name"], parsed.options["email"]) == (
        "Neu",
        "Kunde",
        "neu@example.com",
    )


def _refused_as_duplicate(crm, matches):
    def create(fields):
        crm.calls["create_contact"] += 1
        error = CrmValidationError("Salesforce's duplicate rules refused the record.", "DUPLICATES_DETECTED")
        error.duplicates = matches
        raise error

    crm.create_contact = create


def test_create_contact_matched_by_the_duplicate_rules_answers_with_that_contact(run, crm, store):
    existing = crm.add_contact("Jane", "Doe", "jane.other@example.com")
    _refused_as_duplicate(crm, [("Lead", "00Q000000000077"), ("Contact", existing["Id"])])
    replies = run("create-contact", chat())
    assert replies[0] == "Salesforce's duplicate rules found this existing contact; nothing was created."
    assert replies[1]["title"] == "Contact: Jane Doe" and len(crm.contacts) == 1
    assert store.room_context("R1")["contact_id"] == existing["Id"]  # the chat's contact from now on


def test_create_contact_matched_to_a_lead_by_the_duplicate_rules_says_so(run, crm):
    _refused_as_duplicate(crm, [("Lead", "00Q000000000077")])
    [reply] = run("create-contact", chat())
    assert "duplicate rules found an existing Lead" in reply and "00Q000000000077" in reply and not crm.contacts


def test_create_contact_refused_for_another_reason_still_raises(run, crm):
    _refused_as_duplicate(crm, [])
    with pytest.raises(CrmValidationError):
        run("create-contact", chat())


def test_an_owner_salesforce_refuses_is_forgotten_and_the_case_made_as_the_integration_user(commands, crm):
    jane = crm.add_contact("Jane", "Doe", "jane@example.com")
    original, forgotten, owners_sent = crm.create_case, [], []

    def create_case(contact_id, fields, contact=None):
        owners_sent.append(fields.get("OwnerId"))
        if fields.get("OwnerId"):
            raise CrmValidationError("inactive owner", "INACTIVE_OWNER_OR_USER")
        return original(contact_id, fields, contact)

    crm.create_case = create_case
    inv = Invocation(
        args.parse(f'create-case --subject "Printer jam" --contact {jane["Id"]}'),
        ChatContext(),
        PREFIX,
        lambda r, c: None,
        owner=lambda sobject: {"OwnerId": "005000000000042"},
        forget_owner=forgotten.append,
    )
    replies = commands.run(inv)
    assert replies[0].startswith("Case 00001001 created") and owners_sent == ["005000000000042", None]
    assert "005000000000042" in forgotten
