"""ClosureSaver on the real CRM core against the Salesforce simulator (a plain fake stands in for
Rocket.Chat): one composite write per closure, intent before it, look before writing again after
an unknown outcome, and a transcript that is never lost to the visitor's data."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from rc_omnichannel import TranscriptLine, Visitor

from salesforce_omnichannel.chat.closure import ClosureSaver, NotYet, subject_line
from salesforce_omnichannel.chat.contacts import VisitorContacts
from salesforce_omnichannel.chat.context import Subject
from salesforce_omnichannel.chat.store import OutboxItem, SqliteStateStore
from salesforce_omnichannel.crm.errors import CrmUnavailable
from salesforce_omnichannel.crm.operations import Crm

UTC = dt.timezone.utc
CLOSED = "2026-03-02T09:30:00+00:00"


class FakeOmni:
    def __init__(self, visitor: Visitor | None):
        self.visitor_record = visitor

    def visitor(self, visitor_id):
        return self.visitor_record

    def room(self, room_id):
        return None

    def transcript(self, room_id):
        return [
            TranscriptLine(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "Guest", "visitor", "Hello, my order is late"),
            TranscriptLine(dt.datetime(2026, 3, 2, 9, 1, tzinfo=UTC), "alice", "agent", "Let me check"),
        ]


@pytest.fixture
def org(sf_sim):
    sf_sim.reset("demo")
    yield sf_sim
    sf_sim.http.delete(sf_sim.url + "/_sim/validation-rules", timeout=10)


@pytest.fixture
def crm(org):
    return Crm(org.crm_settings())


def item(room="RCLOSE1", name="Guest"):
    return OutboxItem(
        f"{room}|{CLOSED}",
        room,
        "pending",
        {"room_id": room, "visitor_id": "v1", "visitor_name": name, "agent_username": "alice", "closed_at": CLOSED},
    )


def saver(crm, visitor, case=None, saved=None, autosave=True, transcript=True, grace=0.0, clock=time.time, links=None):
    """A saver; with LINKS (a state store) the room context is the store's, else only CASE is known."""
    progress_log = saved if saved is not None else []
    return ClosureSaver(
        VisitorContacts(crm, links),
        FakeOmni(visitor),
        autosave,
        transcript,
        links.room_context if links is not None else (lambda room: {"case_id": case}),
        lambda it: progress_log.append(dict(it.progress)),
        grace,
        clock,
    )


def visitor(name="Guest", emails=(), phones=()):
    return Visitor(id="v1", token="tok", username="guest-1", name=name, emails=tuple(emails), phones=tuple(phones))


def new_records(org, sobject, before):
    return [r for r in org.records(sobject) if r["Id"] not in before]


def ids(org, sobject):
    return {r["Id"] for r in org.records(sobject)}


def test_new_visitor_contact_and_task_in_one_composite_call_with_intent_recorded_first(org, crm):
    crm.metadata.describe("Contact"), crm.metadata.describe("Task")
    contacts, tasks = ids(org, "Contact"), ids(org, "Task")
    org.reset_calls()
    saved: list = []
    it = item()
    result = saver(crm, visitor("Nora Newman", ["nora@newco.example"], ["+1 415 555 0188"]), saved=saved).run(it)
    calls = org.calls()
    assert (
        calls.get("POST composite") == 1
        and not calls.get("POST sobjects/Contact")
        and not calls.get("POST sobjects/Task")
    )
    [contact] = new_records(org, "Contact", contacts)
    [task] = new_records(org, "Task", tasks)
    assert (contact["FirstName"], contact["LastName"], contact["Email"]) == ("Nora", "Newman", "nora@newco.example")
    assert task["WhoId"] == contact["Id"] == result["contact_id"] and task["Id"] == result["task_id"]
    assert "[RCLOSE1]" in task["Subject"] and "Hello, my order is late" in task["Description"]
    assert saved[0]["intent"]["subject"] == task["Subject"]  # intent stored before the write
    assert it.progress["result"] == result and "intent" not in it.progress
    org.reset_calls()
    assert saver(crm, None).run(it) == result and org.calls() == {}  # a recorded result is never redone


def test_known_visitor_gets_the_task_and_the_rooms_case(org, crm):
    jane = next(r for r in org.records("Contact") if r["Email"] == "jane.doe@example.com")
    case = next(r for r in org.records("Case") if r["ContactId"] == jane["Id"])
    contacts = ids(org, "Contact")
    result = saver(crm, visitor("Jane Doe", ["jane.doe@example.com"]), case=case["Id"]).run(item())
    assert new_records(org, "Contact", contacts) == []
    task = next(r for r in org.records("Task") if r["Id"] == result["task_id"])
    assert task["WhoId"] == jane["Id"] and task["WhatId"] == case["Id"] and result["notes"] == []


