"""Pure logic of the Rocket.Chat backend: identifiers, filtering, rendering, rate-limit waits."""

from __future__ import annotations

import datetime as dt

import pytest
from errbot.backends.base import Card
from rc_dates import parse_date
from rc_identifiers import RocketChatPerson, RocketChatRoom, RocketChatRoomOccupant, parse_identifier
from rc_messages import SeenIds, classify
from rc_render import card_attachment, split_body, to_rocketchat
from rc_rest import rate_limit_wait

BOT_ID = "botUserId0000001"


def payload(**over):
    now = {"$date": 1_764_000_000_000}
    base = {
        "_id": "m1",
        "rid": "room1",
        "msg": "!help",
        "ts": now,
        "_updatedAt": now,
        "u": {"_id": "u-alice", "username": "alice", "name": "Alice Agent"},
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    "ident",
    [
        RocketChatPerson("alice", "u1"),
        RocketChatRoom(name="general", room_type="c"),
        RocketChatRoom(room_id="GENERAL123", room_type="l"),
        RocketChatRoomOccupant(RocketChatRoom(name="general", room_type="c"), "alice"),
        RocketChatRoomOccupant(RocketChatRoom(room_id="LiveRoom1", room_type="l"), "bob"),
    ],
)
def test_identifiers_round_trip(ident):
    again = parse_identifier(str(ident))
    assert again == ident
    assert str(again) == str(ident)
    assert type(again) is type(ident)


def test_person_strings_follow_errbot_conventions():
    alice = RocketChatPerson("alice", "u1", "Alice Agent")
    assert (str(alice), alice.person, alice.aclattr, alice.nick, alice.fullname) == (
        "@alice",
        "@alice",
        "@alice",
        "alice",
        "Alice Agent",
    )


def test_a_new_message_from_a_person_is_a_message_with_extras():
    found = classify(payload(tmid="parent1"), {"roomType": "c", "roomParticipant": True}, BOT_ID)
    assert found.kind == "message"
    msg = found.message
    assert msg.body == "!help"
    assert str(msg.frm) == "room1/@alice"
    assert msg.extras["thread_id"] == "parent1"
    assert msg.extras["room_type"] == "c" and msg.extras["omnichannel"] is False
    assert msg.extras["raw"]["_id"] == "m1"


def test_direct_message_comes_from_a_person():
    msg = classify(payload(), {"roomType": "d", "roomParticipant": True}, BOT_ID).message
    assert isinstance(msg.frm, RocketChatPerson) and not isinstance(msg.frm, RocketChatRoomOccupant)
    assert msg.is_direct


@pytest.mark.parametrize(
    "over,meta",
    [
        ({"u": {"_id": BOT_ID, "username": "salesforce-bot"}}, {"roomType": "d"}),  # itself
        ({"editedAt": {"$date": 1_764_000_001_000}}, {"roomType": "d"}),  # an edit
        ({"_updatedAt": {"$date": 1_764_000_600_000}}, {"roomType": "d"}),  # reaction/thread re-send
        ({"t": "uj"}, {"roomType": "c"}),  # a system message outside Omnichannel
        ({"token": "visitor-token"}, {"roomType": "l"}),  # typed by a visitor
        ({}, {"roomType": "c", "roomParticipant": False}),  # a channel the bot never joined
    ],
)
def test_what_never_reaches_errbot(over, meta):
    assert classify(payload(**over), meta, BOT_ID) is None


@pytest.mark.parametrize(
    "over,kind,agent",
    [
        ({"t": "uj", "msg": "alice"}, "assigned", "alice"),
        ({"t": "command", "msg": "connected"}, "assigned", "alice"),
        (
            {"t": "livechat_transfer_history", "transferData": {"transferredTo": {"_id": "u-bob", "username": "bob"}}},
            "transferred",
            "bob",
        ),
        ({"t": "livechat-close", "msg": "bye"}, "closed", None),
    ],
)
def test_omnichannel_system_messages_become_events(over, kind, agent):
    found = classify(payload(**over), {"roomType": "l", "roomParticipant": False}, BOT_ID)
    assert found.kind == "event"
    assert (found.event.kind, found.event.agent_username, found.event.room_id) == (kind, agent, "room1")


