"""Rocket.Chat messages as console lines: who wrote it, where, who can read it, and cards spelled out.

The point of the demo is to show what each person sees, so every line names its room and marks the
bot's direct messages as private (the visitor never sees them), and attachments are printed field by
field instead of as raw JSON.
"""

from __future__ import annotations

BOT = "salesforce-bot"

_SYSTEM = {
    "livechat-started": "{who} opened a chat (waiting in the queue for an agent)",
    "uj": "{who} joined the chat",
    "ul": "{who} left the chat",
    "livechat-close": "the chat was closed by {who}",
    "livechat_transfer_history": "{who} transferred the chat",
    "au": "{who} added {msg}",
    "ru": "{who} removed {msg}",
}
_SKIPPED = {"command"}  # `connected` duplicates the `uj` that follows


def room_label(meta: dict, me: str) -> str:
    kind, name = meta.get("roomType"), meta.get("roomName") or ""
    if kind == "d":
        return f"DM {me} <-> {BOT}" if BOT in name or not name else f"DM {name}"
    if kind == "l":
        return f"chat with {name}" if name else "chat"
    if kind in ("c", "p"):
        return f"#{name}"
    return name or "?"


def attachment_lines(message: dict) -> list[str]:
    """Title (and link), text, then one `label: value` per field, indented under the message."""
    lines: list[str] = []
    for att in message.get("attachments") or []:
        title = att.get("title") or ""
        if att.get("title_link"):
            title = f"{title}  <{att['title_link']}>" if title else f"<{att['title_link']}>"
        if title:
            lines.append(f"  | {title}")
        for text_line in (att.get("text") or "").splitlines():
            lines.append(f"  | {text_line}")
        for fld in att.get("fields") or []:
            lines.append(f"  |   {fld.get('title')}: {fld.get('value')}")
        for action in att.get("actions") or []:  # Rocket.Chat draws buttons; a click posts `msg`
            lines.append(f"  | [{action.get('text')}] posts: {action.get('msg')}")
        if lines:
            lines.append("  +--")
    return lines


def render(message: dict, meta: dict, me: str) -> list[str]:
    """The console lines for one message; empty when the message is noise (a duplicate system message)."""
    kind = message.get("t")
    if kind in _SKIPPED:
        return []
    sender = message.get("u") or {}
    who = sender.get("username") or "?"
    is_visitor = bool(message.get("token")) and meta.get("roomType") == "l"
    name = sender.get("name") or who
    label = room_label(meta, me)
    if kind:
        template = _SYSTEM.get(kind, "{who}: [" + kind + "] {msg}")
        text = template.format(who=name if is_visitor else who, msg=message.get("msg") or "")
        if kind == "livechat-close" and message.get("msg"):
            text += f" (comment: {message['msg']})"
        return [f"[{label}] -- {text}"]
    if meta.get("roomType") == "d" and who == BOT:
        head = f"[{label}] {BOT} (PRIVATE, only {me} sees this):"
    elif meta.get("roomType") == "l" and is_visitor:
        head = f"[{label}] {name} (visitor):"
    elif meta.get("roomType") == "l":
        head = f"[{label}] {who} ({'bot' if who == BOT else 'agent'}, the visitor sees this):"
    else:
        head = f"[{label}] {who}:"
    body = (message.get("msg") or "").splitlines() or [""]
    lines = [f"{head} {body[0]}".rstrip()] + [f"    {line}" for line in body[1:]]
    if message.get("editedAt"):
        lines[0] += "  (edited)"
    return lines + attachment_lines(message)


def plain_text(message: dict) -> str:
    """Everything searchable in a message (for `:wait TEXT`)."""
    parts = [message.get("msg") or ""]
    for att in message.get("attachments") or []:
        parts += [att.get("title") or "", att.get("title_link") or "", att.get("text") or ""]
        parts += [f"{f.get('title')}: {f.get('value')}" for f in att.get("fields") or []]
    return "\n".join(parts)
