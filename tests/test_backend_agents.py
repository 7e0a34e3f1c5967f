"""The backend's Omnichannel agents (`agents()`, `agent(username)`): Rocket.Chat's `livechat/users/agent`
answer reduced to username, name and the verified email, paged, cached, and refused politely when the
bot lacks the permission; against the loopback Rocket.Chat (demo users alice, bob, maria)."""

from __future__ import annotations

import logging

import pytest
import rc_omnichannel
from rc_omnichannel import Agent, Omnichannel, agent_from_payload
from rc_rest import RestClient

from rc_fixtures import PASSWORDS
from salesforce_omnichannel.chat import omnichannel as interface


def test_the_email_is_the_first_verified_address_only():
    raw = {
        "_id": "u1",
        "username": "alice",
        "name": "Alice Agent",
        "statusLivechat": "available",
        "emails": [{"address": "typed@example.com", "verified": False}, {"address": "a@example.com", "verified": True}],
    }
    assert agent_from_payload(raw) == Agent("u1", "alice", "Alice Agent", "a@example.com", "available")
    raw["emails"] = [{"address": "typed@example.com", "verified": False}]
    assert agent_from_payload(raw).email is None
    assert agent_from_payload({"_id": "u2", "username": "bob"}) == Agent("u2", "bob", "bob", None, "")
    assert agent_from_payload({"_id": "u3", "username": "c", "emails": [{"address": "c@x.example"}]}).email is None


def test_the_backend_agent_fits_the_plugin_s_protocol():
    assert isinstance(Agent("u1", "alice", "Alice Agent", "a@example.com"), interface.Agent)
    assert isinstance(Omnichannel(None, lambda r: None, lambda r: None, lambda: None), interface.Omnichannel)


def omni_as(sim, username: str) -> tuple[Omnichannel, RestClient]:
    rest = RestClient(sim.url)
    rest.login(username, PASSWORDS[username])
    return Omnichannel(rest, lambda r: None, lambda r: None, lambda: rest.user_id), rest


@pytest.fixture(scope="module")
def bot(rc_sim):
    admin = rc_sim.admin_user()
    admin.create_user("erin", "erin-pass", name="Erin Unverified", email="erin@example.com", verified=False)
    admin.make_agent("erin")
    return omni_as(rc_sim, "salesforce-bot")


def test_agents_lists_every_agent_with_the_verified_email(bot):
    omni, _ = bot
    agents = {a.username: a for a in omni.agents()}
    assert set(agents) == {"alice", "bob", "maria", "erin"}  # carol and the bot are no agents
    assert (agents["alice"].name, agents["alice"].email) == ("Alice Agent", "alice@example.com")
    assert agents["maria"].email == "maria@example.com"
    assert agents["erin"].email is None  # unverified: never reported
    assert all(a.id for a in agents.values())


def test_agent_finds_one_by_exact_username_and_caches_the_answer(rc_sim, bot):
    omni, rest = omni_as(rc_sim, "salesforce-bot")
    before = rest.calls
    alice = omni.agent("alice")
    assert (alice.username, alice.name, alice.email) == ("alice", "Alice Agent", "alice@example.com")
    assert omni.agent("ali") is None  # `text` matches part of a name: only an exact username counts
    assert omni.agent("carol") is None  # a user, not an agent
    assert omni.agent("alice@example.com") is None  # `text` matches emails too
    assert omni.agent("erin").email is None
    calls = rest.calls
    assert calls - before == 5
    assert omni.agent("alice") == alice and omni.agent("carol") is None
    assert rest.calls == calls  # cached for a minute, "not an agent" too


def test_a_fresh_agent_list_answers_agent_without_a_call(rc_sim):
    omni, rest = omni_as(rc_sim, "salesforce-bot")
    listed = omni.agents()
    calls = rest.calls
    assert omni.agent("bob") == next(a for a in listed if a.username == "bob")
    assert omni.agent("nobody") is None
    assert omni.agents() == listed
    assert rest.calls == calls


def test_agents_pages_through_more_than_one_page(start_rc_sim):
    sim = start_rc_sim()
    admin = sim.admin_user()
    for n in range(105):
        admin.create_user(f"agent{n:03d}", "pass-word", name=f"Agent {n:03d}")
        admin.make_agent(f"agent{n:03d}")
    omni, rest = omni_as(sim, "salesforce-bot")
    before = rest.calls
    agents = omni.agents()
    assert len(agents) == 105 + 3 and len({a.username for a in agents}) == 108
    assert rest.calls - before == 2  # 100 a page
    assert next(a for a in agents if a.username == "agent104").email == "agent104@example.com"
    fresh, rest = omni_as(sim, "salesforce-bot")
    assert fresh.agent("agent104").name == "Agent 104"


def test_an_agent_without_the_permission_gets_nothing_and_the_log_names_the_role(rc_sim, caplog):
    omni, _ = omni_as(rc_sim, "alice")  # livechat-agent: may not list agents on Rocket.Chat 6
    with caplog.at_level(logging.WARNING, logger="errbot.backends.rocketchat"):
        assert omni.agents() == []
        assert omni.agent("bob") is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "livechat-manager" in warnings[0]


def test_the_simulator_answers_with_rocket_chat_s_shape_and_checks(rc_sim):
    _, rest = omni_as(rc_sim, "salesforce-bot")
    body = rest.get("livechat/users/agent", {"text": "ALICE@EXAMPLE", "count": 10})
    assert set(body) == {"users", "count", "offset", "total", "success"}
    [alice] = body["users"]
    assert set(alice) == {"_id", "username", "name", "status", "statusLivechat", "emails"}
    assert alice["emails"] == [{"address": "alice@example.com", "verified": True}]
    with pytest.raises(rc_omnichannel.RestError) as refused:
        omni_as(rc_sim, "carol")[1].get("livechat/users/agent")
    assert refused.value.status == 403
