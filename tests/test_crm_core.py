"""The CRM core against the loopback org over real HTTPS: JWT flow, errors people can act on,
call counts, escaping, and no secret anywhere."""

from __future__ import annotations

import logging
import threading

import pytest
from unit_helpers import BEGIN_KEY

from salesforce_omnichannel.crm import auth as crm_auth
from salesforce_omnichannel.crm.errors import (
    CrmAuthError,
    CrmConfigError,
    CrmLimitExceeded,
    CrmNotFound,
    CrmUnavailable,
    CrmValidationError,
)
from salesforce_omnichannel.crm.operations import Crm
from simulators.certs import make_key_and_certificate

INJECTIONS = [
    "x' OR Email != '",
    "\\' OR LastName != \\'",
    "jane.doe@example.com' OR Name LIKE '%",
    "{jane} OR [x] AND (y) ~ ^ * ? : + - ! & | \" '",
    "ünïcödé@exämple.com",
    "line\nbreak@example.com",
    "a" * 10_000,
    "%_\\%\\_",
]


@pytest.fixture
def org(sf_sim):
    sf_sim.reset("demo")
    return sf_sim


@pytest.fixture
def crm(org):
    return Crm(org.crm_settings())


def test_the_whole_jwt_flow_and_one_mint_per_window(org, crm):
    assert crm.find_contacts(email="jane.doe@example.com")[0].record["Name"] == "Jane Doe"
    crm.find_contacts(email="john.smith@globex.example")
    assert org.calls()["POST oauth2/token"] == 1
    assert crm.client.auth.mints == 1


def test_an_expired_session_is_reminted_once_transparently(org, crm):
    crm.find_contacts(email="jane.doe@example.com")
    org.expire_sessions()
    org.reset_calls()
    assert crm.find_contacts(email="jane.doe@example.com")[0].matched_on == "email"
    calls = org.calls()
    assert calls["POST oauth2/token"] == 1 and calls["GET query"] == 2


def test_concurrent_callers_share_one_mint(org, crm):
    errors = []

    def lookup():
        try:
            crm.find_contacts(email="jane.doe@example.com")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=lookup) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and org.calls()["POST oauth2/token"] == 1


@pytest.mark.parametrize(
    "over,code,words",
    [
        ({"audience": "https://evil.example.com"}, "invalid_grant", "check AUDIENCE"),
        ({"username": "nobody@example.com"}, "invalid_grant", "pre-authorise the user's profile"),
        ({"consumer_key": "wrong"}, "invalid_client_id", "check CONSUMER_KEY"),
    ],
)
def test_refused_logins_tell_the_admin_what_to_fix(org, over, code, words):
    with pytest.raises(CrmAuthError) as err:
        Crm(org.crm_settings(**over)).find_contacts(email="jane.doe@example.com")
    assert err.value.code == code and words in err.value.message


def test_a_wrong_key_and_a_skewed_clock(org, tmp_path, monkeypatch):
    other, _ = make_key_and_certificate(tmp_path, "other")
    with pytest.raises(CrmAuthError) as err:
        Crm(org.crm_settings(private_key_file=str(other))).find_contacts(email="jane.doe@example.com")
    assert "certificate uploaded to the Connected App must match" in err.value.message
    monkeypatch.setattr(crm_auth, "ASSERTION_LIFETIME", -60)
    with pytest.raises(CrmAuthError) as late:
        Crm(org.crm_settings()).find_contacts(email="jane.doe@example.com")
    assert "clock" in late.value.message


