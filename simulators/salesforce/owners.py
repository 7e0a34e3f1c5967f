"""Who may own a record: always checked, in every org, as Salesforce does on every save.

- an active User, or a queue (Group of Type 'Queue') whose QueueSobject rows list the object;
- an inactive user: 400 INACTIVE_OWNER_OR_USER "operation performed with inactive user [005…] as
  owner of contact" (the text Salesforce returns, quoted in Adobe's Marketo Measure "Error
  Notifications" page: "CRM ErrorMessage: operation performed with inactive user [1234] as owner
  of contact"; the code is Restforce::ErrorCode::InactiveOwnerOrUser). Saving a record whose
  current owner is inactive fails the same way (that needs "Update Records with Inactive Owners");
- an id that names nothing (or a group that is not a queue): 400 INVALID_CROSS_REFERENCE_KEY
  "invalid cross reference id" with no fields (DML traces: "INVALID_CROSS_REFERENCE_KEY, invalid
  cross reference id: []", mshanemc/roundRobinProcessBuilder#3 for an OwnerId set to a group);
- an existing record that cannot own (an Account, a Contact) or a queue on an object it does not
  take (Contact, Task): 400 FIELD_INTEGRITY_EXCEPTION "Owner ID: id value of incorrect type: 00G…"
  with fields ["OwnerId"] (apex-enterprise-patterns/fflib-apex-common#293 for a Task given a
  queue; salto.io "Demystifying 'Invalid Cross Reference Id' errors": a wrong-type id is a
  FIELD_INTEGRITY_EXCEPTION, not an invalid cross reference).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from simulators.salesforce.errors import ID_RE, SfError

Find = Callable[[str], "tuple[str, dict] | None"]


def queue_takes(queue_rows: Iterable[dict], queue_id: str, sobject: str) -> bool:
    """The queue's supported objects are its QueueSobject rows."""
    return any(r.get("QueueId") == queue_id and r.get("SobjectType") == sobject for r in queue_rows)


def check_owner(
    find: Find, queue_rows: Iterable[dict], deleted: Callable[[str], bool], sobject: str, label: str, value: str
) -> None:
    """Refuse VALUE as the OwnerId of a SOBJECT record unless an active user or a queue taking it."""
    if not ID_RE.match(value):
        raise SfError(400, "MALFORMED_ID", f"{label}: id value of incorrect type: {value}", ["OwnerId"])
    found = find(value)
    if found is None:
        if deleted(value):
            raise SfError(400, "ENTITY_IS_DELETED", "entity is deleted", [])
        raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    kind, row = found
    if kind == "User":
        check_active(row, sobject)
        return
    if kind == "Group" and row.get("Type") != "Queue":
        raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    if kind == "Group" and queue_takes(queue_rows, row["Id"], sobject):
        return
    raise SfError(400, "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", ["OwnerId"])


def check_active(user: dict, sobject: str) -> None:
    if not user.get("IsActive"):
        raise SfError(
            400,
            "INACTIVE_OWNER_OR_USER",
            f"operation performed with inactive user [{user['Id']}] as owner of {sobject.lower()}",
            [],
        )
