"""Lead conversion, as a test control (`POST /_sim/convert-lead`): a sales rep's conversion in Salesforce, so
a test can meet a converted lead.

Converting makes (or reuses) an Account and a Contact from the lead and sets the lead's read-only
IsConverted, ConvertedAccountId, ConvertedContactId and ConvertedDate, with a converted Status ("Closed -
Converted": `SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true`, Database.LeadConvert). The new
records are the lead's owner's (Help, "Convert Leads": owner defaults to the lead's; a queue cannot own them,
the converting user does then). A new Account is named after the lead's Company; converting into an existing
person account takes its person contact as the contact. The lead's activities move to the contact (the
Lead's activity history shows on the converted contact) [inf]. Once converted a lead is read-only: a save
naming it is 400 CANNOT_UPDATE_CONVERTED_LEAD "cannot reference converted lead" (store.py).
"""

from __future__ import annotations

import datetime as dt

from simulators.salesforce import recordtypes
from simulators.salesforce.errors import SfError
from simulators.salesforce.store import CONVERTED, Store, sf_datetime

STATUS = "Closed - Converted"
FROM_LEAD = ("FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title", "LeadSource")


def convert(store: Store, lead_id: str, account_id: str | None = None, contact: dict | None = None) -> dict:
    """Convert LEAD_ID (into ACCOUNT_ID when given); CONTACT: more values for the new contact (e.g. a
    required custom field). All or nothing. Returns the lead's, the contact's and the account's ids."""
    with store.lock:
        lead = store.get("Lead", lead_id)
        if lead.get("IsConverted"):
            raise CONVERTED
        before = store.snapshot()
        try:
            owner = lead.get("OwnerId") if str(lead.get("OwnerId") or "").startswith("005") else store.user_id
            if account_id:
                account = store.get("Account", account_id)
            else:
                values = {"Name": lead.get("Company"), "OwnerId": owner}
                business = recordtypes.default_id(store.records["RecordType"].values(), "Account", True)
                if business and "RecordTypeId" in store.schema["Account"]:
                    values["RecordTypeId"] = business
                account = store.create("Account", values)
            if account.get("IsPersonAccount"):
                contact_id = account["PersonContactId"]
            else:
                values = {name: lead.get(name) for name in FROM_LEAD if lead.get(name) not in (None, "")}
                values.update(contact or {}, AccountId=account["Id"], OwnerId=owner)
                contact_id = store.create("Contact", values)["Id"]
        except SfError:
            store.restore(before)
            raise
        for sobject in ("Task", "Event"):  # the lead's activities go to its contact [inf]
            for activity in store.records[sobject].values():
                if str(activity.get("WhoId") or "")[:15] == lead["Id"][:15]:
                    activity["WhoId"] = contact_id
        lead.update(
            IsConverted=True,
            ConvertedAccountId=account["Id"],
            ConvertedContactId=contact_id,
            ConvertedDate=dt.datetime.now(dt.timezone.utc).date().isoformat(),
            Status=STATUS,
            LastModifiedDate=sf_datetime(),
        )
        return {"lead_id": lead["Id"], "contact_id": contact_id, "account_id": account["Id"]}
