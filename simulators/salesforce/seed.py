"""`--seed demo`: a small, believable org for the demo and the tests.

Accounts: Acme Corporation, Globex Inc, Initech, Umbrella Health.
Contacts (email / phone):
- Jane Doe, jane.doe@example.com, +1 (415) 555-0134, Acme (3 cases: New, Working, Closed; a task, an event, a call)
- John Smith, john.smith@globex.example, 415-555-0199, Globex (1 Escalated case)
- Priya Patel, priya@initech.example, (212) 555 0101, Initech (no cases)
- Tom Shared and Tina Shared, both +44 20 7946 0958 (two contacts sharing a phone)
- Luis García, luis.garcia@example.com, +34 912 345 678, Umbrella (2 cases)
- Mei Chen, MEI.CHEN@Example.com (mixed-case email), no phone
- Omar Haddad, omar@acme.example, +1-650-555-0142, Acme
- Ana O'Brien, ana.obrien@example.com, 0049 30 1234567 (an apostrophe in the name)
Leads: Lee Lead, lee.lead@example.com, 555-0177, Contoso Ltd (no contact); Rita Prospect, rita@prospect.example.
Cases are numbered from 00001001 upwards in the order above.
"""

from __future__ import annotations

import datetime as dt

from simulators.salesforce.store import Store

DAY = dt.timedelta(days=1)


def seed_demo(store: Store) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def ago(days: float) -> dt.datetime:
        return now - dt.timedelta(days=days)

    acc = {
        name: store.create("Account", {"Name": name, "Industry": industry, "BillingCity": city}, when=ago(400))["Id"]
        for name, industry, city in (
            ("Acme Corporation", "Manufacturing", "San Francisco"),
            ("Globex Inc", "Technology", "Springfield"),
            ("Initech", "Technology", "Austin"),
            ("Umbrella Health", "Healthcare", "Madrid"),
        )
    }

    def contact(first, last, email, phone, account=None, days=200, **extra):
        values = {
            "FirstName": first,
            "LastName": last,
            "Email": email,
            "Phone": phone,
            "AccountId": acc.get(account),
            "LeadSource": "Web",
        }
        values.update(extra)
        return store.create("Contact", {k: v for k, v in values.items() if v is not None}, when=ago(days))["Id"]

    jane = contact(
        "Jane",
        "Doe",
        "jane.doe@example.com",
        "+1 (415) 555-0134",
        "Acme Corporation",
        300,
        Title="Operations Manager",
        MailingCity="San Francisco",
        MailingState="CA",
        MailingCountry="USA",
    )
    john = contact("John", "Smith", "john.smith@globex.example", "415-555-0199", "Globex Inc", 250)
    contact("Priya", "Patel", "priya@initech.example", "(212) 555 0101", "Initech", 120)
    contact("Tom", "Shared", "tom.shared@example.com", "+44 20 7946 0958", None, 90)
    contact("Tina", "Shared", "tina.shared@example.com", "+44 20 7946 0958", None, 80)
    luis = contact(
        "Luis", "García", "luis.garcia@example.com", "+34 912 345 678", "Umbrella Health", 60, MailingCountry="Spain"
    )
    contact("Mei", "Chen", "MEI.CHEN@Example.com", None, None, 30)
    contact("Omar", "Haddad", "omar@acme.example", "+1-650-555-0142", "Acme Corporation", 20)
    contact("Ana", "O'Brien", "ana.obrien@example.com", "0049 30 1234567", None, 10)

    def case(contact_id, account, subject, status, priority="Medium", origin="Web", days=10, **extra):
        values = {
            "ContactId": contact_id,
            "AccountId": acc.get(account),
            "Subject": subject,
            "Status": status,
            "Priority": priority,
            "Origin": origin,
            "Type": extra.pop("Type", "Other"),
            "Reason": extra.pop("Reason", "Other"),
        }
        values.update(extra)
        return store.create("Case", {k: v for k, v in values.items() if v is not None}, when=ago(days))["Id"]

    case(
        jane,
        "Acme Corporation",
        "Printer jams on tray 2",
        "Closed",
        "Low",
        "Phone",
        200,
        Type="Mechanical",
        Reason="Breakdown",
    )
    jane_case = case(
        jane, "Acme Corporation", "Invoice shows the wrong VAT rate", "Working", "High", "Email", 12, Reason="Feedback"
    )
    case(jane, "Acme Corporation", "Cannot log in to the customer portal", "New", "Medium", "Web", 2, Type="Electronic")
    case(
        john,
        "Globex Inc",
        "Server room cooling failure",
        "Escalated",
        "High",
        "Phone",
        5,
        Type="Electrical",
        Reason="Performance",
    )
    case(luis, "Umbrella Health", "Installation of the new scanner", "New", "Medium", "Chat", 3, Reason="Installation")
    case(luis, "Umbrella Health", "Scanner calibration drifts", "Closed", "Low", "Email", 40, Reason="Equipment Design")

    store.create(
        "Task",
        {
            "Subject": "Follow up on VAT invoice",
            "Status": "In Progress",
            "WhoId": jane,
            "WhatId": jane_case,
            "ActivityDate": (now + 2 * DAY).date().isoformat(),
        },
        when=ago(11),
    )
    store.create(
        "Task",
        {
            "Subject": "Call about the portal login",
            "Status": "Completed",
            "WhoId": jane,
            "Type": "Call",
            "TaskSubtype": "Call",
            "CallDurationInSeconds": 240,
            "ActivityDate": ago(1).date().isoformat(),
        },
        when=ago(1),
    )
    store.create(
        "Event",
        {
            "Subject": "Quarterly review with Acme",
            "WhoId": jane,
            "Location": "San Francisco office",
            "StartDateTime": _fmt(now + 7 * DAY),
            "EndDateTime": _fmt(now + 7 * DAY + dt.timedelta(hours=1)),
            "DurationInMinutes": 60,
        },
        when=ago(4),
    )
    store.create(
        "Lead",
        {
            "FirstName": "Lee",
            "LastName": "Lead",
            "Company": "Contoso Ltd",
            "Email": "lee.lead@example.com",
            "Phone": "555-0177",
            "Status": "Working - Contacted",
            "LeadSource": "Web",
        },
        when=ago(15),
    )
    store.create(
        "Lead",
        {
            "FirstName": "Rita",
            "LastName": "Prospect",
            "Company": "Prospect Partners",
            "Email": "rita@prospect.example",
            "LeadSource": "Partner Referral",
        },
        when=ago(8),
    )


def _fmt(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
