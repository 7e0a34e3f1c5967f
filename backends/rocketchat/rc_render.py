"""Errbot's Markdown to Rocket.Chat's, body splitting, and cards as attachments.

Rocket.Chat renders Markdown itself, so text is passed through with two fixes: Errbot's Jinja
templates HTML-escape (`O'Brien & Co` arrives as `O&#39;Brien &amp; Co`), and Rocket.Chat's
bold is `*x*` where Errbot writes `**x**`. Headings become bold lines.
"""

from __future__ import annotations

import html
import re

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FENCE = re.compile(r"(```.*?```)", re.DOTALL)


def to_rocketchat(text: str) -> str:
    """Convert outside code fences; code keeps its characters."""
    parts = _FENCE.split(html.unescape(text or ""))
    for i, part in enumerate(parts):
        if i % 2 == 0:
            part = _HEADING.sub(lambda m: f"*{m.group(1)}*", part)
            parts[i] = _BOLD.sub(r"*\1*", part)
    return "".join(parts)


def split_body(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters, cut at line breaks where possible, then at spaces."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
            chunks.append(rest[:cut])
            rest = rest[cut:]
        else:
            chunks.append(rest[:cut])
            rest = rest[cut + 1 :]
    if rest:
        chunks.append(rest)
    return chunks


_COLORS = {
    "red": "#d9534f",
    "green": "#2e7d32",
    "blue": "#1d74f5",
    "yellow": "#f5a623",
    "grey": "#9ea2a8",
    "gray": "#9ea2a8",
}


def card_attachment(card) -> dict:
    """An Errbot `Card` as a Rocket.Chat message attachment (title, link, colour, fields)."""
    attachment: dict = {}
    if card.title:
        attachment["title"] = html.unescape(card.title)
    if card.link:
        attachment["title_link"] = card.link
    if card.body:
        attachment["text"] = to_rocketchat(card.body)
    if card.color:
        attachment["color"] = _COLORS.get(card.color, card.color)
    if card.thumbnail:
        attachment["thumb_url"] = card.thumbnail
    if card.image:
        attachment["image_url"] = card.image
    fields = []
    for title, value in card.fields or ():
        value = html.unescape(str(value))
        fields.append({"short": len(value) <= 40, "title": html.unescape(str(title)), "value": value})
    if fields:
        attachment["fields"] = fields
    actions = (getattr(card, "extras", None) or {}).get("actions")
    if actions:  # attachment buttons (`type: "button"`), e.g. one that posts the next command
        attachment["actions"] = list(actions)
    return attachment
