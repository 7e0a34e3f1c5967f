"""Record types (the `record-types` profile): Case "Support" and "Billing", Contact "Customer".

What Salesforce does with them, and the simulator with it:
- `SELECT Id, DeveloperName, Name, SobjectType, IsActive FROM RecordType WHERE SobjectType = 'Case'`
  lists them (ids prefixed 012); the Master record type is `012000000000000AAA` in every org.
- A record saved without RecordTypeId gets the saving user's default record type (Apex
  `RecordTypeInfo.isDefaultRecordTypeMapping`): for the integration user that is Billing, the wrong
  one for chats; for the agents it is Support.
- Each record type offers a subset of each picklist's values; sObject describe lists their union
  (`recordTypeInfos` says which record types the user may use). A value outside the record's
  record type fails as a restricted picklist does ("bad value for restricted picklist field" is
  also what a value "not available in the object's record type" gives: Adobe Marketo Measure
  "Error Notifications", RESTRICT_PICKLIST_VALUES_ENABLED).
- A RecordTypeId the user may not use: 400 INVALID_CROSS_REFERENCE_KEY "Record Type ID: this ID
  value isn't valid for the user: 012…" [RecordTypeId] (real DML error quoted in
  mbotos/SmartFactory-for-Force.com#25, for the Master id in an org with record types).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from simulators.salesforce.errors import ID_RE, SfError
from simulators.salesforce.schema import MASTER_RECORD_TYPE_ID, Field

Find = Callable[[str], "tuple[str, dict] | None"]


@dataclass(frozen=True)
class RecordTypeDef:
    sobject: str
    developer_name: str
    name: str
    picklists: tuple[tuple[str, tuple[str, ...]], ...] = ()  # field -> the values this record type offers

    def offers(self, field: str) -> tuple[str, ...] | None:
        """The values this record type offers for FIELD, None when it offers all of them."""
        return dict(self.picklists).get(field)


DEFINITIONS = (
    RecordTypeDef(
        "Case",
        "Support",
        "Support",
        (
            ("Priority", ("High", "Medium", "Low")),
            ("Type", ("Problem", "Question")),
            ("Reason", ("Installation", "Performance", "Breakdown")),
        ),
    ),
    RecordTypeDef(
        "Case",
        "Billing",
        "Billing",
        (
            ("Priority", ("Medium", "Low")),
            ("Type", ("Billing Question", "Refund")),
            ("Reason", ("Invoice", "Payment")),
        ),
    ),
    RecordTypeDef("Contact", "Customer", "Customer"),
)
OBJECTS = tuple(dict.fromkeys(d.sobject for d in DEFINITIONS))
# each user's default record type per object: the integration user's Case default is the wrong one
# Account's record types come with the person-accounts profile (personaccounts.py): every user's default is
# the business type (the person type is the profile's "Person Account Default Record Type", which describe's
# defaultRecordTypeMapping does not show: salesforce.stackexchange 330511)
DEFAULTS = {
    True: {"Case": "Billing", "Contact": "Customer", "Account": "Business_Account"},
    False: {"Case": "Support", "Contact": "Customer", "Account": "Business_Account"},
}


def restricted_union(base: Field) -> Field:
    """The sObject describe of a picklist the record types share: the union of their values, restricted."""
    values: list[str] = []
    for d in DEFINITIONS:
        values.extend(v for v in d.offers(base.name) or () if v not in values)
    default = next((v for v, _a, is_default in base.picklist if is_default and v in values), None)
    return Field(
        base.name,
        base.label,
        "picklist",
        base.length,
        nillable=base.nillable,
        defaulted=default is not None,
        picklist=tuple((v, True, v == default) for v in values),
        restricted=True,
    )


def picklist_fields() -> dict[str, set[str]]:
    """Per object, the picklists whose values depend on the record type."""
    out: dict[str, set[str]] = {}
    for d in DEFINITIONS:
        out.setdefault(d.sobject, set()).update(name for name, _values in d.picklists)
    return out


def seed(put: Callable[[str, dict], dict]) -> dict[str, str]:
    """The RecordType rows; returns "Case.Support" -> id."""
    return {
        f"{d.sobject}.{d.developer_name}": put(
            "RecordType",
            {"Name": d.name, "DeveloperName": d.developer_name, "SobjectType": d.sobject, "IsActive": True},
        )["Id"]
        for d in DEFINITIONS
    }


def definition(row: dict) -> RecordTypeDef | None:
    return next(
        (
            d
            for d in DEFINITIONS
            if d.sobject == row.get("SobjectType") and d.developer_name == row.get("DeveloperName")
        ),
        None,
    )


def rows_of(rows: Iterable[dict], sobject: str) -> list[dict]:
    return [r for r in rows if r.get("SobjectType") == sobject and r.get("IsActive")]


def default_id(rows: Iterable[dict], sobject: str, integration: bool) -> str | None:
    """The id of the caller's default record type for SOBJECT, None when the object has none."""
    wanted = DEFAULTS[integration].get(sobject)
    return next((r["Id"] for r in rows_of(rows, sobject) if r["DeveloperName"] == wanted), None)


def check_id(find: Find, sobject: str, value: str) -> None:
    """A RecordTypeId must name an active record type of this object (never Master once it has some)."""
    if not ID_RE.match(value):
        raise SfError(400, "MALFORMED_ID", f"Record Type ID: id value of incorrect type: {value}", ["RecordTypeId"])
    found = find(value)
    if found is None or found[0] != "RecordType" or found[1].get("SobjectType") != sobject or not found[1]["IsActive"]:
        raise SfError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            f"Record Type ID: this ID value isn't valid for the user: {value}",
            ["RecordTypeId"],
        )


def check_values(find: Find, fields: dict[str, Field], sobject: str, record: dict, written: Iterable[str]) -> None:
    """The WRITTEN picklist values of RECORD must be offered by its record type (Master offers all)."""
    found = find(str(record.get("RecordTypeId") or ""))
    if found is None or found[0] != "RecordType":
        return
    d = definition(found[1])
    for name in written:
        offered = d.offers(name) if d else None
        value = record.get(name)
        if offered is not None and value not in (None, "") and value not in offered:
            raise SfError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{fields[name].label}: bad value for restricted picklist field: {value}",
                [name],
            )


def infos(rows: Iterable[dict], sobject: str, integration: bool, version: str) -> list[dict] | None:
    """describe's `recordTypeInfos` for an object with record types (None: it has none, Master only)."""
    mine = rows_of(rows, sobject)
    if not mine:
        return None
    wanted = DEFAULTS[integration].get(sobject)
    out = [
        _info(sobject, r["Name"], r["DeveloperName"], r["Id"], r["DeveloperName"] == wanted, False, True, version)
        for r in sorted(mine, key=lambda r: r["Name"])
    ]
    out.append(_info(sobject, "Master", "Master", MASTER_RECORD_TYPE_ID, False, True, False, version))
    return out


def _info(
    sobject: str, name: str, developer: str, rt_id: str, default: bool, master: bool, available: bool, version: str
) -> dict:
    return {
        "active": True,
        "available": available,
        "defaultRecordTypeMapping": default,
        "developerName": developer,
        "master": master,
        "name": name,
        "recordTypeId": rt_id,
        "urls": {"layout": f"/services/data/v{version}/sobjects/{sobject}/describe/layouts/{rt_id}"},
    }
