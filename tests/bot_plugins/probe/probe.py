"""Test-only plugin for the backend's real-process tests (loaded through BOT_EXTRA_PLUGIN_DIR)."""

from __future__ import annotations

from errbot import BotPlugin, botcmd


class Probe(BotPlugin):
    """Exercises what core plugins do not: cards, long bodies, Omnichannel events, following."""

    @botcmd
    def probe_card(self, msg, args):
        """Answer with a card (sent as a Rocket.Chat attachment)."""
        self.send_card(
            in_reply_to=msg,
            title="Jane O'Brien & Co",
            link="https://example.invalid/003000000000001",
            body="Contact found by **email**.",
            color="green",
            thumbnail="https://example.invalid/thumb.png",
            fields=(("Email", "jane@example.com"), ("Description", "x" * 80)),
        )

    @botcmd
    def probe_long(self, msg, args):
        """Answer with ARGS (default 300) numbered lines of 40 characters."""
        count = int(args or 300)
        return "\n".join(f"line {i:04d} " + "y" * 30 for i in range(count))

    @botcmd
    def probe_say(self, msg, args):
        """Post ARGS verbatim where the command came from (the bot must not answer itself)."""
        self.send(msg.frm.room if msg.is_group else msg.frm, args)

    @botcmd
    def probe_follow(self, msg, args):
        """Follow an Omnichannel room's messages."""
        self._bot.omnichannel.follow(args.strip())
        return f"following {args.strip()}"

    def callback_omnichannel(self, event) -> None:
        self.log.info("omnichannel event %s room=%s agent=%s", event.kind, event.room_id, event.agent_username)
