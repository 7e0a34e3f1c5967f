"""The standby pair for real: two bots (`errbot -c config.py`) sharing a PostgreSQL STATE_URL, each through a
TCP proxy of its own, on both simulators, faulted the ways benchmarks/standby_drill.py faults them, one
round each. Whatever the fault, the agent must get every greeting and command reply once and Salesforce
every closure once; the drill's classes play the traffic and count. Takeover times are printed, not
asserted (benchmarks/standby_drill.py has the goals)."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from benchmarks.standby_drill import (
    CONNECTED,
    LOST,
    LOST_EXIT,
    RELEASED,
    STANDBY,
    Chat,
    Command,
    Drill,
    Round,
    StandbyPair,
    Traffic,
    wait_for,
)
from plugin_fixtures import BOT
from simulators.postgres import PostgresCluster
from simulators.rocketchat.people import Admin, text_of

LEASE = 1.0  # LEASE_CHECK_SECONDS: a stale lease is taken over after 3 s, a SIGSTOP lasts 9 s
SETTLE = 2.5  # a few lease checks and polls after a round: a late duplicate would show
CLEAN = {
    "greetings missed": 0,
    "greetings twice": 0,
    "replies missed": 0,
    "replies twice": 0,
    "closures lost": 0,
    "closures twice": 0,
}


@pytest.fixture(scope="module")
def pair(pg_cluster: PostgresCluster, sf_keys, tmp_path_factory):
    p = StandbyPair(sf_keys, pg_cluster, tmp_path_factory.mktemp("standby"), lease_seconds=LEASE).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def traffic(pair: StandbyPair):
    t = Traffic(pair)
    yield t
    t.close_all()


@pytest.fixture(scope="module")
def drill(pair: StandbyPair, traffic: Traffic) -> Drill:
    return Drill(pair, traffic, random.Random(11))


@contextmanager
def no_bot_running(pair: StandbyPair) -> Iterator[None]:
    """Both bots killed and kept down (the supervisor holding their restarts) until the block ends."""
    pair.restarts_paused.set()
    try:
        for slot in pair.slots:
            assert slot.proc is not None
            slot.signal(slot.proc, signal.SIGKILL)
        wait_for(lambda: not any(s.alive() for s in pair.slots), 10, "both bots down")
        yield
    finally:
        pair.restarts_paused.clear()


def run_clean(drill: Drill, fault: str) -> Round:
    """One round of FAULT; nothing missed or doubled in it once the pair settled."""
    result = drill.run(fault)
    drill.settle(SETTLE)
    print(f"{fault}: takeover {result.takeover:.2f} s, ex-leader exit {result.ex_code}")
    assert not result.notes, "\n\n".join(result.notes)
    assert result.counts == CLEAN, f"{result.counts}\n{drill.pair.logs()}"
    return result


def test_only_the_leader_logs_in_and_greets(pair: StandbyPair, traffic: Traffic) -> None:
    leader = pair.wait_stable()
    standby = pair.other(leader)
    assert leader.role() == (200, "leader")
    assert standby.role() == (200, "standby")  # ready as a standby: a probe must not restart it
    assert (leader.leader_metric(), standby.leader_metric()) == (1.0, 0.0)

    # a fresh standby, watched from its start: no Rocket.Chat login at all
    pair.rc.reset_calls()
    old = standby.proc
    assert old is not None
    standby.signal(old, signal.SIGTERM)
    wait_for(lambda: standby.proc is not old and standby.is_standby(), 30, "the standby restarted")
    time.sleep(3 * LEASE)
    calls = pair.rc.calls()
    assert calls.get("POST login", 0) == 0 and calls.get("GET me", 0) == 0, calls
    text = standby.proc.output()
    assert STANDBY in text and CONNECTED not in text, text[-3000:]

    chat = traffic.serve(0)
    command = traffic.command(chat)
    traffic.close(chat)
    traffic.wait_delivered(0, 30)
    time.sleep(SETTLE)
    assert traffic.mentions(chat.email) == 1  # one greeting: the standby's silence, not only a race won
    assert traffic.mentions(command.email) == 1
    assert traffic.counts(0) == CLEAN


def test_kill_9_the_standby_takes_over(drill: Drill) -> None:
    result = run_clean(drill, "kill")
    assert result.ex_code == -signal.SIGKILL


def test_kill_9_with_a_closure_write_in_flight_saves_it_once(drill: Drill) -> None:
    run_clean(drill, "held")


@pytest.fixture(scope="module")
def outage(pair: StandbyPair, traffic: Traffic) -> dict[str, Command | Chat]:
    """Both bots down (the supervisor holding their restarts): a command in an open chat, one in a chat
    closed before a bot is back, a chat opened and taken with a command in it; then the pair restarts
    and the new leader has greeted, answered and saved what it is going to."""
    pair.wait_stable()
    open_chat, closing = traffic.serve(90), traffic.serve(90)
    with no_bot_running(pair):
        in_open = traffic.command(open_chat)
        in_closed = traffic.command(closing)
        traffic.close(closing)
        fresh = traffic.open(90)
        in_fresh = traffic.command(fresh)
        time.sleep(1)
    pair.wait_stable()
    traffic.wait_greeting(fresh, 30)
    wait_for(lambda: traffic.mentions(in_open.email) and traffic.mentions(in_fresh.email), 30, "the replies")
    wait_for(lambda: traffic.tasks_by_room().get(closing.rid), 30, "the closure saved")
    time.sleep(SETTLE)
    return {"in_open": in_open, "in_fresh": in_fresh, "in_closed": in_closed, "fresh": fresh}


def test_commands_typed_while_no_bot_is_active_are_answered_once(outage, pair: StandbyPair, traffic: Traffic) -> None:
    assert traffic.mentions(outage["in_open"].email) == 1, pair.logs()
    assert traffic.mentions(outage["in_fresh"].email) == 1, pair.logs()
    assert traffic.mentions(outage["fresh"].email) == 1, pair.logs()  # its greeting
    counts = traffic.counts(90)
    assert counts["closures lost"] == counts["closures twice"] == counts["greetings twice"] == 0, counts


def test_a_command_in_a_chat_closed_while_no_bot_is_active_is_answered_once(
    outage, pair: StandbyPair, traffic: Traffic
) -> None:
    assert traffic.mentions(outage["in_closed"].email) == 1, pair.logs()


def test_sigstop_past_the_lease_the_resumed_ex_leader_exits_75_doing_nothing(drill: Drill) -> None:
    result = run_clean(drill, "stop")  # the drill notes any command, closure or connection after SIGCONT
    assert result.ex_code == LOST_EXIT
    assert LOST in result.ex_proc.output()


def test_a_leader_cut_from_postgresql_is_replaced_and_exits(drill: Drill) -> None:
    result = run_clean(drill, "cut")
    assert result.ex_code == LOST_EXIT
    assert LOST in result.ex_proc.output()


def test_sigterm_hands_over(drill: Drill) -> None:
    result = run_clean(drill, "term")
    assert result.ex_code is not None
    assert RELEASED in result.ex_proc.output()


def test_a_first_leader_killed_before_its_first_lease_renewal_leaves_no_command_unanswered(
    pg_cluster: PostgresCluster, sf_keys, tmp_path
) -> None:
    """A pair on a database no bot ever led (lease check 10 s, so the leader is killed before renewing):
    the standby is paused while the leader is killed and alice types a command, then resumed."""
    pg_cluster.psql("CREATE DATABASE rcsf_first OWNER rcsf", "postgres")
    fresh = StandbyPair(sf_keys, pg_cluster, tmp_path, lease_seconds=10, database="rcsf_first").start()
    talk = Traffic(fresh)
    try:
        leader = fresh.wait_stable()
        standby = fresh.other(leader)
        chat = talk.serve(1)
        assert leader.proc is not None and standby.proc is not None
        fresh.restarts_paused.set()
        standby.signal(standby.proc, signal.SIGSTOP)
        try:
            leader.signal(leader.proc, signal.SIGKILL)
            wait_for(lambda: not leader.alive(), 10, "the leader gone")
            typed = talk.command(chat)
            time.sleep(0.5)
        finally:
            standby.signal(standby.proc, signal.SIGCONT)
            fresh.restarts_paused.clear()
        wait_for(standby.is_leader, 30, "the standby to lead")
        try:
            wait_for(lambda: talk.mentions(typed.email), 15, f"the reply naming {typed.email}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{fresh.logs(12)}") from None
        time.sleep(SETTLE)
        assert talk.mentions(typed.email) == 1
    finally:
        talk.close_all()
        fresh.stop()


def test_what_a_stopped_leader_claimed_but_never_answered_is_answered_once_and_a_create_is_asked_about(
    pair: StandbyPair, traffic: Traffic, pg_cluster: PostgresCluster
) -> None:
    """Both bots down after the leader had claimed two commands and answered neither (as a kill -9 between
    the claim and the reply leaves them): the next leader answers the look-up once and, rather than
    create a case that may already exist, asks the agent to check."""
    pair.wait_stable()
    chat = traffic.serve(95)
    subject = "Interrupted create 95"
    with no_bot_running(pair):
        lookup = traffic.command(chat)
        traffic.alice.send(chat.rid, f'!salesforce create-case --subject "{subject}"')
        typed = {m["msg"]: m["_id"] for m in pair.rc.room_messages(chat.rid)}
        claimed = [
            typed[f"!salesforce contact {lookup.email}"],
            typed[f'!salesforce create-case --subject "{subject}"'],
        ]
        pg_cluster.psql("INSERT INTO commands (message_id, at) VALUES " + ", ".join(f"('{mid}', 0)" for mid in claimed))
    pair.wait_stable()
    asked = "may or may not have been created"
    wait_for(lambda: traffic.mentions(lookup.email) and traffic.mentions(asked), 30, "the answer and the question")
    time.sleep(SETTLE)
    assert traffic.mentions(lookup.email) == 1 and traffic.mentions(asked) == 1, pair.logs()
    assert not [c for c in pair.sf.records("Case") if c.get("Subject") == subject]
    assert pg_cluster.psql("SELECT count(*) FROM commands WHERE answered IS NULL") == "0"


def test_a_greeting_sent_but_not_marked_is_sent_again_and_posted_once(
    pair: StandbyPair, traffic: Traffic, pg_cluster: PostgresCluster
) -> None:
    """As a leader killed between its greeting and the marker leaves it: the next leader greets again under
    the same name, and Rocket.Chat keeps the first."""
    leader = pair.wait_stable()
    chat = traffic.serve(96)
    pg_cluster.psql(f"DELETE FROM greeted WHERE key LIKE '{chat.rid}|%'")
    chat.visitor.say("still there?")  # the room is updated: the next leader's first poll lists it
    assert leader.proc is not None
    old = leader.proc
    leader.signal(old, signal.SIGKILL)
    wait_for(
        lambda: pg_cluster.psql(f"SELECT count(*) FROM greeted WHERE key LIKE '{chat.rid}|%'") == "1", 30, "re-marked"
    )
    time.sleep(SETTLE)
    assert traffic.mentions(chat.email) == 1, pair.logs()
    assert "was already posted" in pair.logs(200)


def test_an_admins_configuration_change_follows_the_pair_to_the_next_leader(pair: StandbyPair) -> None:
    """`!plugin config` on the active bot: Errbot keeps it in that bot's own storage, the pair in the shared
    state, so the bot that takes over runs on it."""
    leader = pair.wait_stable()
    admin = Admin(pair.rc.url, "admin", "admin-pass")
    try:
        dm = admin.dm(BOT)
        mark = admin.mark()
        admin.send(dm, "!plugin config Salesforce {'POLL_SECONDS': 3}")
        admin.wait_for_reply(dm, BOT, mark, contains="after this change", timeout=30)
        old = leader.proc
        assert old is not None
        leader.signal(old, signal.SIGKILL)
        wait_for(lambda: old.proc.poll() is not None, 10, "the leader gone")
        successor = wait_for(lambda: pair.stable() not in (None, leader) and pair.stable(), 60, "the other bot leading")
        adopted = "taken from the standby pair's shared state"
        wait_for(lambda: adopted in successor.proc.output(), 30, f"the change adopted\n{pair.logs(60)}")
        mark = admin.mark()
        admin.send(dm, "!salesforce status")
        reply = admin.wait_for_reply(dm, BOT, mark, contains="polling every", timeout=30)
        assert "polling every 3 s" in text_of(reply), f"{text_of(reply)}\n{pair.logs(60)}"
    finally:
        admin.close()
