"""The tests' probe plugin (tests/bot_plugins/probe/probe.py) as a plugin folder written at run time.

A `.plug` kept in the repository would be found by `!repos install` of it and loaded beside the
Salesforce plugin, so the folder Errbot reads is made in a temporary directory when a test or a
benchmark starts a bot with the probe.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "bot_plugins" / "probe" / "probe.py"

PLUG = """\
[Core]
Name = Probe
Module = probe

[Documentation]
Description = Test-only plugin: sends a card, a long reply, and logs Omnichannel events.

[Python]
Version = 3
"""


def probe_plugin_dir(parent: Path) -> str:
    """Write the probe plugin under PARENT; returns the folder to name in BOT_EXTRA_PLUGIN_DIR."""
    folder = Path(parent) / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, folder / "probe.py")
    (folder / "probe.plug").write_text(PLUG)
    return str(parent)
