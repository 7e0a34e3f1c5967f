"""Who may run a command where: visitors never, agents in their own chats, managers, admins."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from salesforce_omnichannel.chat import access as plugin_access


class FakeRoles:
    def __init__(self, agents=(), managers=()):
        self.agents, self.managers = set(agents), set(managers)

    def is_agent(self, user):
        return user in self.agents

    def is_manager(self, user):
        return user in self.managers


def person(name):
    return SimpleNamespace(username=name, aclattr=f"@{name}")


ROLES = FakeRoles(agents={"alice", "bob"}, managers={"mia"})
LIVE_ROOM = SimpleNamespace(id="R1", agent_username="alice")
OMNI = {"omnichannel": True, "room_id": "R1"}


@pytest.mark.parametrize("who", ["alice", "admin", "mia", "zed"])
@pytest.mark.parametrize("admin_only", [False, True])
def test_visitor_is_refused_silently_even_with_a_staff_name(who, admin_only):
    decision = plugin_access.decide({"visitor": True, **OMNI}, person(who), ["admin"], ROLES, LIVE_ROOM, admin_only)
    assert decision == plugin_access.Decision(False, None)


@pytest.mark.parametrize(
    ("extras", "room", "omni"), [(OMNI, LIVE_ROOM, ROLES), ({}, None, ROLES), ({}, None, None), (OMNI, None, ROLES)]
)
@pytest.mark.parametrize("admin_only", [False, True])
def test_admin_is_allowed_everywhere(extras, room, omni, admin_only):
    assert plugin_access.decide(extras, person("root"), ["@root"], omni, room, admin_only) == plugin_access.Decision(
        True
    )


@pytest.mark.parametrize("who", ["alice", "mia", "zed"])
def test_admin_only_refuses_everyone_else(who):
    decision = plugin_access.decide({}, person(who), ["root"], ROLES, None, admin_only=True)
    assert decision == plugin_access.Decision(False, plugin_access.REFUSE_ADMIN_ONLY)


def test_admin_match_is_case_insensitive_and_ignores_the_at():
    assert plugin_access.is_admin(person("Root"), ["@root"])
    assert plugin_access.is_admin(SimpleNamespace(username=None, nick="root"), ["ROOT"])
    assert not plugin_access.is_admin(person("rooted"), ["root"])
    assert not plugin_access.is_admin(person("root"), [])


def test_in_an_omnichannel_room_only_the_serving_agent_or_a_manager():
    decide = plugin_access.decide
    assert decide(OMNI, person("alice"), [], ROLES, LIVE_ROOM).allowed  # serving agent
    assert decide(OMNI, person("mia"), [], ROLES, LIVE_ROOM).allowed  # manager
    other_agent = decide(OMNI, person("bob"), [], ROLES, LIVE_ROOM)
    assert other_agent == plugin_access.Decision(False, plugin_access.REFUSE_NOT_SERVING)
    stranger = decide(OMNI, person("zed"), [], ROLES, LIVE_ROOM)
    assert stranger == plugin_access.Decision(False, plugin_access.REFUSE_NOT_SERVING)
    # the room could not be read: nobody but managers and admins
    assert decide(OMNI, person("alice"), [], ROLES, None).reason == plugin_access.REFUSE_NOT_SERVING
    assert decide(OMNI, person("mia"), [], ROLES, None).allowed


def test_serving_agent_who_lost_the_agent_role_is_refused():
    decision = plugin_access.decide(OMNI, person("alice"), [], FakeRoles(agents=set()), LIVE_ROOM)
    assert decision == plugin_access.Decision(False, plugin_access.REFUSE_NO_ROLE)


def test_elsewhere_agents_and_managers_are_allowed_others_get_the_role_refusal():
    for extras in ({}, {"room_type": "d"}, {"room_type": "c"}):
        assert plugin_access.decide(extras, person("bob"), [], ROLES).allowed
        assert plugin_access.decide(extras, person("mia"), [], ROLES).allowed
        assert plugin_access.decide(extras, person("zed"), [], ROLES) == plugin_access.Decision(
            False, plugin_access.REFUSE_NO_ROLE
        )


def test_without_omnichannel_everyone_errbot_lets_through_is_allowed():
    assert plugin_access.decide({}, person("zed"), [], None) == plugin_access.Decision(True)
    assert plugin_access.decide({}, "plainstring", ["root"], None).allowed


def test_refusals_are_plain_sentences():
    for reason in (plugin_access.REFUSE_NOT_SERVING, plugin_access.REFUSE_NO_ROLE, plugin_access.REFUSE_ADMIN_ONLY):
        assert reason.endswith(".") and "{" not in reason
