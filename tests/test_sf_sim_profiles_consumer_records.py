"""Notes and converted leads in the simulated org, in every org (standard objects, no profile), over HTTPS
through simple-salesforce: ContentNote with its ContentDocument and ContentDocumentLink (one composite, the
blob URL and bytes, the refusals), Task.Description's limit, and lead conversion through `/_sim/convert-lead`."""

from __future__ import annotations

import base64
import html

import pytest
from sf_profile_helpers import client, refusal
from simple_salesforce import Salesforce

TRANSCRIPT = "Visitor: my printer jams & says \"E42\" <again>\nAgent: let's reset it, O'Brien"
NOTE_REFUSED = (
    "Note can't be saved because it contains HTML tags or unescaped characters that are not allowed in a Note."
)
LINK_RESTRICTION = (
    "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or "
    "LinkedEntityId using the equals operator or multiple Id's using the IN operator."
)


@pytest.fixture
def org(demo_org):
    return demo_org


def encoded(text: str) -> str:
    """A transcript as a note's Content: HTML-escaped, line breaks as <br>, base64 (ContentNote, Object Reference)."""
    body = "<p>" + html.escape(text).replace("&#x27;", "&#39;").replace("\n", "<br>") + "</p>"
    return base64.b64encode(body.encode()).decode()


def one(sf: Salesforce, soql: str) -> dict:
    [record] = sf.query(soql)["records"]
    return record


def sub(ref: str, sobject: str, body: dict) -> dict:
    return {"method": "POST", "url": f"/services/data/v59.0/sobjects/{sobject}", "referenceId": ref, "body": body}


def composite(sf: Salesforce, *subrequests: dict, all_or_none: bool = True) -> list[dict]:
    return sf.restful(
        "composite", method="POST", json={"allOrNone": all_or_none, "compositeRequest": list(subrequests)}
    )["compositeResponse"]


def link(ref: str, entity: str, share: str = "I") -> dict:
    body = {"ContentDocumentId": "@{note.id}", "LinkedEntityId": entity, "ShareType": share, "Visibility": "AllUsers"}
    return sub(ref, "ContentDocumentLink", body)


# -- ContentNote ------------------------------------------------------------------------------
def test_a_note_and_its_links_in_one_composite(org):
    sf = client(org)
    jane = one(sf, "SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")["Id"]
    case = one(sf, "SELECT Id FROM Case WHERE Subject = 'Cannot log in to the customer portal'")["Id"]
    answer = composite(
        sf,
        sub("task", "Task", {"Subject": "Chat transcript", "WhoId": jane, "WhatId": case, "Status": "Completed"}),
        sub("note", "ContentNote", {"Title": "Chat transcript (full)", "Content": encoded(TRANSCRIPT)}),
        link("toTask", "@{task.id}"),
        link("toContact", jane),
        link("toCase", case, "V"),
    )
    assert [a["httpStatusCode"] for a in answer] == [201] * 5, answer
    note = answer[1]["body"]["id"]
    assert note.startswith("069") and len(note) == 18
    assert all(a["body"]["id"].startswith("06A") for a in answer[2:])
    links = sf.query(
        f"SELECT ContentDocumentId, LinkedEntityId, ShareType, Visibility FROM ContentDocumentLink WHERE LinkedEntityId = '{jane}'"
    )
    assert [(r["ContentDocumentId"], r["ShareType"], r["Visibility"]) for r in links["records"]] == [
        (note, "I", "AllUsers")
    ]
    everywhere = sf.query(
        f"SELECT LinkedEntityId, ShareType FROM ContentDocumentLink WHERE ContentDocumentId = '{note}'"
    )
    me = org.profiles_info()["integration_user"]["id"]
    assert {(r["LinkedEntityId"], r["ShareType"]) for r in everywhere["records"]} == {
        (answer[0]["body"]["id"], "I"),
        (jane, "I"),
        (case, "V"),
        (me, "I"),  # the note's owner: made with the note
    }
    [saved] = [n for n in org.notes() if n["Id"] == note]
    assert saved["text"] == TRANSCRIPT and saved["Title"] == "Chat transcript (full)" and saved["OwnerId"] == me


