"""The owner resolver (crm/owners.py) against the strict simulated org with its `users` profile
(simulators/salesforce/people.py): alice matches by Email, bob by FederationIdentifier, maria only
through AGENT_USERS, carol's user is inactive, dave is a colleague, "Support Queue" takes Cases and
Leads. Order, fallbacks, the queue's limits, call counts, errors and escaping; a few cases the org
cannot hold (two users sharing an email, a hidden FederationIdentifier) on a fake client."""

from __future__ import annotations

import re
import threading

import pytest
from test_crm_statements import Recording

from salesforce_omnichannel.crm.errors import CrmValidationError
from salesforce_omnichannel.crm.owners import AgentRef, OwnerDirectory, id18
from salesforce_omnichannel.crm.settings import SalesforceSettings

ALICE = AgentRef("alice", "Alice Agent", "alice@example.com")
BOB = AgentRef("bob", "Bob Agent", "bob@example.com")
MARIA = AgentRef("maria", "Maria Manager", "maria@example.com")
CAROL = AgentRef("carol", "Carol User", "carol@example.com")
ZED = AgentRef("zed", "Zed Nobody", "zed@example.com")
HOSTILE = "O'Brien \\ \" % _ ' OR Name != '"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def org(sf_sim):
    sf_sim.reset("empty")
    info = sf_sim.set_profiles(["users"])
    yield info
    sf_sim.clear_faults()
    sf_sim.set_profiles([])


def make(sf_sim, clock=None, **over) -> tuple[OwnerDirectory, Recording]:
    settings = sf_sim.crm_settings(**over)
    client = Recording(settings)
    client.auth.session()  # the token is minted here, not counted with the queries
    return OwnerDirectory(client, settings, clock=clock or Clock()), client


def queries(sf_sim) -> int:
    return sf_sim.calls().get("GET query", 0)


def test_each_way_an_agent_is_matched(sf_sim, org):
    directory, _ = make(sf_sim, agent_users=(("maria", "maria.m@acme.example"),))
    users = org["users"]
    got = {a.username: directory.owner_for("Contact", a) for a in (ALICE, BOB, MARIA)}
    assert {name: (c.owner_id, c.matched_by) for name, c in got.items()} == {
        "alice": (users["alice"], "Email"),
        "bob": (users["bob"], "FederationIdentifier"),
        "maria": (users["maria"], "AGENT_USERS"),
    }
    assert all(c.is_agent and c.note == "" and c.fields() == {"OwnerId": c.owner_id} for c in got.values())
    assert got["alice"].user.name == "Alice Agent" and got["alice"].user.active


@pytest.mark.parametrize("target", ["dave@acme.example", "DAVE@acme.example", "dave-id-18", "dave-id-15"])
def test_agent_users_by_username_or_id_wins_over_federation_id_and_email(sf_sim, org, target):
    dave = org["users"]["dave"]
    target = {"dave-id-18": dave, "dave-id-15": dave[:15]}.get(target, target)
    directory, _ = make(sf_sim, agent_users=(("alice", target), ("bob", target)))
    for agent in (ALICE, BOB):  # alice's Email and bob's FederationIdentifier match their own users
        choice = directory.owner_for("Case", agent)
        assert (choice.owner_id, choice.matched_by) == (dave, "AGENT_USERS")


def test_agent_users_naming_no_user_or_an_inactive_one_falls_back_without_guessing(sf_sim, org):
    carol_id = org["users"]["carol"]
    directory, _ = make(sf_sim, agent_users=(("alice", "nobody@acme.example"), ("bob", carol_id)))
    alice, bob = directory.owner_for("Contact", ALICE), directory.owner_for("Contact", BOB)
    assert (alice.owner_id, alice.matched_by) == (None, "fallback")  # not alice's own user by Email
    assert "AGENT_USERS maps alice to nobody@acme.example, which is no Salesforce user" in alice.note
    assert (bob.owner_id, bob.matched_by) == (None, "fallback")
    assert f"AGENT_USERS maps bob to Carol User ({carol_id}), who is inactive" in bob.note
    assert "the integration user owns the Contact" in bob.note


