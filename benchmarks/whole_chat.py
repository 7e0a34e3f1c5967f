"""What one whole Omnichannel chat costs: the bot's Rocket.Chat REST calls and Salesforce calls per
step (greeting, each command, closure), the latencies the agent sees, and the poller's idle cost.

    .venv/bin/python -m benchmarks.whole_chat [--chats 5] [--new-chats 2] [--idle 30]

Starts the whole product as tests/plugin_fixtures.Stack does (both simulators with their demo
seeds, the real bot with the Salesforce plugin, POLL_SECONDS=2) and plays one chat after another
with simulators.rocketchat.people: a visitor opens a chat, agent alice takes it, the bot greets alice
privately, the visitor says two lines, alice runs commands, alice closes the chat, and we wait
until the Salesforce simulator holds the transcript Task (`/_sim/records/Task`).

- known visitor (Jane Doe, jane.doe@example.com, in the demo seed): `!salesforce contact` in the
  livechat room, `/salesforce cases` and `!salesforce create-case --subject "Benchmark case"` in
  alice's DM with the bot;
- new visitor (a fresh email and phone per chat): `!salesforce create-contact` in the DM.

Counting. Both simulators' `/_sim/calls` count by route only. Every Salesforce call is the bot's
(this script reads Salesforce through `/_sim/` controls, which are not counted). On Rocket.Chat
the people's own REST calls are counted here, per person, by wrapping the `requests` session of
every `rc_people` client this script creates (the same `METHOD route` keys as the simulator's,
429 retries included); the bot's share is the simulator's counter minus the people's, checked to
never go below zero. Counters are reset after the bot connected, before the visitor opens the chat,
and between steps; each step waits SETTLE seconds after its last expected message so that a call
made after it still counts.

Two bots are measured. (1) The Stack's, polling every 2 s: whole-chat totals, latencies, and an
idle stretch with no chat at all (the poller alone). (2) The same bot restarted with
POLL_SECONDS=3600 (no poll during the run), so that each step's calls are exactly that step's:
a first chat on the fresh process (token mint, describes and role caches cold), then warm chats.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
import requests.adapters  # noqa: E402

from benchmarks._common import calls_text, ms, summary, table, wait_until  # noqa: E402  (sets sys.path)
from plugin_fixtures import BOT, Stack  # noqa: E402
from sf_fixtures import Keys  # noqa: E402
from simulators.certs import make_key_and_certificate  # noqa: E402
from simulators.rocketchat import people as rc_people  # noqa: E402
from simulators.rocketchat.people import Agent, Visitor, text_of  # noqa: E402
from simulators.rocketchat.server import route_of  # noqa: E402  (the simulator's own route key)

JANE = ("Jane Doe", "jane.doe@example.com", None)
SETTLE = 0.5  # seconds after a step's last expected message before its counters are read
QUIET_POLL = "3600"  # POLL_SECONDS' maximum: no poll fires during the exact per-step run

# -- the people's own REST calls, counted on the client side ----------------------------------
PEOPLE: collections.Counter = collections.Counter()
_PEOPLE_LOCK = threading.Lock()


TOO_MANY: collections.Counter = collections.Counter()  # 429 answers the people got (rc_people waits them out)
_ADDRESSES = itertools.count(2)


class _FromAddress(requests.adapters.HTTPAdapter):
    """Connections from one 127.0.0.N source address: each client its own, as real people have.
    The simulator's per-client limit of 5 `livechat/visitor` / `livechat/room` calls a minute
    (Rocket.Chat's own) would otherwise stall the sixth visitor of the run for up to a minute."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def count_people_calls() -> None:
    """Every rc_people client made from now on connects from an address of its own and counts its
    `/api/v1/` requests into PEOPLE."""
    original = rc_people._Rest.__init__
    if getattr(original, "counted", False):
        return

    def init(self, server: str) -> None:
        original(self, server)
        if urllib.parse.urlsplit(server).hostname == "127.0.0.1":
            self.http.mount("http://", _FromAddress(f"127.0.0.{next(_ADDRESSES) % 250 + 2}"))
        send = self.http.request

        def request(method, url, *args, **kwargs):
            path = urllib.parse.urlsplit(url).path
            resp = send(method, url, *args, **kwargs)
            if path.startswith("/api/v1/"):
                with _PEOPLE_LOCK:
                    PEOPLE[f"{method.upper()} {route_of(path)}"] += 1
                    if resp.status_code == 429:
                        TOO_MANY[f"{method.upper()} {route_of(path)}"] += 1
            return resp

        self.http.request = request

    init.counted = True
    rc_people._Rest.__init__ = init


class Counters:
    def __init__(self, stack: Stack):
        self.stack = stack

    def reset(self) -> None:
        self.stack.rc.reset_calls()
        self.stack.sf.reset_calls()
        with _PEOPLE_LOCK:
            PEOPLE.clear()

    def read(self) -> tuple[collections.Counter, collections.Counter, collections.Counter]:
        """(the bot's Rocket.Chat calls, Salesforce calls, the people's Rocket.Chat calls) since the reset."""
        total = collections.Counter(self.stack.rc.calls())
        with _PEOPLE_LOCK:
            people = collections.Counter(PEOPLE)
        short = {k: (total[k], n) for k, n in people.items() if total[k] < n}
        assert not short, f"the simulator counted fewer calls than the people made: {short}"
        return total - people, collections.Counter(self.stack.sf.calls()), people

    def step(self) -> tuple[collections.Counter, collections.Counter, collections.Counter]:
        time.sleep(SETTLE)
        found = self.read()
        self.reset()
        return found


# -- arrival times of the messages in a stream ---------------------------------------------------
class TimedMessages(list):
    """Stream.messages that also records when each message arrived (monotonic clock)."""

    def __init__(self, items):
        super().__init__(items)
        self.times = [0.0] * len(items)

    def append(self, item) -> None:
        self.times.append(time.monotonic())
        super().append(item)


def time_arrivals(user: rc_people.User) -> None:
    stream = user.stream
    with stream._cond:  # the reader thread appends under this lock
        stream.messages = TimedMessages(stream.messages)


def arrived(user: rc_people.User, message: dict) -> float:
    messages = user.stream.messages
    for i in range(len(messages) - 1, -1, -1):
        if messages[i][0] is message:
            return messages.times[i]
    raise LookupError("message not in the stream")


def reply(user: rc_people.User, rid: str, since: int, contains: str | None = None, timeout: float = 20.0) -> dict:
    return user.wait_for_reply(rid, BOT, since, timeout=timeout, contains=contains)


# -- one chat -------------------------------------------------------------------------------------
def transcript_tasks(stack: Stack, rid: str) -> list[dict]:
    return [t for t in stack.sf.records("Task") if rid in (t.get("Description") or "")]


def play_chat(stack: Stack, counters: Counters, alice: Agent, dm: str, known: bool, n: int) -> dict:
    """One whole chat; returns its steps [(name, bot rc, sf, people)], latencies and duration."""
    if known:
        name, email, phone = JANE
    else:
        name, email, phone = (
            "Nina Newcomer",
            f"nina.{n}.{time.time_ns() % 10**9}@newco.example",
            f"+49 30 77{n:02d}{time.time_ns() % 10**4:04d}",
        )
    steps: list[tuple] = []
    lat: dict[str, float] = {}
    time.sleep(SETTLE)  # whatever the previous chat left behind is not this one's
    counters.reset()
    t_start = time.monotonic()
    mark = alice.mark()
    visitor = Visitor(stack.rc.url, name, email=email, phone=phone)
    try:
        rid = visitor.open_chat()
        inquiry = None
        deadline = time.monotonic() + 10
        while inquiry is None:
            inquiry = next((i for i in alice.queued() if i["rid"] == rid), None)
            if inquiry is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"room {rid} never queued")
                time.sleep(0.05)
        t_take = time.monotonic()
        alice.rest.call("POST", "livechat/inquiries.take", {"inquiryId": inquiry["_id"]})
        head_text = "is already a Salesforce Contact" if known else "This is not a Salesforce Contact"
        head = reply(alice, dm, mark, head_text)
        last = reply(alice, dm, mark, "Next:") if known else head
        lat["inquiries.take -> greeting's first line"] = arrived(alice, head) - t_take
        if known:
            lat["inquiries.take -> greeting complete (card, 'Next:')"] = arrived(alice, last) - t_take
        steps.append(("visitor opens, alice takes, greeting", *counters.step()))

        visitor.say("Hi, my portal login fails and my printer jams")
        visitor.say("It started this morning")
        steps.append(("visitor's two lines", *counters.step()))

        if known:
            commands = [
                ("!salesforce contact", rid, "Matched on email", None, "in the livechat room"),
                ("/salesforce cases", dm, "Cases of Jane Doe", None, "in the DM"),
                ('!salesforce create-case --subject "Benchmark case"', dm, "Case Number", None, "in the DM"),
            ]
        else:
            commands = [("!salesforce create-contact", dm, "Contact created", email, "in the DM")]
        for text, where, expect, then, place in commands:
            mark = alice.mark()
            t_sent = time.monotonic()
            alice.send(where, text)
            first = reply(alice, dm, mark)
            got = reply(alice, dm, mark, expect)
            if then:  # the new contact's card follows "Contact created."
                reply(alice, dm, mark, then)
            assert expect in text_of(got), text_of(got)
            lat[f"{text.split(' --')[0]} ({place}): sent -> first reply"] = arrived(alice, first) - t_sent
            steps.append((f"{text} ({place})", *counters.step()))

        t_close = time.monotonic()
        alice.close_chat(rid, comment="benchmark")
        t_task = wait_until(lambda: transcript_tasks(stack, rid), 30, 0.02)
        lat["close -> transcript Task in Salesforce"] = t_task - t_close
        steps.append(("alice closes; contact saved, transcript Task", *counters.step()))
        [task] = transcript_tasks(stack, rid)
        assert task["Status"] == "Completed" and "It started this morning" in task["Description"]
    finally:
        visitor.close()
    return {"known": known, "steps": steps, "latency": lat, "seconds": time.monotonic() - t_start}