def test_a_note_is_queried_with_its_content_as_a_blob_url_and_its_document(org):
    sf = client(org)
    created = sf.ContentNote.create({"Title": "Follow-up", "Content": encoded("Call back on Monday")})
    note = one(
        sf, "SELECT Id, Title, Content, FileType, ContentSize, TextPreview FROM ContentNote WHERE Title = 'Follow-up'"
    )
    assert note["Id"] == created["id"] and note["FileType"] == "SNOTE"
    assert note["Content"] == f"/services/data/v59.0/sobjects/ContentNote/{created['id']}/Content"
    assert note["TextPreview"] == "Call back on Monday" and note["ContentSize"] == len("<p>Call back on Monday</p>")
    blob = sf.session.get(org.url + note["Content"], headers=sf.headers, timeout=10)
    assert (blob.status_code, blob.content) == (200, b"<p>Call back on Monday</p>")
    assert sf.ContentNote.get(created["id"])["Content"] == note["Content"]
    document = one(sf, f"SELECT Id, Title, FileType, OwnerId FROM ContentDocument WHERE Id = '{created['id']}'")
    assert (document["Title"], document["FileType"]) == ("Follow-up", "SNOTE")
    sf.ContentNote.update(created["id"], {"Title": "Follow-up (done)"})
    assert one(sf, f"SELECT Title FROM ContentDocument WHERE Id = '{created['id']}'")["Title"] == "Follow-up (done)"
    bare = sf.ContentNote.create({"Title": "Plain text"})  # Content is nillable
    assert sf.ContentNote.get(bare["id"])["Content"] is None


