"""Who may run a Salesforce command, and where.

A visitor never runs a command (their messages carry the livechat `token`). In an Omnichannel
room only its serving agent, a manager or a bot admin may. Reading or writing Salesforce needs
the `livechat-agent` or `livechat-manager` role, or bot admin rights. On a backend without
Omnichannel (Text, Slack…), Errbot's own ACCESS_CONTROLS decide who reaches the bot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REFUSE_VISITOR = None  # visitors get no answer at all: anything we say shows in their widget
REFUSE_NOT_SERVING = (
    "Only the agent serving this chat, an Omnichannel manager or a bot admin can use Salesforce commands here."
)
REFUSE_NO_ROLE = (
    "Salesforce commands are for Omnichannel agents and managers. Ask an admin to give you the livechat-agent role."
)
REFUSE_ADMIN_ONLY = "Only bot admins can use this command."


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None  # what to tell the person; None: say nothing


def username_of(frm: Any) -> str:
    name = getattr(frm, "username", None) or getattr(frm, "nick", None) or str(frm)
    return str(name).lstrip("@")


def is_admin(frm: Any, admins: Iterable[str]) -> bool:
    wanted = {str(a).lstrip("@").lower() for a in admins or ()}
    return username_of(frm).lower() in wanted or str(getattr(frm, "aclattr", frm)).lower() in {
        str(a).lower() for a in admins or ()
    }


def decide(
    extras: dict, frm: Any, admins: Iterable[str], omnichannel: Any, room: Any = None, admin_only: bool = False
) -> Decision:
    """Whether the sender of a message may run a Salesforce command; `room` is the chat's room, if any."""
    if extras.get("visitor"):
        return Decision(False, REFUSE_VISITOR)
    admin = is_admin(frm, admins)
    if admin_only:
        return Decision(admin, None if admin else REFUSE_ADMIN_ONLY)
    if admin:
        return Decision(True)
    if omnichannel is None:
        return Decision(True)  # Errbot's ACCESS_CONTROLS already let this person through
    user = username_of(frm)
    manager = omnichannel.is_manager(user)
    if extras.get("omnichannel") and not manager:
        if room is None or getattr(room, "agent_username", None) != user:
            return Decision(False, REFUSE_NOT_SERVING)
    if manager or omnichannel.is_agent(user):
        return Decision(True)
    return Decision(False, REFUSE_NO_ROLE)
