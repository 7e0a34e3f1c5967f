"""Exactly one active bot among those sharing a `STATE_URL`: a PostgreSQL session advisory lock, a lease
the leader renews, and an epoch that fences the store against a leader that lost without knowing.

- The lock is held on a connection of its own (never pooled) with client and server keepalives, so a
  dead holder's session ends within seconds and the lock with it; a standby waits for it in
  `pg_advisory_lock` (bounded by `lock_timeout`), so a released lock is taken at once.
- A lock alone cannot free itself from a paused holder (SIGSTOP, a frozen VM) or one cut off behind a
  middlebox that keeps its socket open. So the leader renews a lease (`lease.renewed_at`, the server's
  clock) every LEASE_CHECK_SECONDS; a standby that sees it unrenewed for STALE_INTERVALS intervals
  terminates the holder's sessions (found by their application_name; the bot's own role may end its
  own sessions) and takes the lock.
- The leader acts only while its last renewal is younger than ACTING_INTERVALS intervals on its own
  monotonic clock, which keeps running while the process is stopped: a resumed ex-leader's very first
  action is refused, before any thread has looked at the database. A renewal that fails or comes late
  ends the process (exit 75) so that its supervisor restarts it as a standby.
- Each leadership bumps `leadership.epoch`; the store refuses writes stamped with an older one
  (`chat/pgstore.py`), which is the hard fence behind the soft one above.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

EXIT_LOST = 75  # EX_TEMPFAIL: the supervisor restarts the bot, which comes back as a standby
STALE_INTERVALS = 3  # a standby takes over a lease unrenewed for this many intervals
ACTING_INTERVALS = 2  # a leader stops acting this long after its last confirmed renewal (< STALE_INTERVALS)
STANDBY, LEADER, LOST, RELEASED = "standby", "leader", "lost", "released"


class NotLeader(RuntimeError):
    """An action refused because this process is not (or no longer) the active bot."""


def instance_name() -> str:
    """This process's application_name on PostgreSQL (63 characters at most): host and pid."""
    return f"rcsf-{socket.gethostname()[:40]}-{os.getpid()}"


def _connect(url: str, name: str, check: float):
    import psycopg  # only a standby pair needs it

    conn = psycopg.connect(
        url,
        autocommit=True,
        application_name=name,
        connect_timeout=max(2, int(check * 2)),
        keepalives=1,
        keepalives_idle=max(1, int(check)),
        keepalives_interval=1,
        keepalives_count=3,
        tcp_user_timeout=int(check * 2000),
    )
    # the server drops a dead client's session (and so the lock) within seconds, not the OS's two hours
    _settings(
        conn,
        tcp_keepalives_idle=max(1, int(check)),
        tcp_keepalives_interval=1,
        tcp_keepalives_count=3,
        tcp_user_timeout=int(check * 2000),
        client_connection_check_interval=int(check * 1000),
    )
    return conn


def _settings(conn, **values: int) -> None:
    """SET each; one this server does not know (an older PostgreSQL) is skipped, the others still apply."""
    import psycopg

    for name, value in values.items():
        try:
            conn.execute(f"SET {name} = {int(value)}")
        except psycopg.errors.UndefinedObject:
            log.info("PostgreSQL has no %s setting; going on without it", name)