def test_configuration_problems(org, tmp_path):
    with pytest.raises(CrmConfigError, match="cannot be read"):
        Crm(org.crm_settings(private_key_file=str(tmp_path / "missing.key"))).find_contacts(email="a@b.co")
    junk = tmp_path / "junk.key"
    junk.write_text(f"{BEGIN_KEY}\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(CrmConfigError) as err:
        Crm(org.crm_settings(private_key_file=str(junk))).find_contacts(email="a@b.co")
    assert "not a key" not in err.value.message and "usable RSA private key" in err.value.message
    with pytest.raises(CrmConfigError, match="CA_BUNDLE"):
        Crm(org.crm_settings(ca_bundle="")).find_contacts(email="a@b.co")  # the system's CAs don't know the simulator


def test_find_by_email_is_one_query_and_case_insensitive(org, crm):
    crm.find_contacts(email="warm@up.example")
    org.reset_calls()
    [match] = crm.find_contacts(email="Mei.Chen@EXAMPLE.com", phone="+1 415 555 0134")
    assert (match.record["Name"], match.matched_on) == ("Mei Chen", "email")
    assert org.calls() == {"GET query": 1}


def test_phone_only_when_email_found_nothing(org, crm):
    crm.find_contacts(email="warm@up.example")
    org.reset_calls()
    [match] = crm.find_contacts(email="unknown@example.com", phone="415.555.0134")
    assert (match.record["Name"], match.matched_on) == ("Jane Doe", "phone")
    assert org.calls() == {"GET query": 1, "GET search": 1}
    shared = crm.find_contacts(phone="+44 (0)20 7946-0958")
    assert sorted(m.record["Name"] for m in shared) == ["Tina Shared", "Tom Shared"]
    assert crm.find_contacts(phone="0044 20 7946 0958")


def test_leads_contacts_and_updates(org, crm):
    [lead] = crm.find_leads(email="lee.lead@example.com")
    assert (lead["Company"], lead["Status"]) == ("Contoso Ltd", "Working - Contacted")
    created = crm.create_contact({"FirstName": "Ana", "LastName": "Nova", "Email": "ana.nova@example.com", "Phone": ""})
    assert created["Name"] == "Ana Nova" and created["Id"].startswith("003")
    org.reset_calls()
    changed = crm.update_contact(
        created["Id"], {"Phone": "+1 555 0101", "Email": "ana.nova@example.com", "FirstName": ""}, current=created
    )
    assert changed == {"Phone": "+1 555 0101"}  # unchanged and empty fields are not sent
    assert org.calls() == {"PATCH sobjects/Contact/{id}": 1}
    assert crm.get_contact(created["Id"])["FirstName"] == "Ana"


def test_cases_newest_first_by_number_and_created_with_defaults(org, crm):
    jane = crm.find_contacts(email="jane.doe@example.com")[0].record
    cases = crm.contact_cases(jane["Id"])
    assert [c["Subject"] for c in cases][0] == "Cannot log in to the customer portal"
    assert [c["CreatedDate"] for c in cases] == sorted((c["CreatedDate"] for c in cases), reverse=True)
    number = cases[0]["CaseNumber"]
    assert crm.case_by_number(str(int(number)))["Id"] == cases[0]["Id"]
    assert crm.case_by_number(number)["Id"] == cases[0]["Id"]
    with pytest.raises(CrmNotFound):
        crm.case_by_number("99999")
    with pytest.raises(CrmValidationError, match="digits only"):
        crm.case_by_number("12' OR '1'='1")
    new = crm.create_case(jane["Id"], {"Subject": "Widget broke", "Priority": "high"})
    assert (new["Status"], new["Priority"], new["Origin"], new["ContactId"]) == ("New", "High", "Chat", jane["Id"])
    with pytest.raises(CrmValidationError) as bad:
        crm.create_case(jane["Id"], {"Subject": "x", "Status": "Sleeping"})
    assert "Escalated" in bad.value.message and "Sleeping" in bad.value.message


def test_transcripts_are_completed_tasks_trimmed_to_the_field(org, crm):
    jane = crm.find_contacts(email="jane.doe@example.com")[0].record
    task_id = crm.log_transcript(jane["Id"], "Chat transcript", "visitor: hi\n" * 4000)
    task = next(t for t in org.records("Task") if t["Id"] == task_id)
    assert task["Status"] == "Completed" and task["WhoId"] == jane["Id"]
    assert len(task["Description"]) == 32000 and task["Description"].endswith("[trimmed]")
    assert [t["Subject"] for t in crm.activities(jane["Id"], "calls")] == ["Call about the portal login"]
    assert "Quarterly review with Acme" in [e["Subject"] for e in crm.activities(jane["Id"], "events")]
    assert "Call about the portal login" not in [t["Subject"] for t in crm.activities(jane["Id"], "tasks")]


def test_one_describe_per_object_per_interval(org, crm):
    jane = crm.find_contacts(email="jane.doe@example.com")[0].record
    crm.create_case(jane["Id"], {"Subject": "one"})
    crm.create_case(jane["Id"], {"Subject": "two", "Type": "Other"})
    assert org.calls()["GET sobjects/Case/describe"] == 1
    crm.metadata.refresh(("Case",))
    assert org.calls()["GET sobjects/Case/describe"] == 2


@pytest.mark.parametrize("crafted", INJECTIONS)
def test_hostile_strings_at_every_lookup_are_harmless(org, crm, crafted):
    assert crm.find_contacts(email=crafted, phone=crafted) == [] or all(
        m.matched_on == "phone" for m in crm.find_contacts(email=crafted, phone=crafted)
    )
    assert crm.find_leads(email=crafted, phone=crafted) == []
    with pytest.raises(CrmValidationError):
        crm.case_by_number(crafted)
    with pytest.raises(CrmValidationError):
        crm.contact_cases(crafted)


def test_outages_limits_and_errors_are_typed_and_clean(org, crm):
    crm.find_contacts(email="jane.doe@example.com")
    org.fault(status=503, count=1)
    with pytest.raises(CrmUnavailable) as down:
        crm.find_contacts(email="jane.doe@example.com")
    assert down.value.retryable and "127.0.0.1" not in down.value.message
    org.set_api_usage(15000, 15000)
    with pytest.raises(CrmLimitExceeded):
        crm.find_contacts(email="jane.doe@example.com")
    org.set_api_usage(0)
    with pytest.raises(CrmValidationError) as err:
        crm.create_contact({"FirstName": "No", "LastName": "x" * 200})
    assert "jane" not in err.value.message.lower() and "SELECT" not in err.value.admin_detail


def test_status_reports_identity_usage_and_ages(org, crm):
    crm.find_contacts(email="jane.doe@example.com")
    info = crm.status()
    assert info["reachable"] is True and info["username"] == org.username
    assert info["token_age_seconds"] is not None and info["api_usage"][1] == 15000


def test_no_secret_in_logs_reprs_or_errors(org, crm, caplog):
    caplog.set_level(logging.DEBUG)
    crm.find_contacts(email="jane.doe@example.com")
    token = crm.client.auth.session().token
    key_body = org.key_path.read_text().splitlines()[1]
    try:
        Crm(org.crm_settings(audience="https://evil.example.com")).find_contacts(email="a@b.co")
    except CrmAuthError as exc:
        text = f"{exc} {exc!r} {exc.admin_detail}"
        assert token not in text and key_body not in text
    everything = (
        caplog.text
        + repr(crm)
        + repr(crm.client)
        + repr(crm.client.auth)
        + repr(crm.client.auth.session())
        + repr(crm.settings)
    )
    assert token not in everything and key_body not in everything
    assert "eyJ" not in caplog.text  # no JWT assertion logged


def test_create_case_with_the_contact_at_hand_skips_its_lookup(org, crm):
    [match] = crm.find_contacts("jane.doe@example.com")
    crm.create_case(match.record["Id"], {"Subject": "warm-up"}, contact=match.record)  # describe + token, once
    org.reset_calls()
    case = crm.create_case(match.record["Id"], {"Subject": "with the record"}, contact=match.record)
    assert case["ContactId"] == match.record["Id"] and case["Subject"] == "with the record"
    assert sum(n for route, n in org.calls().items() if "query" in route) == 1  # only the read-back of the new case


def test_a_lead_matching_only_by_mobile_phone_is_found_by_the_greetings_look_up(org, crm):
    org.insert(
        "Lead",
        {
            "FirstName": "Mo",
            "LastName": "Bile",
            "Company": "Cellco",
            "MobilePhone": "+1 212 555 0199",
            "Status": "Open",
        },
    )
    contacts, leads = crm.lookup(None, "(212) 555-0199")
    assert contacts == [] and [lead["Name"] for lead in leads] == ["Mo Bile"]
    assert leads[0]["MobilePhone"] == "+1 212 555 0199"
    assert [lead["Name"] for lead in crm.find_leads(phone="212 555 0199")] == ["Mo Bile"]
