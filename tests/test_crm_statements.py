"""Every SOQL and SOSL statement the plugin can produce, built through the real code paths (with
hostile values) and run against the strict loopback org, then checked against Salesforce's SOQL
and SOSL references: operators never mixed without parentheses, no long text area filtered or
sorted, LIMIT and OFFSET within bounds, every literal escaped, every SOSL term's reserved
characters escaped. A new statement fails `test_the_statement_list_is_complete` until it is
listed (and so checked) here."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from salesforce_omnichannel.crm import closure as crm_closure
from salesforce_omnichannel.crm.client import SalesforceClient
from salesforce_omnichannel.crm.operations import Crm

HOSTILE = "O'Brien \\ \" % _ ' OR Name != '"
SOSL_RESERVED = set("?&|!{}[]()^~*:\\\"'+-")

# each statement with its literals replaced by ?: the whole vocabulary of the plugin's queries
STATEMENTS = {
    "SELECT Id, Name, FirstName, LastName, Email, Phone, MobilePhone, Title, AccountId, Account.Name, LeadSource, MailingCity, "
    "MailingState, MailingCountry, CreatedDate FROM Contact WHERE Email = ? ORDER BY CreatedDate DESC LIMIT ?",
    "FIND {?} IN PHONE FIELDS RETURNING Contact(Id, Name, FirstName, LastName, Email, Phone, MobilePhone, Title, AccountId, "
    "Account.Name, LeadSource, MailingCity, MailingState, MailingCountry, CreatedDate) LIMIT ?",
    "SELECT Id, Name, FirstName, LastName, Company, Email, Phone, MobilePhone, Status FROM Lead WHERE Email = ? AND Status != ? LIMIT ?",
    "FIND {?} IN PHONE FIELDS RETURNING Lead(Id, Name, FirstName, LastName, Company, Email, Phone, MobilePhone, Status) LIMIT ?",
    # the greeting's look-up: Contact and Lead in one search
    "FIND {?} IN PHONE FIELDS RETURNING Contact(Id, Name, FirstName, LastName, Email, Phone, MobilePhone, Title, AccountId, "
    "Account.Name, LeadSource, MailingCity, MailingState, MailingCountry, CreatedDate), Lead(Id, Name, FirstName, LastName, "
    "Company, Email, Phone, MobilePhone, Status) LIMIT ?",
    "SELECT Id, Name, FirstName, LastName, Email, Phone, MobilePhone, Title, AccountId, Account.Name, LeadSource, MailingCity, "
    "MailingState, MailingCountry, CreatedDate FROM Contact WHERE Id = ?",
    "SELECT Id, Name FROM Account WHERE Name = ? LIMIT ?",
    "SELECT Id, Name FROM Account WHERE Name LIKE ? ORDER BY Name LIMIT ?",
    "SELECT Id, CaseNumber, Subject, Description, Status, Priority, Origin, Type, Reason, ContactId, IsClosed, CreatedDate "
    "FROM Case WHERE ContactId = ? ORDER BY CreatedDate DESC LIMIT ?",
    "SELECT Id, CaseNumber, Subject, Description, Status, Priority, Origin, Type, Reason, ContactId, IsClosed, CreatedDate "
    "FROM Case WHERE CaseNumber = ? LIMIT ?",
    "SELECT Id, CaseNumber, Subject, Description, Status, Priority, Origin, Type, Reason, ContactId, IsClosed, CreatedDate "
    "FROM Case WHERE Id = ?",
    "SELECT Id, Subject, StartDateTime, EndDateTime, Location FROM Event WHERE WhoId = ? ORDER BY StartDateTime DESC LIMIT ?",
    "SELECT Id, Subject, Status, ActivityDate, CreatedDate FROM Task WHERE WhoId = ? AND (TaskSubtype = ? OR Type = ?) "
    "ORDER BY CreatedDate DESC LIMIT ?",
    "SELECT Id, Subject, Status, ActivityDate, CreatedDate FROM Task WHERE WhoId = ? AND TaskSubtype != ? AND Type != ? "
    "ORDER BY CreatedDate DESC LIMIT ?",
    "SELECT Id, WhoId, WhatId FROM Task WHERE Subject = ? LIMIT ?",
    "SELECT Id FROM Contact WHERE Email = ? AND CreatedDate >= ? ORDER BY CreatedDate DESC LIMIT ?",
    "SELECT Id FROM Contact WHERE Phone = ? AND CreatedDate >= ? ORDER BY CreatedDate DESC LIMIT ?",
    "SELECT Id FROM Contact WHERE LastName = ? AND CreatedDate >= ? ORDER BY CreatedDate DESC LIMIT ?",
    # the same look-up after a Lead was saved for a new visitor (NEW_VISITORS_AS=lead)
    "SELECT Id FROM Lead WHERE Email = ? AND CreatedDate >= ? ORDER BY CreatedDate DESC LIMIT ?",
    "SELECT Id FROM Lead WHERE Phone = ? AND CreatedDate >= ? ORDER BY CreatedDate DESC LIMIT ?",
    "SELECT Id FROM Lead WHERE LastName = ? AND CreatedDate >= ? ORDER BY CreatedDate DESC LIMIT ?",
}


class Recording(SalesforceClient):
    def __init__(self, settings):
        super().__init__(settings)
        self.statements: list[str] = []

    def query(self, soql: str, what: str = "query") -> list[dict]:
        self.statements.append(soql)
        return super().query(soql, what)

    def search(self, sosl: str, what: str = "search") -> list[dict]:
        self.statements.append(sosl)
        return super().search(sosl, what)


def shape(statement: str) -> str:
    text = re.sub(r"'(?:\\.|[^'\\])*'", "?", statement)  # string literals, escapes included
    text = re.sub(r"FIND \{(?:\\.|[^}\\])*\}", "FIND {?}", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "?", text)
    return re.sub(r"\b(LIMIT|OFFSET) \d+", r"\1 ?", text)


@pytest.fixture(scope="module")
def produced(sf_sim):
    sf_sim.reset("demo")
    settings = sf_sim.crm_settings()
    client = Recording(settings)
    crm = Crm(settings, client)
    jane = crm.find_contacts(email="jane.doe@example.com")[0].record
    for email, phone in (
        (HOSTILE + "@x.example", None),
        (None, "+1 (415) 555-0134"),
        ("nobody@x.example", "555 0177 " + HOSTILE),
    ):
        crm.find_contacts(email, phone)
        crm.find_leads(email, phone)
        crm.lookup(email, phone)
    crm.get_contact(jane["Id"])
    for name in ("Acme Corporation", "Ac", HOSTILE):
        try:
            crm.find_account(name)
        except Exception:  # noqa: BLE001 - an ambiguous or unknown account is an answer, not a failure
            pass
    crm.contact_cases(jane["Id"])
    crm.case_by_number("1001")
    crm.create_case(jane["Id"], {"Subject": HOSTILE}, contact=jane)
    for kind in ("tasks", "events", "calls"):
        crm.activities(jane["Id"], kind)
    crm_closure.task_by_subject(crm, f"Chat transcript: {HOSTILE} [R1]")
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    for values in ({"Email": HOSTILE}, {"Phone": HOSTILE}, {"LastName": HOSTILE}):
        for sobject in ("Contact", "Lead"):
            crm_closure.contact_created_since(crm, values, since, sobject)
    return client.statements


def test_the_statement_list_is_complete(produced):
    assert {shape(s) for s in produced} == STATEMENTS


def test_every_statement_was_accepted_by_the_strict_org(produced):
    assert len(produced) >= len(STATEMENTS)  # each ran without MALFORMED_QUERY / INVALID_FIELD (it would have raised)


def test_limits_and_offsets_are_within_salesforce_bounds(produced):
    for statement in produced:
        for word, number in re.findall(r"\b(LIMIT|OFFSET) (\d+)", statement):
            assert 0 < int(number) <= 2000 if word == "LIMIT" else int(number) <= 2000, statement


def test_hostile_text_never_escapes_its_literal(produced):
    for statement in produced:
        outside = re.sub(r"'(?:\\.|[^'\\])*'", "''", statement)
        outside = re.sub(r"FIND \{(?:\\.|[^}\\])*\}", "FIND {}", outside)
        assert "O'Brien" not in outside and "OR Name" not in outside and "%" not in outside.replace("LIKE ''", ""), (
            statement
        )


def test_sosl_terms_escape_every_reserved_character(produced):
    for statement in produced:
        m = re.match(r"FIND \{((?:\\.|[^}\\])*)\}", statement)
        if m:
            term = re.sub(r"\\.", "", m.group(1))
            assert not set(term) & SOSL_RESERVED, statement
