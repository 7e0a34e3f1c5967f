"""People and their rules in the Salesforce simulator: the `users` profile (agents as users, a
queue, private contacts), record ownership (checked in every org), `assignment-rules` and
`duplicate-rules`, over HTTPS through simple-salesforce."""

from __future__ import annotations

import pytest
from sf_profile_helpers import client, refusal
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from sf_fixtures import JWT_GRANT

DUPLICATE = "You're creating a duplicate record. We recommend you use an existing record instead."


@pytest.fixture
def org(demo_org):
    demo_org.set_profiles(["users"])
    return demo_org


@pytest.fixture
def plain(demo_org):
    return demo_org


def composite(sf: Salesforce, *subrequests: dict, headers: dict | None = None) -> list[dict]:
    return sf.restful(
        "composite",
        method="POST",
        json={"allOrNone": False, "compositeRequest": list(subrequests)},
        headers=headers or {},
    )["compositeResponse"]


def post(ref: str, sobject: str, body: dict, headers: dict | None = None) -> dict:
    sub = {"method": "POST", "url": f"/services/data/v59.0/sobjects/{sobject}", "referenceId": ref, "body": body}
    if headers:
        sub["httpHeaders"] = headers
    return sub


# -- users and the queue ------------------------------------------------------------------------
def test_users_are_queryable_with_the_fields_agents_are_matched_on(org):
    sf = client(org)
    rows = sf.query(
        "SELECT Id, Username, Email, FederationIdentifier, IsActive, Name FROM User "
        "WHERE Username IN ('alice@acme.example', 'bob.b@acme.example', 'carol@acme.example') ORDER BY Username"
    )["records"]
    assert [(r["Username"], r["Email"], r["FederationIdentifier"], r["IsActive"], r["Name"]) for r in rows] == [
        ("alice@acme.example", "alice@example.com", None, True, "Alice Agent"),
        ("bob.b@acme.example", "bob.other@acme.example", "bob", True, "Bob Agent"),
        ("carol@acme.example", "carol@example.com", None, False, "Carol User"),
    ]
    ids = org.profiles_info()["users"]
    assert {r["Id"] for r in rows} == {ids["alice"], ids["bob"], ids["carol"]}
    by_federation = sf.query("SELECT Username FROM User WHERE FederationIdentifier = 'bob' AND IsActive = true")
    assert [r["Username"] for r in by_federation["records"]] == ["bob.b@acme.example"]
    by_email = sf.query("SELECT Username FROM User WHERE Email = 'ALICE@example.com'")["records"]
    assert [r["Username"] for r in by_email] == ["alice@acme.example"]


def test_the_support_queue_takes_cases_and_leads(org):
    sf = client(org)
    queues = sf.query("SELECT Id, Name, Type FROM Group WHERE Type = 'Queue'")["records"]
    assert [(q["Name"], q["Type"]) for q in queues] == [("Support Queue", "Queue")]
    assert queues[0]["Id"] == org.profiles_info()["queues"]["Support Queue"]
    taken = sf.query(f"SELECT SobjectType FROM QueueSobject WHERE QueueId = '{queues[0]['Id']}'")["records"]
    assert sorted(r["SobjectType"] for r in taken) == ["Case", "Lead"]


def test_users_are_described_and_cannot_be_created_through_the_api(org):
    sf = client(org)
    fields = {f["name"]: f for f in sf.User.describe()["fields"]}
    assert {"Username", "Email", "FederationIdentifier", "IsActive", "Name"} <= set(fields)
    assert not fields["Email"]["createable"]
    assert refusal(lambda: sf.User.create({"Username": "eve@acme.example"})) == [
        {
            "message": "entity type cannot be inserted: User",
            "errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            "fields": [],
        }
    ]


def test_agents_log_in_as_themselves_and_an_inactive_one_cannot(org):
    identity = org.token(sub="alice@acme.example")
    assert identity["id"].endswith("/" + org.profiles_info()["users"]["alice"])
    resp = org.http.post(
        org.url + "/services/oauth2/token",
        data={"grant_type": JWT_GRANT, "assertion": org.assertion(sub="carol@acme.example")},
        timeout=10,
    )
    assert (resp.status_code, resp.json()) == (400, {"error": "invalid_grant", "error_description": "inactive user"})


