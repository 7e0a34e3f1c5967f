"""The real bot (`errbot -c config.py`) against the loopback Rocket.Chat, over real sockets.

One simulator and one bot per module (the probe plugin, written at run time by tests/probe_plugin.py,
adds cards, long replies, self-posts and an Omnichannel event log); people are played through Rocket.Chat's own API
(simulators.rocketchat.people). Bot replies are read back from the simulator's store, not from the bot.
"""

from __future__ import annotations

import itertools
import time

import pytest
import requests

from bot_fixtures import bot_env, launch_bot
from probe_plugin import probe_plugin_dir
from simulators.launch import Simulator
from simulators.rocketchat.people import Agent, User, Visitor, text_of

BOT = "salesforce-bot"


@pytest.fixture(scope="module")
def rc():
    # Every person here shares 127.0.0.1, where real users each have an address of their own: a roomier
    # per-IP limit keeps the people from waiting on each other (the bot is exempt either way).
    sim = Simulator(
        "simulators.rocketchat", ["--port", "0", "--admin", "admin:admin-pass", "--seed", "demo", "--rate-limit", "200"]
    )
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def bot(rc, tmp_path_factory):
    proc = launch_bot(
        bot_env(
            rc.url,
            BOT,
            "bot-pass",
            str(tmp_path_factory.mktemp("bot-data")),
            {"BOT_EXTRA_PLUGIN_DIR": probe_plugin_dir(tmp_path_factory.mktemp("plugins"))},
        )
    )
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def alice(rc, bot):
    user = Agent(rc.url, "alice", "agent-pass")
    yield user
    user.close()


def sim(rc, method: str, path: str, body: dict | None = None) -> dict:
    resp = requests.request(method, f"{rc.url}/_sim/{path}", json=body, timeout=10)
    resp.raise_for_status()
    return resp.json()


def room_messages(rc, rid: str) -> list[dict]:
    return sim(rc, "GET", f"rooms/{rid}/messages")["messages"]


def bot_messages(rc, rid: str) -> list[dict]:
    return [m for m in room_messages(rc, rid) if m["u"]["username"] == BOT and not m.get("t")]


def new_line(bot, text: str, timeout: float = 30.0, start: int | None = None) -> str:
    """The first log line containing TEXT written after this call (or after line number START)."""
    start, counter = len(bot.lines) if start is None else start, itertools.count()
    return bot.wait_for_line(lambda line: next(counter) >= start and text in line, timeout)


def ask(user: User, rid: str, text: str, contains: str | None = None, tmid: str | None = None) -> dict:
    mark = user.mark()
    user.send(rid, text, tmid=tmid)
    return user.wait_for_reply(rid, BOT, mark, contains=contains)


def general_id(user: User) -> str:
    return user.rest.call("GET", "rooms.info", params={"roomName": "general"})["room"]["_id"]


def test_help_and_echo_in_a_direct_message(alice):
    dm = alice.dm(BOT)
    assert "All commands" in text_of(ask(alice, dm, "!help"))
    assert ask(alice, dm, "!echo hello from a DM")["msg"] == "hello from a DM"


@pytest.mark.parametrize(
    "text", ["!echo prefixed", f"@{BOT} echo mentioned", f"@{BOT}: echo mentioned-colon", "/echo slashed"]
)
def test_commands_in_a_channel_prefixed_mentioned_or_slashed(alice, text):
    reply = ask(alice, general_id(alice), text)
    assert reply["msg"] == text.rsplit(" ", 1)[1]
    assert not reply.get("tmid")


def test_a_command_in_a_thread_is_answered_in_that_thread(alice):
    rid = general_id(alice)
    root = alice.send(rid, "a thread about a customer")
    reply = ask(alice, rid, "!echo in the thread", tmid=root["_id"])
    assert reply["msg"] == "in the thread" and reply["tmid"] == root["_id"]


def test_long_replies_are_split_at_line_breaks(rc, alice):
    dm = alice.dm(BOT)
    before = len(bot_messages(rc, dm))
    ask(alice, dm, "!probe long 300", contains="line 0299")
    parts = bot_messages(rc, dm)[before:]
    assert len(parts) == 3  # 300 lines of 40 characters under the 5000-character default limit
    assert all(len(p["msg"]) <= 5000 for p in parts)
    lines = "\n".join(p["msg"] for p in parts).split("\n")
    assert lines == [f"line {i:04d} " + "y" * 30 for i in range(300)]


