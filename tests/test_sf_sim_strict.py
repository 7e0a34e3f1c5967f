"""Where real Salesforce is strict, the loopback org is too, seen through simple-salesforce: AND/OR/NOT
mixing, non-filterable fields, a Task on a Lead with a WhatId, the search index's lag, and the
composite resource's all-or-none answers."""

from __future__ import annotations

import time

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest


@pytest.fixture
def org(sf_sim):
    sf_sim.reset("demo")
    sf_sim.set_search_index_lag(0)
    yield sf_sim
    sf_sim.set_search_index_lag(0)


def client(sim) -> Salesforce:
    return Salesforce(instance_url=sim.url, session_id=sim.token()["access_token"], version="59.0", session=sim.http)


def error_of(excinfo) -> dict:
    return excinfo.value.content[0]


def test_mixed_operators_without_parentheses_are_a_malformed_query(org):
    sf = client(org)
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id FROM Task WHERE WhoId != null AND NOT (TaskSubtype = 'Call' OR Type = 'Call')")
    body = error_of(err)
    assert body["errorCode"] == "MALFORMED_QUERY" and body["message"].endswith("unexpected token: 'NOT'")
    assert "ERROR at Row:1:Column:" in body["message"] and "^" in body["message"]
    # the documented form with parentheses is accepted
    assert sf.query("SELECT Id FROM Task WHERE WhoId != null AND (NOT Type = 'Call')")["done"] is True


def test_a_long_text_area_cannot_be_filtered(org):
    with pytest.raises(SalesforceMalformedRequest) as err:
        client(org).query("SELECT Id FROM Task WHERE Description LIKE '%R1%'")
    assert error_of(err)["errorCode"] == "INVALID_FIELD" and "can not be filtered" in error_of(err)["message"]


def test_describe_says_which_fields_filter_and_sort(org):
    fields = {f["name"]: f for f in client(org).Task.describe()["fields"]}
    assert fields["Subject"]["filterable"] and fields["Subject"]["sortable"]
    assert not fields["Description"]["filterable"] and not fields["Description"]["sortable"]


def test_a_task_on_a_lead_cannot_have_a_what_id(org):
    sf = client(org)
    lead = org.records("Lead")[0]
    case = org.records("Case")[0]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Task.create({"Subject": "x", "WhoId": lead["Id"], "WhatId": case["Id"]})
    assert error_of(err)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert sf.Task.create({"Subject": "x", "WhoId": lead["Id"]})["success"] is True


def test_new_records_reach_sosl_only_after_the_index_lag_but_soql_at_once(org):
    org.set_search_index_lag(2)
    sf = client(org)
    made = sf.Contact.create({"LastName": "Lagging", "Phone": "+1 415 555 0177"})["id"]
    sosl = "FIND {4155550177} IN PHONE FIELDS RETURNING Contact(Id)"
    assert sf.search(sosl)["searchRecords"] == []
    assert sf.query(f"SELECT Id FROM Contact WHERE Id = '{made}'")["totalSize"] == 1
    time.sleep(2.2)
    assert [r["Id"] for r in sf.search(sosl)["searchRecords"]] == [made]
    sf.Contact.update(made, {"Phone": "+1 415 555 0178"})  # a change is re-indexed too
    assert sf.search("FIND {4155550178} IN PHONE FIELDS RETURNING Contact(Id)")["searchRecords"] == []


def composite(sim, sf: Salesforce, *subrequests, all_or_none=True) -> dict:
    return sf.restful(
        "composite", method="POST", json={"allOrNone": all_or_none, "compositeRequest": list(subrequests)}
    )


def test_composite_chains_references_and_counts_one_call(org):
    sf = client(org)
    org.reset_calls()
    answer = composite(
        org,
        sf,
        {
            "method": "POST",
            "url": "/services/data/v59.0/sobjects/Contact",
            "referenceId": "contact",
            "body": {"LastName": "Chained", "Email": "chained@example.com"},
        },
        {
            "method": "POST",
            "url": "/services/data/v59.0/sobjects/Task",
            "referenceId": "task",
            "body": {"Subject": "Chat transcript", "WhoId": "@{contact.id}"},
        },
    )
    first, second = answer["compositeResponse"]
    assert (first["httpStatusCode"], first["referenceId"], second["httpStatusCode"]) == (201, "contact", 201)
    assert first["body"]["success"] is True and first["httpHeaders"]["Location"].endswith(first["body"]["id"])
    task = next(t for t in org.records("Task") if t["Id"] == second["body"]["id"])
    assert task["WhoId"] == first["body"]["id"]
    assert org.calls() == {"POST composite": 1}


def test_composite_all_or_none_rolls_back_and_halts_the_others(org):
    sf = client(org)
    contacts = len(org.records("Contact"))
    answer = composite(
        org,
        sf,
        {
            "method": "POST",
            "url": "/services/data/v59.0/sobjects/Contact",
            "referenceId": "contact",
            "body": {"LastName": "Rolled Back"},
        },
        {
            "method": "POST",
            "url": "/services/data/v59.0/sobjects/Task",
            "referenceId": "task",
            "body": {"Subject": "x", "WhoId": "@{contact.id}", "Status": "Not A Status"},
        },
    )
    first, second = answer["compositeResponse"]
    assert first["httpStatusCode"] == 400 and first["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert (
        second["httpStatusCode"] == 400 and second["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    )
    assert len(org.records("Contact")) == contacts


def test_composite_refuses_bad_reference_ids(org):
    with pytest.raises(SalesforceMalformedRequest) as err:
        composite(
            org,
            client(org),
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Contact",
                "referenceId": "bad-ref",
                "body": {"LastName": "x"},
            },
        )
    assert error_of(err)["errorCode"] == "INVALID_INPUT"