# -- ownership: checked in every org -------------------------------------------------------------
def test_the_plain_org_checks_owners_too(plain):
    sf = client(plain)
    me = plain.profiles_info()["integration_user"]["id"]
    owned = sf.Contact.create({"LastName": "Mine", "OwnerId": me})
    assert sf.Contact.get(owned["id"])["OwnerId"] == me
    assert refusal(lambda: sf.Contact.create({"LastName": "X", "OwnerId": "0055g00000ZZZZZAAA"})) == [
        {"message": "invalid cross reference id", "errorCode": "INVALID_CROSS_REFERENCE_KEY", "fields": []}
    ]
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    assert refusal(lambda: sf.Contact.create({"LastName": "X", "OwnerId": account})) == [
        {
            "message": f"Owner ID: id value of incorrect type: {account}",
            "errorCode": "FIELD_INTEGRITY_EXCEPTION",
            "fields": ["OwnerId"],
        }
    ]


def test_an_inactive_owner_is_refused(org):
    sf = client(org)
    carol = org.profiles_info()["users"]["carol"]
    assert refusal(lambda: sf.Contact.create({"LastName": "X", "OwnerId": carol})) == [
        {
            "message": f"operation performed with inactive user [{carol}] as owner of contact",
            "errorCode": "INACTIVE_OWNER_OR_USER",
            "fields": [],
        }
    ]
    case = sf.Case.create({"Subject": "Owned"})["id"]
    assert refusal(lambda: sf.Case.update(case, {"OwnerId": carol}))[0]["message"] == (
        f"operation performed with inactive user [{carol}] as owner of case"
    )


def test_a_queue_owns_only_the_objects_it_takes(org):
    sf = client(org)
    queue = org.profiles_info()["queues"]["Support Queue"]
    case = sf.Case.create({"Subject": "Queued", "OwnerId": queue})
    assert sf.Case.get(case["id"])["OwnerId"] == queue
    lead = sf.Lead.create({"LastName": "Queued", "Company": "Acme", "OwnerId": queue})
    assert sf.Lead.get(lead["id"])["OwnerId"] == queue
    for sobject, body in (("Contact", {"LastName": "X"}), ("Task", {"Subject": "X"})):
        assert refusal(lambda sobject=sobject, body=body: getattr(sf, sobject).create({**body, "OwnerId": queue})) == [
            {
                "message": f"Owner ID: id value of incorrect type: {queue}",
                "errorCode": "FIELD_INTEGRITY_EXCEPTION",
                "fields": ["OwnerId"],
            }
        ]


def test_records_without_an_owner_belong_to_whoever_saved_them(org):
    ids = org.profiles_info()["users"]
    mine = client(org).Contact.create({"LastName": "Integration's"})
    assert client(org).Contact.get(mine["id"])["OwnerId"] == org.profiles_info()["integration_user"]["id"]
    dave = client(org, sub="dave@acme.example")
    his = dave.Contact.create({"LastName": "Dave's"})
    assert dave.Contact.get(his["id"])["OwnerId"] == ids["dave"]
    alice_owned = client(org).Contact.create({"LastName": "Alice's", "OwnerId": ids["alice"]})
    assert client(org).Contact.get(alice_owned["id"])["OwnerId"] == ids["alice"]


# -- sharing --------------------------------------------------------------------------------------
def test_a_contact_without_an_account_is_private_to_its_owner(org):
    sf = client(org)
    private = sf.Contact.create({"LastName": "Private", "Email": "private@example.com"})["id"]
    web = org.profiles_info()["accounts"]["Web Visitors"]
    shared = sf.Contact.create({"LastName": "Shared", "Email": "shared@example.com", "AccountId": web})["id"]
    dave = client(org, sub="dave@acme.example")
    with pytest.raises(SalesforceResourceNotFound) as exc:
        dave.Contact.get(private)
    assert exc.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    with pytest.raises(SalesforceResourceNotFound):
        dave.Contact.update(private, {"Phone": "1"})
    assert dave.Contact.get(shared)["LastName"] == "Shared"
    seen = dave.query("SELECT Id FROM Contact WHERE Email IN ('private@example.com', 'shared@example.com')")
    assert [r["Id"] for r in seen["records"]] == [shared]
    assert dave.search("FIND {private@example.com} IN EMAIL FIELDS RETURNING Contact(Id)")["searchRecords"] == []
    everyone = sf.query("SELECT Id FROM Contact WHERE Email IN ('private@example.com', 'shared@example.com')")
    assert everyone["totalSize"] == 2  # the integration user has View All Data


