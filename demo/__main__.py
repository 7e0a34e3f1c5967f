"""`python -m demo [--script FILE] [--run-dir DIR]`: start everything, run the console, stop everything.

Without --script the console reads the terminal; when standard input is not a terminal it is played
as a script (`python -m demo < FILE`).

Ctrl-C (SIGINT), SIGTERM and SIGHUP (its terminal closed) end the console and stop every process the demo
started; while a child
is being spawned or while stopping, a signal is held until that step is done, so no child escapes.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from demo.console import WALKTHROUGH, Output, interactive, scripted, write_error
from demo.session import HELP, Session
from demo.sfview import SalesforceView
from demo.stack import Stack, default_run_dir


class Signals:
    """SIGINT/SIGTERM/SIGHUP raise KeyboardInterrupt, except inside `held()`, where they wait for its end."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending: int | None = None

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGHUP, self._handle)  # the terminal went away: nothing may keep running

    def _handle(self, signum: int, _frame) -> None:
        if self.depth:
            self.pending = signum
            return
        raise KeyboardInterrupt

    @contextmanager
    def held(self, reraise: bool = True) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.pending is not None:
                self.pending = None
                if reraise:
                    raise KeyboardInterrupt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--script", type=Path, help="play console commands from FILE (one per line) instead of a terminal")
    p.add_argument("--run-dir", type=Path, help="where keys, logs and bot data go (default: demo-run/<time>)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.script and not args.script.is_file():
        write_error(f"no such script: {args.script}")
        return 2
    # Without a terminal (`python -m demo < FILE`, a pipe) standard input is played as a script.
    scripted_input = args.script is not None or not sys.stdin.isatty()
    out = Output(sys.stdout, interactive=not scripted_input)
    signals = Signals()
    signals.install()
    stack = Stack((args.run_dir or default_run_dir()).resolve(), say=lambda text: out.emit([text]), guard=signals.held)
    session: Session | None = None
    code = 0
    try:
        out.emit(["Starting the demo: a loopback Salesforce org, a loopback Rocket.Chat and the real bot ..."])
        stack.start()
        out.emit(
            [f"Ready. Rocket.Chat {stack.rc_url}, Salesforce {stack.sf_url}", f"Bot log: {stack.bot.log_path}", ""]
        )
        session = Session(stack.rc_url, SalesforceView(stack.sf_url, stack.sf_ca), out.emit, script=scripted_input)
        if args.script:
            code = scripted(session, out, stack, args.script.read_text(encoding="utf-8").splitlines(), args.script.name)
        elif scripted_input:
            code = scripted(session, out, stack, (line.rstrip("\n") for line in sys.stdin), "stdin")
        else:
            out.emit([*HELP.splitlines(), "", *WALKTHROUGH.splitlines(), ""])
            code = interactive(session, out, stack)
    except KeyboardInterrupt:
        out.emit(["", "Interrupted: stopping everything ..."])
        code = 130
    except Exception as exc:  # noqa: BLE001 - one clear line, the details are in the logs
        write_error(f"demo failed: {type(exc).__name__}: {exc}")
        if stack.bot is not None:
            write_error(f"bot log ({stack.bot.log_path}), last lines:\n{stack.bot_log_tail(40)}")
        code = 1
    finally:
        with signals.held(reraise=False):
            if session is not None:  # at most 10 s: a server slow to answer must not keep the children running
                closer = threading.Thread(target=session.close, name="session-close", daemon=True)
                closer.start()
                closer.join(10)
            stack.stop()
            shutil.rmtree(stack.run_dir / "keys", ignore_errors=True)  # a demo key is never kept
        out.emit([f"Everything stopped. Logs stay in {stack.run_dir}"])
    return code


if __name__ == "__main__":
    sys.exit(main())