def totals(chat: dict) -> tuple[collections.Counter, collections.Counter, collections.Counter]:
    rc, sf, people = collections.Counter(), collections.Counter(), collections.Counter()
    for _, bot_rc, bot_sf, ppl in chat["steps"]:
        rc += bot_rc
        sf += bot_sf
        people += ppl
    return rc, sf, people


def step_rows(chat: dict) -> list[list]:
    rows = [
        [name, sum(rc.values()), calls_text(rc), sum(sf.values()), calls_text(sf)] for name, rc, sf, _ in chat["steps"]
    ]
    rc, sf, _ = totals(chat)
    rows.append(["whole chat", sum(rc.values()), calls_text(rc), sum(sf.values()), calls_text(sf)])
    return rows


def minus(a: collections.Counter, b: collections.Counter) -> str:
    """What A has beyond B, and what it has less, as '+1 X, -2 Y'."""
    parts = [f"+{a[k] - b[k]} {k}" for k in sorted(a) if a[k] > b[k]] + [
        f"-{b[k] - a[k]} {k}" for k in sorted(b) if b[k] > a[k]
    ]
    return ", ".join(parts) or "nothing"


# -- main -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=5, help="known-visitor chats on the polling bot (default 5)")
    parser.add_argument("--new-chats", type=int, default=2, help="new-visitor chats on the polling bot (default 2)")
    parser.add_argument(
        "--idle", type=float, default=30.0, help="seconds the polling bot is left idle and counted (default 30)"
    )
    args = parser.parse_args(argv)
    count_people_calls()
    tmp = tempfile.mkdtemp(prefix="bench-chat-")
    stack: Stack | None = None
    alice: Agent | None = None
    try:
        key, cert = make_key_and_certificate(Path(tmp), "connected-app")
        (Path(tmp) / "bot-data").mkdir()
        t0 = time.monotonic()
        stack = Stack(Keys(key, cert), str(Path(tmp) / "bot-data"))
        startup_s = time.monotonic() - t0
        poll_seconds = stack.env["SALESFORCE_POLL_SECONDS"]
        counters = Counters(stack)
        alice = Agent(stack.rc.url, "alice", "agent-pass")
        alice.go_online()
        time_arrivals(alice)
        dm = alice.dm(BOT)

        # (1a) the poller alone: no chat at all
        time.sleep(1.0)  # the start-up reconcile is done
        counters.reset()
        t_idle = time.monotonic()
        time.sleep(args.idle)
        idle_rc, idle_sf, _ = counters.read()
        idle_s = time.monotonic() - t_idle

        # (1b) whole chats on the Stack's polling bot
        polling = [play_chat(stack, counters, alice, dm, True, i) for i in range(max(1, args.chats))]
        polling += [play_chat(stack, counters, alice, dm, False, 100 + i) for i in range(max(0, args.new_chats))]

        # (2) exact per-step figures: the same bot with no poll during the run
        stack.env["SALESFORCE_POLL_SECONDS"] = QUIET_POLL
        stack.restart_bot()
        time.sleep(1.0)
        quiet_cold = play_chat(stack, counters, alice, dm, True, 200)
        quiet_known = play_chat(stack, counters, alice, dm, True, 201)
        quiet_new = play_chat(stack, counters, alice, dm, False, 202)
        log = stack.bot.output()
    finally:
        if alice is not None:
            alice.close()
        if stack is not None:
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    headers = ["step", "bot RC calls", "bot Rocket.Chat REST calls by route", "SF calls", "Salesforce calls by route"]
    print(
        table(
            headers,
            step_rows(quiet_known),
            title="Known visitor (Jane Doe), warm bot, no poll during the chat (POLL_SECONDS=3600): the bot's calls per step",
        )
    )
    print()
    print(
        table(
            headers,
            step_rows(quiet_new),
            title="New visitor (fresh email + phone), warm bot, no poll during the chat: the bot's calls per step",
        )
    )
    print()
    cold_rc, cold_sf, _ = totals(quiet_cold)
    warm_rc, warm_sf, _ = totals(quiet_known)
    print("First chat after the bot (re)started, beyond the warm known-visitor chat above:")
    print(f"  Rocket.Chat: {minus(cold_rc, warm_rc)}")
    print(f"  Salesforce:  {minus(cold_sf, warm_sf)}")
    print("  per step:")
    for (name, rc_c, sf_c, _), (_, rc_w, sf_w, _) in zip(quiet_cold["steps"], quiet_known["steps"], strict=True):
        extra = [f"RC {minus(rc_c, rc_w)}" if rc_c != rc_w else "", f"SF {minus(sf_c, sf_w)}" if sf_c != sf_w else ""]
        if any(extra):
            print(f"    {name}: " + "; ".join(e for e in extra if e))
    print()

    rows = []
    for i, chat in enumerate(polling, 1):
        rc, sf, people = totals(chat)
        polls = rc["GET livechat/rooms"]
        rows.append(
            [
                i,
                "known" if chat["known"] else "new",
                f"{chat['seconds']:.1f}",
                sum(rc.values()),
                polls,
                sum(sf.values()),
                sum(people.values()),
                calls_text(rc),
            ]
        )
    print(
        table(
            [
                "chat",
                "visitor",
                "seconds",
                "bot RC calls",
                "of which GET livechat/rooms",
                "SF calls",
                "people's RC calls",
                "bot Rocket.Chat calls by route",
            ],
            rows,
            title=f"Whole chats on the Stack's bot (POLL_SECONDS={poll_seconds}): totals per chat, poll calls included",
        )
    )
    print()
    print("The people's own Rocket.Chat calls (subtracted above), counted in this script:")
    for chat in [polling[0]] + [c for c in polling if not c["known"]][:1]:
        print(f"  {'known' if chat['known'] else 'new'}-visitor chat: {calls_text(totals(chat)[2])}")
    if TOO_MANY:
        print(f"  WARNING: the people were rate-limited (429) and waited: {calls_text(TOO_MANY)}")
    print()

    found: dict[str, list[float]] = collections.defaultdict(list)
    for chat in polling:
        for name, value in chat["latency"].items():
            found[("known: " if chat["known"] else "new: ") + name].append(value)
    print(
        table(
            ["from -> to", "chats", "min ms", "median ms", "max ms"],
            [[name, len(v), *(ms(x) for x in summary(v))] for name, v in found.items()],
            title=f"Latencies on the Stack's bot (POLL_SECONDS={poll_seconds}), arrival in alice's realtime stream",
        )
    )
    print()
    per_minute = 60.0 / idle_s
    print(
        table(
            ["bot, idle", "seconds", "RC calls", "RC calls per idle minute", "SF calls", "Rocket.Chat calls by route"],
            [
                [
                    f"POLL_SECONDS={poll_seconds}, no chat open",
                    f"{idle_s:.1f}",
                    sum(idle_rc.values()),
                    f"{sum(idle_rc.values()) * per_minute:.1f}",
                    sum(idle_sf.values()),
                    calls_text(idle_rc),
                ]
            ],
            title="The poller alone",
        )
    )
    polls = idle_rc["GET livechat/rooms"] / 2
    if polls:
        print(
            f"\n~{polls:.0f} polls in {idle_s:.0f} s (2 GET livechat/rooms each: open rooms, closed rooms); at the default "
            f"POLL_SECONDS=30 that is {2 * 60 / 30:.0f} calls per idle minute, at 2 s {2 * 60 / 2:.0f}."
        )
    print(f"\nStack start-up (both simulators + bot to 'Connected to Rocket.Chat'): {startup_s:.1f} s.")
    if "Traceback" in log:
        print("\nWARNING: the bot logged a traceback during the quiet run.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