def test_seen_ids_are_bounded_and_refuse_repeats():
    seen = SeenIds(size=3)
    assert seen.add("a") and not seen.add("a")
    for i in "bcd":
        seen.add(i)
    assert seen.add("a")  # forgotten after three newer ids


def test_dates_from_both_apis():
    assert parse_date({"$date": 0}) == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    assert parse_date("2026-11-24T19:14:18.123Z") == dt.datetime(
        2026, 11, 24, 19, 14, 18, 123000, tzinfo=dt.timezone.utc
    )
    assert parse_date("nonsense") is None


def test_render_unescapes_templates_and_converts_bold_but_not_code():
    text = "# Title\n**O&#39;Brien &amp; Co**\n```\n**kept**\n```"
    assert to_rocketchat(text) == "*Title*\n*O'Brien & Co*\n```\n**kept**\n```"


def test_split_at_line_breaks_under_the_limit():
    lines = [f"line {i:03d} " + "x" * 40 for i in range(300)]
    chunks = split_body("\n".join(lines), 5000)
    assert len(chunks) > 1
    assert all(len(c) <= 5000 for c in chunks)
    assert "\n".join(chunks).split("\n") == lines  # nothing lost, every cut at a line break


def test_split_a_single_huge_word():
    chunks = split_body("y" * 12000, 5000)
    assert [len(c) for c in chunks] == [5000, 5000, 2000]


def test_card_becomes_an_attachment():
    card = Card(
        body="Body &amp; more",
        title="Jane Doe",
        link="https://x/003",
        color="green",
        fields=(("Email", "jane@example.com"), ("Description", "d" * 60)),
    )
    att = card_attachment(card)
    assert att["title"] == "Jane Doe" and att["title_link"] == "https://x/003"
    assert att["text"] == "Body & more" and att["color"].startswith("#")
    assert att["fields"][0] == {"short": True, "title": "Email", "value": "jane@example.com"}
    assert att["fields"][1]["short"] is False


def test_rate_limit_wait_uses_epoch_milliseconds():
    assert rate_limit_wait("12000", now_ms=10000) == pytest.approx(2.05)
    assert rate_limit_wait(None) == 1.0
    assert rate_limit_wait("5", now_ms=10000) == 0.05


def test_livechat_room_and_visitor_payloads():
    from rc_omnichannel import room_from_payload, visitor_from_payload

    room = room_from_payload(
        {
            "_id": "LR1",
            "t": "l",
            "fname": "Jane Visitor",
            "ts": "2026-11-24T10:00:00.000Z",
            "_updatedAt": "2026-11-24T10:05:00.000Z",
            "v": {"_id": "V1", "username": "guest-1", "token": "tok"},
            "servedBy": {"_id": "A1", "username": "alice", "ts": "2026-11-24T10:01:00.000Z"},
            "closedAt": "2026-11-24T10:09:00.000Z",
            "closer": "user",
        }
    )
    assert (room.id, room.open, room.visitor_id, room.visitor_token, room.agent_username, room.closer) == (
        "LR1",
        False,
        "V1",
        "tok",
        "alice",
        "user",
    )  # `open` is absent once closed
    assert room.served_at.minute == 1 and room.closed_at.minute == 9 and room.visitor_name == "Jane Visitor"
    visitor = visitor_from_payload(
        {
            "_id": "V1",
            "username": "guest-1",
            "name": "Jane",
            "token": "tok",
            "visitorEmails": [{"address": "jane@example.com"}],
            "phone": [{"phoneNumber": "+1 555"}],
        }
    )
    assert (visitor.emails, visitor.phones, visitor.name) == (("jane@example.com",), ("+1 555",), "Jane")


def test_a_room_the_bot_may_not_read_is_none_and_the_missing_role_is_named_once(caplog):
    from rc_omnichannel import Omnichannel
    from rc_rest import RestError

    class Refusing:
        def get(self, endpoint, params=None):
            error = "not-allowed" if params["roomId"].startswith("L") else "error-room-not-found"
            raise RestError(400, error, endpoint)

    omni = Omnichannel(Refusing(), lambda rid: None, lambda rid: None, lambda: BOT_ID)
    with caplog.at_level("WARNING"):
        assert omni.room("LR1") is None and omni.room("LR2") is None and omni.room("gone") is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "room LR1" in warnings[0] and "livechat-manager" in warnings[0]
