"""The state store on a real PostgreSQL server: its migrations (two bots opening at once), epoch
fencing of a deposed bot's writes, a connection replaced after the server dropped it, a URL whose
password never shows, a role without superuser rights, and indexes under the hot queries.
(The behaviour that SQLite shares is tested on both in test_plugin_store.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from salesforce_omnichannel.chat import schema
from salesforce_omnichannel.chat.pgstore import PostgresStateStore
from salesforce_omnichannel.chat.store import _COLUMNS, PENDING, Fenced, SchemaTooNew, SqliteStateStore
from salesforce_omnichannel.chat.stores import open_state_store, redact_url
from simulators.postgres import PASSWORD, free_port

TABLES = {
    "meta",
    "outbox",
    "watermarks",
    "greeted",
    "room_context",
    "visitor_contacts",
    "describes",
    "commands",
    "leadership",
    "lease",
}


@pytest.fixture
def open_store(pg_url):
    opened: list[PostgresStateStore] = []

    def make(**options) -> PostgresStateStore:
        opened.append(PostgresStateStore(pg_url, **options))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def other(pg_url):
    """Another session on the same database, as the bot's role."""
    conn = psycopg.connect(pg_url, autocommit=True, application_name="rcsf-test-other")
    yield conn
    conn.close()


def _eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait for CONDITION (another session reaching a state); a generous bound only against a hang."""
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.01)


def _waits_on_a_lock(conn: psycopg.Connection, application_name: str) -> bool:
    rows = conn.execute(
        "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = %s", (application_name,)
    ).fetchall()
    return rows == [("Lock",)]


# -- migrations --------------------------------------------------------------------------------


def test_an_empty_database_is_migrated_and_opening_again_changes_nothing(open_store, other):
    store = open_store()
    assert store.meta("schema_version") == str(schema.SCHEMA_VERSION) == "2"
    tables = {r[0] for r in other.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    assert tables == TABLES
    assert other.execute("SELECT id, epoch FROM leadership").fetchall() == [(1, 0)]
    assert other.execute("SELECT id, holder, holder_pid, renewed_at, messages_until FROM lease").fetchall() == [
        (1, None, None, None, None)
    ]
    types = dict(
        other.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_name IN ('leadership', 'lease', 'commands')"
        ).fetchall()
    )
    assert types == {
        "leadership.id": "integer",
        "leadership.epoch": "bigint",
        "lease.id": "integer",
        "lease.holder": "text",
        "lease.holder_pid": "integer",
        "lease.renewed_at": "timestamp with time zone",
        "lease.messages_until": "text",
        "commands.message_id": "text",
        "commands.at": "double precision",
        "commands.answered": "double precision",
    }
    with pytest.raises(psycopg.errors.CheckViolation):
        other.execute("INSERT INTO leadership (id, epoch) VALUES (2, 0)")
    store.enqueue("a", "R", {"n": 1}, 1.0)
    assert schema.migrate_postgres(other) == []  # up to date: no lock taken, nothing done
    assert open_store().item("a").payload == {"n": 1}


def test_migrate_postgres_serves_the_leader_election_before_any_store(other):
    assert schema.migrate_postgres(other) == [1, 2]  # an autocommit connection, as the election's
    assert other.execute("SELECT epoch FROM leadership WHERE id = 1").fetchone() == (0,)
    assert schema.migrate_postgres(other) == []
    with other.transaction():
        with pytest.raises(ValueError, match="no transaction open"):
            schema.migrate_postgres(other)


def test_a_database_from_a_newer_release_is_refused(open_store, other, pg_url):
    open_store().close()
    other.execute("UPDATE meta SET value = %s WHERE name = 'schema_version'", (str(schema.SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaTooNew, match="newer than this bot knows"):
        PostgresStateStore(pg_url)
    with pytest.raises(SchemaTooNew):
        schema.migrate_postgres(other)
    assert other.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == (
        str(schema.SCHEMA_VERSION + 1),
    )


def test_two_bots_opening_an_empty_database_at_once_both_succeed(pg_url, other):
    holder = psycopg.connect(pg_url)  # holds the migration lock until both bots wait for it
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (schema.MIGRATION_LOCK_KEY,))
    opened: dict[int, PostgresStateStore | BaseException] = {}

    def open_bot(n: int) -> None:
        try:
            opened[n] = PostgresStateStore(pg_url, application_name=f"rcsf-bot-{n}")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            opened[n] = exc

    threads = [threading.Thread(target=open_bot, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    _eventually(
        lambda: all(_waits_on_a_lock(other, f"rcsf-bot-{n}") for n in (1, 2)), "both bots wait for the migration lock"
    )
    holder.commit()
    holder.close()
    for t in threads:
        t.join()
    try:
        assert all(isinstance(s, PostgresStateStore) for s in opened.values()), opened
        assert opened[1].enqueue("a", "R", {}, 1.0) and opened[2].item("a") is not None
        assert opened[1].meta("schema_version") == opened[2].meta("schema_version") == str(schema.SCHEMA_VERSION)
    finally:
        for s in opened.values():
            if isinstance(s, PostgresStateStore):
                s.close()


# -- epoch fencing -----------------------------------------------------------------------------


def test_a_bot_whose_leadership_ended_writes_nothing_and_still_reads(open_store, other):
    schema.migrate_postgres(other)  # as the leader election does before competing
    other.execute("UPDATE leadership SET epoch = 1")
    a = open_store(epoch=1)
    a.enqueue("k", "R", {"n": 1}, 1.0)
    other.execute("UPDATE leadership SET epoch = 2")  # a successor took over
    writes = [
        lambda: a.enqueue("k2", "R", {}, 2.0),
        lambda: a.save_progress("k", {"step": 1}),
        lambda: a.finish("k", "done", None, None, 2.0),
        lambda: a.retry_at("k", 1, "e", 5.0),
        lambda: a.set_watermark("closed", "w"),
        lambda: a.mark_greeted("R|alice", 2.0),
        lambda: a.claim_command("m1", 2.0),
        lambda: a.set_room_context("R", 2.0, case_id="500"),
        lambda: a.link_visitor("v", "t", "003", 2.0),
        lambda: a.unlink_visitor("v"),
        lambda: a.expire(1e12, 1e12, 1e12, 1e12),
        lambda: a.save_describe("Task", 2.0, {}),
        lambda: a.set_meta("x", "y"),
    ]
    for write in writes:
        with pytest.raises(Fenced, match="epoch 1.*epoch 2"):
            write()
    item = a.item("k")  # reads are not fenced
    assert (item.state, item.progress, item.attempts) == (PENDING, {}, 0) and a.count(PENDING) == 1
    assert a.watermark("closed") is None and a.room_context("R") == {} and a.meta("x") is None
    assert other.execute("SELECT COUNT(*) FROM commands").fetchone() == (0,)
    a.epoch = 2  # its leadership began again
    assert a.claim_command("m1", 3.0) is True
    assert open_store().claim_command("m2", 3.0) is True  # epoch None: the copy command, tests


def test_the_successors_bump_waits_for_a_write_in_flight(open_store, other, pg_url):
    schema.migrate_postgres(other)  # as the leader election does before competing
    other.execute("UPDATE leadership SET epoch = 1")
    a = open_store(epoch=1)
    events: list[str] = []
    bumper = psycopg.connect(pg_url, autocommit=True, application_name="rcsf-bumper")

    def bump() -> None:
        bumper.execute("UPDATE leadership SET epoch = epoch + 1")
        events.append("bumped")

    thread = threading.Thread(target=bump)
    try:
        with a._tx() as cur:  # a write of A's, in flight
            cur.execute("INSERT INTO commands (message_id, at) VALUES ('in-flight', 1.0)")
            thread.start()
            _eventually(lambda: _waits_on_a_lock(other, "rcsf-bumper"), "the bump waits for A's write")
            events.append("A commits")
        thread.join()
    finally:
        bumper.close()
    assert events == ["A commits", "bumped"]
    assert other.execute("SELECT message_id FROM commands").fetchall() == [("in-flight",)]
    with pytest.raises(Fenced):
        a.claim_command("after", 2.0)


def test_a_write_waiting_on_a_bump_in_flight_sees_the_new_epoch(open_store, other, pg_url):
    schema.migrate_postgres(other)  # as the leader election does before competing
    other.execute("UPDATE leadership SET epoch = 1")
    a = open_store(epoch=1, application_name="rcsf-bot-a")
    bumper = psycopg.connect(pg_url)
    bumper.execute("UPDATE leadership SET epoch = epoch + 1")  # the successor's transaction, not committed
    outcome: list[BaseException | bool] = []

    def write() -> None:
        try:
            outcome.append(a.claim_command("m1", 1.0))
        except BaseException as exc:  # noqa: BLE001 - checked below
            outcome.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    _eventually(lambda: _waits_on_a_lock(other, "rcsf-bot-a"), "A's write waits for the bump")
    bumper.commit()
    bumper.close()
    thread.join()
    assert len(outcome) == 1 and isinstance(outcome[0], Fenced)
    assert other.execute("SELECT COUNT(*) FROM commands").fetchone() == (0,)


# -- the connection ----------------------------------------------------------------------------


def test_a_dropped_connection_is_replaced_on_the_next_call(open_store, pg_cluster):
    store = open_store(application_name="rcsf-bot-reconnect")
    store.enqueue("a", "R", {}, 1.0)
    first = store._db.info.backend_pid
    pg_cluster.psql(f"SELECT pg_terminate_backend({first}, 10000)")
    with pytest.raises(psycopg.OperationalError):
        store.count(PENDING)  # the call that meets the broken connection fails
    assert store.count(PENDING) == 1  # the next one reconnects
    second = store._db.info.backend_pid
    assert second != first
    pg_cluster.psql(f"SELECT pg_terminate_backend({second}, 10000)")
    with pytest.raises(psycopg.OperationalError):
        store.enqueue("b", "R", {}, 2.0)
    assert store.item("b") is None and store.enqueue("b", "R", {}, 2.0) is True
    settings = store._read(
        "SELECT current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout'),"
        " current_setting('application_name')"
    )
    assert settings == [("15s", "10s", "rcsf-bot-reconnect")]  # on the new session too


def test_the_connection_gives_up_on_a_dead_server_within_seconds(open_store):
    store = open_store()
    options = store._db.info.get_parameters()
    assert {k: options.get(k) for k in ("connect_timeout", "keepalives", "keepalives_idle")} == {
        "connect_timeout": "5",
        "keepalives": "1",
        "keepalives_idle": "5",
    }
    assert (options.get("keepalives_interval"), options.get("keepalives_count"), options.get("tcp_user_timeout")) == (
        "2",
        "3",
        "10000",
    )
    assert store._db.autocommit is False


def test_the_password_never_shows(open_store, pg_cluster, tmp_path):
    store = open_store()
    assert PASSWORD in pg_cluster.url
    assert store.path == f"postgresql://rcsf:***@127.0.0.1:{pg_cluster.port}/rcsf"
    assert PASSWORD not in repr(store) and PASSWORD not in str(vars(store).get("path"))
    dead = f"postgresql://rcsf:{PASSWORD}@127.0.0.1:{free_port()}/rcsf"
    with pytest.raises(psycopg.OperationalError) as failed:
        PostgresStateStore(dead)
    assert PASSWORD not in str(failed.value)
    with pytest.raises(ValueError, match="STATE_URL") as wrong:
        open_state_store(f"mysql://rcsf:{PASSWORD}@db/rcsf", tmp_path / "s.sqlite3")
    assert PASSWORD not in str(wrong.value)


def test_redact_url_hides_every_form_of_password():
    assert redact_url("postgresql://u:s%40cret@db:5432/rcsf") == "postgresql://u:***@db:5432/rcsf"
    assert redact_url("postgres://u@db/rcsf") == "postgres://u@db/rcsf"
    assert redact_url("postgresql:///rcsf?host=/run/pg&password=s") == "postgresql:///rcsf?host=/run/pg&password=***"
    assert redact_url("host=db password=s user=u") == "host=db password=*** user=u"


def test_open_state_store_picks_the_store_from_the_url(pg_url, tmp_path):
    for url in (pg_url, pg_url.replace("postgresql://", "postgres://", 1)):
        store = open_state_store(url, tmp_path / "unused.sqlite3", epoch=None, application_name="rcsf-test")
        try:
            assert isinstance(store, PostgresStateStore) and store.application_name == "rcsf-test"
        finally:
            store.close()
    assert not (tmp_path / "unused.sqlite3").exists()
    for empty in (None, "", "  "):
        store = open_state_store(empty, tmp_path / "s.sqlite3")
        assert isinstance(store, SqliteStateStore)
        store.close()
    for wrong in ("sqlite:///data/s.sqlite3", "data/s.sqlite3"):
        with pytest.raises(ValueError, match="STATE_URL must be a postgresql://"):
            open_state_store(wrong, tmp_path / "s.sqlite3")


def test_the_bots_role_needs_no_superuser_rights(open_store):
    store = open_store()
    assert store._read("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user") == [
        (False, False, False)
    ]
    assert store.enqueue("a", "R", {}, 1.0) and store.claim_command("m", 1.0) and store.mark_greeted("R|a", 1.0)
    assert store.expire(1e12, 1e12, 1e12, 1e12) == 2


# -- indexes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql, args",
    [
        (
            f"SELECT {_COLUMNS} FROM outbox WHERE state = %s AND next_at <= %s ORDER BY next_at, created LIMIT %s",
            ("pending", 1e12, 50),
        ),  # due
        (f"SELECT {_COLUMNS} FROM outbox WHERE key = %s", ("k77",)),  # item
        ("SELECT COUNT(*) FROM outbox WHERE state = %s", ("pending",)),
        ("SELECT COUNT(*) FROM outbox WHERE state = %s", ("failed",)),
        ("SELECT COUNT(*) FROM outbox WHERE state = %s", ("quarantined",)),
        (
            f"SELECT {_COLUMNS} FROM outbox WHERE state = %s ORDER BY finished_at DESC NULLS LAST LIMIT %s",
            ("failed", 5),
        ),
        ("DELETE FROM outbox WHERE state = %s AND finished_at < %s", ("done", 10.0)),
        ("DELETE FROM greeted WHERE at < %s", (10.0,)),
        ("DELETE FROM greeted WHERE key >= %s AND key < %s AND key <> %s", ("R77|", "R77}", "R77|bob")),
        ("DELETE FROM commands WHERE at < %s", (10.0,)),
        ("DELETE FROM room_context WHERE updated < %s", (10.0,)),
        ("DELETE FROM visitor_contacts WHERE updated < %s", (10.0,)),
    ],
)
def test_the_hot_queries_use_an_index_never_a_scan(open_store, other, sql, args):
    store = open_store()
    other.execute(
        "INSERT INTO outbox (key, room_id, state, payload, next_at, created, finished_at)"
        " SELECT 'k' || i, 'R' || i, CASE i % 100 WHEN 0 THEN 'pending' WHEN 1 THEN 'failed'"
        " WHEN 2 THEN 'quarantined' ELSE 'done' END, '{}', i, i, CASE WHEN i % 100 = 0 THEN NULL ELSE i END"
        " FROM generate_series(1, 5000) AS i"
    )
    for table, columns in (
        ("greeted", "key, at"),
        ("commands", "message_id, at"),
        ("room_context", "room_id, updated"),
    ):
        other.execute(f"INSERT INTO {table} ({columns}) SELECT 'R' || i || '|a', i FROM generate_series(1, 5000) AS i")
    other.execute(
        "INSERT INTO visitor_contacts (visitor_id, token, contact_id, updated)"
        " SELECT 'v' || i, 't', '003', i FROM generate_series(1, 5000) AS i"
    )
    other.execute("ANALYZE outbox, greeted, commands, room_context, visitor_contacts")
    plan = list(store.explain(sql, args))
    assert plan and not any("Seq Scan" in line for line in plan), plan
