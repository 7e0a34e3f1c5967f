"""One caller's reads and writes of records, through the org's profiles.

The store checks what every save meets; this adds what depends on who saves and on the org's
customisations: the caller's field view (field-access), its default record type and the record
types' picklist values (record-types), the duplicate rule (duplicate-rules), the case assignment
rule (assignment-rules), ownership by the caller, record visibility (users) and person accounts
(person-accounts). sObject REST and composite subrequests both go through it, so they behave alike.
"""

from __future__ import annotations

from typing import Any

from simulators.salesforce import assignment, content, duplicates, personaccounts, recordtypes, sharing
from simulators.salesforce.caller import Caller
from simulators.salesforce.errors import SfError
from simulators.salesforce.profiles import effective, schema_for
from simulators.salesforce.schema import Field
from simulators.salesforce.store import Hook, Store

NOT_FOUND = SfError(404, "NOT_FOUND", "The requested resource does not exist")


class Writer:
    def __init__(self, store: Store, profiles: frozenset[str], caller: Caller):
        self.store, self.profiles, self.caller = store, frozenset(profiles), caller
        self.on = effective(self.profiles)

    def with_headers(self, headers: dict) -> Writer:
        """The same caller with the save options HEADERS ask for (and none of this request's)."""
        return Writer(self.store, self.profiles, self.caller.with_headers(headers))

    # -- reading --------------------------------------------------------------------------
    def fields(self, sobject: str) -> dict[str, Field]:
        """The fields of SOBJECT this caller may see (its describe, its queries, its writes)."""
        return schema_for(self.profiles, self.caller.integration)[sobject]

    def schema(self) -> dict[str, dict[str, Field]]:
        return schema_for(self.profiles, self.caller.integration)

    def visible(self, sobject: str, record: dict) -> bool:
        return sharing.visible(sobject, record, self.caller.user_id, self.caller.integration)

    def get(self, sobject: str, record_id: str) -> dict:
        """The stored record; one the caller may not see answers as one that does not exist."""
        record = self.store.get(sobject, record_id)
        if not self.visible(sobject, record):
            raise NOT_FOUND
        return record

    def shaped(self, sobject: str, record: dict, names: list[str] | None = None) -> dict:
        """RECORD as `GET sobjects/X/{id}` returns it: attributes, then the visible fields (or NAMES)."""
        fields = self.fields(sobject)
        out: dict[str, Any] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/v{self.caller.version}/sobjects/{sobject}/{record['Id']}",
            }
        }
        for name in names if names is not None else list(fields):
            real = next((f for f in fields if f.lower() == name.lower()), None)
            if real is None:
                raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
            out[real] = record.get(real)
            if fields[real].type == "base64" and out[real] is not None:  # a blob: the URL of its bytes
                out[real] = content.blob_url(sobject, record["Id"], real, self.caller.version)
        return out

    # -- writing --------------------------------------------------------------------------
    def create(self, sobject: str, values: dict) -> dict:
        values = dict(values)
        if self.on & {"record-types", "person-accounts"} and not values.get("RecordTypeId"):
            default = recordtypes.default_id(self._rows("RecordType"), sobject, self.caller.integration)
            if default:
                values["RecordTypeId"] = default
        persons = "person-accounts" in self.on
        if persons:
            values = personaccounts.before_create(self.store, sobject, values)
        written = list(self.store.schema[sobject])
        with self.store.lock:
            record = self.store.create(
                sobject, values, view=self.fields(sobject), owner=self.caller.user_id, hooks=self._hooks(written)
            )
            if persons:
                personaccounts.after_create(self.store, sobject, record)
        return record

    def update(self, sobject: str, record_id: str, values: dict) -> None:
        record = self.get(sobject, record_id)
        persons = "person-accounts" in self.on
        if persons:
            values = personaccounts.before_update(self.store, sobject, record, values)
        with self.store.lock:
            self.store.update(sobject, record_id, values, view=self.fields(sobject), hooks=self._hooks(list(values)))
            if persons:
                personaccounts.after_update(self.store, sobject, record)

    def delete(self, sobject: str, record_id: str) -> None:
        record = self.get(sobject, record_id)
        persons = "person-accounts" in self.on
        if persons:
            personaccounts.before_delete(self.store, sobject, record)
        with self.store.lock:
            self.store.delete(sobject, record_id)
            if persons:
                personaccounts.after_delete(self.store, sobject, record)

    def _hooks(self, written: list[str]) -> list[Hook]:
        store, caller = self.store, self.caller
        hooks: list[Hook] = []
        if "record-types" in self.on:
            hooks.append(
                lambda sobject, record, _old: recordtypes.check_values(
                    store.find, store.schema[sobject], sobject, record, written
                )
            )
        if "duplicate-rules" in self.on:
            hooks.append(
                lambda sobject, record, _old: duplicates.check(self._matchable, self.shaped, caller, sobject, record)
            )
        if "assignment-rules" in self.on:
            hooks.append(lambda sobject, record, _old: assignment.apply(self._rows("Group"), caller, sobject, record))
        return hooks

    def _rows(self, sobject: str) -> list[dict]:
        return list(self.store.records[sobject].values())

    def _matchable(self, sobject: str) -> list[dict]:
        rows = self._rows(sobject)
        if self.caller.run_as_current_user:
            return [r for r in rows if self.visible(sobject, r)]
        return rows