def test_a_100_kb_name_is_cut_to_the_field_lengths_and_the_task_logged(org, crm):
    huge = "Zed" + "z" * 50_000 + " " + "Q" * 50_000
    contacts = ids(org, "Contact")
    result = saver(crm, visitor(huge, ["zed@long.example"])).run(item(name=huge))
    [contact] = new_records(org, "Contact", contacts)
    assert len(contact["FirstName"]) == 40 and len(contact["LastName"]) == 80
    task = next(r for r in org.records("Task") if r["Id"] == result["task_id"])
    assert task["WhoId"] == contact["Id"] and len(task["Subject"]) <= 255 and task["Subject"].endswith("[RCLOSE1]")
    assert any("shortened" in note for note in result["notes"])


def test_an_over_long_email_is_left_out_the_phone_kept_and_the_agent_told(org, crm):
    long_email = "a" * 75 + "@example.com"  # 87 characters: Contact.Email holds 80
    contacts = ids(org, "Contact")
    result = saver(crm, visitor("Long Mail", [long_email], ["+1 415 555 0142"])).run(item())
    [contact] = new_records(org, "Contact", contacts)
    assert contact["Email"] is None and contact["Phone"] == "+1 415 555 0142"
    assert result["task_id"] and any("email was left out" in note for note in result["notes"])


def test_an_invalid_email_is_left_out_not_fatal(org, crm):
    contacts = ids(org, "Contact")
    result = saver(crm, visitor("Bad Mail", ["bad@@mail"], ["+1 415 555 0143"])).run(item())
    [contact] = new_records(org, "Contact", contacts)
    assert contact["Email"] is None and contact["LastName"] == "Mail"
    assert result["task_id"] and any("not a valid address" in note for note in result["notes"])


def test_a_contact_salesforce_refuses_still_gets_its_transcript_on_the_lead(org, crm):
    org.add_validation_rule("Contact", "Email", "lee.lead", "Contacts from this domain need a manual review.")
    lead = next(r for r in org.records("Lead") if r["Email"] == "lee.lead@example.com")
    contacts = ids(org, "Contact")
    result = saver(crm, visitor("Lee Lead", ["lee.lead@example.com"]), case="500000000000001AAA").run(item())
    assert new_records(org, "Contact", contacts) == [] and result["contact_id"] is None
    task = next(r for r in org.records("Task") if r["Id"] == result["task_id"])
    assert task["WhoId"] == lead["Id"] and task["WhatId"] is None  # a Task on a Lead has no WhatId
    assert "lee.lead@example.com" in task["Description"] and "manual review" in " ".join(result["notes"])


def test_a_refused_contact_without_a_lead_leaves_a_task_with_the_visitors_details(org, crm):
    org.add_validation_rule("Contact", "LastName", "Refused", "No contacts named Refused.")
    result = saver(crm, visitor("Rex Refused", ["rex@nowhere.example"], ["+1 415 555 0144"])).run(item())
    task = next(r for r in org.records("Task") if r["Id"] == result["task_id"])
    assert (
        task["WhoId"] is None
        and "rex@nowhere.example" in task["Description"]
        and "+1 415 555 0144" in task["Description"]
    )
    assert result["contact_id"] is None and any("no contact was saved" in note for note in result["notes"])


def test_a_visitor_without_email_or_phone_still_gets_a_transcript(org, crm):
    result = saver(crm, visitor("Anonymous")).run(item())
    task = next(r for r in org.records("Task") if r["Id"] == result["task_id"])
    assert task["WhoId"] is None and "Hello, my order is late" in task["Description"]


def test_an_unknown_outcome_waits_then_finds_the_task_and_writes_nothing(org, crm):
    it = item()
    subject = subject_line("Guest", CLOSED, it.room_id)
    jane = next(r for r in org.records("Contact") if r["Email"] == "jane.doe@example.com")
    now = time.time()
    it.progress["intent"] = {"at": now, "subject": subject, "mode": None, "contact": None}
    with pytest.raises(NotYet) as wait:
        saver(crm, visitor("Guest", ["jane.doe@example.com"]), grace=30, clock=lambda: now + 1).run(it)
    assert wait.value.at == now + 30
    org.insert(
        "Task", {"Subject": subject, "WhoId": jane["Id"], "Status": "Completed"}
    )  # what the killed attempt wrote
    tasks = ids(org, "Task")
    org.reset_calls()
    result = saver(crm, visitor("Guest", ["jane.doe@example.com"]), grace=30, clock=lambda: now + 31).run(it)
    assert ids(org, "Task") == tasks and result["contact_id"] == jane["Id"]
    assert org.calls().get("POST composite") is None and org.calls()["GET query"] == 1