def test_federation_identifier_alone_matches(sf_sim, org):
    directory, _ = make(sf_sim)
    choice = directory.owner_for("Task", AgentRef("bob", "Bob Agent", None))
    assert (choice.owner_id, choice.matched_by) == (org["users"]["bob"], "FederationIdentifier")


def test_only_a_verified_email_is_matched(sf_sim, org):
    directory, _ = make(sf_sim)
    assert directory.owner_for("Contact", ALICE).owner_id == org["users"]["alice"]

    class Agent:  # the backend's Omnichannel agent: an unverified address is reported as no email
        username, name, email = "alice", "Alice Agent", None

    choice = directory.owner_for("Contact", Agent())
    assert (choice.owner_id, choice.matched_by) == (None, "fallback")
    assert "no verified email in Rocket.Chat" in choice.note
    assert AgentRef.of(Agent()) == AgentRef("alice", "Alice Agent", None)


def test_an_inactive_user_is_never_the_owner(sf_sim, org):
    directory, _ = make(sf_sim)
    choice = directory.owner_for("Contact", CAROL)
    assert (choice.owner_id, choice.matched_by, choice.user) == (None, "fallback", None)
    assert f"carol's Salesforce user Carol User ({org['users']['carol']}) is inactive" in choice.note


def test_no_match_and_no_agent_say_why(sf_sim, org):
    directory, _ = make(sf_sim)
    zed = directory.owner_for("Case", ZED)
    assert (zed.owner_id, zed.matched_by) == (None, "fallback")
    assert zed.note == (
        "no active Salesforce user has FederationIdentifier zed or Email zed@example.com; "
        "the integration user owns the Case"
    )
    nobody = directory.owner_for("Case", None)
    assert (nobody.owner_id, nobody.note) == (None, "no agent served this chat; the integration user owns the Case")


@pytest.mark.parametrize(("sobject", "queued"), [("Case", True), ("Lead", True), ("Contact", False), ("Task", False)])
def test_a_queue_fallback_owns_cases_and_leads_only(sf_sim, org, sobject, queued):
    queue = org["queues"]["Support Queue"]
    directory, _ = make(sf_sim, fallback_owner=queue)
    choice = directory.owner_for(sobject, ZED)
    assert choice.matched_by == "fallback"
    if queued:
        assert choice.owner_id == queue and f"FALLBACK_OWNER queue {queue} owns the {sobject}" in choice.note
    else:
        assert choice.owner_id is None and f"a queue cannot own a {sobject}" in choice.note
    assert directory.owner_for(sobject, ALICE).owner_id == org["users"]["alice"]  # a match is unaffected


def test_the_owners_chosen_are_owners_the_org_accepts(sf_sim, org):
    """Each choice saved for real: the strict org refuses an inactive owner or a queue on a Contact/Task."""
    queue = org["queues"]["Support Queue"]
    directory, client = make(sf_sim, fallback_owner=queue)
    values = {
        "Contact": {"LastName": "Owner Test"},
        "Case": {"Subject": "Owner test"},
        "Lead": {"LastName": "Owner Test", "Company": "Acme"},
        "Task": {"Subject": "Owner test", "Status": "Completed", "Priority": "Normal"},
    }
    for agent in (ALICE, BOB, CAROL, ZED):
        for sobject, fields in values.items():
            choice = directory.owner_for(sobject, agent)
            made = client.call(
                "create", lambda sf, s=sobject, f=fields, c=choice: getattr(sf, s).create({**f, **c.fields()})
            )
            owner = client.query(f"SELECT OwnerId FROM {sobject} WHERE Id = '{made['id']}'")[0]["OwnerId"]
            expected = choice.owner_id or org["integration_user"]["id"]
            assert owner == expected, (agent.username, sobject)


