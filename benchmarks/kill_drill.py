"""Kill -9 drill: closures lost and duplicated when the real bot is SIGKILLed, and whether poll CPU
and closure throughput depend on how many chats the bot ever handled.

    .venv/bin/python -m benchmarks.kill_drill [--rounds 2] [--random 4] [--burst 6] [--history 5000] [--chats 40]

Starts the whole product as tests/plugin_fixtures.Stack does (both simulators, the real bot,
POLL_SECONDS=2, REQUEST_TIMEOUT_SECONDS=5, so an interrupted write is looked for 10 s after it).

1. History: the bot's CPU per idle poll (from /proc, over --idle seconds) and the throughput of a
   burst of --chats closures (first close to last transcript Task in Salesforce), on a fresh data
   directory and again after --history handled chats were written into the state store (done
   closures, greeted markers and room contexts, as that many real chats leave them).
2. Targeted kills: for each moment (the write sent but never received; the write in flight;
   Salesforce answered but the answer not yet recorded) the
   simulator holds the bot's request (`/_sim/hold`), the bot is SIGKILLed, restarted; --rounds each.
3. Random kills: --random rounds of --burst chats closed at once, the bot SIGKILLed after a random
   0-2 s, restarted.
Then every closed chat is checked in Salesforce: transcript Tasks per room (0 = lost, 2+ =
duplicated) and contacts per visitor email (2+ = duplicated). Goal: 0 and 0.

--long-chars N makes the chats of the kill rounds N characters long (in 4,000-character messages), so
each closure also writes the whole transcript as a ContentNote in the same composite; notes per room
are counted as the Tasks are (`--rounds 1 --random 2 --burst 2 --history 0 --chats 2 --long-chars 200000`).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import per_room, table  # noqa: E402  (sets sys.path)
from plugin_fixtures import BOT, Stack, wait_until  # noqa: E402
from salesforce_omnichannel.chat.store import DONE, SqliteStateStore  # noqa: E402
from sf_fixtures import Keys  # noqa: E402
from simulators.certs import make_key_and_certificate  # noqa: E402
from simulators.rocketchat.people import Agent, Visitor  # noqa: E402

MOMENTS = [
    ("write sent, never received", "POST composite", "lost"),
    ("write in flight", "POST composite", "before"),
    ("answered, answer not recorded", "POST composite", "after"),
]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


class Drill:
    def __init__(self, stack: Stack, alice: Agent, long_chars: int = 0):
        self.stack, self.alice = stack, alice
        self.long_chars = 0
        self.kill_long_chars = long_chars
        self.closed: list[tuple[str, str]] = []  # (room id, visitor email)
        self.visitors: list[Visitor] = []
        self.n = 0

    def serve(self, tag: str) -> tuple[str, str]:
        self.n += 1
        email = f"{tag}-{self.n}@drill.example"
        visitor = Visitor(self.stack.rc.url, f"Dana Drill{self.n}", email=email)
        self.visitors.append(visitor)
        rid = visitor.open_chat()
        mark = self.alice.mark()
        self.alice.take(rid)
        self.alice.wait_for_reply(self.alice.dm(BOT), BOT, mark, contains="not a Salesforce Contact", timeout=30)
        visitor.say("hello, a drill message")
        said = 0
        while said < self.long_chars:
            text = f"[{said:07d}] " + "a long drill chat " * 220  # about 4,000 characters a message
            visitor.say(text)
            said += len(text)
        return rid, email

    def close(self, rid: str, email: str) -> None:
        self.alice.close_chat(rid)
        self.closed.append((rid, email))

    def tasks_by_room(self) -> dict[str, int]:
        return per_room(self.stack.sf.records("Task"), "Subject")

    def notes_by_room(self) -> dict[str, int]:
        return per_room(self.stack.sf.notes(), "Title")

    def wait_all_saved(self, timeout: float = 180.0) -> float:
        t0 = time.monotonic()
        wait_until(lambda: all(self.tasks_by_room().get(rid) for rid, _ in self.closed), timeout, "every closure saved")
        return time.monotonic() - t0

    def restart(self) -> None:
        self.stack.kill_bot()
        self.stack.sf.release()
        self.stack.start_bot()

    def idle_poll_cpu(self, seconds: float) -> float:
        """Milliseconds of the bot's CPU per poll while nothing happens."""
        time.sleep(3)  # the start-up reconcile is done
        pid = self.stack.bot.proc.pid
        before = cpu_seconds(pid)
        time.sleep(seconds)
        polls = seconds / float(self.stack.env["SALESFORCE_POLL_SECONDS"])
        return (cpu_seconds(pid) - before) / polls * 1000

    def burst(self, count: int) -> float:
        """Closures per second: COUNT served chats closed at once, until the last Task exists."""
        chats = [self.serve("burst") for _ in range(count)]
        t0 = time.monotonic()
        for rid, email in chats:
            self.close(rid, email)
        wait_until(lambda: all(self.tasks_by_room().get(rid) for rid, _ in chats), 300, "the burst saved")
        return count / (time.monotonic() - t0)


