"""Record visibility for users other than the integration user.

"Contacts that are not linked to an account are always private, regardless of your organization's
sharing model. Only the owner of the contact and administrators can view it." (Salesforce Help,
limits_campaigns_contacts, quoted on salesforce.stackexchange.com/q/35241). The integration user
has View All Data and sees everything; a colleague sees a private contact only if he owns it, and
every contact with an account (the org-wide default for Account here is Public Read/Write). A
record the user cannot see answers as one that does not exist: 404 NOT_FOUND on GET, left out of
queries and searches.
"""

from __future__ import annotations


def visible(sobject: str, record: dict, user_id: str, view_all: bool) -> bool:
    if view_all or sobject != "Contact" or record.get("AccountId"):
        return True
    return str(record.get("OwnerId") or "")[:15] == user_id[:15]
