"""The loopback org behaves like Salesforce for clients we did not write (simple-salesforce) and
for raw HTTP compared with the documented shapes."""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sf_fixtures import JWT_GRANT


@pytest.fixture
def org(sf_sim):
    sf_sim.reset("demo")
    return sf_sim


def client(sim) -> Salesforce:
    return Salesforce(instance_url=sim.url, session_id=sim.token()["access_token"], version="59.0", session=sim.http)


def test_token_success_body_is_the_documented_one(org):
    body = org.token()
    assert set(body) == {"access_token", "scope", "instance_url", "id", "token_type"}
    assert body["instance_url"] == org.url and body["token_type"] == "Bearer"
    assert body["access_token"].startswith("00D") and "!" in body["access_token"]
    org_id, user_id = body["id"].rsplit("/", 2)[-2:]
    assert org_id.startswith("00D") and user_id.startswith("005") and len(user_id) == 18


@pytest.mark.parametrize(
    "claims,error,description",
    [
        ({"aud": "https://evil.example.com"}, "invalid_grant", "audience is invalid"),
        ({"iss": "not-our-app"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "nobody@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"exp": int(time.time()) - 10}, "invalid_grant", "expired authorization code"),
        ({"exp": int(time.time()) + 3600}, "invalid_grant", "invalid assertion"),
    ],
)
def test_token_errors_are_documented_pairs(org, claims, error, description):
    resp = org.http.post(
        org.url + "/services/oauth2/token", data={"grant_type": JWT_GRANT, "assertion": org.assertion(**claims)}
    )
    assert resp.status_code == 400
    assert resp.json() == {"error": error, "error_description": description}


def test_a_wrong_key_is_an_invalid_assertion(org, tmp_path):
    import jwt as pyjwt

    from simulators.certs import make_key_and_certificate

    other_key, _ = make_key_and_certificate(tmp_path, "other")
    assertion = pyjwt.encode(
        {
            "iss": org.consumer_key,
            "sub": org.username,
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 120,
        },
        other_key.read_text(),
        algorithm="RS256",
    )
    resp = org.http.post(org.url + "/services/oauth2/token", data={"grant_type": JWT_GRANT, "assertion": assertion})
    assert (resp.status_code, resp.json()["error_description"]) == (400, "invalid assertion")


def test_grant_type_and_inactive_user(org):
    resp = org.http.post(
        org.url + "/services/oauth2/token", data={"grant_type": "password", "assertion": org.assertion()}
    )
    assert resp.json() == {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
    org.add_user("gone@example.com", active=False)
    resp = org.http.post(
        org.url + "/services/oauth2/token",
        data={"grant_type": JWT_GRANT, "assertion": org.assertion(sub="gone@example.com")},
    )
    assert resp.json()["error_description"] == "inactive user"


def test_simple_salesforce_query_search_and_crud(org):
    sf = client(org)
    found = sf.query("SELECT Id, Name, Account.Name FROM Contact WHERE Email = 'JANE.DOE@EXAMPLE.COM'")
    assert found["totalSize"] == 1 and found["done"] is True
    jane = found["records"][0]
    assert jane["Name"] == "Jane Doe" and jane["Account"]["Name"] == "Acme Corporation"
    assert jane["attributes"] == {"type": "Contact", "url": f"/services/data/v59.0/sobjects/Contact/{jane['Id']}"}
    hits = sf.search("FIND {415\\-555\\-0134} IN PHONE FIELDS RETURNING Contact(Id, Name)")["searchRecords"]
    assert [h["Name"] for h in hits] == ["Jane Doe"]
    created = sf.Contact.create({"FirstName": "Zoe", "LastName": "Zed", "Email": "zoe@example.com"})
    assert created["success"] is True and created["id"].startswith("003") and len(created["id"]) == 18
    assert sf.Contact.update(created["id"], {"Phone": "+1 555 0100"}) == 204
    record = sf.Contact.get(created["id"])
    assert (record["Name"], record["Phone"]) == ("Zoe Zed", "+1 555 0100")
    assert record["CreatedDate"].endswith(".000+0000") or record["CreatedDate"][-5:] == "+0000"
    described = sf.Contact.describe()
    lead_source = next(f for f in described["fields"] if f["name"] == "LeadSource")
    assert {"Web", "Phone Inquiry"} <= {v["value"] for v in lead_source["picklistValues"]}
    status = next(f for f in sf.Case.describe()["fields"] if f["name"] == "Status")
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == ["New"]


def test_query_all_pages_past_2000_records(org):
    org.reset("empty")
    org.http.post(
        org.url + "/_sim/records/Account", json={"records": [{"Name": f"Account {i:04d}"} for i in range(2105)]}
    ).raise_for_status()
    sf = client(org)
    first = sf.query("SELECT Id, Name FROM Account ORDER BY Name")
    assert first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    everything = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    assert everything["totalSize"] == 2105 and len(everything["records"]) == 2105
    assert everything["records"][-1]["Name"] == "Account 2104"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 2105


def test_typed_errors_through_simple_salesforce(org):
    sf = client(org)
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELEC Id FROM Contact")
    assert bad.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Contact.create({"FirstName": "No last name"})
    assert missing.value.content == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get("003000000000000AAA")
    org.set_api_usage(15000, 15000)
    with pytest.raises(SalesforceRefusedRequest) as limited:
        sf.query("SELECT Id FROM Contact")
    assert limited.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    org.set_api_usage(0)
    org.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Contact")


def test_raw_http_headers_and_error_arrays(org):
    token = org.token()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    versions = org.http.get(org.url + "/services/data/")
    assert "Sforce-Limit-Info" not in versions.headers
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions.json()
    resp = org.http.get(
        org.url + "/services/data/v59.0/query", params={"q": "SELECT Nope__x FROM Contact"}, headers=auth
    )
    assert resp.status_code == 400 and resp.headers["Sforce-Limit-Info"].startswith("api-usage=")
    [error] = resp.json()
    assert error["errorCode"] == "INVALID_FIELD" and "No such column 'Nope__x' on entity 'Contact'" in error["message"]
    unauth = org.http.get(org.url + "/services/data/v59.0/query", params={"q": "SELECT Id FROM Contact"})
    assert unauth.status_code == 401
    assert unauth.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    bad_json = org.http.post(
        org.url + "/services/data/v59.0/sobjects/Contact",
        data="{nope",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400 and bad_json.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    nowhere = org.http.get(org.url + "/services/data/v59.0/nowhere", headers=auth)
    assert nowhere.status_code == 404 and nowhere.json()[0]["errorCode"] == "NOT_FOUND"


def test_validation_errors(org):
    token = org.token()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    base = org.url + "/services/data/v59.0/sobjects/"
    too_long = org.http.post(base + "Contact", json={"LastName": "x" * 81}, headers=auth)
    assert too_long.json()[0]["errorCode"] == "STRING_TOO_LONG" and too_long.json()[0]["fields"] == ["LastName"]
    restricted = org.http.post(base + "Task", json={"Subject": "s", "Status": "Sleeping"}, headers=auth)
    assert restricted.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    cross = org.http.post(base + "Case", json={"Subject": "s", "ContactId": "003000000000000AAA"}, headers=auth)
    assert cross.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    unknown = org.http.post(base + "Contact", json={"LastName": "x", "Nope__c": 1}, headers=auth)
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    case = org.http.post(base + "Case", json={"Subject": "Numbered"}, headers=auth).json()
    number = org.http.get(base + f"Case/{case['id']}", headers=auth).json()["CaseNumber"]
    assert len(number) == 8 and number.isdigit()


def test_a_deleted_record_is_in_the_recycle_bin_not_unknown(org):
    """A deleted (or merged-away) record: read or changed by id, 404 ENTITY_IS_DELETED; pointed at by a
    lookup, 400 ENTITY_IS_DELETED; left out of queries. An id that never existed stays NOT_FOUND."""
    sf = client(org)
    gone = sf.Contact.create({"LastName": "Merged Away", "Email": "merged@example.com"})["id"]
    sf.Contact.delete(gone)
    deleted = [{"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]
    with pytest.raises(SalesforceResourceNotFound) as read:
        sf.Contact.get(gone)
    assert read.value.content == deleted
    with pytest.raises(SalesforceResourceNotFound) as changed:
        sf.Contact.update(gone, {"Phone": "+1 415 555 0100"})
    assert changed.value.content == deleted
    with pytest.raises(SalesforceMalformedRequest) as pointed:
        sf.Task.create({"Subject": "Chat", "WhoId": gone})
    assert pointed.value.content == deleted
    assert sf.query(f"SELECT Id FROM Contact WHERE Id = '{gone}'")["totalSize"] == 0
    with pytest.raises(SalesforceResourceNotFound) as never:
        sf.Contact.get("003000000000000AAA")
    assert never.value.content[0]["errorCode"] == "NOT_FOUND"


def test_sessions_expire_after_the_timeout_from_last_use(start_sf_sim):
    sim = start_sf_sim(session_timeout_minutes=0.02)  # 1.2 s
    token = sim.token()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    url = sim.url + "/services/data/v59.0/query"
    for _ in range(3):  # each use extends the session
        assert sim.http.get(url, params={"q": "SELECT Id FROM Contact"}, headers=auth).status_code == 200
        time.sleep(0.6)
    time.sleep(1.5)
    expired = sim.http.get(url, params={"q": "SELECT Id FROM Contact"}, headers=auth)
    assert expired.status_code == 401 and expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_faults_and_call_counts(org):
    sf = client(org)
    org.reset_calls()
    org.fault(status=503, count=1)
    with pytest.raises(SalesforceError):
        sf.query("SELECT Id FROM Contact")
    assert sf.query("SELECT Id FROM Contact")["totalSize"] > 0
    assert org.calls()["GET query"] == 2
    org.clear_faults()


def test_the_simulator_only_listens_on_loopback(sf_sim):
    assert sf_sim.url.startswith("https://127.0.0.1:")
    with pytest.raises(requests.exceptions.SSLError):
        s = requests.Session()
        s.trust_env = False
        s.get(sf_sim.url + "/services/data/", timeout=5)  # not trusted without the simulator's certificate
