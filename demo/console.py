"""The console: a terminal REPL for a person, or a script played line by line (`--script FILE`).

Both share one Session; only the pacing differs: at a terminal messages print as they arrive and the
prompt comes back at once, while a script waits for the replies to settle after every line so its
output reads in order (and a test can rely on it).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from demo.session import CommandError, Session
from simulators.rocketchat.people import ApiFailure

if TYPE_CHECKING:
    from demo.stack import Stack


WALKTHROUGH = """\
Try this (you are alice, an Omnichannel agent; the bot is salesforce-bot):
  :open Jane Doe jane.doe@example.com        Jane is a known Salesforce Contact
  :visitor Hi, my last invoice shows the wrong VAT rate
  :take                                      -> the bot's PRIVATE greeting, in alice's DM
  /salesforce contact                        typed in alice's DM with the bot
  !salesforce cases
  !salesforce create-case --subject "Wrong VAT rate on the March invoice"
  :room chat
  Thanks Jane, I opened a case for you.      the visitor sees this one
  :close                                     -> what the bot saved in Salesforce
  :open Sam Newman sam.newman@example.org    someone Salesforce does not know yet
  :take
  !salesforce create-contact
"""


class Output:
    """Serialises printing from the feed thread and the main thread; keeps the prompt line intact."""

    LOCK_WAIT = 5.0

    def __init__(self, stream: TextIO, interactive: bool):
        self.stream, self.interactive = stream, interactive
        self.lock = threading.Lock()
        self.prompt = ""
        self.gone = False
        try:
            import readline  # noqa: F401 - line editing and history at the prompt

            self._readline = readline if interactive else None
        except ImportError:  # pragma: no cover - not on Linux
            self._readline = None

    def emit(self, lines: Iterable[str]) -> None:
        """Print LINES; once the terminal is gone (closed: EIO, a closed pipe: EPIPE) print nothing more,
        so that stopping the demo's processes never fails on the way. The lock is waited for LOCK_WAIT
        seconds at most: a Ctrl-C or SIGTERM raised just as another emit took it can leave it held, and
        the stop that follows must still print and stop every child."""
        locked = self.lock.acquire(timeout=self.LOCK_WAIT)
        try:
            if self.gone:
                return
            text = "\n".join(lines)
            try:
                if self.interactive and self.prompt:
                    typed = self._readline.get_line_buffer() if self._readline else ""
                    self.stream.write(f"\r\x1b[K{text}\n{self.prompt}{typed}")
                else:
                    self.stream.write(text + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # ValueError: the stream was closed
                self.gone = True
        finally:
            if locked:
                self.lock.release()


def _botlog(session: Session, stack: Stack, rest: str) -> None:
    count = int(rest) if rest.isdigit() else 30
    session.emit(
        [f"--- last {count} lines of {stack.bot.log_path} ---", *stack.bot_log_tail(count).splitlines(), "---"]
    )


def interactive(session: Session, out: Output, stack: Stack) -> int:
    """Read lines from the terminal until :quit, end of input or Ctrl-C."""
    while not session.done:
        out.prompt = session.prompt()
        try:
            line = input(out.prompt)
        except EOFError:
            break
        finally:
            out.prompt = ""
        _one(session, stack, line)
    return 0


def scripted(session: Session, out: Output, stack: Stack, lines: Iterable[str], name: str) -> int:
    """Play LINES one by one, echoing each; stop at the first failure (exit 1)."""
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        out.emit([f"demo> {line}"])
        if line.startswith("#"):
            continue
        if not _one(session, stack, line):
            out.emit([f"script failed at {name}:{number}: {line}"])
            return 1
        if session.done:
            break
    return 0


def _one(session: Session, stack: Stack, line: str) -> bool:
    """Run one line; report a failure to the person instead of raising. True when it worked."""
    try:
        if line.strip().startswith(":botlog"):
            _botlog(session, stack, line.strip()[len(":botlog") :].strip())
        else:
            session.run(line)
        return True
    except CommandError as err:
        session.emit([f"! {err}"])
    except ApiFailure as err:
        session.emit([f"! Rocket.Chat refused: {err}"])
    except (TimeoutError, OSError) as err:
        session.emit([f"! {type(err).__name__}: {err}"])
    except Exception as err:  # noqa: BLE001 - a demo bug must not end the person's session
        session.emit([f"! unexpected {type(err).__name__}: {err}"])
    return False


def write_error(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # the terminal is gone: nobody is left to read it
        pass
