"""What the product costs at contact-centre scale: the same figures with 10 and 1,000 open,
served Omnichannel chats (and 10,000 with --big), printed as one table.

    .venv/bin/python -m benchmarks [--big] [--rounds 15]

Starts the whole product as tests/plugin_fixtures.Stack does (both simulators with demo data, the
real bot, POLL_SECONDS=2). For each size, the Rocket.Chat simulator is given that many open chats
served by bob for an hour (`/_sim/open-chats`, made without system messages, as they exist before a
bot starts), the bot is restarted, and:

- start-up: the bot's `GET livechat/rooms` calls from its start until 1 s after it connected, and
  its resident memory (VmRSS) then;
- idle poll: the bot's Rocket.Chat calls per poll and its CPU per poll over --idle seconds;
- one whole chat of a known visitor (Jane Doe) and of a new visitor, without commands: the bot's
  Salesforce calls (a token mint left out) and Rocket.Chat calls at the greeting and at the close;
- a command: `!salesforce contact` in alice's DM with the bot (alice serves one chat), its
  Rocket.Chat reads besides the reply, and its round trip (p50 of --rounds) against the floor: the
  same SOQL query and one `chat.postMessage`, made directly by this script in the same run;
- a manager's `--chat`: maria (a livechat manager, who may name any open chat) asks
  `!salesforce contact --chat ROOM_ID` and `--chat EMAIL` for one of bob's chats the bot never
  greeted; the bot's Rocket.Chat calls (the listing's pages and the visitor records read) and time;
- a reconnect: the bot's REST calls from a dropped websocket to its "Caught up" line, with one
  chat active while it was away;
- the probes' cost: the idle poll's CPU and the command's round trip again, on the bot restarted
  with HEALTH_PORT unset (as everything above ran) and restarted with it set, --probe-rounds times
  each in turn (CPU in nanoseconds from each thread's schedstat, as the ticks of /proc/PID/stat are 10 ms);
  then 20 scrapes of `/metrics`: the size of one and the bot's CPU per scrape. The counting itself
  (counters, histograms, heartbeats) runs whether HEALTH_PORT is set or not; its cost per Salesforce
  request and per command is timed in this process, on the same code, and printed under the table.
Counts are exact; times are medians on this machine. People's own calls are left out by counting
only routes the people in this script never use while a figure is taken.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import new_line, table  # noqa: E402  (sets sys.path)
from plugin_fixtures import BOT, Stack, wait_until  # noqa: E402
from sf_fixtures import Keys  # noqa: E402
from simulators.certs import make_key_and_certificate  # noqa: E402
from simulators.rocketchat.people import Agent, User, Visitor, text_of  # noqa: E402

SCRAPES = 20

PEOPLE_ROUTES = (
    "livechat/visitor",
    "livechat/room",
    "livechat/message",
    "inquiries.take",
    "room.closeByUser",
    "livechat/agent.status",
    "login",
    "chat.postMessage",
)
TICK = os.sysconf("SC_CLK_TCK")


def bot_rc_calls(calls: dict[str, int]) -> int:
    return sum(n for route, n in calls.items() if not any(route.endswith(p) for p in PEOPLE_ROUTES))


def sf_calls(calls: dict[str, int]) -> int:
    return sum(n for route, n in calls.items() if route not in ("POST oauth2/token", "GET id"))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def thread_cpu_ns(pid: int) -> dict[str, int]:
    """CPU nanoseconds of each live thread of PID (`/proc/PID/task/*/schedstat`: exact, where `stat` counts
    10 ms ticks)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[task.name] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread ended meanwhile
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Run:
    def __init__(self, stack: Stack, alice: Agent, rounds: int, idle: float):
        self.stack, self.alice, self.rounds, self.idle = stack, alice, rounds, idle
        self.n = 0

    def startup(self) -> tuple[int, float]:
        self.stack.bot.stop()
        self.stack.rc.reset_calls()
        self.stack.start_bot()
        time.sleep(1)  # the first reconcile is done; the first poll is not due yet
        return self.stack.rc.calls().get("GET livechat/rooms", 0), rss_mb(self.stack.bot.proc.pid)

    def idle_poll(self) -> tuple[float, float]:
        pid = self.stack.bot.proc.pid
        self.stack.rc.reset_calls()
        cpu = cpu_seconds(pid)
        time.sleep(self.idle)
        polls = self.idle / float(self.stack.env["SALESFORCE_POLL_SECONDS"])
        return bot_rc_calls(self.stack.rc.calls()) / polls, (cpu_seconds(pid) - cpu) / polls * 1000

    def idle_poll_exact(self) -> float:
        """CPU ms per idle poll in nanoseconds' precision: the threads alive at the end (the worker, the
        realtime reader and dispatcher, the probe server; each poll's short-lived timer thread is left out,
        alike with and without the probes)."""
        pid = self.stack.bot.proc.pid
        before = thread_cpu_ns(pid)
        time.sleep(self.idle)
        after = thread_cpu_ns(pid)
        spent = sum(ns - before.get(tid, 0) for tid, ns in after.items())
        return spent / 1e6 / (self.idle / float(self.stack.env["SALESFORCE_POLL_SECONDS"]))

    def chat(self, known: bool) -> tuple[int, int, int, int]:
        """(SF calls greeting, RC calls greeting, SF calls close, RC calls close) of one whole chat."""
        self.n += 1
        email = "jane.doe@example.com" if known else f"new{self.n}.{time.time_ns()}@scale.example"
        visitor = Visitor(
            self.stack.rc.url,
            "Jane Doe" if known else f"Nico New{self.n}",
            email=email,
            phone=None if known else f"+1 415 555 {1000 + self.n:04d}",
        )
        try:
            rid = visitor.open_chat()
            self.stack.sf.reset_calls()
            self.stack.rc.reset_calls()
            mark = self.alice.mark()
            self.alice.take(rid)
            self.alice.wait_for_reply(self.alice.dm(BOT), BOT, mark, contains="Salesforce Contact")
            time.sleep(0.3)
            greet = (sf_calls(self.stack.sf.calls()), bot_rc_calls(self.stack.rc.calls()))
            visitor.say("hello")
            self.stack.sf.reset_calls()
            self.stack.rc.reset_calls()
            self.alice.close_chat(rid)
            wait_until(
                lambda: [t for t in self.stack.sf.records("Task") if f"[{rid}]" in (t.get("Subject") or "")],
                30,
                "the Task",
            )
            time.sleep(0.3)
            close = (sf_calls(self.stack.sf.calls()), bot_rc_calls(self.stack.rc.calls()))
            return greet + close
        finally:
            visitor.close()

    def command(self, floor: bool = True) -> tuple[int, float, float]:
        """(RC reads besides the reply, p50 round trip ms, p50 floor ms) of `!salesforce contact` in the DM;
        each round trip is kept in `last_trips`."""
        visitor = Visitor(self.stack.rc.url, "Jane Doe", email="jane.doe@example.com")
        dm = self.alice.dm(BOT)
        try:
            rid = visitor.open_chat()
            mark = self.alice.mark()
            self.alice.take(rid)
            self.alice.wait_for_reply(dm, BOT, mark, contains="Salesforce Contact")
            self.stack.ask(self.alice, dm, "!salesforce contact", contains="Contact: Jane Doe")  # warm
            trips, reads = [], []
            for _ in range(self.rounds):
                self.stack.rc.reset_calls()
                t0 = time.monotonic()
                self.stack.ask(self.alice, dm, "!salesforce contact", contains="Contact: Jane Doe")
                trips.append(time.monotonic() - t0)
                reads.append(bot_rc_calls(self.stack.rc.calls()) - 2)  # alice's chat.sendMessage and the reply
            self.last_trips = trips
            floor_s = self._floor(dm) if floor else float("nan")
            self.alice.close_chat(rid)
            return int(statistics.median(reads)), statistics.median(trips) * 1000, floor_s * 1000
        finally:
            visitor.close()

    def manager_chat(self, rid: str) -> tuple[tuple, tuple]:
        """(calls, visitors.info, seconds, outcome) of maria's `--chat` by room id, then by email."""
        maria = User(self.stack.rc.url, "maria", "manager-pass")
        try:
            dm = maria.dm(BOT)
            name = maria.rest.call("GET", "rooms.info", params={"roomId": rid})["room"]["fname"]
            email = f"seeded{name.rsplit(' ', 1)[-1]}@load.example"  # as /_sim/open-chats names them
            figures = []
            for chosen in (rid, email):
                self.stack.rc.reset_calls()
                t0 = time.monotonic()
                reply = self.stack.ask(maria, dm, f"!salesforce contact --chat {chosen}", contains=email, timeout=120)
                elapsed = time.monotonic() - t0
                calls = self.stack.rc.calls()
                outcome = "not among those read" if "Visitor emails were searched" in text_of(reply) else "found"
                # less maria's chat.sendMessage and the reply
                figures.append((bot_rc_calls(calls) - 2, calls.get("GET livechat/visitors.info", 0), elapsed, outcome))
            return figures[0], figures[1]
        finally:
            maria.close()

    def _floor(self, dm: str) -> float:
        """The same SOQL query and one chat.postMessage, made directly: what no integration can beat."""
        token = self.stack.sf.token()["access_token"]
        soql = (
            "SELECT Id, Name, FirstName, LastName, Email, Phone, MobilePhone, Title, AccountId, Account.Name, LeadSource, "
            "MailingCity, MailingState, MailingCountry, CreatedDate FROM Contact WHERE Email = 'jane.doe@example.com' "
            "ORDER BY CreatedDate DESC LIMIT 20"
        )
        times = []
        for i in range(self.rounds):
            mark = self.alice.mark()
            t0 = time.monotonic()
            self.stack.sf.http.get(
                self.stack.sf.url + "/services/data/v59.0/query",
                params={"q": soql},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).raise_for_status()
            self.alice.rest.call("POST", "chat.postMessage", {"roomId": dm, "text": f"floor {i}"})
            self.alice.wait_for(lambda m, i=i: text_of(m) == f"floor {i}", since=mark)
            times.append(time.monotonic() - t0)
        return statistics.median(times)

    def probes(self, on: bool) -> int | None:
        """Restart the bot with HEALTH_PORT set to a free port (on) or unset; the port."""
        port = None
        self.stack.env.pop("SALESFORCE_HEALTH_PORT", None)
        if on:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            self.stack.env["SALESFORCE_HEALTH_PORT"] = str(port)
        self.stack.restart_bot()
        time.sleep(10)  # the start's own work is done: the first reconcile, the setup check, the owners' warm
        return port

    def probes_cost(self, rounds: int) -> tuple[float, float, float, float, int]:
        """(idle poll CPU ms per poll without and with the probes, command p50 ms without and with them, the port
        of the bot left running with them), over ROUNDS restarts of each, in turn."""
        cpu: dict[bool, list[float]] = {False: [], True: []}
        trips: dict[bool, list[float]] = {False: [], True: []}
        port = 0
        for _ in range(rounds):
            for on in (False, True):
                port = self.probes(on) or port
                cpu[on].append(self.idle_poll_exact())
                self.command(floor=False)
                trips[on].extend(self.last_trips)
        p50 = {on: statistics.median(trips[on]) * 1000 for on in (False, True)}
        return statistics.mean(cpu[False]), statistics.mean(cpu[True]), p50[False], p50[True], port

    def scrape(self, port: int) -> tuple[int, float]:
        """(bytes of one /metrics scrape, the bot's CPU ms per scrape) over SCRAPES scrapes."""
        pid = self.stack.bot.proc.pid
        http = requests.Session()
        http.trust_env = False
        cpu, size = cpu_seconds(pid), 0
        for _ in range(SCRAPES):
            resp = http.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
            resp.raise_for_status()
            size = len(resp.content)
        return size, (cpu_seconds(pid) - cpu) / SCRAPES * 1000

    def reconnect(self) -> tuple[int, int, float]:
        """(bot REST calls, chat.syncMessages calls, seconds) from a dropped websocket to the catch-up."""
        visitor = Visitor(self.stack.rc.url, "Ravi Reconnect", email=f"ravi{time.time_ns()}@scale.example")
        try:
            rid = visitor.open_chat()
            mark = self.alice.mark()
            self.alice.take(rid)
            self.alice.wait_for_reply(self.alice.dm(BOT), BOT, mark, contains="Salesforce Contact")
            time.sleep(5.5)  # quiet for longer than the catch-up margin
            start = len(self.stack.bot.output().splitlines())
            self.stack.rc.reset_calls()
            t0 = time.monotonic()
            self.stack.rc.drop_websockets()
            visitor.say("still there?")
            new_line(self.stack.bot, "Caught up after reconnecting", start, 60)
            elapsed = time.monotonic() - t0
            calls = self.stack.rc.calls()
            self.alice.close_chat(rid)
            return bot_rc_calls(calls), calls.get("GET chat.syncMessages", 0), elapsed
        finally:
            visitor.close()


