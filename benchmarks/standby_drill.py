"""Standby drill: a leader/standby pair of real bots sharing a PostgreSQL STATE_URL, the leader faulted
while chats go on, and what the agent and Salesforce saw: takeover time, greetings, command replies
and closures missed or doubled.

    .venv/bin/python -m benchmarks.standby_drill [--rounds 3] [--faults kill,held,stop,cut,term] [--lease 2]

Starts both simulators (demo seeds), a throwaway PostgreSQL 15 cluster (simulators/postgres.py) and two
bots (`errbot -c config.py`), each with a data directory, a health port and a TCP proxy of its own in
front of PostgreSQL (simulators/tcpproxy.py: its STATE_URL names its proxy, so one bot can be cut off),
SALESFORCE_POLL_SECONDS=2, SALESFORCE_REQUEST_TIMEOUT_SECONDS=5, LEASE_CHECK_SECONDS=--lease. A
supervisor thread restarts a bot that exited after 0.5 s, as systemd's Restart=always would.

Each round: alice serves two chats (greeted), then just before the fault closes the first and types a
command in the second; the fault; right after it a visitor opens a chat that alice takes (its greeting
ends the takeover time), alice types a command in it and closes the second chat; once a bot is active
again she closes the new chat too. Faults, --rounds each:
  kill  kill -9 the leader at a random moment (0-1.5 s after the last traffic);
  held  kill -9 the leader while the first closure's Salesforce write is held in flight, released after;
  stop  SIGSTOP the leader for 9 lease intervals, then SIGCONT: it must exit 75 by itself, doing nothing;
  cut   blackhole the leader's PostgreSQL proxy (no byte, no FIN, no RST), healed after the takeover;
  term  SIGTERM the leader (hand-over).
Counted at the end, per round: greetings in alice's DM with the bot naming each visitor (want 1),
replies naming each command's unique email (want 1), transcript Tasks per closed room (want 1).
Exits 0 only when nothing was missed or doubled. Takeover goals are printed beside the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import per_room, table  # noqa: E402  (sets sys.path)
from plugin_fixtures import BOT  # noqa: E402
from rc_fixtures import RocketChatSim  # noqa: E402
from sf_fixtures import Keys, SalesforceSim  # noqa: E402
from simulators.certs import make_key_and_certificate  # noqa: E402
from simulators.harness import CONNECTED, bot_env, launch_bot, salesforce_env  # noqa: E402
from simulators.launch import ChildProcess  # noqa: E402
from simulators.postgres import PostgresCluster, free_port  # noqa: E402
from simulators.rocketchat.people import Agent, Visitor, text_of  # noqa: E402
from simulators.tcpproxy import TcpProxy  # noqa: E402

STANDBY = "Standby: waiting for the leadership"
ACQUIRED = "Leadership acquired"
LOST = "Leadership lost"
RELEASED = "Leadership released"
LOST_EXIT = 75
# log lines of a bot that acts: a command, a closure, a connection (a greeting logs nothing of its own)
ACTED = ("Processing command", "saving to Salesforce", "saved to Salesforce", CONNECTED, "Caught up")
FAULTS = {
    "kill": "kill -9 at a random moment",
    "held": "kill -9, closure write in flight",
    "stop": "SIGSTOP past the lease",
    "cut": "PostgreSQL blackholed",
    "term": "SIGTERM (hand-over)",
}
GOALS = {"kill": 5.0, "held": 5.0, "stop": 15.0, "cut": 15.0, "term": 1.0}  # takeover p95, seconds


class DrillError(AssertionError):
    """Something the drill waited for never happened; the message carries the evidence (log lines)."""


def wait_for(check: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> object:
    """Poll CHECK until truthy; DrillError naming WHAT otherwise (the pair acts in its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DrillError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def via_proxy(url: str, port: int, database: str | None = None) -> str:
    """URL with its host and port replaced by the proxy's (user and password kept; DATABASE if given)."""
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    parts = parts._replace(netloc=f"{auth}127.0.0.1:{port}")
    return urlunsplit(parts._replace(path=f"/{database}") if database else parts)


def tail(proc: ChildProcess | None, lines: int = 30, start: int = 0) -> str:
    """The last LINES log lines of PROC from index START: the evidence a failure message carries."""
    if proc is None:
        return "(no process)"
    out = list(proc.lines)[start:]
    return "\n".join(out[-lines:])


@dataclass
class Exit:
    """A bot process that ended: when (monotonic), its status, and the process (its log)."""

    slot: str
    proc: ChildProcess
    code: int | None
    at: float


class BotSlot:
    """One machine of the pair: its environment, PostgreSQL proxy and health port, the bot running there
    now and every bot it ran before (a restart is a new process on the same slot)."""

    def __init__(self, name: str, env: dict[str, str], proxy: TcpProxy, health_port: int):
        self.name, self.env, self.proxy, self.health_port = name, env, proxy, health_port
        self.proc: ChildProcess | None = None
        self.procs: list[ChildProcess] = []
        self.exits: list[Exit] = []
        self.restart_at: float | None = None
        self.lock = threading.Lock()

    def launch(self) -> ChildProcess:
        proc = launch_bot(self.env, wait_for=None)
        with self.lock:
            self.proc = proc
            self.procs.append(proc)
            self.restart_at = None
        return proc

    def alive(self) -> bool:
        proc = self.proc
        return proc is not None and proc.proc.poll() is None

    def is_leader(self) -> bool:
        """Its running bot says it won the leadership and has not said it lost or released it since."""
        proc = self.proc
        if proc is None or proc.proc.poll() is not None:
            return False
        text = proc.output()
        won = text.rfind(ACQUIRED)
        if won < 0:
            return False
        return max(text.rfind(LOST), text.rfind(RELEASED)) < won and text.find(CONNECTED, won) >= 0

    def is_standby(self) -> bool:
        proc = self.proc
        if proc is None or proc.proc.poll() is not None:
            return False
        text = proc.output()
        return STANDBY in text and ACQUIRED not in text

    def role(self) -> tuple[int, str | None]:
        """(status, role) of /readyz; (0, None) while nothing listens."""
        try:
            resp = requests.get(f"http://127.0.0.1:{self.health_port}/readyz", timeout=5)
            return resp.status_code, resp.json().get("role")
        except (requests.RequestException, ValueError):  # not listening yet, stopped, or not JSON
            return 0, None

    def leader_metric(self) -> float | None:
        """rcsf_leader of /metrics (1 or 0); None while nothing answers."""
        try:
            resp = requests.get(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5)
        except requests.RequestException:
            return None
        for line in resp.text.splitlines() if resp.ok else ():
            if line.startswith("rcsf_leader ") or line.startswith("rcsf_leader{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def signal(self, proc: ChildProcess, sig: int) -> None:
        """SIG to PROC's whole process group, as a supervisor or the kernel would send it."""
        try:
            os.killpg(proc.proc.pid, sig)
        except ProcessLookupError:
            pass


class StandbyPair:
    """Both simulators, two bots on one PostgreSQL (each through its own proxy) and their supervisor.

    `start()` brings bot a up as the leader and bot b as the standby; `leader()` / `stable()` find the
    slots by their logs (and PostgreSQL's sessions); the supervisor restarts a bot that exited after
    RESTART_DELAY unless `restarts_paused` is set; `stop()` ends all. DATABASE: another database of PG's
    cluster than its own (the bot's role must own it)."""

    def __init__(
        self,
        sf_keys: Keys,
        pg: PostgresCluster,
        workdir: str | os.PathLike,
        lease_seconds: float = 2.0,
        extra_env: dict[str, str] | None = None,
        restart_delay: float = 0.5,
        database: str | None = None,
    ):
        self.lease_seconds, self.restart_delay = lease_seconds, restart_delay
        self.pg = pg
        self.slots: list[BotSlot] = []
        self._stopping = threading.Event()
        self.restarts_paused = threading.Event()  # set: exited bots stay down (as with the supervisor stopped)
        self._supervisor: threading.Thread | None = None
        self.rc = RocketChatSim("demo", ("--rate-limit", "0"))
        try:
            self.sf = SalesforceSim(sf_keys, seed="demo")
        except BaseException:
            self.rc.stop()
            raise
        try:
            for name in ("a", "b"):
                proxy = TcpProxy("127.0.0.1", pg.port).start()
                data_dir = Path(workdir) / f"bot-{name}"
                data_dir.mkdir(parents=True, exist_ok=True)
                port = free_port()
                env = bot_env(
                    self.rc.url,
                    BOT,
                    "bot-pass",
                    str(data_dir),
                    {
                        "BOT_ADMINS": "admin",
                        **salesforce_env(
                            self.sf.url,
                            self.sf.consumer_key,
                            self.sf.username,
                            str(self.sf.key_path),
                            self.sf.ca_cert,
                            poll_seconds=2,
                            REQUEST_TIMEOUT_SECONDS="5",
                            HEALTH_PORT=str(port),
                        ),
                        "STATE_URL": via_proxy(pg.url, proxy.port, database),
                        "LEASE_CHECK_SECONDS": str(lease_seconds),
                        **(extra_env or {}),
                    },
                )
                self.slots.append(BotSlot(name, env, proxy, port))
        except BaseException:
            self.stop()
            raise

    # -- life cycle ------------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> StandbyPair:
        """Bot a first (it becomes the leader), then bot b (the standby); then the supervisor."""
        a, b = self.slots
        try:
            a.launch()
            self._wait(lambda: a.is_leader(), timeout, "bot a to lead", a)
            b.launch()
            self._wait(lambda: b.is_standby(), timeout, "bot b to wait as the standby", b)
        except BaseException:
            self.stop()
            raise
        self._supervisor = threading.Thread(target=self._supervise, name="bot-supervisor", daemon=True)
        self._supervisor.start()
        return self

    def _wait(self, check: Callable[[], object], timeout: float, what: str, slot: BotSlot) -> None:
        try:
            wait_for(check, timeout, what)
        except DrillError as exc:
            raise DrillError(f"{exc}\n--- bot {slot.name}'s log ---\n{tail(slot.proc, 40)}") from None

    def _supervise(self) -> None:
        """Restart=always: a bot that exited is started again RESTART_DELAY later (as a standby)."""
        while not self._stopping.wait(0.05):
            for slot in self.slots:
                with slot.lock:
                    proc = slot.proc
                    if proc is None or proc.proc.poll() is None:
                        continue
                    if slot.restart_at is None:
                        slot.exits.append(Exit(slot.name, proc, proc.proc.returncode, time.monotonic()))
                        slot.restart_at = time.monotonic() + self.restart_delay
                    due = time.monotonic() >= slot.restart_at
                if due and not self._stopping.is_set() and not self.restarts_paused.is_set():
                    slot.launch()

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(10)
        for slot in self.slots:
            for proc in slot.procs:
                if proc.proc.poll() is None:
                    slot.signal(proc, signal.SIGCONT)  # a stopped bot cannot act on SIGTERM
                proc.stop()
            slot.proxy.stop()
        for sim in ("rc", "sf"):
            if hasattr(self, sim):
                getattr(self, sim).stop()

    # -- who is who ------------------------------------------------------------------------------------
    def leader(self) -> BotSlot | None:
        leaders = [s for s in self.slots if s.is_leader()]
        return leaders[0] if len(leaders) == 1 else None

    def other(self, slot: BotSlot) -> BotSlot:
        return self.slots[1] if slot is self.slots[0] else self.slots[0]

    def waiting_on_the_lock(self, slot: BotSlot) -> bool:
        """SLOT's bot has a session on PostgreSQL waiting for the leadership's lock: a standby that logged
        it waits may still be connecting (through a proxy that was just cut, for a connect timeout)."""
        proc = slot.proc
        if proc is None:
            return False
        sessions = self.pg.psql(
            f"SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'rcsf-%-{proc.proc.pid}'"
            " AND query LIKE '%pg_advisory_lock%'"
        )
        return sessions not in ("", "0")

    def stable(self) -> BotSlot | None:
        """The leader when one bot leads and the other waits as the standby, on the lock; None otherwise."""
        lead = self.leader()
        if lead is None or not self.other(lead).is_standby():
            return None
        return lead if self.waiting_on_the_lock(self.other(lead)) else None

    def wait_stable(self, timeout: float = 60.0) -> BotSlot:
        try:
            return wait_for(self.stable, timeout, "one leader and one standby")  # type: ignore[return-value]
        except DrillError as exc:
            logs = "\n".join(f"--- bot {s.name}'s log ---\n{tail(s.proc, 25)}" for s in self.slots)
            raise DrillError(f"{exc}\n{logs}") from None

    def logs(self, lines: int = 25) -> str:
        """The last LINES of each slot's last two processes (the faulted one and its restart)."""
        parts = []
        for slot in self.slots:
            for proc in slot.procs[-2:]:
                state = "running" if proc.proc.poll() is None else f"exit {proc.proc.returncode}"
                parts.append(f"--- bot {slot.name}, pid {proc.proc.pid} ({state}) ---\n{tail(proc, lines)}")
        return "\n".join(parts)


@dataclass
class Chat:
    rid: str
    email: str  # the visitor's: the greeting names it
    visitor: Visitor
    round: int


@dataclass
class Command:
    rid: str
    email: str  # the unique address `!salesforce contact EMAIL` asks about: its reply names it
    round: int


class Traffic:
    """Alice and her visitors, and what the bot owes them: a greeting per chat, a reply per command, a
    transcript Task per closure; counted from alice's realtime stream and the simulated org."""

    def __init__(self, pair: StandbyPair):
        self.pair = pair
        self.alice = Agent(pair.rc.url, "alice", "agent-pass")
        self.alice.go_online()
        self.dm = self.alice.dm(BOT)
        self.chats: list[Chat] = []
        self.commands: list[Command] = []
        self.closed: list[Chat] = []
        self.n = 0
        self.timeline: list[tuple[float, str]] = []  # (time.time(), what the drill did): matches the bots' logs

    def note(self, what: str) -> None:
        self.timeline.append((time.time(), what))

    def since(self, start: float) -> str:
        """The drill's actions from START (time.time()), stamped as the bots' log lines are."""
        return "\n".join(
            f"{time.strftime('%H:%M:%S', time.localtime(at))},{int(at % 1 * 1000):03d} drill: {what}"
            for at, what in self.timeline
            if at >= start
        )

    def close_all(self) -> None:
        for chat in self.chats:
            chat.visitor.close()
        self.alice.close()

    def _next(self) -> int:
        self.n += 1
        return self.n

    def open(self, round_no: int) -> Chat:
        """A visitor opens a chat and alice takes it (Rocket.Chat alone: no bot needed)."""
        n = self._next()
        email = f"v{n:04d}-r{round_no}@drill.example"
        visitor = Visitor(self.pair.rc.url, f"Dana Drill{n:04d}", email=email)
        rid = visitor.open_chat()
        self.alice.take(rid)
        self.note(f"{email} opened {rid}, alice took it")
        chat = Chat(rid, email, visitor, round_no)
        self.chats.append(chat)
        return chat

    def serve(self, round_no: int, timeout: float = 30.0) -> Chat:
        chat = self.open(round_no)
        self.wait_greeting(chat, timeout)
        return chat

    def command(self, chat: Chat) -> Command:
        n = self._next()
        cmd = Command(chat.rid, f"c{n:04d}-r{chat.round}@drill.example", chat.round)
        self.alice.send(chat.rid, f"!salesforce contact {cmd.email}")
        self.note(f"alice typed `!salesforce contact {cmd.email}` in {chat.rid}")
        self.commands.append(cmd)
        return cmd

    def close(self, chat: Chat) -> None:
        self.alice.close_chat(chat.rid)
        self.closed.append(chat)
        self.note(f"alice closed {chat.rid}")

    # -- what arrived ----------------------------------------------------------------------------------
    def _from_bot(self) -> list[str]:
        """The text of every distinct message of the bot in alice's DM (an update repeats an id)."""
        seen: dict[str, str] = {}
        for message, _ in list(self.alice.stream.messages):  # type: ignore[union-attr]
            if message.get("rid") == self.dm and message.get("u", {}).get("username") == BOT and not message.get("t"):
                seen[message.get("_id") or str(len(seen))] = text_of(message)
        return list(seen.values())

    def mentions(self, token: str) -> int:
        return sum(1 for text in self._from_bot() if token in text)

    def wait_greeting(self, chat: Chat, timeout: float) -> float:
        """Block until the bot's greeting naming CHAT's visitor is in alice's DM; the monotonic time then."""
        stream = self.alice.stream
        assert stream is not None
        try:
            stream.wait_for(
                lambda m: (
                    m.get("rid") == self.dm and m.get("u", {}).get("username") == BOT and chat.email in text_of(m)
                ),
                timeout,
            )
        except TimeoutError:
            raise DrillError(f"no greeting naming {chat.email} within {timeout:.0f} s\n{self.pair.logs()}") from None
        self.note(f"greeting naming {chat.email} arrived")
        return time.monotonic()

    def tasks_by_room(self) -> dict[str, int]:
        return per_room(self.pair.sf.records("Task"), "Subject")

    def outstanding(self, round_no: int | None = None) -> list[str]:
        """What is still owed (of ROUND_NO, or all): greetings, replies and Tasks not there yet."""
        texts = self._from_bot()
        tasks = self.tasks_by_room()
        owed = [f"greeting {c.email}" for c in self.chats if _in(c, round_no) and not any(c.email in t for t in texts)]
        owed += [f"reply {c.email}" for c in self.commands if _in(c, round_no) and not any(c.email in t for t in texts)]
        owed += [f"Task [{c.rid}]" for c in self.closed if _in(c, round_no) and not tasks.get(c.rid)]
        return owed

    def wait_delivered(self, round_no: int | None, timeout: float) -> None:
        try:
            wait_for(lambda: not self.outstanding(round_no), timeout, "every greeting, reply and Task", 0.2)
        except DrillError as exc:
            raise DrillError(f"{exc}: still owed {self.outstanding(round_no)}\n{self.pair.logs()}") from None

    def counts(self, round_no: int | None = None) -> dict[str, int]:
        """Missed and doubled greetings, replies and closures (of ROUND_NO, or all)."""
        texts = self._from_bot()
        tasks = self.tasks_by_room()
        greetings = [sum(1 for t in texts if c.email in t) for c in self.chats if _in(c, round_no)]
        replies = [sum(1 for t in texts if c.email in t) for c in self.commands if _in(c, round_no)]
        closures = [tasks.get(c.rid, 0) for c in self.closed if _in(c, round_no)]
        return {
            "greetings missed": greetings.count(0),
            "greetings twice": sum(1 for n in greetings if n > 1),
            "replies missed": replies.count(0),
            "replies twice": sum(1 for n in replies if n > 1),
            "closures lost": closures.count(0),
            "closures twice": sum(1 for n in closures if n > 1),
        }


def _in(item: Chat | Command, round_no: int | None) -> bool:
    return round_no is None or item.round == round_no


@dataclass
class Round:
    """One fault: its takeover time and what the ex-leader did after it."""

    fault: str
    number: int
    takeover: float | None = None
    ex_leader: str = ""
    ex_code: int | None = None
    ex_proc: ChildProcess | None = None  # the faulted leader (its log)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class Drill:
    """Runs faults on a started pair with chat traffic around each; see the module's docstring."""

    def __init__(self, pair: StandbyPair, traffic: Traffic, rng: random.Random | None = None):
        self.pair, self.traffic = pair, traffic
        self.rng = rng or random.Random(7)
        self.rounds: list[Round] = []

    def run(self, fault: str) -> Round:
        """One round of FAULT (see the module's docstring); DrillError with the logs and the drill's
        own timeline when something it waits for never comes."""
        result = Round(fault, len(self.rounds) + 1)
        self.rounds.append(result)
        started = time.time()
        try:
            self._run(fault, result)
        except DrillError as exc:
            raise DrillError(f"{exc}\n--- the drill's actions ---\n{self.traffic.since(started)}") from None
        return result

    def _run(self, fault: str, result: Round) -> None:
        pair, traffic, lease, no = self.pair, self.traffic, self.pair.lease_seconds, result.number
        leader = pair.wait_stable()
        proc = leader.proc
        assert proc is not None
        result.ex_leader, result.ex_proc = f"bot {leader.name} pid {proc.proc.pid}", proc
        first, second = traffic.serve(no), traffic.serve(no)

        # just before the fault: a closure and a command the leader may or may not finish
        if fault == "held":
            pair.sf.hold(["POST composite"], "before")
        traffic.close(first)
        traffic.command(second)
        if fault == "held":
            wait_for(lambda: pair.sf.held() >= 1, 30, "the closure's write held in flight")
        elif fault == "kill":
            time.sleep(self.rng.uniform(0, 1.5))
        else:
            time.sleep(self.rng.uniform(0, 0.3))

        t0 = time.monotonic()
        mark = len(proc.lines)
        traffic.note(f"fault {fault}: {FAULTS[fault]} on {result.ex_leader}")
        if fault in ("kill", "held"):
            leader.signal(proc, signal.SIGKILL)
            if fault == "held":
                pair.sf.release()  # processed now that its client is gone, as Salesforce does
        elif fault == "stop":
            leader.signal(proc, signal.SIGSTOP)
        elif fault == "cut":
            leader.proxy.blackhole()
        elif fault == "term":
            leader.signal(proc, signal.SIGTERM)
        else:
            raise ValueError(fault)

        # during the outage: a new chat (its greeting times the takeover), a command in it, a closure
        try:
            fresh = traffic.open(no)
            traffic.command(fresh)
            traffic.close(second)
            greeted = traffic.wait_greeting(fresh, 60)
            result.takeover = greeted - t0
            wait_for(
                lambda: any(s.is_leader() and s.proc is not proc for s in pair.slots), 10, "another bot to say it leads"
            )
            if fault == "stop":
                time.sleep(max(0.0, t0 + 9 * lease - time.monotonic()))
                resumed = len(proc.lines)
                traffic.note(f"SIGCONT to {result.ex_leader}")
                leader.signal(proc, signal.SIGCONT)
                self._ex_leader_exit(result, proc, 30, LOST, resumed)
                self._did_nothing(result, proc, resumed)
            elif fault == "cut":
                traffic.note("PostgreSQL proxy healed")
                leader.proxy.heal()
                self._ex_leader_exit(result, proc, 60, LOST, mark)
                lost = next((i for i, line in enumerate(list(proc.lines)) if i >= mark and LOST in line), None)
                if lost is not None:
                    self._did_nothing(result, proc, lost + 1)
            elif fault == "term":
                self._ex_leader_exit(result, proc, 30, RELEASED, mark)
            else:
                result.ex_code = proc.proc.wait(10)
            traffic.close(fresh)
            traffic.wait_delivered(no, 45)
            pair.wait_stable()
        finally:
            if fault == "cut":
                leader.proxy.heal()
            if fault == "held":
                pair.sf.release()
            if fault == "stop" and proc.proc.poll() is None:
                leader.signal(proc, signal.SIGCONT)

    def _ex_leader_exit(self, result: Round, proc: ChildProcess, timeout: float, says: str, start: int) -> None:
        """Wait for the faulted leader to end; note its status and whether its log (from START) says SAYS."""
        try:
            result.ex_code = proc.proc.wait(timeout)
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
            result.notes.append(f"the ex-leader was still running {timeout:.0f} s later:\n{tail(proc, 30, start)}")
            return
        proc.stop()  # joins its log reader: every line it wrote is read
        logged = list(proc.lines)[start:]
        if not any(says in line for line in logged):
            result.notes.append(f"the ex-leader's log does not say {says!r}:\n{tail(proc, 30, start)}")
        if says == LOST and result.ex_code != LOST_EXIT:
            result.notes.append(f"the ex-leader exited {result.ex_code}, not {LOST_EXIT}:\n{tail(proc, 30, start)}")

    def _did_nothing(self, result: Round, proc: ChildProcess, start: int) -> None:
        """Note any line of PROC's log from START that says it acted (a greeting, command or closure)."""
        acted = [line for line in list(proc.lines)[start:] if any(mark in line for mark in ACTED)]
        if acted:
            result.notes.append("the ex-leader acted after it lost the lease:\n" + "\n".join(acted[:20]))

    def settle(self, seconds: float) -> None:
        """A few more polls and lease checks: a late duplicate would show now; then the counts."""
        time.sleep(seconds)
        for result in self.rounds:
            result.counts = self.traffic.counts(result.number)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the max for fewer than 20 values at 95)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def report(drill: Drill, faults: list[str]) -> tuple[str, bool]:
    """The summary table, and whether nothing was missed or doubled (and every round completed)."""
    rows, clean = [], True
    keys = ["greetings missed", "greetings twice", "replies missed", "replies twice", "closures lost", "closures twice"]
    for fault in faults:
        rounds = [r for r in drill.rounds if r.fault == fault]
        times = [r.takeover for r in rounds if r.takeover is not None]
        sums = {k: sum(r.counts.get(k, 0) for r in rounds) for k in keys}
        failed = sum(1 for r in rounds if r.notes or r.takeover is None)
        clean = clean and not any(sums.values()) and not failed
        codes = ",".join(str(r.ex_code) for r in rounds)
        stats = (
            [f"{statistics.median(times):.2f}", f"{percentile(times, 95):.2f}", f"{max(times):.2f}"]
            if times
            else ["-", "-", "-"]
        )
        goal = f"p95 <= {GOALS[fault]:.0f}"
        rows.append([FAULTS[fault], len(rounds), *stats, goal, codes, *(sums[k] for k in keys), failed])
    headers = ["fault", "rounds", "takeover p50 (s)", "p95", "max", "goal (s)", "ex-leader exit"]
    headers += [
        "greet missed",
        "greet twice",
        "reply missed",
        "reply twice",
        "closure lost",
        "closure twice",
        "problems",
    ]
    return table(headers, rows, title="Standby drill"), clean


def save_logs(pair: StandbyPair, traffic: Traffic | None, folder: Path) -> None:
    """Every bot process's log (bot-SLOT-N-pidPID.log) and the drill's own timeline, for the evidence."""
    folder.mkdir(parents=True, exist_ok=True)
    for slot in pair.slots:
        for i, proc in enumerate(slot.procs, 1):
            (folder / f"bot-{slot.name}-{i:02d}-pid{proc.proc.pid}.log").write_text(proc.output() + "\n")
    if traffic is not None:
        (folder / "drill-timeline.log").write_text(traffic.since(0) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each fault (default 3)")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"which, in order (default {','.join(FAULTS)})")
    parser.add_argument("--lease", type=float, default=2.0, help="LEASE_CHECK_SECONDS (default 2)")
    parser.add_argument("--settle", type=float, default=6.0, help="seconds waited before counting (default 6)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--logs", help="a folder to write every bot's log and the drill's timeline into")
    args = parser.parse_args(argv)
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
    tmp = tempfile.mkdtemp(prefix="bench-standby-")
    pg: PostgresCluster | None = None
    pair: StandbyPair | None = None
    traffic: Traffic | None = None
    try:
        key, cert = make_key_and_certificate(Path(tmp), "connected-app")
        pg = PostgresCluster().start()
        pair = StandbyPair(Keys(key, cert), pg, tmp, lease_seconds=args.lease).start()
        traffic = Traffic(pair)
        drill = Drill(pair, traffic, random.Random(args.seed))
        problems: list[str] = []
        for fault in faults:
            for _ in range(args.rounds):
                try:
                    result = drill.run(fault)
                except DrillError as exc:
                    result = drill.rounds[-1]
                    result.notes.append(str(exc))
                took = f"{result.takeover:.2f} s" if result.takeover is not None else "none"
                print(
                    f"round {result.number}: {FAULTS[fault]} ({result.ex_leader}): takeover {took}, "
                    f"ex-leader exit {result.ex_code}",
                    flush=True,
                )
                for note in result.notes:
                    problems.append(f"round {result.number} ({fault}): {note}")
                    print(f"  problem: {note.splitlines()[0]}", flush=True)
                if result.notes and pair.stable() is None:
                    try:
                        pair.wait_stable(60)
                    except DrillError as exc:
                        problems.append(f"no stable pair after round {result.number}: {exc}")
                        break
        drill.settle(args.settle)
        for result in drill.rounds:
            bad = {k: v for k, v in result.counts.items() if v}
            if bad:
                print(f"round {result.number} ({result.fault}): {bad}", flush=True)
        text, clean = report(drill, faults)
        print()
        print(text)
        print(
            f"\nlease check every {args.lease:g} s; takeover = from the fault to the greeting of a chat opened and "
            "taken just after it. Goals: kill -9 p95 <= 5 s, SIGSTOP and cut <= 15 s, SIGTERM <= 1 s."
        )
        exits = [f"bot {e.slot}: {e.code}" for s in pair.slots for e in s.exits]
        print(f"bot exits seen by the supervisor: {', '.join(exits) or 'none'}")
        for problem in problems:
            print(f"\nPROBLEM {problem}")
        return 0 if clean and not problems else 1
    finally:
        if traffic is not None:
            traffic.close_all()
        if pair is not None:
            pair.stop()
            if args.logs:
                save_logs(pair, traffic, Path(args.logs))
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
