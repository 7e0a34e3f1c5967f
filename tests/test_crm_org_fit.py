"""What the CRM core does to fit a customised org, as pure logic: the fields it may read and write
(from describe), and the records a duplicate rule names."""

from __future__ import annotations

from types import SimpleNamespace

from salesforce_omnichannel.crm.client import duplicate_matches
from salesforce_omnichannel.crm.metadata import MetadataCache

CONTACT = {
    "fields": [
        {"name": "Id", "createable": False, "updateable": False},
        {"name": "LastName", "createable": True, "updateable": True},
        {"name": "Email", "createable": True, "updateable": True},
        {"name": "Department", "createable": False, "updateable": False},  # read-only for this user
        {"name": "AccountId", "createable": True, "updateable": True, "relationshipName": "Account"},
        {"name": "OwnerId", "createable": True, "updateable": False, "relationshipName": "Owner"},
    ]
}


class OneDescribe:
    def call(self, what, fn):
        return fn(SimpleNamespace(Contact=SimpleNamespace(describe=lambda: CONTACT)))


def test_a_query_selects_only_what_describe_shows_the_user():
    metadata = MetadataCache(OneDescribe(), 30)
    wanted = ("Id", "LastName", "Title", "Email", "Account.Name", "MailingCity", "Owner.Name", "Parent.Name")
    assert metadata.readable("Contact", wanted) == ("Id", "LastName", "Email", "Account.Name", "Owner.Name")


def test_writes_keep_only_what_the_user_may_create_or_update():
    metadata = MetadataCache(OneDescribe(), 30)
    values = {"LastName": "Doe", "Department": "Ops", "Title": "CEO", "OwnerId": "005000000000001"}
    assert metadata.writable("Contact", values, creating=True) == (
        {"LastName": "Doe", "OwnerId": "005000000000001"},
        ["Department", "Title"],
    )
    assert metadata.writable("Contact", values, creating=False) == (
        {"LastName": "Doe"},
        ["Department", "Title", "OwnerId"],
    )


def test_duplicate_matches_read_salesforces_misspelt_key_best_match_first():
    error = {
        "duplicateResut": {
            "allowSave": True,
            "duplicateRule": "Standard_Contact_Duplicate_Rule",
            "matchResults": [
                {
                    "entityType": "Lead",
                    "matchRecords": [
                        {"matchConfidence": 80.0, "record": {"attributes": {"type": "Lead"}, "Id": "00Q1"}}
                    ],
                },
                {
                    "entityType": "Contact",
                    "matchRecords": [
                        {"matchConfidence": 100.0, "record": {"attributes": {"type": "Contact"}, "Id": "0031"}}
                    ],
                },
            ],
        },
        "errorCode": "DUPLICATES_DETECTED",
    }
    assert duplicate_matches(error) == [("Contact", "0031"), ("Lead", "00Q1")]
    assert duplicate_matches({"duplicateResult": error["duplicateResut"]}) == [("Contact", "0031"), ("Lead", "00Q1")]
    assert duplicate_matches({"errorCode": "REQUIRED_FIELD_MISSING"}) == []


def test_an_integration_user_who_may_not_see_accounts_saves_new_visitors_as_contacts():
    from salesforce_omnichannel.crm.errors import CrmNotFound
    from salesforce_omnichannel.crm.operations import Crm
    from salesforce_omnichannel.crm.settings import SalesforceSettings

    class NoAccounts:
        def call(self, what, fn):
            if what == "describe Account":
                raise CrmNotFound("That Salesforce record does not exist (any more).", "NOT_FOUND")
            return fn(SimpleNamespace(Contact=SimpleNamespace(describe=lambda: CONTACT)))

    crm = Crm(SalesforceSettings("key", "integration@example.com"), client=NoAccounts())
    assert crm.has_person_accounts() is False and crm.new_visitors_as() == "contact"
