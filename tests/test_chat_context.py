"""Which chat and which visitor a command is about; explicit emails and phones."""

from __future__ import annotations

import pytest
from rc_omnichannel import Visitor
from unit_helpers import T0, lroom

from salesforce_omnichannel.chat.args import UsageError
from salesforce_omnichannel.chat.context import ChatContext, Subject, explicit_subject


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