def test_a_colleagues_private_contact_is_his_alone(org):
    dave = client(org, sub="dave@acme.example")
    his = dave.Contact.create({"LastName": "Dave's own"})["id"]
    assert dave.Contact.get(his)["LastName"] == "Dave's own"
    with pytest.raises(SalesforceResourceNotFound):
        client(org, sub="alice@acme.example").Contact.get(his)
    assert client(org).Contact.get(his)["OwnerId"] == org.profiles_info()["users"]["dave"]


# -- assignment-rules ----------------------------------------------------------------------------
def test_a_case_made_through_the_api_goes_to_the_queue(org):
    info = org.set_profiles(["assignment-rules"])
    queue, me = info["queues"]["Support Queue"], info["integration_user"]["id"]
    sf = client(org)
    assert sf.Case.get(sf.Case.create({"Subject": "Assigned"})["id"])["OwnerId"] == queue
    for no in ("FALSE", "false"):
        kept = sf.Case.create({"Subject": "Kept"}, headers={"Sforce-Auto-Assign": no})
        assert sf.Case.get(kept["id"])["OwnerId"] == me
    dave = client(org, sub="dave@acme.example")
    assert dave.Case.get(dave.Case.create({"Subject": "Agent's"})["id"])["OwnerId"] == queue
    contact = sf.Contact.create({"LastName": "Not a case"})
    assert sf.Contact.get(contact["id"])["OwnerId"] == me