def add_history(stack: Stack, handled: int) -> None:
    """HANDLED chats' worth of state, as real chats leave it: done closures, greeted markers, room contexts."""
    stack.bot.stop()
    if not handled:
        stack.start_bot()
        return
    store = SqliteStateStore(Path(stack.data_dir) / "salesforce-state.sqlite3")
    now = time.time()
    try:
        for i in range(handled):
            key = f"HIST{i:06d}|2026-01-01T00:00:00+00:00"
            store.enqueue(key, f"HIST{i:06d}", {"room_id": f"HIST{i:06d}", "visitor_id": f"v{i}"}, now - i)
            store.finish(key, DONE, {"result": {"contact_id": None, "task_id": None, "notes": []}}, None, now - i)
            store.mark_greeted(f"HIST{i:06d}|alice", now - i)
            store.set_room_context(f"HIST{i:06d}", now - i, contact_id="0035g00000HIST0AAA")
    finally:
        store.close()
    stack.start_bot()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="targeted kills per moment (default 2)")
    parser.add_argument("--random", type=int, default=4, help="random-moment kill rounds (default 4)")
    parser.add_argument("--burst", type=int, default=6, help="chats closed at once per random round (default 6)")
    parser.add_argument("--history", type=int, default=5000, help="handled chats written as history (default 5000)")
    parser.add_argument("--chats", type=int, default=40, help="closures per throughput burst (default 40)")
    parser.add_argument("--idle", type=float, default=20.0, help="idle seconds per poll-CPU figure (default 20)")
    parser.add_argument("--long-chars", type=int, default=0, help="characters per chat of the kill rounds (default 0)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="bench-kill-")
    stack: Stack | None = None
    alice: Agent | None = None
    drill: Drill | None = None
    try:
        key, cert = make_key_and_certificate(Path(tmp), "connected-app")
        (Path(tmp) / "bot-data").mkdir()
        stack = Stack(Keys(key, cert), str(Path(tmp) / "bot-data"), {"SALESFORCE_REQUEST_TIMEOUT_SECONDS": "5"})
        alice = Agent(stack.rc.url, "alice", "agent-pass")
        alice.go_online()
        drill = Drill(stack, alice, args.long_chars)

        history_rows = []
        for handled in (0, args.history):
            add_history(stack, handled)  # both figures on a freshly started bot
            cpu = drill.idle_poll_cpu(args.idle)
            rate = drill.burst(args.chats)
            history_rows.append([handled, f"{cpu:.1f}", f"{rate:.1f}"])
            print(f"history {handled}: {cpu:.1f} ms CPU per idle poll, {rate:.1f} closures/s", flush=True)

        kill_rows = []
        drill.long_chars = drill.kill_long_chars  # the kill rounds' chats (the throughput bursts stay short)
        for label, route, phase in MOMENTS:
            for _ in range(args.rounds):
                rid, email = drill.serve(phase)
                stack.sf.hold([route], phase)
                drill.close(rid, email)
                wait_until(lambda: stack.sf.held() >= 1, 30, "the request held")
                drill.restart()
            kill_rows.append([label, args.rounds])
            print(f"killed {args.rounds}x: {label}", flush=True)
        for _ in range(args.random):
            chats = [drill.serve("random") for _ in range(args.burst)]
            for rid, email in chats:
                drill.close(rid, email)
            time.sleep(rng.uniform(0, 2.0))
            drill.restart()
        kill_rows.append([f"random moment, {args.burst} closures in flight", args.random])
        print(f"killed {args.random}x at random moments", flush=True)

        drain = drill.wait_all_saved()
        time.sleep(5)  # a few more polls: a late duplicate would show now
        tasks = drill.tasks_by_room()
        contacts: dict[str, int] = {}
        for record in stack.sf.records("Contact"):
            if (record.get("Email") or "").endswith("@drill.example"):
                contacts[record["Email"]] = contacts.get(record["Email"], 0) + 1
        lost = sum(1 for rid, _ in drill.closed if not tasks.get(rid))
        duplicated = sum(1 for rid, _ in drill.closed if tasks.get(rid, 0) > 1)
        duplicated += sum(1 for _, email in drill.closed if contacts.get(email, 0) > 1)
        missing_contacts = sum(1 for _, email in drill.closed if not contacts.get(email))
        notes = drill.notes_by_room()
        if args.long_chars:
            killed = drill.closed[-(len(MOMENTS) * args.rounds + args.random * args.burst) :]
            notes_lost = sum(1 for rid, _ in killed if not notes.get(rid))
            notes_duplicated = sum(1 for rid, _ in killed if notes.get(rid, 0) > 1)
            print(
                f"notes of the {len(killed)} long chats: {notes_lost} missing, {notes_duplicated} duplicated",
                flush=True,
            )
            lost += notes_lost
            duplicated += notes_duplicated
        print()
        print(table(["moment of the SIGKILL", "kills"], kill_rows, title="Kill -9 drill"))
        print()
        print(
            table(
                ["closed chats", "lost", "duplicated", "contacts missing", "drain after last restart (s)"],
                [[len(drill.closed), lost, duplicated, missing_contacts, f"{drain:.1f}"]],
            )
        )
        print()
        print(
            table(
                ["handled chats in history", "CPU per idle poll (ms)", "closure throughput (per s)"],
                history_rows,
                title=f"History (poll every {stack.env['SALESFORCE_POLL_SECONDS']} s, {args.chats}-closure bursts)",
            )
        )
        cpu0, cpu1 = float(history_rows[0][1]), float(history_rows[1][1])
        rate0, rate1 = float(history_rows[0][2]), float(history_rows[1][2])
        print(
            f"\nratios with/without history: poll CPU {cpu1 / max(cpu0, 0.1):.2f}x, throughput {rate0 / max(rate1, 0.01):.2f}x slower"
        )
        return 0 if lost == 0 and duplicated == 0 else 1
    finally:
        if drill is not None:
            for visitor in drill.visitors:
                visitor.close()
        if alice is not None:
            alice.close()
        if stack is not None:
            stack.sf.release()
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