def test_an_unknown_outcome_that_wrote_nothing_is_written_once(org, crm):
    it = item()
    it.progress["intent"] = {
        "at": time.time() - 60,
        "subject": subject_line("Guest", CLOSED, it.room_id),
        "mode": "create",
        "contact": {"LastName": "Once"},
    }
    contacts, tasks = ids(org, "Contact"), ids(org, "Task")
    saver(crm, visitor("Olga Once", ["olga@once.example"])).run(it)
    assert len(new_records(org, "Contact", contacts)) == 1 and len(new_records(org, "Task", tasks)) == 1


def test_an_unknown_create_without_transcript_is_found_by_the_exact_values_sent(org, crm):
    contacts = ids(org, "Contact")
    first = item()
    saver(crm, visitor("Pat Phone", [], ["+1 415 555 0145"]), transcript=False).run(first)
    [made] = new_records(org, "Contact", contacts)
    again = item()
    again.progress["intent"] = {
        "at": time.time() - 30,
        "subject": None,
        "mode": "create",
        "contact": {"Phone": "+1 415 555 0145", "LastName": "Phone"},
    }
    result = saver(crm, visitor("Pat Phone", [], ["+1 415 555 0145"]), transcript=False).run(again)
    assert result["contact_id"] == made["Id"] and len(new_records(org, "Contact", contacts)) == 1


def test_an_outage_keeps_the_intent_so_the_retry_looks_first(org, crm):
    crm.metadata.describe("Contact"), crm.metadata.describe("Task")
    org.fault(503, routes=["POST composite"], count=1)
    it = item()
    with pytest.raises(CrmUnavailable):
        saver(crm, visitor("Una Known", ["una@known.example"])).run(it)
    assert it.progress["intent"]["subject"].endswith("[RCLOSE1]")
    org.clear_faults()
    org.reset_calls()
    contacts = ids(org, "Contact")
    saver(crm, visitor("Una Known", ["una@known.example"])).run(it)
    assert org.calls()["POST composite"] == 1 and len(new_records(org, "Contact", contacts)) == 1


def test_subject_line_keeps_the_room_id_whole_when_the_name_is_cut():
    line = subject_line("N" * 400, CLOSED, "R" * 17)
    assert len(line) == 255 and line.endswith("[" + "R" * 17 + "]") and "2026-03-02 09:30 UTC" in line


def test_a_returning_phone_only_visitor_is_found_by_the_link_within_the_index_lag(org, crm, tmp_path):
    links = SqliteStateStore(tmp_path / "links.sqlite3")
    org.set_search_index_lag(60)
    try:
        phone_only = visitor("Paula Phoneonly", [], ["+1 415 555 0166"])
        contacts = ids(org, "Contact")
        first = saver(crm, phone_only, links=links).run(item("RFIRST"))
        [made] = new_records(org, "Contact", contacts)
        assert first["contact_id"] == made["Id"] and links.linked_contact("v1", "tok") == made["Id"]
        assert crm.find_contacts(None, "+1 415 555 0166") == []  # the search index has not caught up
        again = saver(crm, phone_only, links=links).run(item("RAGAIN"))
        assert again["contact_id"] == made["Id"] and len(new_records(org, "Contact", contacts)) == 1
        task = next(r for r in org.records("Task") if r["Id"] == again["task_id"])
        assert task["WhoId"] == made["Id"]
    finally:
        org.set_search_index_lag(0)
        links.close()


def test_a_link_to_a_deleted_contact_is_forgotten_and_the_visitor_looked_up_again(org, crm, tmp_path):
    links = SqliteStateStore(tmp_path / "links.sqlite3")
    jane = next(r for r in org.records("Contact") if r["Email"] == "jane.doe@example.com")
    links.link_visitor("v1", "tok", "003000000000000AAA", 1.0)  # a contact merged away since
    found = VisitorContacts(crm, links).find(
        Subject(email="jane.doe@example.com", name="Jane Doe", visitor_id="v1", token="tok")
    )
    assert [m.record["Id"] for m in found] == [jane["Id"]] and links.linked_contact("v1", "tok") is None
    links.close()


def greeted(links, crm, room, subject, case_id=None):
    """What the greeting leaves for the closure: the room's contact (and leads), the visitor's link."""
    contacts = VisitorContacts(crm, links)
    found, leads = contacts.lookup(subject)
    contacts.remember_room(room, subject, found, leads)
    if case_id:
        links.set_room_context(room, time.time(), case_id=case_id)
    return found, leads


