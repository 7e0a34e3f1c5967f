"""Org profiles: opt-in customisations that make the plain org behave like a customer's org.

Each is off by default (the plain org is unchanged) and, when on, as strict as Salesforce:
- `field-access`: the integration user's field-level security hides and locks fields (permissions.py);
- `required-fields`: required custom fields on Contact and Case, and an optional one (orgschema.py);
- `record-types`: Case and Contact record types, a wrong default, picklists per record type (recordtypes.py);
- `duplicate-rules`: the Standard Contact Duplicate Rule on Email (duplicates.py);
- `users`: agents as Salesforce users, a queue, private contacts, a default account (people.py, sharing.py);
- `assignment-rules`: new Cases go to the queue (assignment.py); it brings `users` along.
`all` turns every one of those on. Three more describe what an org is rather than how it was customised,
so `all` leaves them off (name them, alone or next to `all`):
- `person-accounts`: a B2C org with person accounts (personaccounts.py);
- `encrypted-email`: Shield Platform Encryption on the email fields (orgschema.ENCRYPTED);
- `no-api`: an org without API access, e.g. Professional Edition without the add-on (rest.py).
Chosen with `--profile NAME` (repeatable) or `POST /_sim/profiles`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from simulators.salesforce import orgschema, people, permissions, personaccounts, recordtypes
from simulators.salesforce.oauth import User
from simulators.salesforce.schema import Field
from simulators.salesforce.store import Store

NAMES = ("field-access", "required-fields", "record-types", "duplicate-rules", "users", "assignment-rules")
FEATURES = ("person-accounts", "encrypted-email", "no-api")  # not part of `all`
KNOWN = NAMES + FEATURES
IMPLIES = {"assignment-rules": ("users",)}
Schema = dict[str, dict[str, Field]]


def parse(names: Iterable[str]) -> frozenset[str]:
    """Profile names as given (`all` for every one); ValueError names an unknown one."""
    chosen: set[str] = set()
    for name in names:
        name = str(name).strip()
        if name == "all":
            chosen.update(NAMES)
        elif name in KNOWN:
            chosen.add(name)
        else:
            raise ValueError(f"unknown profile {name!r}: choose from {', '.join(KNOWN)} or all")
    return frozenset(chosen)


def effective(profiles: frozenset[str]) -> frozenset[str]:
    """PROFILES with those they bring along (assignment rules need the users profile's queue)."""
    return frozenset(profiles).union(*(IMPLIES.get(p, ()) for p in profiles))


@cache
def schema_for(profiles: frozenset[str], integration: bool) -> Schema:
    """The schema a caller sees: the org's, less what field security hides from the integration user."""
    schema = orgschema.build(effective(profiles))
    if integration and "field-access" in profiles:
        return permissions.restrict(schema)
    return schema


@dataclass
class ProfileState:
    """The profiles asked for and what turning them on put in the current store."""

    active: frozenset[str] = frozenset()
    seeded: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # profile -> kind -> key -> id
    tokens_for: list[str] = field(default_factory=list)  # usernames added to the token issuer

    @property
    def effective(self) -> frozenset[str]:
        return effective(self.active)

    def summary(self, store: Store, username: str) -> dict:
        """What `GET /_sim/profiles` answers: the profiles and the ids tests use."""
        out: dict = {
            "profiles": sorted(self.active),
            "effective": sorted(self.effective),
            "integration_user": {"id": store.user_id, "username": username},
            "users": {},
            "usernames": {},
            "queues": {},
            "record_types": {},
            "accounts": {},
        }
        for kinds in self.seeded.values():
            for kind, ids in kinds.items():
                out.setdefault(kind, {}).update(ids)
        return out


def apply(store: Store, issuer_users: dict[str, User], state: ProfileState, wanted: frozenset[str]) -> None:
    """Switch STORE to the WANTED profiles: seed what newly needs seeding, take away what the ones
    turned off had seeded, and give the store the matching schema."""
    with store.lock:
        before, after = state.effective, effective(wanted)
        for name in sorted(before - after):
            _unseed(store, issuer_users, state, name)
        store.schema = orgschema.build(after)  # what is seeded next is saved against the org it is seeded in
        for name in sorted(after - before):
            _seed(store, issuer_users, state, name)
        if "person-accounts" in after:
            personaccounts.normalize(store)  # e.g. record types seeded after it
        state.active = frozenset(wanted)


def forget(issuer_users: dict[str, User], state: ProfileState) -> frozenset[str]:
    """Before the store is replaced (a reset): nothing is seeded in the new one yet. Returns the
    profiles that were on, to apply to the new store."""
    for username in state.tokens_for:
        issuer_users.pop(username, None)
    state.tokens_for.clear()
    state.seeded.clear()
    wanted, state.active = state.active, frozenset()
    return wanted


def _seed(store: Store, issuer_users: dict[str, User], state: ProfileState, name: str) -> None:
    if name == "record-types":
        state.seeded[name] = {"record_types": recordtypes.seed(store.put)}
    elif name == "person-accounts":
        state.seeded[name] = personaccounts.seed(store)
    elif name == "users":
        seeded = people.seed(store.put, lambda name: _account(store, name))
        state.seeded[name] = seeded
        for person in people.PEOPLE:
            issuer_users[person.username] = User(person.username, seeded["users"][person.key], active=person.active)
            state.tokens_for.append(person.username)


def _account(store: Store, name: str) -> str:
    """The account named NAME, made once: turning the profile off and on again does not add a second."""
    found = next((r["Id"] for r in store.records["Account"].values() if r.get("Name") == name), None)
    return found or store.create("Account", {"Name": name})["Id"]


def _unseed(store: Store, issuer_users: dict[str, User], state: ProfileState, name: str) -> None:
    seeded = state.seeded.pop(name, {})
    if name == "person-accounts":
        personaccounts.unseed(store, seeded)
    for kind, sobject in (("record_types", "RecordType"), ("users", "User"), ("queues", "Group")):
        for record_id in seeded.get(kind, {}).values():
            store.remove(sobject, record_id)
    for record_id in seeded.get("queue_sobjects", {}).values():
        store.remove("QueueSobject", record_id)
    if name == "users":
        for username in seeded.get("usernames", {}).values():
            issuer_users.pop(username, None)
            if username in state.tokens_for:
                state.tokens_for.remove(username)
