"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks: the real server, not a simulator.

`initdb` into a temporary folder, `postgres` on a free port (TCP on loopback only, its socket in that
folder), a database `rcsf` and a role `rcsf` without superuser rights (the bot's role in production
needs none). PostgreSQL refuses to run as root: under root the cluster runs as the `postgres` user
that Debian's package creates. Binaries: `pg_config --bindir`, else /usr/lib/postgresql/*/bin, else PATH.
`.ci/run` installs Debian's postgresql where none is found.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .launch import ChildProcess

ROLE = DATABASE = "rcsf"
PASSWORD = "rcsf-test-only"


def bindir() -> Path | None:
    """Where initdb and postgres are, or None when this machine has no PostgreSQL server."""
    candidates = []
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout
            candidates.append(out.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).resolve().parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _runas() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root needs a 'postgres' user to run PostgreSQL as (.ci/run makes one)") from exc
    return entry.pw_uid, entry.pw_gid


class PostgresCluster:
    """One cluster: `start()`, `url` (the bot's role), `admin_url` (the superuser), `stop()`."""

    def __init__(self, base: str | os.PathLike | None = None):
        folder = bindir()
        if folder is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb, postgres) on this machine")
        self.bin = folder
        self.base = Path(tempfile.mkdtemp(prefix="rcsf-pg-", dir=base))
        self.data = self.base / "data"
        self.port = free_port()
        self.process: ChildProcess | None = None
        self._ids = _runas()

    def _demote(self) -> None:
        if self._ids is not None:
            os.setgid(self._ids[1])
            os.setuid(self._ids[0])

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, preexec_fn=self._demote, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-800:]}")

    def start(self) -> PostgresCluster:
        if self._ids is not None:
            os.chown(self.base, *self._ids)
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
        )
        argv = [
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.base}",
            "-c",
            "fsync=off",  # a throwaway cluster: durability is the store's own tests' subject on SQLite
            "-c",
            "max_connections=60",
            "-c",
            "log_min_messages=warning",
        ]
        self.process = ChildProcess(argv, env={**os.environ, "LC_ALL": "C"}, preexec_fn=self._demote)
        self.process.wait_for_line("ready to accept connections", 60)
        self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'", "postgres")
        self.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}", "postgres")
        return self

    @property
    def url(self) -> str:
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def psql(self, sql: str, database: str = DATABASE) -> str:
        """Run SQL as the superuser; its output (tuples only, unaligned)."""
        done = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
            + ["-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()[-800:]}")
        return done.stdout.strip()

    def reset(self) -> None:
        """An empty database again (each test starts from nothing); the cluster keeps running."""
        self.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'rcsf' AND pid <> pg_backend_pid()",
            "postgres",
        )
        self.psql(f"DROP DATABASE IF EXISTS {DATABASE}", "postgres")
        self.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}", "postgres")

    def stop(self) -> None:
        if self.process is not None and self.process.proc.poll() is None:
            try:
                os.kill(self.process.proc.pid, signal.SIGINT)  # fast shutdown
                self.process.proc.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.process.kill()
        self.process = None
        deadline = time.monotonic() + 5
        while self.base.exists() and time.monotonic() < deadline:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