def test_cards_arrive_as_attachments(alice):
    reply = ask(alice, alice.dm(BOT), "!probe card")
    [att] = reply["attachments"]
    assert att["title"] == "Jane O'Brien & Co"  # Errbot's HTML escaping undone
    assert att["title_link"] == "https://example.invalid/003000000000001"
    assert att["color"].startswith("#") and att["thumb_url"].endswith("thumb.png")
    assert att["fields"][0] == {"short": True, "title": "Email", "value": "jane@example.com"}
    assert att["fields"][1]["short"] is False


def test_the_bot_ignores_its_own_messages(rc, alice):
    dm = alice.dm(BOT)
    ask(alice, dm, "!probe say !echo self-loop", contains="self-loop")
    ask(alice, dm, "!echo marker-after-self-loop")  # handled after anything the self-post could trigger
    texts = [m["msg"] for m in bot_messages(rc, dm)]
    assert texts.count("!echo self-loop") == 1 and "self-loop" not in texts


def test_rate_limited_sends_are_waited_out(rc, bot, alice):
    dm = alice.dm(BOT)
    sim(rc, "POST", "calls")
    sim(rc, "POST", "fail", {"route": "chat.sendMessage", "status": 429, "count": 2, "user": BOT})
    try:
        mark = alice.mark()
        alice.send(dm, "!echo despite 429")  # only the bot's sends meet the two 429s
        reply = alice.wait_for_reply(dm, BOT, mark, contains="despite 429")
    finally:
        sim(rc, "DELETE", "fail")
    assert reply["msg"] == "despite 429"
    assert [m["msg"] for m in bot_messages(rc, dm)].count("despite 429") == 1
    assert "rate-limited POST chat.sendMessage" in bot.output()


def test_omnichannel_events_reach_plugins_and_system_messages_run_no_command(rc, bot, alice):
    alice.go_online()
    visitor = Visitor(rc.url, "Jane Visitor", email="jane@example.com")
    try:
        rid = visitor.open_chat()
        alice.take(rid)
        assert f"omnichannel event assigned room={rid} agent=alice" in new_line(
            bot, f"omnichannel event assigned room={rid}", start=0
        )  # the room id is new
        visitor.say("!echo visitor-command")
        # An agent's command in a livechat room is answered privately, never where the visitor reads.
        mark = alice.mark()
        alice.send(rid, "!echo agent-command")
        assert alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="agent-command")["msg"] == "agent-command"
        alice.close_chat(rid, comment="!echo closing-comment")  # the livechat-close system message's text
        new_line(bot, f"omnichannel event closed room={rid}", start=0)
        ask(alice, alice.dm(BOT), "!echo marker-after-close")
    finally:
        visitor.close()
    assert bot_messages(rc, rid) == []
    replies = [m["msg"] for m in bot_messages(rc, alice.dm(BOT))]
    assert "visitor-command" not in replies and "closing-comment" not in replies
    assert "visitor-command" not in bot.output().split("Processing command")[-1]


def test_a_command_posted_while_the_websocket_is_down_is_answered_once(rc, bot):
    carol = User(rc.url, "carol", "user-pass", stream=False)
    dm = carol.dm(BOT)
    before = len(bot.lines)  # the bot may log its disconnection before the drop call returns
    assert sim(rc, "POST", "drop-websockets")["dropped"] >= 1
    new_line(bot, "Disconnected from Rocket.Chat", start=before)  # Errbot waits >= 1 s before reconnecting
    carol.send(dm, "!echo posted during the outage")
    new_line(bot, "Caught up after reconnecting: 1 message(s)", start=before)
    carol.send(dm, "!echo after the outage")
    deadline = time.monotonic() + 30
    while "after the outage" not in [m["msg"] for m in bot_messages(rc, dm)]:
        assert time.monotonic() < deadline, "no answer after the reconnect"
        time.sleep(0.1)
    assert [m["msg"] for m in bot_messages(rc, dm)] == ["posted during the outage", "after the outage"]


def test_bad_credentials_stop_the_bot_with_a_clear_line(rc, tmp_path):
    proc = launch_bot(
        bot_env(
            rc.url,
            BOT,
            "wrong-password",
            str(tmp_path),
            {"BOT_EXTRA_PLUGIN_DIR": probe_plugin_dir(tmp_path / "plugins")},
        ),
        wait_for=None,
    )
    try:
        line = proc.wait_for_line("refused the bot's credentials", 60)
        assert proc.proc.wait(60) is not None  # it stops instead of retrying forever
    finally:
        proc.stop()
    assert "ERROR" in line and BOT in line and rc.url in line and "ROCKETCHAT_PASSWORD" in line
    out = proc.output()
    assert "wrong-password" not in out and "Traceback" not in out and "Reconnecting in" not in out
