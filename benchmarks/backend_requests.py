"""Rocket.Chat REST calls the real bot makes per message and per reply, and how long a reconnect takes.

    .venv/bin/python -m benchmarks.backend_requests [--repeat 10] [--reconnects 5]

Starts `python -m simulators.rocketchat --seed demo --rate-limit 1000` and the real bot
(`errbot -c config.py`, only the test probe plugin loaded, written by tests/probe_plugin.py), then
plays alice and carol through Rocket.Chat's own API (simulators.rocketchat.people).

Call counts come from the simulator's `/_sim/calls` counter, which counts every `/api/v1/` request
by route but not by user. The people's own REST calls in each scenario are known exactly (each
message they post is one `POST chat.sendMessage`; their replies are read from their realtime
stream or from the simulator's `/_sim/` store, neither of which is counted), so the bot's share is
the counter minus theirs. Realtime (DDP) frames are not REST calls and are not counted.

Reconnect: `POST /_sim/drop-websockets` closes every realtime socket; we time, from the drop, the
bot's "Disconnected from Rocket.Chat" and "Connected to Rocket.Chat" log lines and the moment the
answer to a command carol posted during the outage is in the room.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from benchmarks._common import calls_text, ms, new_line, summary, table, wait_until  # noqa: E402  (sets sys.path)
from bot_fixtures import CONNECTED, bot_env, launch_bot  # noqa: E402
from probe_plugin import probe_plugin_dir  # noqa: E402
from simulators.launch import Simulator  # noqa: E402
from simulators.rocketchat.people import User  # noqa: E402

BOT = "salesforce-bot"
SEND = "POST chat.sendMessage"


class Rc:
    """The simulator's `/_sim/` controls."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False

    def calls(self) -> collections.Counter:
        return collections.Counter(self.http.get(self.url + "/_sim/calls", timeout=10).json()["calls"])

    def reset_calls(self) -> None:
        self.http.post(self.url + "/_sim/calls", timeout=10).raise_for_status()

    def refuse_logins(self, seconds: float) -> None:
        self.http.post(self.url + "/_sim/refuse-logins", json={"seconds": seconds}, timeout=10).raise_for_status()

    def drop(self) -> int:
        resp = self.http.post(self.url + "/_sim/drop-websockets", timeout=10)
        resp.raise_for_status()
        return resp.json()["dropped"]

    def bot_texts(self, rid: str) -> list[str]:
        messages = self.http.get(self.url + f"/_sim/rooms/{rid}/messages", timeout=10).json()["messages"]
        return [m.get("msg") or "" for m in messages if m["u"]["username"] == BOT and not m.get("t")]


def bot_share(total: collections.Counter, people_sends: int) -> collections.Counter:
    bot = collections.Counter(total)
    bot[SEND] -= people_sends
    assert bot[SEND] >= 0, f"counter below the people's own sends: {total}"
    return +bot  # drops zero counts


def scenario(
    rc: Rc, person: User, rid: str, text: str, repeat: int, expect_replies: int, contains=None, settle: float = 0.3
):
    """Send TEXT REPEAT times (each waited for) and return (bot calls per message, bot calls total, replies seen)."""
    rc.reset_calls()
    for i in range(repeat):
        mark = person.mark()
        person.send(rid, text.format(i=i))
        if expect_replies:
            want = contains.format(i=i) if contains else None
            person.wait_for_reply(rid, BOT, mark, timeout=30, contains=want)
            if expect_replies > 1:  # every part of a split reply
                wait_until(
                    lambda mark=mark: (
                        sum(
                            1
                            for m, _ in person.stream.messages[mark:]
                            if m.get("rid") == rid and m.get("u", {}).get("username") == BOT
                        )
                        >= expect_replies
                    ),
                    30,
                )
    time.sleep(settle)  # a call made after the reply would still be counted
    bot = bot_share(rc.calls(), repeat)
    return bot, sum(bot.values()) / repeat