def test_a_contact_merged_away_during_the_chat_gets_the_transcript_on_the_survivor(org, crm, tmp_path):
    links = SqliteStateStore(tmp_path / "links.sqlite3")
    jane = next(r for r in org.records("Contact") if r["Email"] == "jane.doe@example.com")
    subject = Subject(email="jane.doe@example.com", name="Jane Doe", visitor_id="v1", token="tok")
    greeted(links, crm, "RMERGE", subject)
    assert links.room_context("RMERGE")["contact_id"] == jane["Id"] and links.linked_contact("v1", "tok") == jane["Id"]
    survivor = org.insert("Contact", {"FirstName": "Jane", "LastName": "Doe", "Email": "jane.doe@example.com"})
    org.delete("Contact", jane["Id"])  # the merge keeps the survivor and deletes the other
    contacts = ids(org, "Contact")
    crm.metadata.describe("Contact"), crm.metadata.describe("Task")
    org.reset_calls()
    result = saver(crm, visitor("Jane Doe", ["jane.doe@example.com"]), links=links).run(item("RMERGE"))
    assert org.calls() == {"POST composite": 2, "GET query": 1}  # refused, one look-up by email, written
    task = next(r for r in org.records("Task") if r["Id"] == result["task_id"])
    assert task["WhoId"] == survivor == result["contact_id"] and new_records(org, "Contact", contacts) == []
    assert links.linked_contact("v1", "tok") == survivor and links.room_context("RMERGE")["contact_id"] != jane["Id"]
    links.close()


def test_a_contact_deleted_during_the_chat_is_saved_anew_with_its_transcript(org, crm, tmp_path):
    links = SqliteStateStore(tmp_path / "links.sqlite3")
    priya = next(r for r in org.records("Contact") if r["Email"] == "priya@initech.example")
    subject = Subject(email="priya@initech.example", name="Priya Patel", visitor_id="v1", token="tok")
    greeted(links, crm, "RGONE", subject)
    org.delete("Contact", priya["Id"])
    contacts = ids(org, "Contact")
    result = saver(crm, visitor("Priya Patel", ["priya@initech.example"]), links=links).run(
        item("RGONE", "Priya Patel")
    )
    [made] = new_records(org, "Contact", contacts)
    assert made["Email"] == "priya@initech.example" and result["contact_id"] == made["Id"]
    assert next(r for r in org.records("Task") if r["Id"] == result["task_id"])["WhoId"] == made["Id"]
    links.close()


def test_a_case_deleted_during_the_chat_leaves_the_task_on_the_contact_without_it(org, crm, tmp_path):
    links = SqliteStateStore(tmp_path / "links.sqlite3")
    jane = next(r for r in org.records("Contact") if r["Email"] == "jane.doe@example.com")
    case = next(r for r in org.records("Case") if r["ContactId"] == jane["Id"])
    subject = Subject(email="jane.doe@example.com", name="Jane Doe", visitor_id="v1", token="tok")
    greeted(links, crm, "RCASE", subject, case_id=case["Id"])
    org.delete("Case", case["Id"])
    result = saver(crm, visitor("Jane Doe", ["jane.doe@example.com"]), links=links).run(item("RCASE"))
    task = next(r for r in org.records("Task") if r["Id"] == result["task_id"])
    assert task["WhoId"] == jane["Id"] and task["WhatId"] is None
    assert result["notes"] == ["the chat's case no longer exists in Salesforce"]
    assert links.room_context("RCASE")["case_id"] is None  # a later attempt does not meet it again
    links.close()


def test_a_lead_deleted_during_the_chat_is_searched_again(org, crm, tmp_path):
    links = SqliteStateStore(tmp_path / "links.sqlite3")
    lead = org.insert(
        "Lead", {"FirstName": "Lee", "LastName": "Lead", "Company": "Lead Co", "Email": "lee@leadco.example"}
    )
    subject = Subject(email="lee@leadco.example", name="Lee Lead", visitor_id="v1", token="tok")
    found, leads = greeted(links, crm, "RLEAD", subject)
    assert found == [] and [x["Id"] for x in leads] == [lead]
    org.delete("Lead", lead)
    result = saver(crm, visitor("Lee Lead", ["lee@leadco.example"]), autosave=False, links=links).run(
        item("RLEAD", "Lee Lead")
    )
    task = next(r for r in org.records("Task") if r["Id"] == result["task_id"])
    assert task["WhoId"] is None and "lee@leadco.example" in task["Description"]
    links.close()
