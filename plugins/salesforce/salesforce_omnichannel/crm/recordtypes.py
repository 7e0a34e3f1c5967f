"""The record type the bot's records of each object get, and so the picklist values they may carry.

A record saved without a RecordTypeId gets the saving user's default record type: here the
integration user's (describe's `recordTypeInfos` marks it `defaultRecordTypeMapping`), often not the
business process the agents work in. RECORD_TYPES names the one to use per object (by DeveloperName);
records the bot creates then carry its RecordTypeId. Either way the picklists are that record type's
(the UI API's picklist-values, one call per object and record type per METADATA_REFRESH_MINUTES),
never describe's union of every record type's values, so the bot never offers or accepts a value the
org will refuse. An object without record types (only Master) keeps describe's values and gets no
RecordTypeId. The ids come from describe's `recordTypeInfos`, which is cached already: no RecordType
query is needed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from .errors import CrmNotFound
from .metadata import MetadataCache, PicklistValue
from .settings import SalesforceSettings

log = logging.getLogger(__name__)

MASTER_ID = "012000000000000AAA"  # the Master record type, the same in every org
CREATED = ("Contact", "Case", "Task")  # the objects the bot creates records of (advice() looks at these)


@dataclass(frozen=True)
class RecordTypeInUse:
    sobject: str
    id: str
    name: str  # its label, e.g. "Billing"
    developer_name: str
    configured: bool  # True: RECORD_TYPES names it, so records carry its RecordTypeId

    def records(self) -> str:
        """How messages speak of the records: "Billing cases"."""
        return f"{self.name} {self.sobject.lower()}s"


def _infos(described: dict) -> list[dict]:
    return [i for i in described.get("recordTypeInfos") or [] if isinstance(i, dict) and i.get("recordTypeId")]


def _usable(info: dict) -> bool:
    """A record type records can be given: active (older APIs leave `active` out), available to the
    integration user, not Master."""
    return info.get("active", True) is not False and bool(info.get("available")) and not info.get("master")


def _settable(described: dict) -> bool:
    """Whether the integration user may give new records a record type (RecordTypeId createable)."""
    field = next((f for f in described.get("fields") or [] if f.get("name") == "RecordTypeId"), {})
    return bool(field.get("createable"))


def _find(infos: list[dict], developer_name: str) -> dict | None:
    """The record type named DEVELOPER_NAME (Salesforce's DeveloperNames are unique in any case)."""
    exact = next((i for i in infos if i.get("developerName") == developer_name), None)
    return exact or next(
        (i for i in infos if str(i.get("developerName") or "").lower() == developer_name.lower()), None
    )


def _names(infos: list[dict]) -> str:
    return ", ".join(sorted(str(i.get("developerName")) for i in infos if _usable(i))) or "none"


class RecordTypes:
    def __init__(self, metadata: MetadataCache, settings: SalesforceSettings):
        self.metadata = metadata
        self.settings = settings
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @property
    def configured(self) -> dict[str, str]:
        return self.settings.record_type_map

    def in_use(self, sobject: str) -> RecordTypeInUse | None:
        """The record type SOBJECT's new records get: RECORD_TYPES's when the org has it (active and
        available to the integration user), else the integration user's default; None when that is
        Master (the object has no record types): describe's values apply and no RecordTypeId is sent.
        A configured record type the org does not let the integration user give (unknown, inactive, not
        available, RecordTypeId not createable) is logged once and the default used: what Salesforce
        applies to a record without one, and what `problems()` names."""
        described = self.metadata.describe(sobject)
        infos = _infos(described)
        wanted = self.configured.get(sobject)
        if wanted:
            found = _find(infos, wanted)
            if found is not None and _usable(found) and _settable(described):
                return self._in_use(sobject, found, configured=True)
            self._warn(sobject, wanted)
        default = next((i for i in infos if i.get("defaultRecordTypeMapping")), None)
        if default is None or default.get("master") or str(default["recordTypeId"])[:15] == MASTER_ID[:15]:
            return None
        return self._in_use(sobject, default, configured=False)

    @staticmethod
    def _in_use(sobject: str, info: dict, configured: bool) -> RecordTypeInUse:
        developer = str(info.get("developerName") or "")
        return RecordTypeInUse(
            sobject, str(info["recordTypeId"]), str(info.get("name") or developer), developer, configured
        )

    def _warn(self, sobject: str, wanted: str) -> None:
        with self._lock:
            if (sobject, wanted) in self._warned:
                return
            self._warned.add((sobject, wanted))
        log.warning(
            "RECORD_TYPES names the %s record type %s, which the integration user cannot use here; new %s records "
            "get its default record type (`!salesforce check` says why)",
            sobject,
            wanted,
            sobject,
        )

    def record_type_id(self, sobject: str) -> str | None:
        """The RecordTypeId new SOBJECT records carry: RECORD_TYPES's record type, else None (send none)."""
        chosen = self.in_use(sobject)
        return chosen.id if chosen is not None and chosen.configured else None

    def picklist(self, sobject: str, field: str) -> list[PicklistValue]:
        """FIELD's values for the record type in use (describe's when there is none)."""
        chosen = self.in_use(sobject)
        return self.metadata.picklist(sobject, field, chosen.id if chosen else None)

    # -- the configuration against the org --------------------------------------------------
    def problems(self) -> list[str]:
        """Each RECORD_TYPES entry the org does not offer the integration user, with its fix; [] when all
        are fine. Costs a describe per named object (cached). A CrmError other than a missing object
        (Salesforce unreachable, the login refused) is raised: the entries could not be checked."""
        found: list[str] = []
        for sobject, wanted in sorted(self.configured.items()):
            problem = self._problem(sobject, wanted)
            if problem:
                found.append(problem)
        return found

    def _problem(self, sobject: str, wanted: str) -> str | None:
        named = f"RECORD_TYPES names the {sobject} record type {wanted}"
        try:
            described = self.metadata.describe(sobject)
        except CrmNotFound:
            return (
                f"{named}, but the integration user cannot see {sobject} records: give its profile read and create "
                f"access to {sobject}, or remove the {sobject} entry."
            )
        infos = _infos(described)
        where = f"Setup → Object Manager → {sobject} → Record Types"
        if not any(not i.get("master") for i in infos):
            return f"{named}, but this org has no {sobject} record types: remove the {sobject} entry."
        info = _find(infos, wanted)
        if info is None:
            return (
                f"{named}, which this org does not have. Use the Record Type Name (DeveloperName, not the label) "
                f"of one the integration user may use ({_names(infos)}; {where}), or remove the entry."
            )
        if info.get("master"):
            return (
                f"{named}, the Master record type, which records cannot be given once {sobject} has record types: "
                f"name one of {_names(infos)}, or remove the entry."
            )
        if info.get("active", True) is False:
            return f"{named}, which is inactive: activate it ({where}), or name another ({_names(infos)})."
        if not info.get("available"):
            return (
                f"{named}, which the integration user ({self.settings.username}) may not use: add it to that user's "
                f"profile or a permission set (Record Type Settings), or name another ({_names(infos)})."
            )
        if not _settable(described):
            return (
                f"{named}, but the integration user may not set the record type of new {sobject} records: give it "
                f"edit access to the {sobject} Record Type field, or remove the entry."
            )
        return None

    def advice(self) -> list[str]:
        """For the setup check: each object the bot creates that has a choice of record types but no
        RECORD_TYPES entry, with the record type its records get (the integration user's default) and the
        ones there are."""
        out: list[str] = []
        for sobject in CREATED:
            if sobject in self.configured:
                continue
            infos = _infos(self.metadata.describe(sobject))
            chosen = self.in_use(sobject)
            default = chosen.developer_name if chosen else "Master"
            others = sorted(str(i["developerName"]) for i in infos if _usable(i) and i["developerName"] != default)
            if not others:
                continue  # no record types, or only the one its records get anyway
            out.append(
                f"{sobject} records the bot creates get the integration user's default record type, {default} "
                f"({sobject} has {_names(infos)}): to choose another, set RECORD_TYPES, e.g. "
                f'{{"{sobject}": "{others[0]}"}}.'
            )
        return out
