"""The `users` profile: the org's people and its queue, aligned with the Rocket.Chat simulator's
demo agents (simulators/rocketchat/server.py: alice, bob, maria, carol, each `<name>@example.com`)
so that each way of matching an agent to a Salesforce user has a case:

| Rocket.Chat | Salesforce user (Username / Email)          | matched by                                      |
| ----------- | ------------------------------------------- | ----------------------------------------------- |
| alice       | alice@acme.example / alice@example.com      | Email = the agent's email                       |
| bob         | bob.b@acme.example / bob.other@acme.example | FederationIdentifier "bob" = the RC username    |
| maria       | maria.m@acme.example / m.manager@acme.example | nothing but an admin's username map           |
| carol       | carol@acme.example / carol@example.com      | Email, but IsActive = false: must not be used   |
| (none)      | dave@acme.example / dave@acme.example       | a colleague, for sharing tests                  |

Every one of them but carol is pre-authorised for the connected app, so a test can mint a token as
any of them. The queue "Support Queue" (Group, Type 'Queue', DeveloperName Support_Queue) takes
Case and Lead (QueueSobject rows). The Account "Web Visitors" is a default account: a Contact
with an account is visible to every user, one without is private to its owner (sharing.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    key: str
    first: str
    last: str
    username: str
    email: str
    federation_id: str | None
    active: bool = True

    @property
    def alias(self) -> str:
        return (self.first[:1] + self.last)[:8].lower()


PEOPLE = (
    Person("alice", "Alice", "Agent", "alice@acme.example", "alice@example.com", None),
    Person("bob", "Bob", "Agent", "bob.b@acme.example", "bob.other@acme.example", "bob"),
    Person("maria", "Maria", "Manager", "maria.m@acme.example", "m.manager@acme.example", None),
    Person("carol", "Carol", "User", "carol@acme.example", "carol@example.com", None, active=False),
    Person("dave", "Dave", "Colleague", "dave@acme.example", "dave@acme.example", None),
)
QUEUE_NAME, QUEUE_DEVELOPER_NAME, QUEUE_OBJECTS = "Support Queue", "Support_Queue", ("Case", "Lead")
DEFAULT_ACCOUNT = "Web Visitors"


def seed(put: Callable[[str, dict], dict], create_account: Callable[[str], str]) -> dict[str, dict[str, str]]:
    """Users, the queue and its objects, and the default account; returns their ids by key."""
    users = {
        p.key: put(
            "User",
            {
                "Username": p.username,
                "FirstName": p.first,
                "LastName": p.last,
                "Email": p.email,
                "Alias": p.alias,
                "FederationIdentifier": p.federation_id,
                "IsActive": p.active,
            },
        )["Id"]
        for p in PEOPLE
    }
    queue = put("Group", {"Name": QUEUE_NAME, "DeveloperName": QUEUE_DEVELOPER_NAME, "Type": "Queue"})["Id"]
    queue_objects = {name: put("QueueSobject", {"QueueId": queue, "SobjectType": name})["Id"] for name in QUEUE_OBJECTS}
    return {
        "users": users,
        "usernames": {p.key: p.username for p in PEOPLE},
        "queues": {QUEUE_NAME: queue},
        "queue_sobjects": queue_objects,
        "accounts": {DEFAULT_ACCOUNT: create_account(DEFAULT_ACCOUNT)},
    }


def queue_id(groups: Iterable[dict]) -> str | None:
    return next(
        (g["Id"] for g in groups if g.get("DeveloperName") == QUEUE_DEVELOPER_NAME and g.get("Type") == "Queue"), None
    )
