"""Errbot finds and builds the backend from its .plug without a server (catches .plug/import mistakes)."""

from __future__ import annotations

import logging
import types

from errbot.bootstrap import setup_bot

from simulators.launch import ROOT


def test_errbot_loads_the_rocketchat_backend(tmp_path):
    config = types.ModuleType("config")
    for name, value in {
        "BACKEND": "RocketChat",
        "BOT_EXTRA_BACKEND_DIR": str(ROOT / "backends" / "rocketchat" / ".errbot"),
        "BOT_EXTRA_PLUGIN_DIR": None,
        "BOT_DATA_DIR": str(tmp_path),
        "BOT_LOG_FILE": None,
        "BOT_LOG_LEVEL": logging.INFO,
        "BOT_IDENTITY": {"server": "http://127.0.0.1:9", "username": "bot", "password": "x"},
        "BOT_ADMINS": ("@admin",),
        "CORE_PLUGINS": ("Help",),
        "BOT_ASYNC": True,
        "BOT_ALT_PREFIXES": ("/",),
    }.items():
        setattr(config, name, value)
    bot = setup_bot("RocketChat", logging.getLogger("test"), config)
    assert type(bot).__name__ == "RocketChatBackend"
    assert bot.mode == "rocketchat"
    assert str(bot.build_identifier("#general/@alice")) == "#general/@alice"
    assert bot.omnichannel is not None