class Leadership:
    """One per process (see `for_config`): `wait()` blocks while a standby, `acting()` gates every action."""

    def __init__(
        self,
        url: str,
        check_seconds: float = 2.0,
        name: str | None = None,
        on_lost: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self.check = float(check_seconds)
        self.name = name or instance_name()
        self.role = STANDBY
        self.epoch: int | None = None
        self.resume_from: str | None = None  # where the previous leader's handling of messages stood
        self.progress: Callable[[], str | None] = lambda: None  # where ours stands (the backend sets it)
        self._on_lost = on_lost or _exit_lost
        self._clock = clock
        self._renewed_at = 0.0  # monotonic time at which the last confirmed renewal was sent
        self._conn = None
        self._conn_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- what the rest of the bot asks ----------------------------------------------------------
    def acting(self) -> bool:
        """True while this process is the leader and its lease is fresh on its own clock."""
        return self.role == LEADER and self._clock() - self._renewed_at < ACTING_INTERVALS * self.check

    def require(self, what: str) -> None:
        """Raise NotLeader unless acting (what: the refused action, for the log)."""
        if not self.acting():
            self._lose_if_late()
            raise NotLeader(f"{what} refused: this bot is {self.role}, not the active leader")

    # -- standby -> leader -----------------------------------------------------------------------
    def wait(self) -> str | None:
        """Block until this process holds the leadership; returns where the previous leader stood
        (`messages_until`, an ISO time) so that what was posted since is caught up."""
        if self.role == LEADER:
            return self.resume_from
        if self.role in (LOST, RELEASED):
            raise NotLeader(f"this bot's leadership has ended ({self.role}): it does not compete again")
        from salesforce_omnichannel.chat.schema import LEADER_LOCK_KEY, migrate_postgres

        log.info("Standby: waiting for the leadership (%s, lease checked every %s s)", self.name, self.check)
        while True:
            try:
                with self._conn_lock:
                    if self._conn is None or self._conn.closed:
                        self._conn = _connect(self.url, self.name, self.check)
                        migrate_postgres(self._conn)
                    conn = self._conn
                if self._try_lock(conn, LEADER_LOCK_KEY):
                    break
                self._end_stale_holder(conn)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - PostgreSQL away: a standby keeps trying
                log.warning("Standby: PostgreSQL is not answering (%s); retrying in %s s", _brief(exc), self.check)
                self._drop_connection()
                time.sleep(self.check)
        self._begin(conn)
        return self.resume_from

    def _try_lock(self, conn, key: int) -> bool:
        import psycopg

        conn.execute(f"SET lock_timeout = {int(self.check * 1000)}")
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            return True
        except psycopg.errors.LockNotAvailable:
            return False
        finally:
            conn.execute("SET lock_timeout = 0")

    def _end_stale_holder(self, conn) -> None:
        row = conn.execute("SELECT holder, EXTRACT(EPOCH FROM now() - renewed_at) FROM lease WHERE id = 1").fetchone()
        holder, age = (row[0], row[1]) if row else (None, None)
        if holder and age is not None and float(age) > STALE_INTERVALS * self.check:
            ended = self._end_sessions(conn, holder)
            log.warning(
                "Standby: the leader %s has not renewed its lease for %.1f s; ended its %d session(s) to take over",
                holder,
                float(age),
                ended,
            )

    @staticmethod
    def _end_sessions(conn, holder: str) -> int:
        """End every session of the bot named HOLDER (its application_name); how many."""
        return int(
            conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s AND pid <> pg_backend_pid()",
                (holder,),
            ).fetchone()[0]
        )

    def _begin(self, conn) -> None:
        """Holding the lock: a new epoch (after the old leader's in-flight writes), the lease ours."""
        import psycopg

        holder = conn.execute("SELECT holder FROM lease WHERE id = 1").fetchone()[0]
        if holder and holder != self.name:
            # what is left of the previous leader (a store session cut off mid-transaction holds the epoch
            # row; one that is shutting down would only be refused): ended now, so the bump does not wait
            ended = self._end_sessions(conn, holder)
            if ended:
                log.info("Ended %d remaining session(s) of the previous leader %s", ended, holder)
        while True:
            try:
                conn.execute(f"SET lock_timeout = {int(self.check * 1000)}")
                with conn.transaction():
                    holder, until = conn.execute(
                        "SELECT holder, messages_until FROM lease WHERE id = 1 FOR UPDATE"
                    ).fetchone()
                    epoch = conn.execute(
                        "UPDATE leadership SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch"
                    ).fetchone()[0]
                    # until our first renewal, a successor resumes from the previous leader's point, or, on a
                    # database no bot ever led, from now
                    conn.execute(
                        "UPDATE lease SET holder = %s, holder_pid = pg_backend_pid(), renewed_at = now(),"
                        " messages_until = COALESCE(messages_until,"
                        " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) WHERE id = 1",
                        (self.name,),
                    )
                conn.execute("SET lock_timeout = 0")
                conn.execute(f"SET statement_timeout = {int(self.check * 1000)}")  # a renewal is bounded
                # and the server's own deadline: a holder that stops renewing (paused, cut off) loses its
                # session, and so the lock, even when no standby is there to end it
                _settings(conn, idle_session_timeout=int(STALE_INTERVALS * self.check * 1000))
                break
            except psycopg.errors.LockNotAvailable:
                # a writer of the previous leader holds the epoch row (paused mid-transaction): end it
                conn.execute("SET lock_timeout = 0")
                if holder:
                    self._end_sessions(conn, holder)
        self._renewed_at = self._clock()
        self.epoch, self.resume_from, self.role = int(epoch), until, LEADER
        log.info("Leadership acquired (epoch %d) by %s", self.epoch, self.name)
        self._stop.clear()
        for target, label in ((self._renew_loop, "lease-renewal"), (self._fence_loop, "lease-fence")):
            thread = threading.Thread(target=target, name=label, daemon=True)
            thread.start()
            self._threads.append(thread)

    # -- leader ------------------------------------------------------------------------------------
    def _renew_loop(self) -> None:
        while not self._stop.wait(self.check):
            sent = self._clock()
            try:
                with self._conn_lock:
                    conn = self._conn
                    if conn is None:
                        return
                    renewed = conn.execute(
                        "UPDATE lease SET renewed_at = now(), messages_until = COALESCE(%s, messages_until)"
                        " WHERE id = 1 AND holder = %s",
                        (self.progress(), self.name),
                    ).rowcount
            except Exception as exc:  # noqa: BLE001 - any failure of the check is a lost lease
                if self.role == LEADER:
                    self.lose(f"the lease check failed ({_brief(exc)})")
                return
            if renewed != 1:
                self.lose("another bot holds the lease now")
                return
            self._renewed_at = sent

    def _fence_loop(self) -> None:
        """Catches a renewal that hangs (PostgreSQL cut off) or a process that was paused."""
        while not self._stop.wait(min(0.2, self.check / 4)):
            self._lose_if_late()

    def _lose_if_late(self) -> None:
        if self.role == LEADER and not self.acting():
            self.lose(f"the lease was not renewed for {self._clock() - self._renewed_at:.1f} s")

    def lose(self, why: str) -> None:
        if self.role != LEADER:
            return
        self.role = LOST
        self._stop.set()
        log.critical(
            "Leadership lost (epoch %s): %s. Stopping now (exit %d) so that the supervisor restarts this bot as a standby",
            self.epoch,
            why,
            EXIT_LOST,
        )
        self._on_lost(why)

    def release(self) -> None:
        """SIGTERM: stop acting and let a standby take over at once (closing the session frees the lock)."""
        was = self.role
        self.role = RELEASED if was == LEADER else self.role
        self._stop.set()
        if was != LEADER:
            return
        if self._conn_lock.acquire(timeout=1.0):
            try:
                self._drop_connection_locked()
            finally:
                self._conn_lock.release()
        log.info("Leadership released (epoch %s): a standby takes over now", self.epoch)

    def _drop_connection(self) -> None:
        with self._conn_lock:
            self._drop_connection_locked()

    def _drop_connection_locked(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def _exit_lost(why: str) -> None:  # noqa: ARG001
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(EXIT_LOST)


_lock = threading.Lock()
_current: Leadership | None = None


def for_config(bot_config) -> Leadership | None:
    """This process's leadership when STATE_URL names PostgreSQL (made once), else None (a single bot)."""
    global _current
    url = str(getattr(bot_config, "STATE_URL", "") or "")
    if not url.startswith(("postgresql://", "postgres://")):
        return None
    with _lock:
        if _current is None:
            _current = Leadership(url, float(getattr(bot_config, "LEASE_CHECK_SECONDS", 2) or 2))
        return _current
