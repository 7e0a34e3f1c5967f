"""User Interface API: `GET /services/data/vXX.X/ui-api/object-info/{objectApiName}/picklist-values/{recordTypeId}`.

Every picklist of the object with the values the record type offers, in one call (User Interface
API Developer Guide, "Get Values for All Picklist Fields of a Record Type",
ui_api_resources_picklist_values_collection.htm, v42.0+). Body ("Picklist Values Collection",
ui_api_responses_picklist_values_collection.htm, and "Picklist Values"/"Picklist Value"):

    {"eTag": "…", "picklistFieldValues": {"Priority": {"controllerValues": {}, "defaultValue":
      {"attributes": null, "label": "Medium", "validFor": [], "value": "Medium"} | null,
      "eTag": "…", "url": "/services/data/vXX.X/ui-api/object-info/Case/picklist-values/012…/Priority",
      "values": [{"attributes": null, "label": "High", "validFor": [], "value": "High"}, …]}, …}}

The Master record type `012000000000000AAA` works for every object and gives describe's values
(LWC getPicklistValues: "If there isn't a default record type, this value is the master record
type"). A record type id the object does not have answers 404 NOT_FOUND in the UI API's error
shape, `[{"errorCode", "message"}]`. Fields the caller may not see are left out. It counts as an
API call like any REST resource.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from simulators.salesforce import recordtypes
from simulators.salesforce.errors import ID_RE, SfError
from simulators.salesforce.schema import MASTER_RECORD_TYPE_ID, SETUP_OBJECTS, Field

NOT_FOUND = SfError(404, "NOT_FOUND", "The requested resource does not exist")


def picklist_values(
    fields_of: dict[str, dict[str, Field]],
    record_types: list[dict],
    version: str,
    object_name: str,
    record_type_id: str,
) -> dict:
    """The collection for OBJECT_NAME and RECORD_TYPE_ID, over the caller's view FIELDS_OF."""
    sobject = next((n for n in fields_of if n.lower() == object_name.lower() and n not in SETUP_OBJECTS), None)
    if sobject is None:
        raise NOT_FOUND
    definition = _definition(record_types, sobject, record_type_id)
    base = f"/services/data/v{version}/ui-api/object-info/{sobject}/picklist-values/{record_type_id}"
    collection: dict[str, Any] = {}
    for name, f in fields_of[sobject].items():
        if f.type != "picklist":
            continue
        offered = definition.offers(name) if definition else None
        active = [v for v, is_active, _d in f.picklist if is_active]
        values = [v for v in active if offered is None or v in offered]
        default = next((v for v, _a, is_default in f.picklist if is_default and v in values), None)
        entry = {
            "controllerValues": {},
            "defaultValue": _value(default) if default is not None else None,
            "url": f"{base}/{name}",
            "values": [_value(v) for v in values],
        }
        collection[name] = {**entry, "eTag": _etag(entry)}
    return {"eTag": _etag(collection), "picklistFieldValues": collection}


def _definition(record_types: list[dict], sobject: str, record_type_id: str) -> recordtypes.RecordTypeDef | None:
    """The record type's definition; None for Master; NOT_FOUND when the object has no such record type."""
    if not ID_RE.match(record_type_id):
        raise NOT_FOUND
    if record_type_id[:15] == MASTER_RECORD_TYPE_ID[:15]:
        return None
    row = next(
        (
            r
            for r in record_types
            if r["Id"][:15] == record_type_id[:15] and r.get("SobjectType") == sobject and r.get("IsActive")
        ),
        None,
    )
    if row is None:
        raise NOT_FOUND
    return recordtypes.definition(row)


def _value(value: str) -> dict:
    return {"attributes": None, "label": value, "validFor": [], "value": value}


def _etag(body: Any) -> str:
    return hashlib.md5(json.dumps(body, sort_keys=True).encode()).hexdigest()
