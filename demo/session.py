"""The console's commands: the person plays alice (an Omnichannel agent) or the current visitor.

Everything goes through Rocket.Chat's own API (simulators.rocketchat.people), exactly as the web client and
the livechat widget would, so the bot sees nothing the demo could not also produce for real.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from demo.feed import Feed
from demo.render import BOT
from demo.sfview import SalesforceView
from simulators.rocketchat.people import Agent, Visitor

AGENT, AGENT_PASSWORD = "alice", "agent-pass"
BOT_PREFIXES = ("!", "/", f"@{BOT}")
WAIT_SECONDS = 45.0

HELP = """\
Commands (anything else is a chat message):
  :open NAME EMAIL [PHONE]   a visitor opens a chat on the website   e.g. :open Jane Doe jane.doe@example.com
  :take                      alice takes the waiting chat (the bot then greets her privately)
  :visitor / :agent          play the visitor / play alice again; ":visitor TEXT" says one line as the visitor
  :room chat / :room dm      alice types into the livechat room / into her DM with the bot (default)
  :close [COMMENT]           close the chat, wait for the bot to save it, show what Salesforce now holds
  :salesforce [EMAIL]        show what Salesforce holds for the visitor (or EMAIL)
  :click BUTTON               click the bot's newest button with that label (e.g. :click Cases)
  :wait TEXT                 wait until a message containing TEXT appears
  :botlog [N]                the last N lines of the bot's log
  :status  :help  :quit      (Ctrl-C also quits and stops everything)
  ::TEXT                     sends ":TEXT" as a chat message