def test_an_update_without_the_header_reassigns_too(org):
    info = org.set_profiles(["assignment-rules"])
    sf = client(org)
    case = sf.Case.create({"Subject": "Mine"}, headers={"Sforce-Auto-Assign": "FALSE"})["id"]
    sf.Case.update(case, {"Status": "Working"}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert sf.Case.get(case)["OwnerId"] == info["integration_user"]["id"]
    sf.Case.update(case, {"Status": "Escalated"})
    assert sf.Case.get(case)["OwnerId"] == info["queues"]["Support Queue"]


def test_composite_subrequests_carry_their_own_assignment_header(org):
    info = org.set_profiles(["assignment-rules"])
    sf = client(org)
    answer = composite(
        sf,
        post("kept", "Case", {"Subject": "Kept"}, {"Sforce-Auto-Assign": "FALSE"}),
        post("queued", "Case", {"Subject": "Queued"}),
        headers={"Sforce-Auto-Assign": "FALSE"},  # the top-level request's is not inherited
    )
    owners = [sf.Case.get(a["body"]["id"])["OwnerId"] for a in answer]
    assert owners == [info["integration_user"]["id"], info["queues"]["Support Queue"]]


# -- duplicate-rules ---------------------------------------------------------------------------
def duplicate_body(entity_records: list[tuple[str, str]]) -> list[dict]:
    rules = {"Contact": "Standard_Contact_Match_Rule_v1_1", "Lead": "Standard_Lead_Match_Rule_v1_0"}
    return [
        {
            "duplicateResut": {
                "allowSave": True,
                "duplicateRule": "Standard_Contact_Duplicate_Rule",
                "duplicateRuleEntityType": "Contact",
                "errorMessage": DUPLICATE,
                "matchResults": [
                    {
                        "entityType": entity,
                        "errors": [],
                        "matchEngine": "FuzzyMatchEngine",
                        "matchRecords": [
                            {
                                "additionalInformation": [],
                                "fieldDiffs": [],
                                "matchConfidence": 100.0,
                                "record": {
                                    "attributes": {
                                        "type": entity,
                                        "url": f"/services/data/v59.0/sobjects/{entity}/{record_id}",
                                    },
                                    "Id": record_id,
                                },
                            }
                        ],
                        "rule": rules[entity],
                        "size": 1,
                        "success": True,
                    }
                    for entity, record_id in entity_records
                ],
            },
            "errorCode": "DUPLICATES_DETECTED",
            "message": DUPLICATE,
        }
    ]


@pytest.fixture
def dupes(sf_sim):
    sf_sim.set_profiles(["duplicate-rules"])
    sf_sim.reset("demo")
    yield sf_sim
    sf_sim.set_profiles([])


def one_id(sf: Salesforce, soql: str) -> str:
    return sf.query(soql)["records"][0]["Id"]


def test_a_contact_with_an_existing_contacts_email_is_refused_with_salesforces_body(dupes):
    sf = client(dupes)
    jane = one_id(sf, "SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")
    assert refusal(lambda: sf.Contact.create({"LastName": "Doe", "Email": "Jane.Doe@Example.com"})) == duplicate_body(
        [("Contact", jane)]
    )


def test_a_leads_email_matches_too(dupes):
    sf = client(dupes)
    lead = one_id(sf, "SELECT Id FROM Lead WHERE Email = 'lee.lead@example.com'")
    assert refusal(lambda: sf.Contact.create({"LastName": "Lead", "Email": "lee.lead@example.com"})) == duplicate_body(
        [("Lead", lead)]
    )
    sf.Lead.create({"LastName": "Again", "Company": "Contoso", "Email": "lee.lead@example.com"})  # no rule on Lead
    both = sf.Lead.create({"LastName": "Twin", "Company": "Initech", "Email": "priya@initech.example"})["id"]
    priya = one_id(sf, "SELECT Id FROM Contact WHERE Email = 'priya@initech.example'")
    assert refusal(lambda: sf.Contact.create({"LastName": "P", "Email": "priya@initech.example"})) == duplicate_body(
        [("Contact", priya), ("Lead", both)]
    )


@pytest.mark.parametrize(
    "header", ["allowSave=true", "allowSave=true; includeRecordDetails=true; runAsCurrentUser=true"]
)
def test_allow_save_lets_the_duplicate_through(dupes, header):
    sf = client(dupes)
    created = sf.Contact.create(
        {"LastName": "Doe", "Email": "jane.doe@example.com"}, headers={"Sforce-Duplicate-Rule-Header": header}
    )
    assert sf.Contact.get(created["id"])["Email"] == "jane.doe@example.com"


def test_include_record_details_returns_the_matched_fields(dupes):
    sf = client(dupes)
    content = refusal(
        lambda: sf.Contact.create(
            {"LastName": "Doe", "Email": "jane.doe@example.com"},
            headers={"Sforce-Duplicate-Rule-Header": "allowSave=false; includeRecordDetails=true"},
        )
    )
    record = content[0]["duplicateResut"]["matchResults"][0]["matchRecords"][0]["record"]
    assert (record["LastName"], record["Email"], record["attributes"]["type"]) == (
        "Doe",
        "jane.doe@example.com",
        "Contact",
    )


def test_updates_meet_the_rule_and_composite_subrequests_carry_their_own_header(dupes):
    sf = client(dupes)
    john = one_id(sf, "SELECT Id FROM Contact WHERE Email = 'john.smith@globex.example'")
    assert refusal(lambda: sf.Contact.update(john, {"Email": "jane.doe@example.com"}))[0]["errorCode"] == (
        "DUPLICATES_DETECTED"
    )
    sf.Contact.update(john, {"Phone": "555-0111"})  # his own email matches only himself
    answer = composite(
        sf,
        post("refused", "Contact", {"LastName": "Doe", "Email": "jane.doe@example.com"}),
        post(
            "allowed",
            "Contact",
            {"LastName": "Doe", "Email": "jane.doe@example.com"},
            {"Sforce-Duplicate-Rule-Header": "allowSave=true"},
        ),
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},  # not inherited by subrequests
    )
    assert answer[0]["httpStatusCode"] == 400 and answer[0]["body"][0]["errorCode"] == "DUPLICATES_DETECTED"
    assert "duplicateResut" in answer[0]["body"][0]
    assert answer[1]["httpStatusCode"] == 201


def test_run_as_current_user_matches_only_what_the_user_can_see(dupes):
    dupes.set_profiles(["duplicate-rules", "users"])
    sf = client(dupes)
    sf.Contact.create({"LastName": "Hidden", "Email": "hidden@example.com"})  # private to the integration user
    dave = client(dupes, sub="dave@acme.example")
    assert refusal(lambda: dave.Contact.create({"LastName": "H", "Email": "hidden@example.com"}))[0]["errorCode"] == (
        "DUPLICATES_DETECTED"
    )
    saved = dave.Contact.create(
        {"LastName": "H", "Email": "hidden@example.com"},
        headers={"Sforce-Duplicate-Rule-Header": "runAsCurrentUser=true"},
    )
    assert saved["success"]