def test_a_user_fallback_owner_and_one_that_cannot_own(sf_sim, org):
    dave, carol = org["users"]["dave"], org["users"]["carol"]
    directory, _ = make(sf_sim, fallback_owner=dave[:15])
    choice = directory.owner_for("Contact", ZED)
    assert (choice.owner_id, choice.matched_by) == (dave, "fallback")  # the 18-character form
    assert "FALLBACK_OWNER Dave Colleague" in choice.note
    directory, _ = make(sf_sim, fallback_owner=carol)
    choice = directory.owner_for("Contact", ZED)
    assert choice.owner_id is None and f"FALLBACK_OWNER Carol User ({carol}) is inactive" in choice.note
    missing = "005000000000000AAA"
    directory, _ = make(sf_sim, fallback_owner=missing)
    choice = directory.owner_for("Contact", ZED)
    assert choice.owner_id is None and f"FALLBACK_OWNER {missing} is no Salesforce user" in choice.note


def test_one_query_warms_many_agents_and_none_is_made_within_the_window(sf_sim, org):
    clock = Clock()
    directory, client = make(
        sf_sim, clock, agent_users=(("maria", "maria.m@acme.example"),), fallback_owner=org["users"]["dave"]
    )
    agents = [ALICE, BOB, MARIA, CAROL, ZED, AgentRef("nomail", "", None)]
    sf_sim.reset_calls()
    directory.warm(agents)
    assert queries(sf_sim) == 1 and directory.queries == 1
    [statement] = client.statements
    assert statement.startswith("SELECT Id, Username, Email, FederationIdentifier, IsActive, Name FROM User WHERE ")
    for agent in agents:
        for sobject in ("Contact", "Case", "Task"):
            directory.owner_for(sobject, agent)
    directory.warm(agents)
    clock.now += 29 * 60  # METADATA_REFRESH_MINUTES is 30
    directory.owner_for("Case", ALICE)
    assert queries(sf_sim) == 1  # the warm's only
    clock.now += 60  # stale: the next look-up refreshes everything asked, in one query
    assert directory.owner_for("Case", BOB).owner_id == org["users"]["bob"]
    assert queries(sf_sim) == 2
    for agent in agents:
        directory.owner_for("Contact", agent)
    assert queries(sf_sim) == 2 and len(client.statements) == 2
    assert sorted(re.findall(r"'[^']*'", client.statements[1])) == sorted(re.findall(r"'[^']*'", statement))


def test_an_agent_not_warmed_costs_one_query_once(sf_sim, org):
    directory, client = make(sf_sim)
    directory.warm([ALICE])
    sf_sim.reset_calls()
    assert directory.owner_for("Case", BOB).owner_id == org["users"]["bob"]
    assert directory.owner_for("Case", ZED).owner_id is None  # found nothing: remembered too
    assert queries(sf_sim) == 2
    for agent in (ALICE, BOB, ZED):
        directory.owner_for("Task", agent)
    assert queries(sf_sim) == 2
    assert "alice" not in client.statements[-1]  # only what was never asked


