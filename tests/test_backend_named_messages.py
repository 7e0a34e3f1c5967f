"""Named messages (`extras["client_id"]`): the same name is the same Rocket.Chat `_id`, so a reply sent again
by a standby that took over, or a send retried, is posted once; unnamed messages are never merged."""

from __future__ import annotations

import pytest
from rc_rest import RestClient, RestError
from rocketchat import RocketChatBackend, derived_message_id, new_message_id
from rocketchat_API.APIExceptions.RocketExceptions import RocketApiException
from rocketchat_API.rocketchat import RocketChat


@pytest.fixture(scope="module")
def backend(rc_sim):
    """Only the sending half of the backend, logged in as the bot."""
    bot = RocketChatBackend.__new__(RocketChatBackend)
    bot.rest = RestClient(rc_sim.url)
    bot.rest.login("salesforce-bot", "bot-pass")
    return bot


def dm_with(backend, username: str) -> str:
    return backend.rest.post("im.create", {"username": username})["room"]["_id"]


def test_a_derived_id_is_meteor_shaped_and_stable():
    first = derived_message_id("reply|m1|0#0")
    assert first == derived_message_id("reply|m1|0#0") and len(first) == 17
    assert set(first) <= set("23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz")
    assert derived_message_id("reply|m1|1#0") != first and len(new_message_id()) == 17


def test_a_named_message_sent_twice_is_posted_once(backend, rc_sim):
    rid = dm_with(backend, "alice")
    backend._post(rid, {"msg": "the contact card"}, None, "reply|cmd-a|0#0")
    backend._post(rid, {"msg": "the contact card, again"}, None, "reply|cmd-a|0#0")  # no error either
    mine = [m for m in rc_sim.room_messages(rid) if m["_id"] == derived_message_id("reply|cmd-a|0#0")]
    assert [m["msg"] for m in mine] == ["the contact card"]


def test_unnamed_messages_are_each_posted(backend, rc_sim):
    rid = dm_with(backend, "alice")
    before = len(rc_sim.room_messages(rid))
    backend._post(rid, {"msg": "same words"}, None)
    backend._post(rid, {"msg": "same words"}, None)
    assert len(rc_sim.room_messages(rid)) == before + 2


def test_any_other_refusal_of_a_named_message_still_fails(backend):
    with pytest.raises(RestError):
        backend._post("no-such-room", {"msg": "x"}, None, "reply|cmd-b|0#0")


def test_the_simulator_answers_chat_get_message_as_rocketchat_api_expects(backend, rc_sim):
    rid = dm_with(backend, "alice")
    backend._post(rid, {"msg": "find me"}, None, "reply|cmd-c|0#0")
    client = RocketChat("salesforce-bot", "bot-pass", server_url=rc_sim.url)
    found = client.chat_get_message(msg_id=derived_message_id("reply|cmd-c|0#0"))
    assert found["success"] is True and found["message"]["msg"] == "find me"
    with pytest.raises(RocketApiException):
        client.chat_get_message(msg_id="NoSuchMessage0000")
    assert backend._posted(derived_message_id("reply|cmd-c|0#0")) and not backend._posted("NoSuchMessage0000")
