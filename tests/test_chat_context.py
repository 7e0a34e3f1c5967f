"""Which chat and which visitor a command is about; explicit emails and phones."""

from __future__ import annotations

import pytest
from rc_omnichannel import Visitor
from unit_helpers import T0, lroom

from salesforce_omnichannel.chat.args import UsageError
from salesforce_omnichannel.chat.context import (
    MAX_LISTED,
    MAX_VISITOR_READS,
    ChatContext,
    ChoiceNeeded,
    Subject,
    chat_for,
    explicit_subject,
)


@pytest.mark.parametrize("words", [["jane@example.com"], ["  jane.doe+chat@sub.example.co.uk "]])
def test_explicit_email(words):
    subject = explicit_subject(words)
    assert subject == Subject(email=words[0].strip())


@pytest.mark.parametrize(
    "words",
    [["+1", "(415)", "555-0134"], ["415.555.0134"], ["0033", "1", "23", "45", "67", "89"], ["+44 20 7946 0958"]],
)
def test_explicit_phone_with_punctuation(words):
    subject = explicit_subject(words)
    assert subject.email is None and subject.phone == " ".join(words).strip()


@pytest.mark.parametrize(
    "words",
    [
        ["hello"],
        ["jane", "@example.com"],
        ["a@b@example.com"],
        ["555-013"],
        ["x" * 100 + "@e.com"],
        ["Jane", "Doe"],
        ["1" * 45],
    ],
)
def test_explicit_garbage_is_a_usage_error(words):
    with pytest.raises(UsageError) as err:
        explicit_subject(words)
    message = str(err.value)
    assert "email" in message
    assert len(message) < 200  # a long paste is cut, not echoed whole


def test_explicit_nothing_is_no_subject():
    assert explicit_subject([]) is None


def test_explicit_words_with_enough_digits_are_not_a_phone():
    with pytest.raises(UsageError):
        explicit_subject(["order", "12345678"])


def test_chat_context_subject_from_the_visitor():
    visitor = Visitor(
        id="v1",
        token="t",
        username="guest-1",
        name="Jane Doe",
        emails=("jane@example.com", "j@work.example"),
        phones=("+1 415 555 0134",),
    )
    room = lroom("R1", "alice", served=T0, visitor_name="Jane (widget)")
    ctx = ChatContext(room, visitor)
    assert ctx.room_id == "R1"
    assert ctx.subject() == Subject(
        email="jane@example.com", phone="+1 415 555 0134", name="Jane Doe", visitor_id="v1", token="t"
    )
    nameless = Visitor(id="v2", token="t", username="", name="")
    assert ChatContext(room, nameless).subject() == Subject(name="Jane (widget)", visitor_id="v2", token="t")
    assert ChatContext(None, nameless).subject() == Subject(visitor_id="v2", token="t")
    assert ChatContext(room, None).subject() is None
    assert ChatContext().room_id is None


def test_subject_describe():
    assert Subject(email="a@b.example", phone="123").describe() == "a@b.example / 123"
    assert Subject(name="Jane").describe() == "Jane"
    assert Subject().describe() == "this visitor"


class ManyChats:
    """An Omnichannel with N open chats served by other agents; counts the visitor records read."""

    def __init__(self, n: int):
        self.rooms = [lroom(f"R{i:05d}", "bob", served=T0, visitor_name=f"Visitor {i}") for i in range(n)]
        self.visitor_reads = 0

    def open_rooms(self, updated_since=None, agent_id=None):
        return [r for r in self.rooms if agent_id is None or r.agent_id == agent_id]

    def is_manager(self, username):
        return username == "maria"

    def visitor(self, visitor_id):
        self.visitor_reads += 1
        i = int(visitor_id.removeprefix("v-R"))
        return Visitor(
            id=visitor_id, token="t", username=f"guest-{i}", name=f"Visitor {i}", emails=(f"v{i}@ex.example",)
        )


def manager_asks(omni, chosen, remembered=None):
    """`--chat CHOSEN` from maria's DM; REMEMBERED maps room ids to the visitor the state store kept."""
    remembered = remembered or {}

    def context_of(room):
        return ChatContext(room, remembered.get(room.id))

    return chat_for(omni, {"room_type": "d"}, "maria", chosen, context_of=context_of)


def test_a_manager_names_one_of_thousands_of_chats_by_room_id_reading_one_visitor():
    omni = ManyChats(3000)
    ctx = manager_asks(omni, "r02999")
    assert ctx.room_id == "R02999" and ctx.subject().email == "v2999@ex.example"
    assert omni.visitor_reads == 1  # only the chat it picked


def test_a_name_among_thousands_of_chats_reads_a_bounded_number_of_visitors():
    omni = ManyChats(3000)
    assert manager_asks(omni, "visitor 2999").room_id == "R02999"  # the room name needs no visitor record
    assert omni.visitor_reads <= MAX_VISITOR_READS + 1


def test_an_email_the_store_remembers_is_matched_beyond_the_visitors_read():
    omni = ManyChats(3000)
    kept = Visitor(id="v-R02345", token="t", username="g", name="Visitor 2345", emails=("kept@ex.example",))
    assert manager_asks(omni, "KEPT@ex", {"R02345": kept}).room_id == "R02345"
    assert omni.visitor_reads <= MAX_VISITOR_READS


def test_an_agents_chats_match_the_same_whether_or_not_the_greeting_remembered_them():
    """Two chats, one remembered by its greeting, the other not yet: `--chat example` names both."""
    omni = ManyChats(2)
    jane = Visitor(id="v-R00000", token="t", username="g", name="Visitor 0", emails=("jane@example.com",))
    omni.visitor = lambda vid: Visitor(id=vid, token="t", username="g", name="Visitor 1", emails=("john@example.org",))
    with pytest.raises(ChoiceNeeded) as choice:
        manager_asks(omni, "example", {"R00000": jane})
    assert choice.value.total == 2


def test_an_email_nobody_remembers_reads_a_bounded_number_of_visitors_and_says_so():
    omni = ManyChats(3000)
    assert manager_asks(omni, "v2@ex.example").room_id == "R00002"  # among the most recent chats
    assert omni.visitor_reads <= MAX_VISITOR_READS
    omni.visitor_reads = 0
    with pytest.raises(UsageError) as missed:
        manager_asks(omni, "v2990@ex.example")
    assert omni.visitor_reads == MAX_VISITOR_READS
    assert f"the {MAX_VISITOR_READS} most recently updated" in str(missed.value) and "room id" in str(missed.value)


def test_a_vague_name_lists_a_few_chats_not_thousands():
    omni = ManyChats(3000)
    with pytest.raises(ChoiceNeeded) as choice:
        manager_asks(omni, "visitor")
    assert len(choice.value.chats) == MAX_LISTED and choice.value.total == 3000
    assert omni.visitor_reads <= MAX_VISITOR_READS + MAX_LISTED
    assert all(ctx.visitor is not None for ctx in choice.value.chats)
