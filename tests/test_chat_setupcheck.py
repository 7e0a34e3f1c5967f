"""`!salesforce check` against the simulated org: all ✓ on a plain org but for the warnings that apply,
and each problem of a customised org named with its fix. It never writes to the org."""

from __future__ import annotations

import pytest
from rc_omnichannel import Agent

from salesforce_omnichannel.chat.setupcheck import FAIL, OK, WARN, render, run_check
from salesforce_omnichannel.crm.operations import Crm

AGENTS = [
    Agent("u1", "alice", "Alice Agent", "alice@example.com"),
    Agent("u2", "bob", "Bob Agent", "bob@example.com"),
    Agent("u3", "carol", "Carol User", "carol@example.com"),
]


@pytest.fixture
def org(demo_org):
    return demo_org


def lines(findings, mark):
    return [f.line() for f in findings if f.mark == mark]


def test_a_plain_org_is_all_ticks_but_the_warnings_that_apply(org):
    crm = Crm(org.crm_settings(new_contact_account="Acme Corporation"))
    org.reset_calls()
    findings = run_check(crm, lambda: [])
    assert lines(findings, FAIL) == []
    # no agent could be matched (the plain org has no agent users): the only warning
    assert [f.text for f in findings if f.mark == WARN] == [
        "No Omnichannel agent could be listed, so none could be matched to a Salesforce user."
    ]
    assert any("Signed in as" in f.text for f in findings) and any("Acme Corporation" in f.text for f in findings)
    assert [k for k in org.calls() if not k.startswith("GET")] == ["POST oauth2/token"]  # reads only (and a login)
    assert render(findings).startswith("**Salesforce setup check**: 0 problem(s), 1 warning(s).")


def test_without_new_contact_account_it_warns_that_new_contacts_are_private(org):
    findings = run_check(Crm(org.crm_settings()), None)
    assert any("only their owner and Salesforce admins can see them" in f.line() for f in findings)
    assert any("set NEW_CONTACT_ACCOUNT" in f.line() for f in findings)


def test_a_customised_org_names_each_problem_with_its_fix(org):
    org.set_profiles(["field-access", "users", "assignment-rules"])
    crm = Crm(org.crm_settings(new_contact_account="No Such Account", case_assignment_rules=True))
    findings = run_check(crm, lambda: AGENTS)
    text = render(findings)
    assert "✗ NEW_CONTACT_ACCOUNT names 'No Such Account'" in text
    hidden = next(f for f in findings if f.text.startswith("Contact: cannot read"))
    assert hidden.mark == WARN and all(n in hidden.text for n in ("Title", "LeadSource", "MailingCity"))
    cannot_write = next(f for f in findings if f.text.startswith("Contact: cannot write"))
    assert "LeadSource" in cannot_write.text and "grant edit access" in cannot_write.fix
    assert "⚠ CASE_ASSIGNMENT_RULES is on" in text
    owners = [f for f in findings if f.text.startswith(("alice", "bob", "carol"))]
    assert [f.mark for f in owners] == [OK, OK, WARN]
    assert "by Email" in owners[0].text and "FederationIdentifier" in owners[1].text
    assert "inactive" in owners[2].text and "AGENT_USERS" in owners[2].fix


def test_an_org_whose_api_refuses_the_user_stops_at_the_first_line(org):
    crm = Crm(org.crm_settings(username="nobody@example.com"))
    findings = run_check(crm, None)
    assert len(findings) == 1 and findings[0].mark == FAIL and "refused the integration user" in findings[0].text


def test_record_types_are_advised_when_unset_and_refused_when_unknown(org):
    org.set_profiles(["record-types"])
    advised = run_check(Crm(org.crm_settings()), None)
    assert any(f.mark == WARN and "default record type, Billing" in f.text for f in advised)
    wrong = run_check(Crm(org.crm_settings(record_types=(("Case", "Suport"),))), None)
    assert any(f.mark == FAIL and "Suport" in f.text and "Support" in f.text for f in wrong)
    right = run_check(Crm(org.crm_settings(record_types=(("Case", "Support"),))), None)
    assert any(f.mark == OK and "record type Support" in f.text for f in right)
