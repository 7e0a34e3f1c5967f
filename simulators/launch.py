"""Start a simulator (or the bot) as a real child process and stop it without leaving anything behind.

Tests and the demo share this so that every process they start binds 127.0.0.1 on a free port,
announces itself on its first stdout lines, and dies with its process group when stopped.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ChildProcess:
    """A child whose stdout is drained in a thread (a full pipe would freeze it) and kept for reading."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
        preexec_fn=None,
    ):
        self.argv = argv
        self.lines: collections.deque[str] = collections.deque(maxlen=20000)
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(cwd or ROOT),
            text=True,
            bufsize=1,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for_line(self, predicate, timeout: float = 20.0) -> str:
        """Block until a line satisfies PREDICATE (a substring or a callable); return that line."""
        test = (lambda s: predicate in s) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                snapshot = list(self.lines)
                for line in snapshot[seen:]:
                    if test(line):
                        return line
                seen = len(snapshot)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise TimeoutError(
                        f"{self.argv[:3]}: no line matching {predicate!r}; output so far:\n" + "\n".join(snapshot[-60:])
                    )
                self._cond.wait(min(remaining, 0.2))

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the whole process group, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        self._reader.join(2)
        return self.proc.returncode

    def kill(self) -> int | None:
        """SIGKILL the whole process group at once: no clean-up runs, as in a crash or an OOM kill."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self._reader.join(2)
        return self.proc.returncode

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Simulator(ChildProcess):
    """`python -m simulators.NAME ...`, whose first line is `listening on URL`."""

    def __init__(self, module: str, args: list[str], env: dict[str, str] | None = None, timeout: float = 30.0):
        super().__init__([sys.executable, "-u", "-m", module, *args], env=env)
        try:
            first = self.wait_for_line("listening on ", timeout)
        except BaseException:  # a Ctrl-C while waiting must not leave the child running
            self.stop()
            raise
        self.url = first.split("listening on ", 1)[1].strip()