def test_concurrent_lookups_on_a_cold_cache_make_one_query(sf_sim, org):
    directory, _ = make(sf_sim)
    sf_sim.reset_calls()
    results = []
    threads = [threading.Thread(target=lambda: results.append(directory.owner_for("Case", ALICE))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.owner_id for r in results] == [org["users"]["alice"]] * 8
    assert queries(sf_sim) == 1


def test_owner_integration_asks_nothing(sf_sim, org):
    directory, _ = make(sf_sim, owner="integration", fallback_owner=org["queues"]["Support Queue"])
    sf_sim.reset_calls()
    directory.warm([ALICE, BOB])
    for sobject in ("Contact", "Case", "Lead", "Task"):
        choice = directory.owner_for(sobject, ALICE)
        assert (choice.owner_id, choice.matched_by, choice.fields()) == (None, "integration", {})
    assert queries(sf_sim) == 0
    assert [str(e) for e in directory.explain([ALICE])] == ["alice → the integration user (OWNER=integration)"]


def test_a_salesforce_error_falls_back_says_why_and_is_not_retried_at_once(sf_sim, org):
    clock = Clock()
    directory, _ = make(sf_sim, clock, fallback_owner=org["queues"]["Support Queue"])
    sf_sim.fault(status=503, routes=["GET query"])
    try:
        sf_sim.reset_calls()
        choice = directory.owner_for("Case", ALICE)  # never raises into a closure
        assert (choice.owner_id, choice.matched_by) == (org["queues"]["Support Queue"], "fallback")
        assert choice.note.startswith("Salesforce could not be asked who alice is: ")
        assert "Salesforce had an internal problem" in choice.note
        directory.owner_for("Contact", ALICE)
        directory.warm([ALICE])
        assert queries(sf_sim) == 1  # not again for a minute
        assert "could not be asked" in directory.explain([ALICE])[0].text
    finally:
        sf_sim.clear_faults()
    clock.now += 61
    assert directory.owner_for("Case", ALICE).matched_by == "Email"


def test_a_stale_cache_still_answers_when_the_refresh_fails(sf_sim, org):
    clock = Clock()
    directory, _ = make(sf_sim, clock)
    directory.warm([ALICE, BOB])
    clock.now += 31 * 60
    sf_sim.fault(status=503, routes=["GET query"])
    try:
        assert directory.owner_for("Case", ALICE).owner_id == org["users"]["alice"]
        assert directory.owner_for("Case", BOB).matched_by == "FederationIdentifier"
        assert directory.owner_for("Case", ZED).note.startswith("Salesforce could not be asked who zed is")
    finally:
        sf_sim.clear_faults()


def test_hostile_names_stay_inside_their_literals_and_the_strict_org_accepts_them(sf_sim, org):
    directory, client = make(sf_sim, agent_users=(("mallory", HOSTILE + "@x.example"),))
    agents = [AgentRef(HOSTILE, HOSTILE, HOSTILE + "@example.com"), AgentRef("mallory", "", None)]
    directory.warm(agents)
    for agent in agents:
        choice = directory.owner_for("Case", agent)
        assert choice.matched_by == "fallback" and "could not be asked" not in choice.note
    assert len(client.statements) == 1
    outside = re.sub(r"'(?:\\.|[^'\\])*'", "''", client.statements[0])
    assert "O'Brien" not in outside and "OR Name" not in outside and "%" not in outside


def test_many_agents_are_asked_in_few_bounded_queries(sf_sim, org):
    directory, client = make(sf_sim)
    agents = [
        AgentRef(f"agent{n:03d}.with.a.long.name", "", f"agent{n:03d}.with.a.long.name@example.com") for n in range(150)
    ]
    directory.warm(agents + [ALICE])
    assert 2 <= len(client.statements) <= 4
    assert all(len(s) < 8000 for s in client.statements)
    assert directory.owner_for("Contact", ALICE).owner_id == org["users"]["alice"]
    assert len(client.statements) <= 4


def test_explain_names_each_agent_s_owner_for_the_setup_check(sf_sim, org):
    users = org["users"]
    directory, _ = make(sf_sim, agent_users=(("maria", users["maria"]),))
    lines = [str(e) for e in directory.explain([ALICE, BOB, MARIA, CAROL, ZED])]
    assert lines[:3] == [
        f"alice → Alice Agent ({users['alice']}) by Email",
        f"bob → Bob Agent ({users['bob']}) by FederationIdentifier",
        f"maria → Maria Manager ({users['maria']}) by AGENT_USERS",
    ]
    assert lines[3].startswith("carol → no match (carol's Salesforce user Carol User")
    assert lines[3].endswith("is inactive): the integration user (FALLBACK_OWNER empty)")
    assert lines[4].startswith("zed → no match (no active Salesforce user has FederationIdentifier zed or Email")


def test_fallback_problems(sf_sim, org):
    users, queue = org["users"], org["queues"]["Support Queue"]
    assert make(sf_sim)[0].fallback_problems() == []
    assert make(sf_sim, fallback_owner=queue)[0].fallback_problems() == []
    assert make(sf_sim, fallback_owner=users["dave"])[0].fallback_problems() == []
    [inactive] = make(sf_sim, fallback_owner=users["carol"])[0].fallback_problems()
    assert "is inactive" in inactive
    [unknown] = make(sf_sim, fallback_owner="005000000000000AAA")[0].fallback_problems()
    assert "is no Salesforce user" in unknown
    [no_queue] = make(sf_sim, fallback_owner="00G000000000000AAA")[0].fallback_problems()
    assert "is no Salesforce queue" in no_queue


def test_an_owner_salesforce_refused_owns_nothing_more_until_the_refresh(sf_sim, org):
    clock = Clock()
    queue, dave = org["queues"]["Support Queue"], org["users"]["dave"]
    directory, _ = make(sf_sim, clock, fallback_owner=queue)
    assert directory.owner_for("Case", ALICE).owner_id == org["users"]["alice"]
    directory.refused(org["users"]["alice"])  # e.g. deactivated since the cache was filled
    directory.refused(queue)
    alice = directory.owner_for("Case", ALICE)
    assert alice.owner_id is None and "was refused as an owner by Salesforce" in alice.note
    assert "Salesforce refused FALLBACK_OWNER" in alice.note
    clock.now += 31 * 60  # the refresh reads the users again and forgets the refusals
    assert directory.owner_for("Case", ALICE).owner_id == org["users"]["alice"]
    assert directory.owner_for("Case", ZED).owner_id == queue
    directory, _ = make(sf_sim, fallback_owner=dave)
    directory.warm([ZED])
    directory.refused(dave)
    assert directory.owner_for("Contact", ZED).owner_id is None
    directory.refresh()
    assert directory.owner_for("Contact", ZED).owner_id == dave


# -- what the simulated org cannot hold: a fake client --------------------------------------
class FakeClient:
    def __init__(self, rows: list[dict], refuse_federation: bool = False):
        self.rows, self.refuse_federation, self.statements = rows, refuse_federation, []

    def query(self, soql: str, what: str = "query") -> list[dict]:
        self.statements.append(soql)
        if self.refuse_federation and "FederationIdentifier" in soql:
            raise CrmValidationError(
                "Salesforce does not know a field", "INVALID_FIELD", "query: HTTP 400 INVALID_FIELD"
            )
        literals = {v.lower() for v in re.findall(r"'((?:\\.|[^'\\])*)'", soql)}
        return [
            r
            for r in self.rows
            if {str(r.get(f) or "").lower() for f in ("Id", "Username", "Email", "FederationIdentifier")} & literals
        ]


def row(n: int, email: str, federation: str | None = None, active: bool = True) -> dict:
    return {
        "Id": f"005xx00000000{n:02d}AAA",
        "Username": f"u{n}@acme.example",
        "Email": email,
        "FederationIdentifier": federation,
        "IsActive": active,
        "Name": f"User {n}",
    }


def settings(**over) -> SalesforceSettings:
    return SalesforceSettings(consumer_key="k", username="integration@acme.example", **over)


def test_two_active_users_sharing_the_email_are_not_guessed_between():
    client = FakeClient([row(1, "alice@example.com"), row(2, "ALICE@example.com"), row(3, "bob@example.com")])
    choice = OwnerDirectory(client, settings()).owner_for("Contact", ALICE)
    assert (choice.owner_id, choice.matched_by) == (None, "fallback")
    assert "2 active Salesforce users have Email alice@example.com: name the right one in AGENT_USERS" in choice.note


def test_an_inactive_duplicate_does_not_hide_the_active_user():
    client = FakeClient([row(1, "alice@example.com", active=False), row(2, "alice@example.com")])
    choice = OwnerDirectory(client, settings()).owner_for("Contact", ALICE)
    assert (choice.owner_id, choice.matched_by) == ("005xx0000000002AAA", "Email")


def test_federation_identifier_hidden_by_field_security_turns_that_match_off():
    client = FakeClient([row(1, "alice@example.com", federation="bob")], refuse_federation=True)
    directory = OwnerDirectory(client, settings())
    assert directory.owner_for("Contact", ALICE).matched_by == "Email"
    assert not directory.federation_readable
    assert len(client.statements) == 2 and "FederationIdentifier" not in client.statements[1]
    choice = directory.owner_for("Contact", AgentRef("bob", "", None))
    assert choice.matched_by == "fallback" and len(client.statements) == 2  # nothing to ask by: no query


def test_id18_matches_salesforce():
    assert id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # Salesforce's documented example
    assert id18("005xx000001Sv6AAAS") == "005xx000001Sv6AAAS"
