"""The `duplicate-rules` profile: the Standard Contact Duplicate Rule, active, action "Allow" with
an alert, which the API turns into a refusal unless the request says allowSave=true.

It compares a saved Contact's Email (case-insensitive) with existing Contacts and Leads (the
standard rule matches contacts and leads in orgs made since Summer '17: Help,
sales.duplicate_rules_standard_contact_rule.htm). A match answers 400 with the body Salesforce
returns, misspelt key `duplicateResut` included (captured from real orgs, v54 and v56; see
/work/shared/reference/notes/salesforce-api.md §2.9):

    [{"duplicateResut": {"allowSave": true, "duplicateRule": "Standard_Contact_Duplicate_Rule",
      "duplicateRuleEntityType": "Contact", "errorMessage": "You're creating a duplicate record. …",
      "matchResults": [{"entityType": "Contact", "errors": [], "matchEngine": "FuzzyMatchEngine",
        "matchRecords": [{"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0,
          "record": {"attributes": {"type": "Contact", "url": "…"}, "Id": "003…"}}],
        "rule": "Standard_Contact_Match_Rule_v1_1", "size": 1, "success": true}]},
      "errorCode": "DUPLICATES_DETECTED", "message": "You're creating a duplicate record. …"}]

Duplicate rules run on inserts and updates ("Duplicate Rule Header": created, updated, upserted).
includeRecordDetails=true returns the matched records' fields; runAsCurrentUser=true matches only
records the caller can see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from simulators.salesforce.caller import Caller
from simulators.salesforce.errors import SfError

RULE = "Standard_Contact_Duplicate_Rule"
MATCH_RULES = {"Contact": "Standard_Contact_Match_Rule_v1_1", "Lead": "Standard_Lead_Match_Rule_v1_0"}
MESSAGE = "You're creating a duplicate record. We recommend you use an existing record instead."


class DuplicatesDetected(SfError):
    def __init__(self, result: dict):
        super().__init__(400, "DUPLICATES_DETECTED", MESSAGE)
        self.result = result

    def body(self) -> list[dict]:
        return [{"duplicateResut": self.result, "errorCode": self.code, "message": self.message}]


Rows = Callable[[str], Iterable[dict]]  # the records of an object the rule may match
Shape = Callable[[str, dict], dict]  # a matched record as returned with includeRecordDetails


def check(rows: Rows, shape: Shape, caller: Caller, sobject: str, record: dict) -> None:
    """Refuse saving RECORD when its Email is another Contact's or a Lead's (unless allowSave)."""
    email = str(record.get("Email") or "").strip().lower()
    if sobject != "Contact" or not email or caller.allow_save:
        return
    results = []
    for entity in ("Contact", "Lead"):
        matches = [
            r
            for r in rows(entity)
            if r.get("Id") != record.get("Id")
            and str(r.get("Email") or "").strip().lower() == email
            and not r.get("IsConverted")  # a converted lead lives on as its contact [inf]
        ]
        if matches:
            results.append(_match_result(entity, [_matched(shape, caller, entity, r) for r in matches]))
    if results:
        raise DuplicatesDetected(
            {
                "allowSave": True,
                "duplicateRule": RULE,
                "duplicateRuleEntityType": "Contact",
                "errorMessage": MESSAGE,
                "matchResults": results,
            }
        )


def _matched(shape: Shape, caller: Caller, entity: str, row: dict) -> dict:
    if caller.include_record_details:
        record = shape(entity, row)
    else:
        record = {
            "attributes": {"type": entity, "url": f"/services/data/v{caller.version}/sobjects/{entity}/{row['Id']}"},
            "Id": row["Id"],
        }
    return {"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0, "record": record}


def _match_result(entity: str, records: list[dict]) -> dict:
    return {
        "entityType": entity,
        "errors": [],
        "matchEngine": "FuzzyMatchEngine",
        "matchRecords": records,
        "rule": MATCH_RULES[entity],
        "size": len(records),
        "success": True,
    }