"""


class CommandError(Exception):
    """A command that could not be done, worded for the person at the console."""


@dataclass
class Chat:
    visitor: Visitor
    name: str
    email: str | None
    phone: str | None
    at_open: dict  # what Salesforce held when the chat opened: `:close` marks everything newer as NEW


def parse_open(args: list[str]) -> tuple[str, str | None, str | None]:
    """`NAME... EMAIL [PHONE...]`: the name is every word before the first that looks like an email or a phone."""
    name_words: list[str] = []
    rest = list(args)
    while rest and "@" not in rest[0] and not rest[0].lstrip("+(").isdigit():
        name_words.append(rest.pop(0))
    email = rest.pop(0) if rest and "@" in rest[0] else None
    phone = " ".join(rest) or None
    if not name_words:
        raise CommandError("usage: :open NAME EMAIL [PHONE]   e.g. :open Jane Doe jane.doe@example.com")
    return " ".join(name_words), email, phone


class Session:
    def __init__(self, rc_url: str, sf: SalesforceView, emit: Callable[[list[str]], None], script: bool):
        self.rc_url, self.sf, self.emit, self.script = rc_url, sf, emit, script
        self.feed = Feed(emit, AGENT)
        self.agent = Agent(rc_url, AGENT, AGENT_PASSWORD)
        self.agent.go_online()
        self.feed.watch(self.agent.stream)
        self.dm = self.agent.dm(BOT)
        self.role = "agent"
        self.agent_target = "dm"
        self.chats: list[Chat] = []
        self.wait_from = 0
        self.done = False

    # -- state --------------------------------------------------------------------------------
    @property
    def chat(self) -> Chat | None:
        return self.chats[-1] if self.chats else None

    def _need_chat(self) -> Chat:
        if self.chat is None:
            raise CommandError("no chat yet: open one with  :open NAME EMAIL [PHONE]")
        return self.chat

    def prompt(self) -> str:
        if self.role == "visitor" and self.chat:
            return f"{self.chat.name} (visitor)> "
        where = f"DM with {BOT}" if self.agent_target == "dm" else f"chat with {self.chat.name if self.chat else '?'}"
        return f"alice (agent, {where})> "

    # -- dispatch -----------------------------------------------------------------------------
    def run(self, line: str) -> None:
        """Do one console line; CommandError or ApiFailure tell the person what went wrong."""
        line = line.strip()
        if not line or line.startswith("#"):
            return
        if not line.startswith(":") or line.startswith("::"):
            self.wait_from = self.feed.mark()
            return self.say(line[1:] if line.startswith("::") else line)
        name, _, rest = line[1:].partition(" ")
        handler = getattr(self, f"cmd_{name.replace('-', '_')}", None)
        if handler is None:
            raise CommandError(f"unknown command :{name} (try :help)")
        if name != "wait":
            self.wait_from = self.feed.mark()
        handler(rest.strip())

    def say(self, text: str, role: str | None = None) -> None:
        role = role or self.role
        if role == "visitor":
            chat = self._need_chat()
            chat.visitor.say(text)
            self._settle()
            return
        if self.agent_target == "chat":
            self.agent.send(self._need_chat().visitor.rid, text)
        else:
            self.agent.send(self.dm, text)
        self._settle(expect_bot=text.lstrip().startswith(BOT_PREFIXES))

    def _settle(self, expect_bot: bool = False, bot_timeout: float = 30.0) -> None:
        """In a script, wait for the replies before the next line (a person at a terminal never waits)."""
        if not self.script:
            return
        if expect_bot:
            self.feed.wait_for(
                lambda e: (e.message.get("u") or {}).get("username") == BOT and not e.message.get("t"),
                self.wait_from,
                bot_timeout,
            )
        self.feed.settle()

    # -- commands -----------------------------------------------------------------------------
    def cmd_help(self, _rest: str) -> None:
        self.emit(HELP.splitlines())

    def cmd_quit(self, _rest: str) -> None:
        self.done = True

    cmd_exit = cmd_quit

    def cmd_agent(self, rest: str) -> None:
        if rest:
            return self.say(rest, "agent")
        self.role = "agent"
        self.emit(
            [
                f"you are now alice, the agent, typing into the {'DM with the bot' if self.agent_target == 'dm' else 'chat'}"
            ]
        )

    def cmd_visitor(self, rest: str) -> None:
        chat = self._need_chat()
        if rest:
            return self.say(rest, "visitor")
        self.role = "visitor"
        self.emit([f"you are now {chat.name}, the visitor, typing into the chat (:agent to switch back)"])

    def cmd_room(self, rest: str) -> None:
        if rest not in ("dm", "chat"):
            raise CommandError("usage: :room dm   (alice's DM with the bot)   or   :room chat   (the livechat room)")
        if rest == "chat":
            self._need_chat()
        self.agent_target = rest
        self.emit(
            [f"alice now types into the {'DM with the bot' if rest == 'dm' else 'livechat room (the visitor sees it)'}"]
        )

    def cmd_open(self, rest: str) -> None:
        name, email, phone = parse_open(shlex.split(rest))
        visitor = Visitor(self.rc_url, name, email, phone)
        visitor.open_chat()
        self.feed.watch(visitor.stream)
        self.chats.append(Chat(visitor, name, email, phone, self.sf.snapshot(email, phone)))
        self.emit(
            [
                f"{name} opened a chat on the website ({', '.join(x for x in (email, phone) if x) or 'no contact data'});"
                " it waits for an agent: type  :take"
            ]
        )
        self._settle()

    def cmd_take(self, _rest: str) -> None:
        chat = self._need_chat()
        self.agent.take(chat.visitor.rid)
        self.emit([f"alice took the chat with {chat.name}; the bot greets her privately when it knows who this is"])
        self._settle(expect_bot=True, bot_timeout=20.0)

    def cmd_close(self, rest: str) -> None:
        chat = self._need_chat()
        before = self.sf.snapshot(chat.email, chat.phone)
        if self.role == "visitor":
            chat.visitor.close_chat()
        else:
            self.agent.close_chat(chat.visitor.rid, rest)
        self.emit(["the chat is closed; waiting for the bot to save it in Salesforce ..."])
        saved = self.sf.wait_for_new_task(chat.email, chat.phone, before, WAIT_SECONDS)
        if saved:
            time.sleep(1.0)  # the contact update and the task may land a moment apart
        else:
            self.emit([f"(no new Task in Salesforce within {WAIT_SECONDS:.0f} s; see :botlog)"])
        self.feed.settle()
        self.emit(self.sf.describe(chat.email, chat.phone, chat.at_open))
        if self.agent_target == "chat":
            self.agent_target = "dm"
        if self.role == "visitor":
            self.role = "agent"

    def cmd_salesforce(self, rest: str) -> None:
        chat = self.chat
        email, phone = (rest, None) if rest else ((chat.email, chat.phone) if chat else (None, None))
        if not email and not phone:
            raise CommandError("usage: :salesforce [EMAIL]   (default: the current visitor's email)")
        self.emit(self.sf.describe(email, phone))

    cmd_sf = cmd_salesforce

    def cmd_wait(self, rest: str) -> None:
        if not rest:
            raise CommandError("usage: :wait TEXT   (waits for a message containing TEXT)")
        found = self.feed.wait_for(
            lambda e: rest.lower() in e.text.lower() or rest.lower() in "\n".join(e.lines).lower(),
            self.wait_from,
            WAIT_SECONDS,
        )
        if found is None:
            raise CommandError(f"no message containing {rest!r} within {WAIT_SECONDS:.0f} s")
        self.feed.settle(quiet=0.5, limit=2.0)

    def cmd_click(self, rest: str) -> None:
        """What a click on a Rocket.Chat button does: alice's client posts the button's message in the DM."""
        if not rest:
            raise CommandError("usage: :click BUTTON   (the label of one of the bot's buttons, e.g. Cases)")
        for entry in reversed(list(self.feed.entries)):
            for attachment in entry.message.get("attachments") or []:
                for action in attachment.get("actions") or []:
                    if str(action.get("text", "")).lower() == rest.lower() and action.get("msg"):
                        self.emit([f"alice clicks [{action['text']}]"])
                        self.wait_from = self.feed.mark()
                        self.agent.send(self.dm, action["msg"])
                        self._settle(expect_bot=True)
                        return
        raise CommandError(f"no button labelled {rest!r} yet (the greeting and contact cards carry them)")

    def cmd_sleep(self, rest: str) -> None:
        try:
            time.sleep(float(rest or "1"))
        except ValueError:
            raise CommandError("usage: :sleep SECONDS") from None

    def cmd_status(self, _rest: str) -> None:
        chats = ", ".join(f"{c.name} ({'open' if c is self.chat else 'earlier'})" for c in self.chats) or "none"
        self.emit([f"you play: {self.role}; alice types into: {self.agent_target}; chats: {chats}"])

    def close(self) -> None:
        self.feed.close()
        for chat in self.chats:
            chat.visitor.close()
        self.agent.close()