def bookkeeping_us(n: int = 20000) -> tuple[float, float]:
    """Microseconds of the metrics' bookkeeping per Salesforce request and per command, on the bot's own code."""
    from salesforce_omnichannel.ops.process import Ops

    ops = Ops()
    ops.health.loop("outbox_worker", 60).busy()
    t0 = time.perf_counter()
    for _ in range(n):
        ops.metrics.salesforce_request("query", "200", 0.05)
        ops.health.progress()
    per_request = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    for _ in range(n):
        ops.metrics.command("contact", "ok")
    return per_request, (time.perf_counter() - t0) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", action="store_true", help="also measure with 10,000 open chats")
    parser.add_argument("--rounds", type=int, default=15, help="command round trips per size (default 15)")
    parser.add_argument("--idle", type=float, default=20.0, help="idle seconds per poll figure (default 20)")
    parser.add_argument(
        "--probe-rounds", type=int, default=2, help="restarts without and with HEALTH_PORT per size (default 2)"
    )
    args = parser.parse_args(argv)
    sizes = [10, 1000] + ([10000] if args.big else [])
    tmp = tempfile.mkdtemp(prefix="bench-scale-")
    stack: Stack | None = None
    alice: Agent | None = None
    columns: dict[int, list] = {}
    try:
        key, cert = make_key_and_certificate(Path(tmp), "connected-app")
        (Path(tmp) / "bot-data").mkdir()
        stack = Stack(Keys(key, cert), str(Path(tmp) / "bot-data"))
        alice = Agent(stack.rc.url, "alice", "agent-pass")
        alice.go_online()
        run = Run(stack, alice, args.rounds, args.idle)
        seeded = 0
        for size in sizes:
            made = stack.rc.open_chats(size - seeded, "bob", age_seconds=3600)  # served an hour ago: not greeted
            seeded = size
            lists, rss = run.startup()
            run.chat(True)  # warm: token, describes, role caches
            run.chat(False)
            known = run.chat(True)
            new = run.chat(False)
            reads, trip, floor = run.command()
            by_id, by_email = run.manager_chat(made[len(made) // 2])
            recon_calls, recon_syncs, recon_s = run.reconnect()
            alice.close()  # the drop took people's streams too: alice signs in again to stay an online agent
            alice = run.alice = Agent(stack.rc.url, "alice", "agent-pass")
            alice.go_online()
            poll_calls, poll_cpu = run.idle_poll()
            # fresh starts without the probes and with them, in turn: what they cost (the last one has them on)
            poll_cpu_off, poll_cpu_on, trip_off, trip_on, port = run.probes_cost(args.probe_rounds)
            scrape_bytes, scrape_cpu = run.scrape(port)
            run.stack.env.pop("SALESFORCE_HEALTH_PORT")  # the next size's start-up is without them again
            columns[size] = [
                f"{lists} (goal <= {math.ceil(size / 100) + 1})",
                f"{rss:.1f}",
                f"{known[0] + known[2]} ({known[0]} + {known[2]})",
                f"{new[0] + new[2]} ({new[0]} + {new[2]})",
                f"{known[1]} / {known[3]}",
                reads,
                f"{trip:.1f} / {floor:.1f} = {trip / floor:.2f}x",
                f"{by_id[0]} ({by_id[1]} visitors.info), {by_id[2]:.2f} s",
                f"{by_email[0]} ({by_email[1]} visitors.info), {by_email[2]:.2f} s, {by_email[3]}",
                f"{recon_calls} ({recon_syncs} syncMessages), {recon_s:.1f} s",
                f"{poll_calls:.1f}",
                f"{poll_cpu:.1f}",
                f"{poll_cpu_off:.1f} / {poll_cpu_on:.1f} ({(poll_cpu_on / poll_cpu_off - 1) * 100:+.0f}%, goal within 5%)",
                f"{trip_off:.1f} / {trip_on:.1f} ({(trip_on / trip_off - 1) * 100:+.0f}%, goal within 5%)",
                f"{scrape_bytes:,} B (goal < 20,000), {scrape_cpu:.1f} ms",
            ]
            print(f"measured with {size} open chats", flush=True)
        labels = [
            "start-up: GET livechat/rooms",
            "bot memory after start (MB)",
            "SF calls, known visitor (greeting + close)",
            "SF calls, new visitor (greeting + close)",
            "RC calls of the bot, greeting / close",
            "command: RC reads besides the reply",
            "command p50 / floor p50 (ms)",
            "manager --chat ROOM_ID: bot RC calls, time",
            "manager --chat EMAIL: bot RC calls, time",
            "reconnect: bot REST calls, time",
            "idle poll: RC calls per poll",
            "idle poll: bot CPU per poll (ms)",
            "probes off / on: idle poll CPU (ms)",
            "probes off / on: command p50 (ms)",
            "/metrics: one scrape, bot CPU per scrape",
        ]
        rows = [[label] + [columns[size][i] for size in sizes] for i, label in enumerate(labels)]
        print()
        print(
            table(
                ["figure"] + [f"{size} open chats" for size in sizes],
                rows,
                title="The product at scale (2 cores, loopback simulators, POLL_SECONDS=2)",
            )
        )
        per_request, per_command = bookkeeping_us()
        print(
            f"\nmetrics bookkeeping, timed in this process: {per_request:.1f} us per Salesforce request (counter, "
            f"histogram, heartbeat), {per_command:.1f} us per command; it runs whether HEALTH_PORT is set or not"
        )
        base = float(columns[sizes[0]][1])
        print(f"\nmemory with {sizes[-1]} open chats: {float(columns[sizes[-1]][1]) - base:+.1f} MB against {sizes[0]}")
        return 0
    finally:
        if alice is not None:
            alice.close()
        if stack is not None:
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