def test_a_note_that_is_not_escaped_html_is_refused(org):
    sf = client(org)
    for raw in ("Tom & Jerry", "<script>alert(1)</script>", "it&apos;s", "a < b", "<table><tr><td>x</td></tr></table>"):
        content = base64.b64encode(raw.encode()).decode()
        assert refusal(lambda content=content: sf.ContentNote.create({"Title": "Bad", "Content": content})) == [
            {"message": NOTE_REFUSED, "errorCode": "UNKNOWN_EXCEPTION"}
        ], raw
    fine = "<p><b>Bold</b> &amp; <i>it&#39;s</i> &lt;ok&gt; caf\u00e9</p>"
    created = sf.ContentNote.create({"Title": "Fine", "Content": base64.b64encode(fine.encode()).decode()})
    assert [n["text"] for n in org.notes() if n["Id"] == created["id"]] == ["Bold & it's <ok> caf\u00e9"]
    assert refusal(lambda: sf.ContentNote.create({"Title": " ", "Content": encoded("x")})) == [
        {"message": "Required fields are missing: [Title]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Title"]}
    ]
    assert refusal(lambda: sf.ContentNote.create({"Title": "x", "FileType": "TEXT"}))[0]["errorCode"] == (
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    assert sf.query("SELECT Id FROM ContentNote WHERE Title = 'Bad'")["totalSize"] == 0


def test_a_note_strips_line_breaks_as_salesforce_does(org):
    sf = client(org)
    raw = base64.b64encode(b"<p>one\r\ntwo</p>").decode()
    created = sf.ContentNote.create({"Title": "Lines", "Content": raw})
    blob = sf.session.get(f"{sf.base_url}sobjects/ContentNote/{created['id']}/Content", headers=sf.headers, timeout=10)
    assert blob.content == b"<p>onetwo</p>"


def test_links_are_checked_and_a_link_query_needs_a_filter_by_id(org):
    sf = client(org)
    jane = one(sf, "SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")["Id"]
    note = sf.ContentNote.create({"Title": "Linked", "Content": encoded("hello")})["id"]
    body = {"ContentDocumentId": note, "LinkedEntityId": jane, "ShareType": "V"}
    sf.ContentDocumentLink.create(body)
    assert refusal(lambda: sf.ContentDocumentLink.create(body)) == [
        {
            "message": f"Document with ID: {note} is already linked with the entity with ID: {jane}",
            "errorCode": "DUPLICATE_VALUE",
            "fields": ["LinkedEntityId"],
        }
    ]
    case = one(sf, "SELECT Id FROM Case WHERE Subject = 'Server room cooling failure'")["Id"]
    assert refusal(lambda: sf.ContentDocumentLink.create({**body, "LinkedEntityId": case, "ShareType": "X"})) == [
        {
            "message": "Share Type: bad value for restricted picklist field: X",
            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "fields": ["ShareType"],
        }
    ]
    for soql in (
        "SELECT Id FROM ContentDocumentLink",
        "SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V'",
        f"SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId NOT IN ('{note}')",
        f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{jane}' OR ShareType = 'V'",
    ):
        assert refusal(lambda soql=soql: sf.query(soql)) == [
            {"message": LINK_RESTRICTION, "errorCode": "MALFORMED_QUERY"}
        ]
    both = f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId IN ('{jane}', '{case}') AND ShareType = 'V'"
    assert sf.query(both)["totalSize"] == 1
    owner = org.profiles_info()["integration_user"]["id"]
    owners_link = one(
        sf, f"SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = '{note}' AND LinkedEntityId = '{owner}'"
    )
    assert refusal(lambda: sf.ContentDocumentLink.delete(owners_link["Id"])) == [
        {"message": "field integrity exception", "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": []}
    ]
    assert refusal(lambda: sf.ContentDocument.create({"Title": "x"})) == [
        {
            "message": "entity type cannot be inserted: Content Document",
            "errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            "fields": [],
        }
    ]
    content = "SELECT Id FROM ContentNote WHERE Content = 'x'"
    assert "field 'Content' can not be filtered in query call" in refusal(lambda: sf.query(content))[0]["message"]


def test_deleting_a_note_takes_its_document_and_links(org):
    sf = client(org)
    jane = one(sf, "SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")["Id"]
    note = sf.ContentNote.create({"Title": "Gone", "Content": encoded("bye")})["id"]
    sf.ContentDocumentLink.create({"ContentDocumentId": note, "LinkedEntityId": jane, "ShareType": "V"})
    sf.ContentNote.delete(note)
    assert sf.query(f"SELECT Id FROM ContentDocument WHERE Id = '{note}'")["totalSize"] == 0
    assert sf.query(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{jane}'")["totalSize"] == 0


def test_a_failed_composite_takes_back_the_note_its_document_and_owner_link(org):
    sf = client(org)
    jane = one(sf, "SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")["Id"]
    answer = composite(
        sf,
        sub("note", "ContentNote", {"Title": "Rolled back", "Content": encoded("x")}),
        link("ok", jane),
        link("bad", jane),  # the same link twice
    )
    assert [a["httpStatusCode"] for a in answer] == [400, 400, 400]
    assert answer[2]["body"][0]["errorCode"] == "DUPLICATE_VALUE"
    assert sf.query("SELECT Id FROM ContentNote WHERE Title = 'Rolled back'")["totalSize"] == 0
    assert sf.query("SELECT Id FROM ContentDocument WHERE Title = 'Rolled back'")["totalSize"] == 0
    assert org.notes() == []
    assert [r["ContentDocumentId"] for r in org.records("ContentDocumentLink")] == []


def test_task_description_is_still_limited_to_32000_characters(org):
    sf = client(org)
    assert sf.Task.create({"Subject": "Long", "Description": "x" * 32000})["success"]
    error = refusal(lambda: sf.Task.create({"Subject": "Too long", "Description": "x" * 32001}))[0]
    assert (error["errorCode"], error["fields"]) == ("STRING_TOO_LONG", ["Description"])
    assert error["message"].endswith("(max length=32000)")
    fields = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert (fields["Description"]["length"], fields["Description"]["filterable"]) == (32000, False)


# -- lead conversion --------------------------------------------------------------------------
def lee(sf: Salesforce) -> str:
    return one(sf, "SELECT Id FROM Lead WHERE Email = 'lee.lead@example.com'")["Id"]


def test_lead_describes_its_conversion_fields_read_only(org):
    sf = client(org)
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    for name, kind in (
        ("IsConverted", "boolean"),
        ("ConvertedDate", "date"),
        ("ConvertedContactId", "reference"),
        ("ConvertedAccountId", "reference"),
    ):
        assert (fields[name]["type"], fields[name]["createable"], fields[name]["updateable"]) == (kind, False, False)
    assert fields["ConvertedContactId"]["referenceTo"] == ["Contact"]
    assert sf.query("SELECT Id FROM Lead WHERE IsConverted = false")["totalSize"] == 2
    assert refusal(lambda: sf.Lead.update(lee(sf), {"IsConverted": True}))[0]["errorCode"] == (
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    )


def test_a_converted_lead_has_its_contact_and_account(org):
    sf = client(org)
    lead = lee(sf)
    ids = org.convert_lead(lead)
    assert ids["lead_id"] == lead and ids["contact_id"].startswith("003") and ids["account_id"].startswith("001")
    converted = sf.Lead.get(lead)
    assert (
        converted["IsConverted"],
        converted["Status"],
        converted["ConvertedContactId"],
        converted["ConvertedAccountId"],
    ) == (
        True,
        "Closed - Converted",
        ids["contact_id"],
        ids["account_id"],
    )
    assert converted["ConvertedDate"] and len(converted["ConvertedDate"]) == 10
    contact = sf.Contact.get(ids["contact_id"])
    assert (contact["FirstName"], contact["LastName"], contact["Email"], contact["Phone"], contact["AccountId"]) == (
        "Lee",
        "Lead",
        "lee.lead@example.com",
        "555-0177",
        ids["account_id"],
    )
    assert sf.Account.get(ids["account_id"])["Name"] == "Contoso Ltd"
    open_leads = sf.query("SELECT Id FROM Lead WHERE Email = 'lee.lead@example.com' AND IsConverted = false")
    assert open_leads["totalSize"] == 0
    row = one(sf, f"SELECT ConvertedContact.Email, ConvertedAccount.Name FROM Lead WHERE Id = '{lead}'")
    assert (row["ConvertedContact"]["Email"], row["ConvertedAccount"]["Name"]) == (
        "lee.lead@example.com",
        "Contoso Ltd",
    )


def test_a_converted_lead_cannot_be_changed_or_named_by_a_task(org):
    sf = client(org)
    lead = lee(sf)
    earlier = sf.Task.create({"Subject": "Call back", "WhoId": lead})["id"]
    ids = org.convert_lead(lead)
    assert sf.Task.get(earlier)["WhoId"] == ids["contact_id"]  # its activities went to the contact
    sf.Task.update(earlier, {"Status": "Completed"})
    converted = [
        {"message": "cannot reference converted lead", "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD", "fields": []}
    ]
    assert refusal(lambda: sf.Lead.update(lead, {"Phone": "555-0100"})) == converted
    assert refusal(lambda: sf.Task.create({"Subject": "Chat", "WhoId": lead})) == converted
    resp = org.http.post(org.url + "/_sim/convert-lead", json={"lead_id": lead}, timeout=10)
    assert (resp.status_code, resp.json()) == (400, converted)


def test_a_lead_converts_into_an_existing_account_with_the_fields_the_org_requires(org):
    org.set_profiles(["required-fields", "duplicate-rules"])
    sf = client(org)
    lead = lee(sf)
    resp = org.http.post(org.url + "/_sim/convert-lead", json={"lead_id": lead}, timeout=10)
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Contoso Ltd'")["totalSize"] == 0  # nothing half-made
    acme = one(sf, "SELECT Id FROM Account WHERE Name = 'Acme Corporation'")["Id"]
    ids = org.convert_lead(lead, account_id=acme, contact={"Customer_Tier__c": "Bronze"})
    assert ids["account_id"] == acme and sf.Contact.get(ids["contact_id"])["Customer_Tier__c"] == "Bronze"
    # the duplicate rule matches the lead's contact now, no longer the converted lead
    dupe = refusal(
        lambda: sf.Contact.create({"LastName": "Lead", "Email": "lee.lead@example.com", "Customer_Tier__c": "Gold"})
    )
    matches = dupe[0]["duplicateResut"]["matchResults"]
    assert [(m["entityType"], m["matchRecords"][0]["record"]["Id"]) for m in matches] == [
        ("Contact", ids["contact_id"])
    ]


def test_a_lead_converts_into_a_person_account_as_its_person_contact(org):
    info = org.set_profiles(["person-accounts"])
    sf = client(org)
    ids = org.convert_lead(lee(sf), account_id=info["accounts"]["Pat Person"])
    assert ids["contact_id"] == info["person_contacts"]["Pat Person"]
    fresh = org.convert_lead(one(sf, "SELECT Id FROM Lead WHERE Email = 'rita@prospect.example'")["Id"])
    business = info["record_types"]["Account.Business_Account"]
    account = sf.Account.get(fresh["account_id"])
    assert (account["Name"], account["RecordTypeId"], account["IsPersonAccount"]) == (
        "Prospect Partners",
        business,
        False,
    )