def backend_calls(rc: Rc, alice: User, repeat: int) -> list[list]:
    dm = alice.dm(BOT)  # alice's im.create happens before any counting
    general = alice.rest.call("GET", "rooms.info", params={"roomName": "general"})["room"]["_id"]
    rows = []

    def row(name, rid, text, n, replies, contains=None, note=""):
        bot, per = scenario(rc, alice, rid, text, n, replies, contains)
        rows.append([name, n, f"{per:.2f}", f"{sum(bot[k] for k in bot if k == SEND) / n:.2f}", calls_text(bot), note])

    row(
        "first !echo in a DM opened after the bot connected",
        dm,
        "!echo first {i}",
        1,
        1,
        "first 0",
        "bot learns the DM's id with im.create",
    )
    row("!echo x in a DM", dm, "!echo x{i}", repeat, 1, "x{i}")
    row("!probe long 300 in a DM (3-part reply)", dm, "!probe long 300", max(1, repeat // 2), 3, "line 0299")
    row("!probe card in a DM", dm, "!probe card", repeat, 1)
    row("!echo x in #general", general, "!echo g{i}", repeat, 1, "g{i}")
    row("@salesforce-bot echo x in #general", general, "@" + BOT + " echo m{i}", repeat, 1, "m{i}")
    row("plain message (no command) in #general", general, "just chatting {i}", repeat, 0, None, "no reply expected")
    row("!nosuchcommand in a DM", dm, "!nosuchcommand{i}", repeat, 1, "nosuchcommand{i}", "'command not found' reply")
    return rows


def reconnects(
    rc: Rc, bot, carol: User, rounds: int, refuse_seconds: float = 0.0
) -> tuple[list[list], list[str], list[int]]:
    """ROUNDS dropped-websocket rounds; with REFUSE_SECONDS, the realtime login is also refused that long
    (a server restart, say), so the bot's first attempts fail and Errbot's back-off grows."""
    dm = carol.dm(BOT)
    found: dict[str, list[float]] = collections.defaultdict(list)
    per_reconnect: list[collections.Counter] = []
    attempts: list[int] = []
    for i in range(rounds):
        time.sleep(0.5)  # let the previous connection settle
        start = len(bot.lines)
        rc.reset_calls()
        t0 = time.monotonic()
        if refuse_seconds:
            rc.refuse_logins(refuse_seconds)
        dropped = rc.drop()
        assert dropped >= 1, "the bot had no realtime socket to drop"
        new_line(bot, "Disconnected from Rocket.Chat", start, 30)
        t_down = time.monotonic()
        text = f"during outage {refuse_seconds:g}/{i}"
        carol.send(dm, f"!echo {text}")
        t_posted = time.monotonic()
        new_line(bot, CONNECTED, start, 90)
        t_up = time.monotonic()
        t_answer = wait_until(lambda text=text: text in rc.bot_texts(dm), 60)
        new_line(bot, "Caught up after reconnecting", start, 30)
        time.sleep(0.3)
        per_reconnect.append(bot_share(rc.calls(), 1))
        attempts.append(sum(1 for line in list(bot.lines)[start:] if "Reconnecting in" in line))
        found["drop -> 'Disconnected' logged"].append(t_down - t0)
        if refuse_seconds:
            found["logins accepted again -> 'Connected' logged"].append(t_up - t0 - refuse_seconds)
        found["drop -> 'Connected to Rocket.Chat' logged"].append(t_up - t0)
        found["drop -> outage command answered"].append(t_answer - t0)
        found["outage command posted -> answered"].append(t_answer - t_posted)
    rows = [[name, len(values), *(ms(v) for v in summary(values))] for name, values in found.items()]
    return rows, [calls_text(c) for c in per_reconnect], attempts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="messages per scenario (default 10)")
    parser.add_argument("--reconnects", type=int, default=5, help="dropped-websocket rounds (default 5)")
    parser.add_argument(
        "--outage-rounds", type=int, default=3, help="rounds where logins are also refused for a while (default 3)"
    )
    parser.add_argument(
        "--outage-seconds", type=float, default=3.0, help="how long logins are refused in those rounds (default 3)"
    )
    args = parser.parse_args(argv)
    data_dir = tempfile.mkdtemp(prefix="bench-bot-")
    started: list = []
    people: list[User] = []
    try:
        sim = Simulator(
            "simulators.rocketchat",
            ["--port", "0", "--admin", "admin:admin-pass", "--seed", "demo", "--rate-limit", "1000"],
        )
        started.append(sim)
        rc = Rc(sim.url)
        t0 = time.monotonic()
        rc.reset_calls()
        bot = launch_bot(
            bot_env(
                sim.url,
                BOT,
                "bot-pass",
                data_dir,
                {"BOT_EXTRA_PLUGIN_DIR": probe_plugin_dir(Path(data_dir) / "plugins")},
            )
        )
        started.append(bot)
        startup_s = time.monotonic() - t0
        time.sleep(0.5)
        startup_calls = rc.calls()
        alice = User(sim.url, "alice", "agent-pass")
        people.append(alice)
        carol = User(sim.url, "carol", "user-pass", stream=False)
        people.append(carol)
        rows = backend_calls(rc, alice, max(1, args.repeat))
        alice.close()  # its stream would be dropped with the bot's anyway
        reconnect_rows, reconnect_calls, _ = reconnects(rc, bot, carol, max(1, args.reconnects))
        outage_rows, _, outage_attempts = ([], [], [])
        if args.outage_rounds > 0:
            outage_rows, _, outage_attempts = reconnects(rc, bot, carol, args.outage_rounds, args.outage_seconds)
    finally:
        for person in people:
            person.close()
        for proc in reversed(started):
            proc.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    print(
        table(
            ["scenario", "messages", "bot REST calls/msg", "sends/msg", "bot calls by route (all messages)", "note"],
            rows,
            title="REST calls the bot makes per incoming message (the people's own chat.sendMessage subtracted)",
        )
    )
    print()
    print(f"Bot start-up: {startup_s:.1f} s to 'Connected to Rocket.Chat'; REST calls: {calls_text(startup_calls)}")
    print()
    print(
        table(
            ["from", "rounds", "min ms", "median ms", "max ms"],
            reconnect_rows,
            title="Reconnect after POST /_sim/drop-websockets (Errbot sleeps its back-off before reconnecting)",
        )
    )
    print()
    print("Bot REST calls per reconnect round (incl. the 1 reply to the outage command):")
    for i, text in enumerate(reconnect_calls, 1):
        print(f"  round {i}: {text}")
    if outage_rows:
        print()
        print(
            table(
                ["from", "rounds", "min ms", "median ms", "max ms"],
                outage_rows,
                title=f"Reconnect when the server also refuses logins for {args.outage_seconds:g} s after the drop",
            )
        )
        print(
            f"\nConnection attempts per round ('Reconnecting in' lines; the last attempt succeeded): {outage_attempts}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
